"""/preview over HTTP: a flow's image file shows in the editor's chat as the picture itself."""

from __future__ import annotations

import time
import urllib.request

from loopback import REPO


def seen_until(console, user: str, fragment: str, timeout: float = 15.0) -> list[dict]:
    """What /preview/api/seen has shown the editor once some bubble contains ``fragment``."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while not any(fragment in (entry.get("text") or "") for entry in seen):
        assert time.monotonic() < deadline, seen
        status, _, answer = console.request("GET", f"/preview/api/seen?user={user}&after=-1&wait=2")
        assert status == 200, answer
        seen = answer["seen"]
    return seen


def test_a_flow_image_file_shows_in_the_preview_as_the_picture_uploaded_to_the_simulator(console):
    status, _, started = console.request("POST", "/preview/api/start", {"extra": "topic=order"})
    assert status == 200, started
    seen_until(console, started["user"], "주문·배송 문의")

    console.request("POST", "/preview/api/say", {"user": started["user"], "text": "배송 조회"})
    seen = seen_until(console, started["user"], "주문번호를 입력해 주세요")

    (picture,) = [entry for entry in seen if entry.get("type") == "IM"]
    assert picture["image_url"].startswith(f"{console.url}/preview/kakao/dn/")
    with urllib.request.urlopen(picture["image_url"], timeout=10) as response:
        assert response.headers["Content-Type"] == "image/png"
        assert response.read() == (REPO / "images" / "order-number.png").read_bytes()
