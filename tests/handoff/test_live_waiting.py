"""The waiting room over HTTP: position updates, the silent bot, the cancel keyword and max_wait."""

from __future__ import annotations

import asyncio
from datetime import datetime

from handoff.desk_support import AGENTS, TOKENS, AgentClient, texts
from handoff.test_live_desk import escalate, said
from handoff.test_live_rules import SEOUL, Clock

WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=SEOUL)


def desk(handoff: dict | None = None, general: dict | None = None) -> dict:
    """AGENTS with its handoff settings and the general queue changed."""
    return {**AGENTS, "handoff": {**AGENTS["handoff"], **(handoff or {})}, "queues": {"general": general or {}}}


async def heard(customer, seconds: float = 0.3) -> list[str]:
    await asyncio.sleep(seconds)
    return texts(await customer.new_messages())


async def test_position_is_resent_only_when_it_moved_and_never_within_the_interval(open_site, live):
    clock = Clock(WEDNESDAY_10)
    stack = await live(open_site(desk({"position_interval": 60})), timer_interval=0.05, clock=clock, heartbeat=0.1)
    first, second, third = (stack.user(f"int-{i}") for i in range(3))
    for place, customer in enumerate((first, second, third), 1):
        await escalate(customer)
        await customer.wait_for(said(f"현재 대기 {place}번째"))
        clock.now += 1

    clock.now += 10
    await first.say("대기 취소")
    await first.wait_for(said("대기를 취소했어요"))
    assert await heard(third) == [], "moved from 3rd to 2nd, but only 10 s after the last update"

    clock.now += 60
    assert await heard(third) == [], "the interval passed, but nothing moved since"

    await second.say("대기 취소")
    await third.wait_for(said("현재 대기 1번째예요. 지금은 연결 가능한 상담원이 없어"))
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    sent = [(e["user_key"], e["data"]["position"]) for e in await kim.events("position")]
    assert sent == [("int-0", 1), ("int-1", 2), ("int-2", 3), ("int-2", 1)]


async def test_a_queued_customer_s_photo_goes_to_the_agent_side_and_the_bot_says_nothing(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05, heartbeat=0.1)
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    customer = stack.user("photo-1")
    await escalate(customer)
    await customer.wait_for(said("현재 대기 1번째"))

    await customer.photo()
    assert await heard(customer) == []
    ticket = await kim.ticket_of("photo-1")
    last = (await kim.ok("GET", f"/conversations/{ticket}"))["transcript"][-1]
    assert (last["sender"], last["kind"], last["text"], last["phase"]) == ("user", "photo", "[사진]", "queue")
    assert last["data"]["media_url"].startswith(stack.sim_url)
    [event] = await kim.events("user_message")
    assert (event["data"]["ticket_id"], event["data"]["type"]) == (ticket, "photo")


async def test_only_the_configured_cancel_keyword_ends_the_wait_and_the_bot_answers_again(open_site, live):
    stack = await live(open_site(desk({"cancel_keyword": "상담 취소"})), timer_interval=0.05, heartbeat=0.1)
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    customer = stack.user("cancel-1")
    await escalate(customer)
    await customer.wait_for(said("현재 대기 1번째"))

    await customer.say("대기 취소")
    assert await heard(customer) == [], "the default keyword is just a message for the agent now"
    await customer.say("  상담   취소 ")
    await customer.wait_for(said("상담원 연결 대기를 취소했어요."))
    assert await kim.waiting("general") == []
    await customer.say("배송 언제 와요?")
    await customer.wait_for(said("1~2일 안에 출고"))
    assert [e["data"]["text"] for e in await kim.events("user_message")] == ["대기 취소"]
    assert [e["data"]["reason"] for e in await kim.events("closed")] == ["cancelled"]


async def test_past_max_wait_the_customer_may_leave_a_message_and_keeps_their_place(open_site, live):
    clock = Clock(WEDNESDAY_10)
    timers = {"timers": {"queue_reminder": 120, "queue_end": 300, "agent_warn": 0, "agent_end": 0}}
    stack = await live(open_site(desk(timers, {"max_wait": 1})), timer_interval=0.05, clock=clock, heartbeat=0.1)
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    early, late = stack.user("max-1"), stack.user("max-2")
    await escalate(early)
    clock.now += 30
    await escalate(late)
    await late.wait_for(said("현재 대기 2번째"))

    clock.now += 31
    await early.wait_for(said("기다리시는 시간이 길어지고 있어요"))
    assert await heard(late) == [], "30 s of waiting is within max_wait"
    assert [(w["user_key"], w["offline"]) for w in await kim.waiting("general")] == [("max-1", True),
                                                                                  ("max-2", False)]
    await early.say("주문 12345 배송지를 바꾸고 싶어요")
    [overdue] = await kim.events("overdue")
    assert (overdue["user_key"], overdue["data"]["max_wait_minutes"]) == ("max-1", 1)

    clock.now += 400
    await late.wait_for(said("기다리시는 시간이 길어지고 있어요"))
    assert await heard(early) == [], "a left message gets no reminder and is not ended for silence"
    await kim.online("kim")
    await early.wait_for(said("김상담님이 연결되었어요"))
    transcript = (await kim.ok("GET", f"/conversations/{await kim.ticket_of('max-1')}"))["transcript"]
    assert "주문 12345 배송지를 바꾸고 싶어요" in [e["text"] for e in transcript]
