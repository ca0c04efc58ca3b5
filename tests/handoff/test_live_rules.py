"""Security, business hours and staged inactivity, through HTTP with a pinned or advancing clock."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.test_utils import TestServer

from triage.handoff.webhooks import headers_of, verify_signature
from triage.kakao.sim_client import SimUser
from handoff.desk_support import AGENTS, TOKENS, AgentClient, texts
from handoff.test_live_desk import escalate, said

SEOUL = ZoneInfo("Asia/Seoul")


class Clock:
    def __init__(self, start: datetime):
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now


async def leave_message(customer: SimUser, text: str) -> None:
    """Outside hours: ask for a person, choose to leave a message, leave it."""
    await customer.consult()
    await customer.say("상담원")
    await customer.wait_for(said("지금은 상담 운영 시간이 아니에요."))
    await customer.say("메시지 남기기")
    await customer.say(text)
    await customer.wait_for(said("메시지를 잘 받았어요"))


async def test_tokens_are_required_and_agents_keep_to_their_own_conversations(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05)
    kim, lee, boss = (AgentClient(stack.http, stack.server_url, TOKENS[a]) for a in ("kim", "lee", "boss"))
    for token in ("", "not-a-token-at-all"):
        status, body = await AgentClient(stack.http, stack.server_url, token).call("GET", "/queues")
        assert (status, body["error"]["code"]) == (401, "unauthorized")
    await kim.online("kim")
    customer = stack.user("sec-1")
    await escalate(customer)
    await customer.wait_for(said("김상담님이 연결되었어요"))
    ticket = (await kim.ok("GET", "/agents"))["agents"][1]["active"][0]

    status, body = await lee.call("POST", f"/conversations/{ticket}/messages", {"text": "제가 할게요"})
    assert (status, body["error"]["code"]) == (403, "not_yours")
    assert (await lee.call("PUT", "/agents/kim/presence", {"presence": "offline"}))[0] == 403
    assert (await kim.call("POST", f"/conversations/{ticket}/messages", {"text": 7}))[0] == 422
    assert (await kim.call("POST", "/conversations/nope/claim"))[0] == 404
    await boss.ok("POST", f"/conversations/{ticket}/messages", {"text": "팀장입니다."})
    await customer.wait_for(said("팀장입니다."))


async def test_only_the_holder_or_a_supervisor_may_end_release_or_transfer_a_conversation(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05, heartbeat=0.1)
    kim, lee, boss = (AgentClient(stack.http, stack.server_url, TOKENS[a]) for a in ("kim", "lee", "boss"))
    customer = stack.user("hold-1")
    await escalate(customer)
    await customer.wait_for(said("현재 대기 1번째"))
    waiting = await kim.ticket_of("hold-1")

    refusals = {"close": {}, "close-to-bot": {}, "release": {}, "transfer": {"queue": "general"}}
    for action, body in refusals.items():
        status, answer = await kim.call("POST", f"/conversations/{waiting}/{action}", body)
        assert (status, answer["error"]["code"]) == (403, "claim_first"), action
    assert (await kim.call("POST", "/users/hold-1/block"))[0] == 403
    await asyncio.sleep(0.2)
    assert [w["id"] for w in await kim.waiting("general")] == [waiting]
    assert not [t for t in texts(await customer.new_messages()) if "종료" in t]

    await kim.ok("PUT", "/agents/kim/presence", {"presence": "away"})
    await kim.ok("POST", f"/conversations/{waiting}/claim")
    await customer.wait_for(said("김상담님이 연결되었어요"))
    status, answer = await lee.call("POST", f"/conversations/{waiting}/close")
    assert (status, answer["error"]["code"]) == (403, "not_yours")
    await kim.ok("POST", f"/conversations/{waiting}/transfer", {"queue": "general", "note": "다시 대기"})
    assert [w["id"] for w in await kim.waiting("general")] == [waiting]
    await boss.ok("POST", f"/conversations/{waiting}/close", {"text": "팀장이 확인 후 종료할게요."})
    await customer.wait_for(said("팀장이 확인 후 종료할게요."))


async def test_webhooks_are_signed_and_a_tampered_body_fails(open_site, live):
    received: list[tuple[dict, bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.json_response({})

    desk = web.Application()
    desk.router.add_post("/hook", hook)
    server = TestServer(desk, host="127.0.0.1")
    await server.start_server()
    secret = "shared-secret-0123456789"
    changes = {**AGENTS, "webhooks": {"urls": [str(server.make_url("/hook"))], "secret": secret}}
    stack = await live(open_site(changes), timer_interval=0.05)
    await escalate(stack.user("hook-1"))
    for _ in range(50):
        if received:
            break
        await asyncio.sleep(0.05)
    headers, body = received[0]
    timestamp, signature = headers_of(headers)
    assert json.loads(body)["kind"] == "handoff_created"
    assert verify_signature(secret, timestamp, body, signature)
    assert not verify_signature(secret, timestamp, body.replace(b"handoff_created", b"handoff_deleted"), signature)
    assert not verify_signature(secret, timestamp, body, signature, now=int(timestamp) + 301)
    await server.close()


async def test_events_stream_resumes_after_the_last_event_id(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05)
    await escalate(stack.user("sse-1"))
    headers = {"Authorization": f"Bearer {TOKENS['kim']}"}

    async def frames(last: str, count: int) -> list[dict]:
        found = []
        async with stack.http.get(f"{stack.server_url}/api/v1/events", headers={**headers, "Last-Event-ID": last},
                                  timeout=5) as response:
            async for line in response.content:
                if line.startswith(b"data: "):
                    found.append(json.loads(line[6:]))
                    if len(found) == count:
                        return found
        return found

    first = await frames("0", 2)
    assert [f["kind"] for f in first] == ["handoff_created", "position"]
    again = await frames(str(first[0]["id"]), 1)
    assert again[0]["id"] == first[1]["id"]


async def test_a_message_left_on_seollal_becomes_an_offline_ticket_served_when_the_queue_opens(site, live):
    clock = Clock(datetime(2026, 2, 17, 11, 0, tzinfo=SEOUL))
    stack = await live(site(AGENTS), timer_interval=0.05, clock=clock)
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    await kim.online("kim")
    customer = stack.user("seollal")
    await leave_message(customer, "설 연휴 끝나면 교환 문의드릴게요")
    general = await kim.ok("GET", "/queues")
    queue = next(q for q in general["queues"] if q["name"] == "general")
    assert queue["open"] is False and queue["waiting"][0]["offline"] is True
    assert "설 연휴 끝나면 교환 문의드릴게요" in queue["waiting"][0]["summary"]

    clock.now = datetime(2026, 2, 19, 9, 30, tzinfo=SEOUL).timestamp()
    await customer.wait_for(said("김상담님이 연결되었어요"))
    assert await kim.waiting("general") == []


async def test_queue_then_agent_inactivity_stages(open_site, live):
    timers = {"handoff": {"timers": {"queue_reminder": 60, "queue_end": 120, "agent_warn": 60, "agent_end": 120}}}
    clock = Clock(datetime(2026, 11, 25, 10, 0, tzinfo=SEOUL))
    stack = await live(open_site({**AGENTS, **timers}), timer_interval=0.05, clock=clock)
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    waiting, helped = stack.user("idle-q"), stack.user("idle-a")
    await escalate(waiting)
    clock.now += 61
    await waiting.wait_for(said("아직 상담원 연결을 기다리고 있어요"))
    clock.now += 60
    await waiting.wait_for(said("대기를 종료할게요"))

    await kim.online("kim")
    await escalate(helped)
    await helped.wait_for(said("김상담님이 연결되었어요"))
    async with stack.http.get(f"{stack.server_url}/api/v1/events?kinds=agent_notice,closed",
                              headers={"Authorization": f"Bearer {TOKENS['kim']}"}, timeout=5) as response:
        clock.now += 61
        await helped.wait_for(said("상담을 계속하시려면"))
        clock.now += 60
        await helped.wait_for(said("응답이 없어 상담을 종료할게요"))
        kinds = []
        async for line in response.content:
            if line.startswith(b"event: "):
                kinds.append(line[7:].decode().strip())
            if len(kinds) == 3:
                break
    assert kinds == ["closed", "agent_notice", "closed"]
    for _ in range(40):
        if (await helped.session())["session"]["state"] == "ENDED":
            break
        await asyncio.sleep(0.05)
    assert (await helped.session())["session"]["state"] == "ENDED"
