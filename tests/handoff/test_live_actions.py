"""Every agent action through the real HTTP API, with simulator customers on loopback."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from triage.kakao.sim_client import SimRefused, SimUser
from handoff.desk_support import AGENTS, TOKENS, AgentClient, texts
from handoff.test_live_desk import escalate, said

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def agents(stack) -> dict[str, AgentClient]:
    return {name: AgentClient(stack.http, stack.server_url, token) for name, token in TOKENS.items()}


async def assigned(stack, agent: str, user_key: str) -> tuple[AgentClient, SimUser, str]:
    """A customer escalated and taken by ``agent``, who is online with nobody else."""
    client = agents(stack)[agent]
    await client.online(agent)
    customer = stack.user(user_key)
    await escalate(customer)
    await customer.wait_for(said("님이 연결되었어요"))
    return client, customer, await client.ticket_of(user_key)


async def quiet(customer, seconds: float = 0.3) -> list[str]:
    await asyncio.sleep(seconds)
    return texts(await customer.new_messages())


async def test_an_uploaded_image_reaches_the_customer_as_a_kakao_hosted_picture(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05, heartbeat=0.1)
    kim, customer, ticket = await assigned(stack, "kim", "img-1")
    form = aiohttp.FormData()
    form.add_field("image", PNG, filename="receipt.png", content_type="image/png")
    form.add_field("text", "영수증 사진이에요")
    async with stack.http.post(f"{stack.server_url}/api/v1/conversations/{ticket}/messages", data=form,
                               headers={"Authorization": f"Bearer {TOKENS['kim']}"}) as response:
        assert response.status == 201
        image_url = (await response.json())["image_url"]

    got = await customer.wait_for(said("영수증 사진이에요"))
    assert image_url.startswith(stack.sim_url + "/dn/")
    assert [(m["type"], m["image_url"]) for m in got[:1]] == [("IM", image_url)]
    async with stack.http.get(image_url) as picture:
        assert await picture.read() == PNG
    transcript = (await kim.ok("GET", f"/conversations/{ticket}"))["transcript"]
    assert transcript[-1]["sender"] == "agent" and transcript[-1]["data"]["image_url"] == image_url


async def test_an_upload_that_is_not_a_picture_is_refused_before_reaching_kakao(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05, heartbeat=0.1)
    _, customer, ticket = await assigned(stack, "kim", "img-2")
    form = aiohttp.FormData()
    form.add_field("image", b"MZ\x90\x00", filename="setup.exe", content_type="application/octet-stream")
    async with stack.http.post(f"{stack.server_url}/api/v1/conversations/{ticket}/messages", data=form,
                               headers={"Authorization": f"Bearer {TOKENS['kim']}"}) as response:
        assert (response.status, (await response.json())["error"]["code"]) == (422, "invalid")
    assert await quiet(customer) == []


async def test_a_message_kakao_would_refuse_is_refused_to_the_agent_naming_the_field(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05, heartbeat=0.1)
    kim, customer, ticket = await assigned(stack, "kim", "msg-1")
    link = {"label": "주문 내역", "url": "https://shop.example.com/orders"}
    refused = {
        "buttons[1]": {"text": "골라 주세요", "buttons": ["네", "주문 배송 조회와 취소 및 환불"]},
        "links[0].label": {"links": [{**link, "label": "주문 내역을 한 번에 모두 보기"}]},
        "links[0].url": {"links": [{**link, "url": "javascript:alert(1)"}]},
        "links[1].url": {"links": [link, {**link, "url": "/orders"}]},
    }
    for field, body in refused.items():
        status, answer = await kim.call("POST", f"/conversations/{ticket}/messages", body)
        assert (status, answer["error"]["code"], answer["error"]["field"]) == (422, "invalid", field)
        assert answer["error"]["message"].startswith(f"{field}: ")
    status, answer = await kim.call("POST", f"/conversations/{ticket}/messages",
                                    {"links": [{**link, "url": "https://shop.example.com/" + "a" * 1000}]})
    assert answer["error"] == {"code": "invalid", "field": "links[0].url",
                               "message": "links[0].url: the URL has 1025 characters; 상담톡 takes at most 1000"}
    for body, field in (({"buttons": [""]}, "buttons[0]"), ({"links": [{**link, "label": " "}]}, "links[0].label")):
        status, answer = await kim.call("POST", f"/conversations/{ticket}/messages", body)
        assert answer["error"] == {"code": "invalid", "field": field,
                                   "message": f"{field}: the button label is empty; write the words the customer taps"}
    assert await quiet(customer) == []

    await kim.ok("POST", f"/conversations/{ticket}/messages", {"text": "여기서 보세요", "links": [link]})
    await customer.wait_for(said("여기서 보세요"))


async def test_release_hands_the_customer_to_the_bot_at_the_named_node(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05, heartbeat=0.1)
    kim, customer, ticket = await assigned(stack, "kim", "rel-1")
    status, body = await kim.call("POST", f"/conversations/{ticket}/release", {"node": "order.nowhere"})
    assert (status, body["error"]["code"]) == (422, "unknown_node")

    await kim.ok("POST", f"/conversations/{ticket}/release", {"node": "order.menu"})
    await customer.wait_for(said("주문·배송 문의를 도와드릴게요"))
    await customer.say("배송 조회")
    await customer.wait_for(said("주문번호를 입력해 주세요"))
    assert (await kim.ok("GET", "/agents"))["agents"][1]["active"] == []
    closed = await kim.events("closed")
    assert [(e["data"]["ticket_id"], e["data"]["reason"]) for e in closed] == [(ticket, "released")]


async def test_blocking_a_customer_ends_the_session_and_kakao_refuses_them(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05, heartbeat=0.1)
    kim, customer, ticket = await assigned(stack, "kim", "blk-1")
    assert (await agents(stack)["lee"].call("POST", "/users/blk-1/block"))[0] == 403

    await kim.ok("POST", "/users/blk-1/block")
    for _ in range(40):
        seen = await customer.session()
        if seen["blocked_by_partner"]:
            break
        await asyncio.sleep(0.05)
    assert seen["blocked_by_partner"] is True and seen["session"]["state"] == "ENDED"
    with pytest.raises(SimRefused):
        await customer.say("왜 차단하셨어요?")
    assert [e["data"]["reason"] for e in await kim.events("closed")] == ["blocked"]
    assert (await kim.call("POST", f"/conversations/{ticket}/messages", {"text": "안녕하세요"}))[0] == 409


async def test_a_manual_claim_takes_a_waiting_customer_and_a_second_claim_conflicts(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05, heartbeat=0.1)
    kim, lee, boss = (agents(stack)[a] for a in ("kim", "lee", "boss"))
    await kim.ok("PUT", "/agents/kim/presence", {"presence": "away"})
    customer = stack.user("clm-1")
    await escalate(customer)
    await asyncio.sleep(0.2)
    ticket = await kim.ticket_of("clm-1")
    assert (await kim.waiting("general"))[0]["id"] == ticket, "away agents take no automatic work"

    claimed = await kim.ok("POST", f"/conversations/{ticket}/claim")
    assert (claimed["ticket"]["status"], claimed["ticket"]["agent_id"]) == ("assigned", "kim")
    await customer.wait_for(said("김상담님이 연결되었어요"))
    for other in (lee, boss):
        status, body = await other.call("POST", f"/conversations/{ticket}/claim")
        assert (status, body["error"]["code"]) == (409, "not_waiting")
    assert [e["data"]["by"] for e in await kim.events("assigned")] == ["claim"]


async def test_an_agent_going_offline_hands_their_customers_to_another_skilled_agent(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05, heartbeat=0.1)
    kim, customer, ticket = await assigned(stack, "kim", "off-1")
    boss = agents(stack)["boss"]
    await boss.online("boss")
    await agents(stack)["lee"].online("lee")

    left = await kim.ok("PUT", "/agents/kim/presence", {"presence": "offline"})
    assert (left["presence"], left["active"]) == ("offline", [])
    await customer.wait_for(said("박팀장님이 연결되었어요"))
    held = {a["id"]: a["active"] for a in (await boss.ok("GET", "/agents"))["agents"]}
    assert held == {"kim": [], "lee": [], "boss": [ticket]}, "lee lacks the skills"
    moved = await boss.events("transferred")
    assert [(e["data"]["from_agent"], e["data"]["note"]) for e in moved] == [("kim", "agent went offline")]


async def test_freed_capacity_assigns_waiting_customers_at_once(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=60, heartbeat=0.1)
    kim = agents(stack)["kim"]
    await kim.online("kim", max_concurrent=1)
    first, second, third = (stack.user(f"cap-{i}") for i in range(3))
    for customer in (first, second, third):
        await escalate(customer)
    await first.wait_for(said("김상담님이 연결되었어요"))
    assert [w["user_key"] for w in await kim.waiting("general")] == ["cap-1", "cap-2"]

    raised = await kim.ok("PUT", "/agents/kim/presence", {"presence": "online", "max_concurrent": 2})
    assert len(raised["active"]) == 2, "assigned in the same request, not on a later tick"
    await second.wait_for(said("김상담님이 연결되었어요"))

    await kim.ok("POST", f"/conversations/{await kim.ticket_of('cap-0')}/close", {"text": "감사합니다."})
    await third.wait_for(said("김상담님이 연결되었어요"))
    assert await kim.waiting("general") == []


async def test_away_then_online_again_picks_up_the_line(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=60, heartbeat=0.1)
    kim = agents(stack)["kim"]
    await kim.ok("PUT", "/agents/kim/presence", {"presence": "away"})
    customer = stack.user("away-1")
    await escalate(customer)
    await customer.wait_for(said("현재 대기 1번째"))
    back = await kim.online("kim")
    assert len(back["active"]) == 1
    await customer.wait_for(said("김상담님이 연결되었어요"))


async def test_a_transfer_to_a_queue_with_a_note_reaches_that_queue_s_skilled_agent(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05, heartbeat=0.1)
    kim, customer, ticket = await assigned(stack, "kim", "trq-1")
    lee = agents(stack)["lee"]
    status, body = await kim.call("POST", f"/conversations/{ticket}/transfer", {"queue": "nowhere"})
    assert (status, body["error"]["code"]) == (422, "unknown_queue")
    status, body = await kim.call("POST", f"/conversations/{ticket}/transfer", {"queue": "claims", "agent": "lee"})
    assert (status, body["error"]["code"]) == (422, "invalid")

    moved = await kim.ok("POST", f"/conversations/{ticket}/transfer", {"queue": "claims", "note": "환불 건이에요"})
    assert (moved["ticket"]["queue"], moved["ticket"]["status"]) == ("claims", "waiting")
    assert moved["ticket"]["skills"] == ["환불", "교환"]
    await customer.wait_for(said("현재 대기 1번째"))
    await customer.say("언제 연결돼요?")
    [answer] = await quiet(customer)
    assert answer.startswith("남겨 주신 메시지는 상담원에게 전달할게요. 현재 대기 1번째"), "only the desk answers"
    await lee.online("lee")
    await customer.wait_for(said("이환불님이 연결되었어요"))
    conversation = await lee.ok("GET", f"/conversations/{ticket}")
    assert conversation["ticket"]["transfers"][0]["note"] == "환불 건이에요"
    assert conversation["ticket"]["agent_id"] == "lee"
    notes = [(e["data"]["from_queue"], e["data"]["to_queue"], e["data"]["note"])
             for e in await lee.events("transferred")]
    assert notes == [("general", "claims", "환불 건이에요")]


async def test_a_transfer_to_an_agent_without_room_is_refused(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05, heartbeat=0.1)
    kim, customer, ticket = await assigned(stack, "kim", "tra-1")
    lee = agents(stack)["lee"]
    status, body = await kim.call("POST", f"/conversations/{ticket}/transfer", {"agent": "lee", "note": "부탁해요"})
    assert (status, body["error"]["code"]) == (409, "offline")
    await lee.online("lee", max_concurrent=1)
    await kim.ok("POST", f"/conversations/{ticket}/transfer", {"agent": "lee", "note": "부탁해요"})
    await customer.wait_for(said("이환불님이 연결되었어요"))
    status, body = await lee.call("POST", f"/conversations/{ticket}/transfer", {"agent": "lee", "note": "다시"})
    assert (status, body["error"]["code"]) == (409, "same_agent")
