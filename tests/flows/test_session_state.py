"""A session state survives the trip through JSON that the store gives it on every message."""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from triage.flows.session import FaqAttempt, HandoffInfo, Reference, SessionState, UserInfo, plain

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


TEXT = st.text(max_size=12)
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                           max_leaves=8)
STATES = st.builds(
    SessionState,
    session_id=TEXT,
    user=st.builds(UserInfo, TEXT, st.booleans(), st.integers(0, 99), st.none() | TEXT),
    started_at=st.datetimes(timezones=st.sampled_from([SEOUL, timezone.utc])),
    reference=st.builds(Reference, TEXT, TEXT, TEXT),
    params=st.dictionaries(TEXT, TEXT, max_size=3),
    owner=st.sampled_from(["new", "bot", "queue", "agent", "ended"]),
    node=st.none() | TEXT,
    vars=st.dictionaries(TEXT, JSON_VALUES, max_size=4),
    category=st.none() | TEXT,
    tags=st.tuples(TEXT) | st.just(()),
    misses=st.integers(0, 9),
    tries=st.integers(0, 9),
    last_input=st.none() | TEXT,
    path=st.lists(TEXT, max_size=4).map(tuple),
    faq_attempts=st.lists(st.builds(FaqAttempt, TEXT, TEXT, st.none() | TEXT,
                                    st.lists(st.tuples(TEXT, st.floats(0, 100)), max_size=3).map(tuple)),
                          max_size=3).map(tuple),
    offered=st.lists(TEXT, max_size=3).map(tuple),
    handoff=st.none() | st.builds(HandoffInfo, TEXT, TEXT, st.lists(TEXT, max_size=2).map(tuple), TEXT, TEXT),
    idle_warned=st.booleans(),
)


@given(STATES)
@settings(max_examples=150, deadline=None)
def test_the_spelled_out_copy_is_the_generic_walk_key_for_key_and_comes_back_equal(state: SessionState) -> None:
    data = state.to_dict()
    assert json.dumps(data) == json.dumps(plain(state))
    assert SessionState.from_dict(json.loads(json.dumps(data))) == state


@given(STATES, STATES, st.sets(st.sampled_from(sorted(f.name for f in fields(SessionState)))))
@settings(max_examples=100, deadline=None)
def test_evolve_is_dataclasses_replace(state: SessionState, other: SessionState, names: set[str]) -> None:
    changes = {name: getattr(other, name) for name in names}
    before = replace(state)
    evolved = state.evolve(**changes)
    assert type(evolved) is SessionState and evolved == replace(state, **changes)
    assert state == before


def test_evolving_a_field_that_does_not_exist_fails_like_the_constructor() -> None:
    with pytest.raises(TypeError, match="ownr"):
        long_session().evolve(ownr="bot")
