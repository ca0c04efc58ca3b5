"""Small builders and the queue's invariants, shared by the queue, estimate and concurrency tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from triage.flows.model import PRIORITIES
from triage.handoff.queue import Agent, QueueState, Ticket, can_serve, enqueue, waiting

SEOUL = ZoneInfo("Asia/Seoul")
WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=SEOUL)


def at(seconds: float) -> datetime:
    return WEDNESDAY_10 + timedelta(seconds=seconds)


def ticket(tid: str, *, age: float = 0, priority: str = "normal", queue: str = "general",
           skills: tuple[str, ...] = ()) -> Ticket:
    """``age`` is seconds after Wednesday 10:00 the user escalated."""
    return Ticket(tid, f"session-{tid}", f"user-{tid}", queue, at(age), priority, skills)


def agent(aid: str, *skills: str, capacity: int = 3, presence: str = "online") -> Agent:
    return Agent(aid, aid, frozenset(skills), capacity, presence)  # type: ignore[arg-type]


def state_of(agents: list[Agent], tickets: list[Ticket] = ()) -> QueueState:  # type: ignore[assignment]
    state = QueueState(agents={a.id: a for a in agents})
    for t in tickets:
        state = enqueue(state, t)
    return state


def broken_invariants(state: QueueState, before: QueueState | None = None) -> list[str]:
    """Everything that must hold after any queue operation, as readable complaints.

    An agent over capacity is only fine when ``before`` shows the load did not grow: lowering
    ``max_concurrent`` keeps open conversations, it never adds one.
    """
    found = []
    holders: dict[str, list[str]] = {}
    for a in state.agents.values():
        old = before.agents.get(a.id) if before else None
        if len(a.active) > a.max_concurrent and (old is None or len(a.active) > len(old.active)):
            found.append(f"{a.id} holds {len(a.active)} of {a.max_concurrent}")
        if a.presence == "offline" and a.active:
            found.append(f"offline {a.id} still holds {a.active}")
        for tid in a.active:
            holders.setdefault(tid, []).append(a.id)
    for t in state.tickets.values():
        owners = holders.get(t.id, [])
        if t.status == "assigned" and owners != [t.agent_id]:
            found.append(f"{t.id} assigned to {t.agent_id} but held by {owners}")
        if t.status != "assigned" and owners:
            found.append(f"{t.status} {t.id} still held by {owners}")
        if t.status == "waiting" and t.agent_id is not None:
            found.append(f"waiting {t.id} names agent {t.agent_id}")
    order = [(-PRIORITIES.index(t.priority), t.created_at, t.id) for t in waiting(state)]
    if order != sorted(order):
        found.append("waiting() is not in priority, age, id order")
    return found


def starved(state: QueueState) -> list[str]:
    """Waiting tickets some online agent with a free seat and the right skills could take."""
    return [f"{t.id} could go to {a.id}" for t in waiting(state) for a in state.agents.values()
            if a.presence == "online" and len(a.active) < a.max_concurrent and can_serve(a, t)]
