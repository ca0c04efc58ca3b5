"""An editor saves a change the server cannot take: /healthz (which /preview polls) says so until it is fixed."""

from __future__ import annotations

import asyncio
from typing import Any

BAD_GOTO = ("goto: refund.menu", "goto: refund.mneu")


async def health(stack: Any) -> dict[str, Any]:
    async with stack.http.get(f"{stack.server_url}/healthz") as response:
        assert response.status == 200
        return await response.json()


async def until(stack: Any, settled: Any) -> dict[str, Any]:
    for _ in range(200):
        answer = await health(stack)
        if settled(answer):
            return answer
        await asyncio.sleep(0.05)
    raise AssertionError(f"/healthz never settled: {answer}")


async def test_a_rejected_change_is_reported_with_its_problems_until_a_good_save_clears_them(site, live):
    root = site()
    stack = await live(root, reload_interval=0.05)
    assert (await health(stack))["content_rejected"] == []
    flow = root / "flows" / "main.yaml"
    good = flow.read_text(encoding="utf-8")

    flow.write_text(good.replace(*BAD_GOTO, 1), encoding="utf-8")
    rejected = await until(stack, lambda answer: answer["content_rejected"])
    assert rejected["content_version"] == 1
    assert rejected["content_rejected"] == [
        'flows/main.yaml:7: goto "refund.mneu" names no node of flow "refund" (did you mean "refund.menu"?)']
    assert rejected["ok"] is True

    flow.write_text(good, encoding="utf-8")
    fixed = await until(stack, lambda answer: not answer["content_rejected"])
    assert fixed["content_version"] == 2
