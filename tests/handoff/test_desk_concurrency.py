"""200 escalations at once on 20 agents of 3 seats, through the runtime, the desk and real SQLite."""

from __future__ import annotations

from collections import Counter
from itertools import count

from triage.handoff.actions import AgentActions
from triage.handoff.config import parse_handoff
from triage.handoff.desk import Desk
from triage.reload import ContentHolder
from triage.runtime import Runtime
from triage.store import open_store

PRIORITY = {"high": 0, "normal": 1}


def twenty_agents() -> dict:
    return {f"a{i:02}": {"token": f"token-{i:02}-0123456789", "skills": ["주문", "배송", "기타", "VIP"],
                         "max_concurrent": 3} for i in range(20)}


def test_each_session_is_assigned_once_within_capacity_in_priority_then_age_order(open_site, tmp_path):
    holder = ContentHolder(open_site({"agents": twenty_agents()}))
    clock = count(1_790_000_000)
    now = {"t": 0.0}
    store = open_store(tmp_path / "desk.db")
    desk = Desk(store, holder, lambda: now["t"], lambda: f"s{next(clock)}")
    runtime = Runtime(store, holder, clock=lambda: now["t"], serials=lambda: f"s{next(clock)}", desk=desk)
    now["t"] = 1_790_000_000.0
    for i in range(200):
        user, vip = f"u{i:03}", i % 7 == 0
        now["t"] += 1
        if vip:
            runtime.process(runtime.accept("reference", user, f"r{i}", {"session_id": f"k{i}", "extra": "grade=vip"}))
        text = "전담 상담원 연결" if vip else "상담원"
        runtime.process(runtime.accept("message", user, f"m{i}", {"session_id": f"k{i}", "type": "text", "text": text}))
    assert len(desk.state.tickets) == 200

    actions = AgentActions(runtime, desk)
    config = parse_handoff(holder.current.settings)[0]
    for agent in config.agents.values():
        actions.presence(agent, agent.id, "online", None)

    assigned = store.events(kinds=["assigned"])
    tickets = {e.data["ticket_id"] for e in assigned}
    assert len(assigned) == len(tickets) == 60
    assert max(Counter(e.data["agent_id"] for e in assigned).values()) == 3
    ordered = sorted(desk.state.tickets.values(), key=lambda t: (PRIORITY[t.priority], t.created_at))
    assert [e.data["ticket_id"] for e in assigned] == [t.id for t in ordered[:60]]
    assert {t.status for t in ordered[60:]} == {"waiting"}

    restored = Desk(store, holder, lambda: now["t"], lambda: "x")
    assert {t.id: t.agent_id for t in restored.state.tickets.values()} == \
        {t.id: t.agent_id for t in desk.state.tickets.values()}
    store.close()
