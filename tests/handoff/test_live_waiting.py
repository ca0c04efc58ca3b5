"""The waiting room over HTTP: position updates, the silent bot and the desk's acknowledgements, the
cancel keyword and max_wait."""

from __future__ import annotations

import asyncio
from datetime import datetime

from handoff.desk_support import AGENTS, TOKENS, AgentClient, texts
from handoff.test_live_desk import escalate, said
from handoff.test_live_rules import SEOUL, Clock, leave_message

WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=SEOUL)
NOTED = "남겨 주신 메시지는 상담원에게 전달할게요."


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


async def test_a_queued_customer_s_photo_goes_to_the_agent_side_and_only_the_desk_acknowledges_it(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05, heartbeat=0.1)
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    customer = stack.user("photo-1")
    await escalate(customer)
    await customer.wait_for(said("현재 대기 1번째"))

    await customer.photo()
    [answer] = await heard(customer)
    assert answer.startswith(f"{NOTED} 현재 대기 1번째")
    ticket = await kim.ticket_of("photo-1")
    photo, noted = (await kim.ok("GET", f"/conversations/{ticket}"))["transcript"][-2:]
    assert (photo["sender"], photo["kind"], photo["text"], photo["phase"]) == ("user", "photo", "[사진]", "queue")
    assert photo["data"]["media_url"].startswith(stack.sim_url)
    assert (noted["sender"], noted["text"]) == ("system", answer)
    [event] = await kim.events("user_message")
    assert (event["data"]["ticket_id"], event["data"]["type"]) == (ticket, "photo")


async def test_only_the_configured_cancel_keyword_ends_the_wait_and_the_bot_answers_again(open_site, live):
    stack = await live(open_site(desk({"cancel_keyword": "상담 취소"})), timer_interval=0.05, heartbeat=0.1)
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    customer = stack.user("cancel-1")
    await escalate(customer)
    await customer.wait_for(said("현재 대기 1번째"))

    await customer.say("대기 취소")
    [answer] = await heard(customer)
    assert answer.endswith("대기를 그만두시려면 '상담 취소'를 입력해 주세요."), "the default keyword is just a message"
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
    await early.wait_for(said(f"{NOTED} 현재 대기 1번째"))
    [overdue] = await kim.events("overdue")
    assert (overdue["user_key"], overdue["data"]["max_wait_minutes"]) == ("max-1", 1)

    clock.now += 400
    await late.wait_for(said("기다리시는 시간이 길어지고 있어요"))
    assert await heard(early) == [], "a left message gets no reminder and is not ended for silence"
    await kim.online("kim")
    await early.wait_for(said("김상담님이 연결되었어요"))
    transcript = (await kim.ok("GET", f"/conversations/{await kim.ticket_of('max-1')}"))["transcript"]
    assert "주문 12345 배송지를 바꾸고 싶어요" in [e["text"] for e in transcript]


async def test_a_waiting_customer_who_writes_hears_their_place_once_per_three_minutes(open_site, live):
    clock = Clock(WEDNESDAY_10)
    stack = await live(open_site(desk()), timer_interval=0.05, clock=clock, heartbeat=0.1)
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    ahead, customer = stack.user("noted-0"), stack.user("noted-1")
    for place, waiting in enumerate((ahead, customer), 1):
        await escalate(waiting)
        await waiting.wait_for(said(f"현재 대기 {place}번째"))

    await customer.say("얼마나 기다려야 해요?")
    assert await heard(customer) == [f"{NOTED} 현재 대기 2번째예요. 지금은 연결 가능한 상담원이 없어 대기가 길어질 수 "
                                     "있어요.\n대기를 그만두시려면 '대기 취소'를 입력해 주세요."]
    clock.now += 50
    await customer.say("아직이에요?")
    assert await heard(customer) == [], "one answer within three minutes, however many lines"

    clock.now += 140
    await customer.say("저기요")
    [again] = await heard(customer)
    assert again.startswith(f"{NOTED} 현재 대기 2번째")
    assert [e["data"]["text"] for e in await kim.events("user_message")] == ["얼마나 기다려야 해요?", "아직이에요?",
                                                                            "저기요"]


async def test_a_customer_with_an_agent_gets_no_acknowledgement(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05, heartbeat=0.1)
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    await kim.online("kim")
    customer = stack.user("noted-agent")
    await escalate(customer)
    await customer.wait_for(said("김상담님이 연결되었어요"))

    await customer.say("안녕하세요, 주문 문의예요")
    assert await heard(customer) == []
    [event] = await kim.events("user_message")
    assert (event["data"]["agent_id"], event["data"]["text"]) == ("kim", "안녕하세요, 주문 문의예요")


async def test_a_message_left_outside_hours_is_kept_for_the_opening(site, live):
    clock = Clock(datetime(2026, 11, 25, 20, 0, tzinfo=SEOUL))
    stack = await live(site(AGENTS), timer_interval=0.05, clock=clock, heartbeat=0.1)
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    customer = stack.user("noted-night")
    await leave_message(customer, "내일 교환 문의드릴게요")

    await customer.say("사진도 보내 드릴게요")
    assert await heard(customer) == ["남겨 주신 메시지를 잘 받아 두었어요. 운영 시간에 상담원이 순서대로 답변드릴게요."]
    transcript = (await kim.ok("GET", f"/conversations/{await kim.ticket_of('noted-night')}"))["transcript"]
    assert "사진도 보내 드릴게요" in [e["text"] for e in transcript]


async def test_customers_escalated_in_the_same_millisecond_wait_in_the_order_they_came(open_site, live):
    stack = await live(open_site(desk()), timer_interval=0.05, clock=Clock(WEDNESDAY_10), heartbeat=0.1)
    for place in range(1, 6):
        customer = stack.user(f"same-ms-{place}")
        await escalate(customer)
        await customer.wait_for(said(f"현재 대기 {place}번째"))
