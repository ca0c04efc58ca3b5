"""The handoff end to end: simulator customers, the server, and agents on the REST API, over loopback."""

from __future__ import annotations

import asyncio

from triage.kakao.sim_client import SimUser
from handoff.desk_support import AGENTS, TOKENS, AgentClient, texts


def said(fragment: str):
    return lambda got: any(fragment in text for text in texts(got))


async def escalate(customer: SimUser) -> None:
    await customer.consult()
    await customer.say("상담원")
    await customer.wait_for(said("상담원을 연결해 드릴게요"))


async def test_queued_with_its_position_then_assigned_to_the_skilled_free_agent(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05)
    kim, lee = (AgentClient(stack.http, stack.server_url, TOKENS[a]) for a in ("kim", "lee"))
    first, second = stack.user("pos-1"), stack.user("pos-2")
    await escalate(first)
    await first.wait_for(said("현재 대기 1번째예요. 지금은 연결 가능한 상담원이 없어 대기가 길어질 수 있어요."))
    await escalate(second)
    await second.wait_for(said("현재 대기 2번째"))
    waiting = await kim.waiting("general")
    assert [(w["user_key"], w["position"]) for w in waiting] == [("pos-1", 1), ("pos-2", 2)]
    assert waiting[0]["summary"].startswith("[기타]") and waiting[0]["priority"] == "normal"

    await lee.online("lee")
    await asyncio.sleep(0.2)
    assert len(await kim.waiting("general")) == 2, "lee lacks the general queue's skills"
    await kim.online("kim")

    await first.wait_for(said("상담원 김상담님이 연결되었어요."))
    agents = {a["id"]: a for a in (await kim.ok("GET", "/agents"))["agents"]}
    assert len(agents["kim"]["active"]) == 2 and agents["lee"]["active"] == []


async def test_agent_replies_reach_the_customer_while_the_bot_stays_silent_then_transfer_and_close_to_bot(
        open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05)
    kim, boss = AgentClient(stack.http, stack.server_url, TOKENS["kim"]), AgentClient(stack.http, stack.server_url,
                                                                                      TOKENS["boss"])
    await kim.online("kim")
    customer = stack.user("chat-1")
    await escalate(customer)
    await customer.wait_for(said("김상담님이 연결되었어요"))
    ticket = (await kim.ok("GET", "/agents"))["agents"][1]["active"][0]

    await customer.say("주문/배송")
    await asyncio.sleep(0.3)
    assert await customer.new_messages() == [], "the bot must not answer while an agent has the customer"
    await kim.ok("POST", f"/conversations/{ticket}/messages",
                 {"text": "주문번호를 알려 주세요.", "buttons": ["모르겠어요"],
                  "links": [{"label": "주문 내역", "url": "https://shop.example.com/orders"}]})
    got = await customer.wait_for(said("주문번호를 알려 주세요."))
    assert got[-1]["quick_replies"] == ["모르겠어요"] and got[-1]["links"][0]["name"] == "주문 내역"

    conversation = await kim.ok("GET", f"/conversations/{ticket}")
    phases = {(e["sender"], e["phase"]) for e in conversation["transcript"]}
    assert {("bot", "bot"), ("user", "agent"), ("agent", "agent")} <= phases
    assert conversation["packet"]["reason"] == "user_asked" and "main.agent" in conversation["packet"]["path"]

    await boss.online("boss")
    moved = await kim.ok("POST", f"/conversations/{ticket}/transfer", {"agent": "boss", "note": "팀장 확인 필요"})
    assert moved["ticket"]["agent_id"] == "boss" and moved["ticket"]["transfers"][0]["note"] == "팀장 확인 필요"
    await customer.wait_for(said("박팀장님이 연결되었어요"))

    await boss.ok("POST", f"/conversations/{ticket}/close-to-bot", {"text": "확인해 드렸어요. 감사합니다."})
    await customer.wait_for(said("확인해 드렸어요"))
    await asyncio.sleep(0.3)
    ended = (await customer.session())["session"]
    assert ended["state"] == "ENDED" and "bot" in ended["reason"], ended
    await customer.say("안녕하세요")
    await customer.wait_for(said("무엇을 도와드릴까요"))
