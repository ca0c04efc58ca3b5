"""Issue 5's concurrency test at the policy level, and a property test over random operations.

A burst of 200 escalations meets 20 agents of capacity 3 with mixed skills. Agents close
conversations at random while the queue keeps refilling seats; at every step nobody is
double-booked, nobody is over capacity, skills hold, and the line is served in
priority-then-age order.
"""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from triage.flows.model import PRIORITIES
from triage.handoff.queue import (
    Assigned, QueueError, QueueState, Ticket, assign_waiting, can_serve, claim, close, enqueue, positions, restore,
    set_presence, transfer, waiting,
)

from queue_support import agent, at, broken_invariants, starved, state_of, ticket

SKILL_SETS = [("주문", "배송"), ("환불", "교환"), ("주문", "배송", "환불", "교환"), ("VIP", "주문", "배송"), ()]
TICKET_SKILLS = [(), ("주문",), ("배송",), ("주문", "배송"), ("환불",), ("교환",), ("VIP",)]


def burst(seed: int, count: int = 200, skills: list[tuple[str, ...]] = TICKET_SKILLS) -> list[Ticket]:
    """``count`` escalations within five seconds, random priorities and skills, fixed by ``seed``."""
    rng = random.Random(seed)
    return [ticket(f"t{n:03d}", age=rng.uniform(0, 5), priority=rng.choice(PRIORITIES), skills=rng.choice(skills))
            for n in range(count)]


def twenty_agents(agent_count: int = 20) -> QueueState:
    return state_of([agent(f"a{n:02d}", *SKILL_SETS[n % len(SKILL_SETS)], capacity=3) for n in range(agent_count)])


def overtaken(before: QueueState, after: QueueState, effects: list[Assigned]) -> list[str]:
    """Tickets left waiting although the agent of a later-ordered assignment could have served them."""
    rank = {t.id: n for n, t in enumerate(waiting(before))}
    left = [t for t in waiting(after) if t.id in rank]
    return [f"{u.id} waited while {e.ticket.id} went to {e.agent.id}"
            for e in effects for u in left if rank[u.id] < rank[e.ticket.id] and can_serve(e.agent, u)]


def serve_until_empty(state: QueueState, seed: int, policy: str) -> list[Assigned]:
    """Assignment rounds with random closes in between, checking every invariant at every step."""
    rng = random.Random(seed)
    log: list[Assigned] = []
    for round_ in range(1, 500):
        before = state
        state, effects = assign_waiting(state, at(10 * round_), policy)  # type: ignore[arg-type]
        assert broken_invariants(state) == []
        assert starved(state) == []
        assert overtaken(before, state, effects) == []
        chosen = {e.ticket.id for e in effects}
        assert [e.ticket.id for e in effects] == [t.id for t in waiting(before) if t.id in chosen]
        log += effects
        busy = [tid for a in state.agents.values() for tid in a.active]
        if not busy and not waiting(state):
            return log
        for tid in rng.sample(busy, k=max(1, len(busy) // 3)):
            state = close(state, tid, at(10 * round_ + 5))
    raise AssertionError("the queue never drained")


def test_two_hundred_escalations_twenty_agents_each_assigned_once_within_capacity_and_skills():
    state = twenty_agents()
    for t in burst(seed=5):
        state = enqueue(state, t)
    for policy in ("least_busy", "round_robin"):
        log = serve_until_empty(state, seed=7, policy=policy)
        assert Counter(e.ticket.id for e in log) == Counter({t: 1 for t in state.tickets})
        assert all(set(e.ticket.skills) <= e.agent.skills for e in log)
        assert max(len(e.agent.active) for e in log) == 3


def test_without_skill_constraints_the_burst_is_served_strictly_by_priority_then_age():
    state = twenty_agents()
    tickets = burst(seed=11, skills=[()])
    for t in tickets:
        state = enqueue(state, t)
    log = serve_until_empty(state, seed=3, policy="least_busy")
    by_order = sorted(tickets, key=lambda t: (-PRIORITIES.index(t.priority), t.created_at, t.id))
    assert [e.ticket.id for e in log] == [t.id for t in by_order]
    assert [e.ticket.id for e in log[:60]] == [t.id for t in by_order[:60]]


# ---- property: any sequence of operations keeps the invariants --------------------------

AGENTS = [f"a{n}" for n in range(4)]
agents_ = st.sampled_from(AGENTS)
known = st.integers(0, 30)
"""Picks among the tickets the state already holds, so most operations hit a real ticket."""
operations = st.one_of(
    st.tuples(st.just("enqueue"), st.sampled_from([f"t{n}" for n in range(12)]), st.integers(0, 50),
              st.sampled_from(PRIORITIES + ("bogus",)),
              st.sampled_from(TICKET_SKILLS[:5]), st.sampled_from(["general", "claims"])),
    st.tuples(st.just("claim"), known, agents_),
    st.tuples(st.just("close"), known),
    st.tuples(st.just("presence"), agents_, st.sampled_from(["online", "away", "offline"]),
              st.one_of(st.none(), st.integers(0, 3))),
    st.tuples(st.just("to_agent"), known, agents_),
    st.tuples(st.just("to_queue"), known, st.sampled_from(["general", "claims"])),
    st.tuples(st.just("assign"), st.sampled_from(["least_busy", "round_robin"])),
    st.tuples(st.just("restart")),
)


def apply(state: QueueState, op: tuple, now) -> QueueState:
    kind, *args = op
    if kind == "enqueue":
        tid, age, priority, skills, queue = args
        return enqueue(state, ticket(tid, age=age, priority=priority, skills=skills, queue=queue))
    if kind in ("claim", "close", "to_agent", "to_queue"):
        held = sorted(state.tickets)
        args[0] = held[args[0] % len(held)] if held else "no-such-ticket"
    if kind == "claim":
        return claim(state, args[0], args[1], now)
    if kind == "close":
        return close(state, args[0], now)
    if kind == "presence":
        return set_presence(state, args[0], args[1], now, max_concurrent=args[2])[0]
    if kind == "to_agent":
        return transfer(state, args[0], to_agent=args[1], note="", now=now)
    if kind == "to_queue":
        return transfer(state, args[0], to_queue=args[1], note="", now=now)
    if kind == "restart":
        return restore(state.tickets.values(), state.agents.values(), state.cursor)
    after, effects = assign_waiting(state, now, args[0])
    assert starved(after) == []
    assert overtaken(state, after, effects) == []
    return after


@settings(max_examples=300, deadline=None)
@given(st.lists(operations, max_size=40))
def test_random_operations_never_double_book_overfill_or_reorder(ops):
    state = state_of([agent(a, *SKILL_SETS[n]) for n, a in enumerate(AGENTS)],
                     [ticket(f"t{n}", age=n, skills=TICKET_SKILLS[n]) for n in range(4)])
    for step, op in enumerate(ops):
        try:
            after = apply(state, op, at(100 + step))
        except QueueError:
            continue
        assert broken_invariants(after, before=state) == [], op
        places = positions(after)
        for queue in {t.queue for t in waiting(after)}:
            assert sorted(places[t.id] for t in waiting(after, queue)) == list(range(1, len(waiting(after, queue)) + 1))
        state = after
