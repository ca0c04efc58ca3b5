"""The handoff across real processes: `triage serve`, `triage sim` and an agent desk on plain HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Iterator

import aiohttp
import pytest

from handoff.desk_support import AGENTS, TOKENS, AgentClient
from loopback import copy_site

from .conftest import Stack, has, user


@pytest.fixture
def desk_stack(tmp_path) -> Iterator[Stack]:
    """A private pair whose site has agents: the shared stack's site has none."""
    stack = Stack(copy_site(tmp_path / "site", AGENTS, always_open=True), tmp_path / "triage.db")
    try:
        stack.start_sim()
        stack.start_server()
        yield stack
    finally:
        stack.stop()


async def frames(response: aiohttp.ClientResponse, until: str) -> list[dict[str, Any]]:
    """SSE data frames off an open stream, up to and including the first of kind ``until``."""
    found: list[dict[str, Any]] = []
    async for line in response.content:
        if line.startswith(b"data: "):
            found.append(json.loads(line[6:]))
            if found[-1]["kind"] == until:
                return found
    return found


async def test_an_agent_desk_sees_claims_answers_and_closes_an_escalation(desk_stack, http):
    kim = AgentClient(http, desk_stack.server_url, TOKENS["kim"])
    await kim.ok("PUT", "/agents/kim/presence", {"presence": "away"})
    customer = user(http, desk_stack, "e2e-desk")
    headers = {"Authorization": f"Bearer {TOKENS['kim']}"}
    async with http.get(f"{desk_stack.server_url}/api/v1/events", headers=headers,
                        timeout=aiohttp.ClientTimeout(total=20)) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        await customer.consult()
        await customer.say("상담원 연결")
        await customer.wait_for(has("현재 대기 1번째"))

        created = (await asyncio.wait_for(frames(stream, "handoff_created"), 10))[-1]
        [waiting] = await kim.waiting("general")
        assert waiting["user_key"] == created["user_key"] == "e2e-desk"
        ticket = created["data"]["ticket_id"]
        assert waiting["id"] == ticket and waiting["position"] == 1

        await kim.ok("POST", f"/conversations/{ticket}/claim")
        await customer.wait_for(has("김상담님이 연결되었어요"))
        await kim.ok("POST", f"/conversations/{ticket}/messages", {"text": "안녕하세요, 김상담입니다. 무엇을 도와드릴까요?"})
        await customer.wait_for(has("김상담입니다"))
        await customer.say("주문한 물건이 아직 안 왔어요")
        said = (await asyncio.wait_for(frames(stream, "user_message"), 10))[-1]
        assert said["data"]["text"] == "주문한 물건이 아직 안 왔어요"

        await kim.ok("POST", f"/conversations/{ticket}/close", {"text": "확인 후 다시 연락드릴게요."})
        await customer.wait_for(has("확인 후 다시 연락드릴게요"))
        closed = (await asyncio.wait_for(frames(stream, "closed"), 10))[-1]
    assert (closed["data"]["ticket_id"], closed["data"]["reason"], closed["data"]["by"]) == (ticket, "agent", "kim")
    for _ in range(50):
        if (await customer.session())["session"]["state"] == "ENDED":
            break
        await asyncio.sleep(0.1)
    assert (await customer.session())["session"]["reason"] == "partner_end"
    assert desk_stack.query("SELECT status, agent_id FROM tickets WHERE id = ?", ticket) == [("closed", "kim")]


async def test_a_desk_still_listening_does_not_hold_up_a_server_shutdown(desk_stack, http):
    headers = {"Authorization": f"Bearer {TOKENS['kim']}"}
    async with http.get(f"{desk_stack.server_url}/api/v1/events", headers=headers) as stream:
        assert await stream.content.readline() == b": triage events\n"
        started = time.monotonic()
        desk_stack.server.terminate()
        assert await asyncio.to_thread(desk_stack.server.wait, 5) == 0
    assert time.monotonic() - started < 3, "not held until the next heartbeat, 15 s away"
