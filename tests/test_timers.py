"""Inactivity timers: a warning, then a polite end, while the bot waits for an idle user."""

from __future__ import annotations

from triage.settings import Timers
from triage.store import SessionRecord
from triage.timers import due


def session(sid: str, status: str = "bot", idle: float = 0.0, warned: bool = False) -> SessionRecord:
    return SessionRecord(sid, f"user-{sid}", "1", status, {"idle_warned": warned}, {}, None, 0.0, 1000.0 - idle)


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


async def test_an_answer_after_the_warning_keeps_the_session(open_site, live):
    root = open_site({"timers": {"bot_warn": 1, "bot_end": 3, "bot_warn_text": "곧 종료돼요."}})
    stack = await live(root, timer_interval=0.1)
    customer = stack.user("back-user")
    await customer.consult()
    await customer.wait_for(lambda ms: any("곧 종료돼요" in (m["text"] or "") for m in ms), timeout=8)

    await customer.say("주문/배송")

    await customer.wait_for(lambda ms: any("주문·배송 문의" in (m["text"] or "") for m in ms))
    assert (await customer.session())["session"]["state"] == "ACTIVE"
