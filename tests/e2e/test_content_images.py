"""`triage serve` against `triage sim`: a flow's image file reaches the customer as an uploaded IM."""

from __future__ import annotations

from typing import Iterator

import pytest

from loopback import REPO

from .conftest import Stack, has, make_stack, user

PICTURE = REPO / "images" / "order-number.png"


@pytest.fixture(params=["process", "inline"])
def images_stack(request, tmp_path) -> Iterator[Stack]:
    yield from make_stack(tmp_path, delivery=request.param)


async def sim_media(http, stack: Stack) -> int:
    async with http.get(f"{stack.sim_url}/sim/state") as response:
        return (await response.json())["media"]


async def picture_shown(http, stack: Stack, key: str) -> dict:
    """The IM a customer sees on the way to being asked for an order number."""
    customer = user(http, stack, key)
    await customer.consult("topic=order")
    await customer.wait_for(has("주문·배송 문의"))
    await customer.say("배송 조회")
    seen = await customer.wait_for(has("주문번호를 입력해 주세요"))
    (picture,) = [m for m in seen if m["type"] == "IM"]
    assert "주문번호예요" in seen[seen.index(picture) + 1]["text"]
    return picture


async def test_a_flow_image_file_is_uploaded_once_and_shown_inline_to_every_customer(images_stack, http):
    first = await picture_shown(http, images_stack, "img-first")

    assert first["image_url"].startswith(f"{images_stack.sim_url}/dn/")
    async with http.get(first["image_url"]) as response:
        assert await response.read() == PICTURE.read_bytes()
    uploads = await sim_media(http, images_stack)

    second = await picture_shown(http, images_stack, "img-second")

    assert second["image_url"] == first["image_url"]
    assert await sim_media(http, images_stack) == uploads == 1
