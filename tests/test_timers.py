"""Inactivity timers: a warning, then a polite end, while the bot waits for an idle user; the quiet expiry
30 days after the customer last wrote."""

from __future__ import annotations

import asyncio

from handoff.desk_support import AGENTS, TOKENS, AgentClient
from handoff.test_live_desk import escalate, said
from handoff.test_live_rules import Clock
from handoff.test_live_waiting import WEDNESDAY_10
from triage.settings import Timers
from triage.store import SessionRecord
from triage.timers import due

DAY = 86400


def session(sid: str, status: str = "bot", idle: float = 0.0, warned: bool = False,
            silent: float | None = None) -> SessionRecord:
    """``idle``: seconds since the session last changed; ``silent``: since the customer last wrote."""
    return SessionRecord(sid, f"user-{sid}", "1", status, {"idle_warned": warned}, {}, None, 0.0, 1000.0 - idle,
                         user_at=1000.0 - (idle if silent is None else silent))


def stages(found) -> dict[str, str]:
    return {d.session.id: d.stage for d in found}


def test_an_idle_session_is_warned_then_ended_after_the_warning():
    timers = Timers(bot_warn=60, bot_end=120)
    found = due([session("a", idle=61), session("b", idle=59), session("c", idle=121, warned=True),
                 session("d", idle=100, warned=True)], [], timers, 1000.0)
    assert stages(found) == {"a": "warn", "c": "end"}


def test_without_a_warning_the_end_counts_from_the_last_activity():
    found = due([session("a", idle=121), session("b", idle=100)], [], Timers(bot_end=120), 1000.0)
    assert stages(found) == {"a": "end"}


def test_a_session_past_kakaos_thirty_days_is_expired_quietly():
    found = due([], [session("q", status="queue", idle=31 * 86400)], Timers(), 1000.0)
    assert stages(found) == {"q": "expire"}


def test_an_expiry_fires_once_per_customer_silence_however_often_others_write():
    before = due([], [session("q", status="agent", idle=3600, silent=31 * 86400)], Timers(), 1000.0)
    after_the_agent_wrote = due([], [session("q", status="agent", idle=0, silent=31 * 86400)], Timers(), 1000.0)
    assert before[0].dedupe_key == after_the_agent_wrote[0].dedupe_key


def test_the_same_idle_period_fires_a_stage_once():
    a = session("a", idle=61)
    assert due([a], [], Timers(bot_warn=60), 1000.0)[0].dedupe_key == due([a], [], Timers(bot_warn=60), 1001.0)[0].dedupe_key


async def test_the_user_is_warned_then_the_session_ends_through_kakao(open_site, live):
    root = open_site({"timers": {"bot_warn": 1, "bot_end": 1,
                                             "bot_warn_text": "곧 상담이 종료돼요.",
                                             "bot_end_text": "응답이 없어 상담을 마칠게요."}})
    stack = await live(root, timer_interval=0.1)
    customer = stack.user("idle-user")
    await customer.consult()
    await customer.wait_for(lambda ms: any("무엇을 도와드릴까요" in (m["text"] or "") for m in ms))

    got = await customer.wait_for(lambda ms: any("상담을 마칠게요" in (m["text"] or "") for m in ms), timeout=8)

    assert [m["text"] for m in got] == ["곧 상담이 종료돼요.", "응답이 없어 상담을 마칠게요."]
    await customer.wait_for(lambda _: any(e["kind"] == "system" for e in customer.seen))
    assert (await customer.session())["session"]["state"] == "ENDED"


async def test_the_default_warning_tells_the_customer_the_time_bot_end_leaves(open_site, live):
    stack = await live(open_site({"timers": {"bot_warn": 1, "bot_end": 30}}), timer_interval=0.1)
    customer = stack.user("warned-user")
    await customer.consult()

    got = await customer.wait_for(lambda ms: any("상담이 종료돼요" in (m["text"] or "") for m in ms), timeout=8)

    assert got[-1]["text"] == "30초 뒤 상담이 종료돼요. 계속하시려면 아무 말이나 입력해 주세요."


async def test_an_answer_after_the_warning_keeps_the_session(open_site, live):
    root = open_site({"timers": {"bot_warn": 1, "bot_end": 3, "bot_warn_text": "곧 종료돼요."}})
    stack = await live(root, timer_interval=0.1)
    customer = stack.user("back-user")
    await customer.consult()
    await customer.wait_for(lambda ms: any("곧 종료돼요" in (m["text"] or "") for m in ms), timeout=8)

    await customer.say("주문/배송")

    await customer.wait_for(lambda ms: any("주문·배송 문의" in (m["text"] or "") for m in ms))
    assert (await customer.session())["session"]["state"] == "ACTIVE"


async def ticket_status(agent: AgentClient, ticket: str, wanted: str) -> str:
    """The ticket's status once it is ``wanted``, or whatever it still is after a second."""
    for _ in range(20):
        status = (await agent.ok("GET", f"/conversations/{ticket}"))["ticket"]["status"]
        if status == wanted:
            break
        await asyncio.sleep(0.05)
    return status


async def test_an_agent_writing_daily_does_not_keep_a_silent_customers_session_past_kakaos_thirty_days(
        open_site, live):
    clock = Clock(WEDNESDAY_10)
    stack = await live(open_site(AGENTS), timer_interval=0.05, clock=clock, heartbeat=0.1)
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    await kim.online("kim")
    silent, talking = stack.user("silent"), stack.user("talking")
    for customer in (silent, talking):
        await escalate(customer)
        await customer.wait_for(said("김상담님이 연결되었어요"))
    quiet, answered = [await kim.ticket_of(customer.user_key) for customer in (silent, talking)]
    started = clock.now

    for day in range(1, 30):
        clock.now = started + day * DAY
        for ticket in (quiet, answered):
            await kim.ok("POST", f"/conversations/{ticket}/messages", {"text": f"{day}일째 확인 중이에요"})
        if day == 20:
            await talking.say("네, 기다릴게요")
            await talking.wait_for(said("20일째 확인 중이에요"))
    clock.now = started + 30 * DAY + 1

    assert await ticket_status(kim, quiet, "closed") == "closed"
    assert await ticket_status(kim, answered, "closed") == "assigned"
    closed = await kim.events("closed")
    assert [(e["data"]["ticket_id"], e["data"]["reason"]) for e in closed] == [(quiet, "expired")]
    clock.now = started + 50 * DAY + 1
    assert await ticket_status(kim, answered, "closed") == "closed"
