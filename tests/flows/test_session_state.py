"""A session state survives the trip through JSON that the store gives it on every message."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta, timezone

from triage.flows.session import FaqAttempt, HandoffInfo, Reference, SessionState, UserInfo

SEOUL = timezone(timedelta(hours=9))


def long_session() -> SessionState:
    return SessionState(
        "s1", UserInfo("u1", returning=True, sessions=3, last_category="배송"),
        datetime(2026, 3, 2, 9, 30, tzinfo=SEOUL), Reference("topic=order", "bot-1"), {"topic": "order"}, "bot",
        "order.menu", {"주문번호": "A-77", "items": [{"sku": 1, "qty": 2.5}], "ok": True, "none": None},
        "배송", ("vip",), 1, 2, "배송 언제 와요?", ("main.welcome", "order.menu"),
        tuple(FaqAttempt(f"질문 {n}", "suggest", None, (("delivery.when", 0.81), ("delivery.fee", 0.4)))
              for n in range(30)),
        ("delivery.when",), HandoffInfo("general", "high", ("배송",), "요약", "user_asked"), idle_warned=True)


def test_a_state_becomes_plain_json_data_and_comes_back_equal() -> None:
    state = long_session()
    data = state.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["started_at"] == "2026-03-02T09:30:00+09:00"
    assert data["faq_attempts"][0] == {"query": "질문 0", "decision": "suggest", "entry_id": None,
                                       "candidates": [["delivery.when", 0.81], ["delivery.fee", 0.4]]}
    assert data == json.loads(json.dumps(asdict(state), default=datetime.isoformat))
    assert SessionState.from_dict(json.loads(json.dumps(data))) == state
