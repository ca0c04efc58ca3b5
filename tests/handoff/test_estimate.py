from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from triage.handoff.estimate import (
    estimate, estimate_minutes, format_wait, handle_times, parallel_capacity,
    should_notify,
)
from triage.handoff.queue import assign_waiting, claim, close

from queue_support import agent, at, state_of, ticket


def handled(tid: str, assigned: float, closed: float):
    """A ticket an agent took at ``assigned`` seconds and closed at ``closed`` seconds."""
    return replace(ticket(tid), status="closed", agent_id="kim", assigned_at=at(assigned), closed_at=at(closed))


# ---- handle times -----------------------------------------------------------------------


def test_handle_times_are_seconds_with_an_agent_newest_first():
    tickets = [handled("a", 0, 120), handled("b", 100, 400), handled("c", 10, 70)]
    assert handle_times(tickets) == [300.0, 120.0, 60.0]
    assert handle_times(tickets, limit=2) == [300.0, 120.0]


def test_handle_times_ignore_open_tickets_cancelled_waits_and_clock_skew():
    cancelled = replace(ticket("gave-up"), status="closed", closed_at=at(50))
    skewed = handled("skewed", 500, 100)
    state = claim(state_of([agent("kim")], [ticket("open")]), "open", "kim", at(1))
    assert handle_times([cancelled, skewed, *state.tickets.values(), handled("ok", 0, 90)]) == [90.0]


def test_handle_times_read_straight_from_closed_queue_tickets():
    state, _ = assign_waiting(state_of([agent("kim")], [ticket("t1"), ticket("t2")]), at(0))
    state = close(close(state, "t1", at(240)), "t2", at(60))
    assert handle_times(state.tickets.values()) == [240.0, 60.0]


# ---- the estimate -----------------------------------------------------------------------


@pytest.mark.parametrize(("place", "capacity", "recent", "minutes"), [
    (1, 1, [], 3),                      # no history: three minutes a conversation
    (3, 1, [], 9),
    (3, 3, [], 3),                      # three seats: the third in line goes in the first round
    (4, 3, [], 6),
    (2, 1, [60, 120, 3600], 4),         # median 120 s: the hour-long outlier does not count
    (1, 2, [20, 30], 1),                # under a minute still says one minute, never zero
    (5, 2, [150], 8),                   # 3 rounds x 2.5 min = 7.5 -> 8
])
def test_estimate_minutes_counts_rounds_of_median_handle_time(place, capacity, recent, minutes):
    assert estimate_minutes(place, capacity, recent) == minutes


@pytest.mark.parametrize("capacity", [0, -1])
def test_without_a_seat_there_are_no_minutes_to_promise(capacity):
    assert estimate_minutes(1, capacity, [60.0]) is None


def test_with_nobody_online_who_has_the_skills_the_customer_hears_their_place_and_no_minutes():
    state = state_of([agent("kim", "주문", presence="offline"), agent("lee", "배송")],
                     [ticket("t0", skills=("주문",))])
    result = estimate(state, "t0", [60.0])
    assert (result.position, result.minutes) == (1, None)
    assert result.text == "현재 대기 1번째예요. 지금은 연결 가능한 상담원이 없어 대기가 길어질 수 있어요."


def test_parallel_capacity_counts_online_seats_that_have_the_skills():
    agents = [agent("kim", "주문", capacity=3), agent("lee", "주문", "배송", capacity=2),
              agent("park", "주문", capacity=4, presence="away"), agent("choi", capacity=5)]
    state = state_of(agents, [ticket("order", skills=("주문",)), ticket("ship", skills=("주문", "배송")),
                              ticket("any")])
    assert [parallel_capacity(state, state.tickets[t]) for t in ("order", "ship", "any")] == [5, 2, 10]


def test_estimate_combines_position_and_capacity_for_a_waiting_ticket():
    state = state_of([agent("kim", capacity=1)], [ticket(f"t{n}", age=n) for n in range(3)])
    state, _ = assign_waiting(state, at(10))
    result = estimate(state, "t2", [240.0])
    assert (result.position, result.minutes) == (2, 8)
    assert result.text == "현재 대기 2번째, 예상 대기 약 8분"
    assert estimate(state, "t0", [240.0]) is None
    assert estimate(state, "unknown", []) is None


# ---- wording ----------------------------------------------------------------------------


@pytest.mark.parametrize(("place", "minutes", "text"), [
    (3, 4, "현재 대기 3번째, 예상 대기 약 4분"),
    (1, 0, "현재 대기 1번째, 예상 대기 약 1분"),
    (40, 60, "현재 대기 40번째, 예상 대기 약 1시간"),
    (55, 95, "현재 대기 55번째, 예상 대기 약 1시간 35분"),
])
def test_format_wait_reads_like_the_issue_asks(place, minutes, text):
    assert format_wait(place, minutes) == text


# ---- when to repeat it ------------------------------------------------------------------


def test_the_first_estimate_is_always_sent():
    assert should_notify(None, None, 12, at(0), min_interval=60)


def test_never_more_often_than_the_interval_however_much_the_line_moved():
    assert not should_notify(10, at(0), 1, at(59), min_interval=60)
    assert should_notify(10, at(0), 1, at(60), min_interval=60)


@pytest.mark.parametrize(("before", "after", "news"), [
    (3, 2, True),      # near the front every step counts
    (2, 1, True),
    (2, 2, False),     # same place, same estimate: nothing to say
    (10, 9, False),    # one step of ten is not news
    (10, 8, True),     # a fifth of the line is
    (20, 17, False),
    (20, 16, True),
    (4, 3, True),      # arriving in the top three is news
    (5, 6, True),      # moving back (an urgent ticket arrived) by a fifth is news too
])
def test_a_position_change_is_news_when_near_the_front_or_a_fifth_of_the_line(before, after, news):
    assert should_notify(before, at(0), after, at(3600), min_interval=60) is news


@pytest.mark.parametrize(("last_minutes", "new_minutes"), [(None, 3), (3, None)])
def test_an_estimate_appearing_or_vanishing_is_news_even_in_the_same_place(last_minutes, new_minutes):
    later = at(0) + timedelta(minutes=5)
    assert should_notify(10, at(0), 10, later, 60, last_minutes=last_minutes, new_minutes=new_minutes)
    assert not should_notify(10, at(0), 10, at(30), 60, last_minutes=last_minutes, new_minutes=new_minutes)


def test_a_two_minute_change_in_the_estimate_is_news_even_in_the_same_place():
    later = at(0) + timedelta(minutes=5)
    assert should_notify(10, at(0), 10, later, 60, last_minutes=12, new_minutes=14)
    assert not should_notify(10, at(0), 10, later, 60, last_minutes=12, new_minutes=13)
