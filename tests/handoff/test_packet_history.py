"""A returning customer's earlier sessions, as the agent reads them: what about, how it ended, who handled it."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from triage.handoff.packet import HISTORY_LIMIT, previous_sessions
from triage.store import SessionRecord
from handoff.desk_support import AGENTS, TOKENS, AgentClient
from handoff.test_live_desk import said
from handoff.test_packet_schema import SCHEMA, problems

SEOUL = ZoneInfo("Asia/Seoul")


async def test_an_agent_sees_what_the_bot_solved_and_what_a_colleague_handled_before(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05)
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    customer = stack.user("history-1")
    await customer.consult(extra="topic=refund")
    await customer.say("환불 진행 조회")
    await customer.say("상담 종료")
    await customer.wait_for(said("좋은 하루 보내세요"))

    await kim.online("kim")
    await customer.consult(extra="topic=order&order=77")
    await customer.say("상담원")
    await customer.wait_for(said("김상담님이 연결되었어요"))
    handled = await kim.ticket_of("history-1")
    await kim.ok("POST", f"/conversations/{handled}/close", {"text": "확인해 드렸어요."})
    await asyncio.sleep(0.2)

    await customer.consult(extra="topic=order")
    await customer.say("상담원")
    await customer.wait_for(said("김상담님이 연결되었어요"))
    conversation = await kim.ok("GET", f"/conversations/{await kim.ticket_of('history-1')}")

    by_agent, by_bot = conversation["previous_sessions"]
    assert by_agent["category"] == "주문" and by_agent["outcome"] == "agent" and by_agent["end_reason"] == "agent"
    assert by_agent["summary"].startswith("[주문] 주문 77") and by_agent["reason"] == "user_asked"
    assert (by_agent["ticket_id"], by_agent["agent_id"]) == (handled, "kim")
    assert by_bot["category"] == "환불" and by_bot["outcome"] == "bot"
    assert by_bot["summary"] is None and by_bot["ticket_id"] is None and by_bot["agent_id"] is None
    packet = conversation["packet"]
    assert [(s["outcome"], s["ticket_id"], s["agent_id"]) for s in packet["user"]["previous_sessions"]] == [
        ("agent", handled, "kim"), ("bot", None, None)]
    assert problems(packet, SCHEMA) == []


def test_only_the_latest_sessions_are_kept_newest_first():
    sessions = [SessionRecord(f"s{i}", "u", None, "ended", {}, {}, "주문", 1000.0 + i, 1000.0 + i, 1000.0 + i, "bot")
                for i in range(HISTORY_LIMIT + 3)]
    history = previous_sessions(sessions, "current", SEOUL)
    assert HISTORY_LIMIT == 5
    assert [s["session_id"] for s in history] == [f"s{i}" for i in range(HISTORY_LIMIT + 2, 2, -1)]


def test_a_customer_who_left_while_waiting_abandoned_the_session():
    waiting = {"handoff": {"summary": "[기타] 주문 -", "reason": "misses"}}
    left = SessionRecord("s1", "u", None, "ended", waiting, {}, None, 1000.0, 1100.0, 1100.0, "user_left")
    [past] = previous_sessions([left], "current", SEOUL)
    assert (past["outcome"], past["summary"], past["reason"]) == ("abandoned", "[기타] 주문 -", "misses")
