"""Figures from hand-built event lists: each definition in metrics' docstring, pinned."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from triage.analytics.metrics import Outcomes, figures, spread, to_json
from triage.store import EventRecord

SEOUL = ZoneInfo("Asia/Seoul")
DAY1 = datetime(2026, 11, 24, 10, 0, tzinfo=SEOUL).timestamp()
DAY2 = datetime(2026, 11, 25, 10, 0, tzinfo=SEOUL).timestamp()


class Log:
    """Events as the runtime writes them, numbered in order."""

    def __init__(self) -> None:
        self.events: list[EventRecord] = []

    def add(self, kind: str, session: str | None, at: float, **data: object) -> Log:
        self.events.append(EventRecord(len(self.events) + 1, kind, session, "u-" + (session or ""), data, at))
        return self


def _session(log: Log, sid: str, at: float, *nodes: str, extra: str = "") -> Log:
    log.add("session_start", sid, at, extra=extra, returning=False)
    for node in nodes:
        log.add("node", sid, at, node=node)
    return log


def test_a_session_ended_at_an_end_node_is_resolved_and_one_that_left_is_abandoned_and_drop_off():
    log = Log()
    _session(log, "a", DAY1, "main.welcome", "main.bye").add("session_end", "a", DAY1 + 5, reason="bot", category=None)
    _session(log, "b", DAY1, "main.welcome", "order.menu").add("message_in", "b", DAY1, type="text", owner="bot")
    log.add("session_end", "b", DAY1 + 9, reason="user_left", category="주문")
    _session(log, "c", DAY1, "main.welcome", "order.menu")
    log.add("session_end", "c", DAY1 + 600, reason="bot", category=None)

    fig = figures(log.events, SEOUL, end_nodes=frozenset({"main.bye"}))

    assert (fig.sessions, fig.contained) == (3, 3)
    assert fig.outcomes == Outcomes(resolved=1, handed=0, abandoned=2, open=0)
    assert fig.dropoff == (("order.menu", 2),), "an end by the bot away from an end node (inactivity) is a drop-off"
    assert fig.engaged == 1


def test_an_faq_answer_resolves_a_session_that_ended_but_not_one_still_open_or_handed_later():
    log = Log()
    for sid in ("left", "open", "handed"):
        _session(log, sid, DAY1, "main.faq_lookup", "main.anything_else")
        log.add("faq", sid, DAY1, query="배송 언제 와요?", decision="answer", entry_id="delivery-when")
    log.add("session_end", "left", DAY1 + 60, reason="user_left", category=None)
    log.add("handoff", "handed", DAY1 + 90, reason="user_asked", category=None)
    _session(log, "silent", DAY1, "main.welcome").add("session_end", "silent", DAY1 + 9, reason="expired")

    fig = figures(log.events, SEOUL, end_nodes=frozenset({"main.bye"}))

    assert fig.outcomes == Outcomes(resolved=1, handed=1, abandoned=1, open=1)
    assert (fig.outcomes.decided, fig.contained) == (3, 3), "open sessions are left out of the rates"
    outcomes = to_json(fig)["outcomes"]
    assert (outcomes["resolved_rate"], outcomes["handed_rate"], outcomes["abandoned_rate"]) == (0.3333,) * 3
    assert fig.dropoff == (("main.welcome", 1),), "an answered customer who left is no drop-off"


def test_a_session_without_a_category_takes_its_faq_answers_category_from_the_event_or_the_faq():
    log = Log()
    _session(log, "old", DAY1, "main.faq_lookup")
    log.add("faq", "old", DAY1, query="배송 언제 와요?", decision="answer", entry_id="delivery-when")
    log.add("session_end", "old", DAY1 + 5, reason="user_left", category=None)
    _session(log, "new", DAY1, "main.faq_lookup")
    log.add("faq", "new", DAY1, query="환불 언제", decision="chosen", entry_id="refund-when", category="환불")
    log.add("handoff", "new", DAY1 + 5, reason="user_asked", category=None)
    _session(log, "routed", DAY1, "order.menu").add("route", "routed", DAY1, category="주문")
    log.add("faq", "routed", DAY1, query="배송 언제 와요?", decision="answer", entry_id="delivery-when")
    _session(log, "unknown", DAY1, "main.faq_lookup")
    log.add("faq", "unknown", DAY1, query="?", decision="answer", entry_id="removed-entry")

    fig = figures(log.events, SEOUL, faq_categories={"delivery-when": "배송", "refund-when": "결제"})

    assert {t.name: t.outcomes for t in fig.by_category} == {
        "배송": Outcomes(resolved=1), "환불": Outcomes(handed=1), "주문": Outcomes(open=1), "미분류": Outcomes(open=1)}
    assert to_json(fig)["outcomes"]["by_category"]["배송"] == {
        "sessions": 1, "resolved": 1, "handed": 0, "abandoned": 0, "open": 0}
    assert {s.name: (s.count, s.total) for s in fig.handoffs_by_category}["환불"] == (1, 1)


def test_handoffs_are_counted_by_category_and_reason_with_time_to_handoff():
    log = Log()
    _session(log, "a", DAY1, "main.agent").add("handoff", "a", DAY1 + 30, reason="user_asked", category="주문")
    _session(log, "b", DAY1, "main.agent").add("handoff", "b", DAY1 + 90, reason="misses", category=None)
    _session(log, "c", DAY1, "order.menu").add("route", "c", DAY1, category="주문")

    fig = figures(log.events, SEOUL)

    by_category = {s.name: (s.count, s.total) for s in fig.handoffs_by_category}
    assert by_category == {"주문": (1, 2), "미분류": (1, 1)}
    assert {s.name: s.count for s in fig.handoffs_by_reason} == {"user_asked": 1, "misses": 1}
    assert (fig.time_to_handoff.count, fig.time_to_handoff.median, fig.time_to_handoff.p90) == (2, 60.0, 90.0)


def test_faq_verdicts_give_hit_acceptance_and_not_found_rates_and_group_the_unanswered():
    log = _session(Log(), "a", DAY1, "main.faq_lookup")
    for decision, query in (("answer", "배송 언제"), ("suggest", "배송"), ("chosen", "배송"), ("suggest", "환불"),
                            ("declined", "환불"), ("not_found", "배송지 변경"), ("not_found", "배송지변경 하고싶어요"),
                            ("not_found", "강아지 사료")):
        log.add("faq", "a", DAY1, query=query, decision=decision, entry_id=None, candidates=[])

    data = to_json(figures(log.events, SEOUL))["faq"]

    assert data == {"queries": 6, "answered": 1, "suggested": 2, "accepted": 1, "declined": 1, "not_found": 3,
                    "hit_rate": round(1 / 6, 4), "acceptance_rate": 0.5, "not_found_rate": 0.5}
    unanswered = to_json(figures(log.events, SEOUL))["unanswered"]
    assert unanswered[0] == {"text": "배송지 변경", "count": 2, "examples": ["배송지 변경", "배송지변경 하고싶어요"]}
    assert {u["text"] for u in unanswered} == {"배송지 변경", "강아지 사료", "환불"}


def test_customer_text_and_extra_values_are_masked_before_they_are_shown():
    log = _session(Log(), "a", DAY1, "main.welcome", extra="phone=010-1234-5678")
    log.add("extra_unmatched", "a", DAY1, extra="phone=010-1234-5678")
    log.add("faq", "a", DAY1, query="제 번호 010-1234-5678 로 연락 주세요", decision="not_found", entry_id=None)

    shown = str(to_json(figures(log.events, SEOUL)))

    assert "1234-5678" not in shown and "12345678" not in shown
    assert "phone=" in shown


def test_queue_wait_and_handling_come_from_the_queue_events_and_hostile_values_are_ignored():
    log = _session(Log(), "a", DAY1, "main.agent").add("handoff", "a", DAY1 + 1, reason="user_asked")
    for waited in (10, 20, 30, 40, "60", -5, float("nan"), True):
        log.add("assigned", "a", DAY1 + 2, ticket_id="t", queue="general", agent_id="kim", waited_seconds=waited)
    log.add("closed", "a", DAY1 + 300, ticket_id="t", handled_seconds=240)

    fig = figures(log.events, SEOUL)

    assert (fig.queue_wait.count, fig.queue_wait.median, fig.queue_wait.p90) == (4, 25.0, 40.0)
    assert (fig.handling.count, fig.handling.median) == (1, 240.0)


def test_no_samples_is_none_not_zero():
    assert spread([]).median is None and spread([]).p90 is None
    assert to_json(figures([], SEOUL))["times"]["handling"] == {"count": 0, "median": None, "p90": None}


def test_the_nearest_rank_p90_of_ten_samples_is_the_ninth():
    assert spread(range(1, 11)).p90 == 9
    assert spread([5]).median == 5 and spread([5]).p90 == 5


def test_sessions_are_counted_per_local_day_and_events_of_sessions_started_before_the_period_are_left_out():
    log = Log()
    _session(log, "a", DAY1, "main.welcome")
    _session(log, "b", DAY2, "main.agent").add("handoff", "b", DAY2 + 1, reason="user_asked")
    _session(log, "c", DAY2, "main.welcome")
    log.add("handoff", "before", DAY2, reason="misses")

    fig = figures(log.events, SEOUL)

    assert [(d.day.isoformat(), d.sessions, d.contained, d.resolved, d.handoffs) for d in fig.daily] == [
        ("2026-11-24", 1, 1, 0, 0), ("2026-11-25", 2, 1, 0, 1)]
    assert fig.handoffs == 1


def test_hostile_event_bodies_do_not_break_the_figures():
    log = Log()
    log.add("session_start", "a", DAY1, extra=["not", "text"])
    log.add("node", "a", DAY1, node={"x": 1})
    log.add("faq", "a", DAY1, query=None, decision="not_found")
    log.add("handoff", "a", DAY1, reason=7, category=["x"])
    log.add("session_start", None, DAY1)

    data = to_json(figures(log.events, SEOUL))

    assert data["sessions"] == 1 and data["handoffs"]["by_reason"] == {"rule": {"count": 1, "of": 1, "rate": 1.0}}
    assert data["unanswered"] == [] and data["extra"]["seen"] == []
