from __future__ import annotations

import json
from dataclasses import replace
from datetime import time

import pytest

from triage.handoff.queue import (
    OFFLINE_NOTE, Assigned, ClaimError, PositionChanged, QueueError, QueueState, Unassigned, assign_waiting, claim,
    Ticket, close, enqueue, overdue, position, position_changes, positions, reconfigure, restore, set_presence,
    transfer, unheld, waiting,
)
from triage.settings import QueueSettings

from queue_support import agent, at, broken_invariants, state_of, ticket


def ids(tickets) -> list[str]:
    return [t.id for t in tickets]


def assignments(effects: list[Assigned]) -> list[tuple[str, str]]:
    return [(e.ticket.id, e.agent.id) for e in effects]


# ---- waiting order and positions --------------------------------------------------------


def test_waiting_orders_by_priority_then_age_then_id():
    state = state_of([], [ticket("late-low", age=1, priority="low"), ticket("b", age=5), ticket("a", age=5),
                          ticket("old", age=0), ticket("urgent", age=9, priority="urgent"),
                          ticket("high", age=8, priority="high")])
    assert ids(waiting(state)) == ["urgent", "high", "old", "a", "b", "late-low"]


def test_an_unknown_priority_waits_like_normal_instead_of_jumping_the_queue():
    state = state_of([], [ticket("forged", age=2, priority="VIP!!!"), ticket("normal", age=1),
                          ticket("high", age=3, priority="high")])
    assert ids(waiting(state)) == ["high", "normal", "forged"]
    assert state.tickets["forged"].priority == "normal"


def test_positions_count_within_each_queue():
    state = state_of([], [ticket("g1", age=0), ticket("c1", age=1, queue="claims"), ticket("g2", age=2),
                          ticket("c2", age=3, queue="claims", priority="urgent")])
    assert ids(waiting(state, "claims")) == ["c2", "c1"]
    assert positions(state) == {"g1": 1, "g2": 2, "c2": 1, "c1": 2}
    assert [position(state, t) for t in ("g1", "g2", "c1", "c2")] == [1, 2, 2, 1]


def test_only_waiting_tickets_have_a_position():
    state = claim(state_of([agent("kim")], [ticket("t1"), ticket("t2", age=1)]), "t1", "kim", at(5))
    assert position(state, "t1") is None
    assert position(state, "t2") == 1
    assert position(state, "nobody") is None


def test_position_changes_name_every_ticket_that_moved_or_arrived():
    before = state_of([agent("kim")], [ticket("t1"), ticket("t2", age=1)])
    after = enqueue(claim(before, "t1", "kim", at(5)), ticket("t3", age=6))
    assert [(c.ticket.id, c.before, c.after) for c in position_changes(before, after)] == [
        ("t2", 2, 1), ("t3", None, 2)]
    assert all(isinstance(c, PositionChanged) for c in position_changes(before, after))


def test_enqueue_twice_is_a_retry_not_a_second_place_in_line():
    state = state_of([], [ticket("t1")])
    assert enqueue(state, ticket("t1", age=99, priority="urgent")) is state


# ---- automatic assignment ----------------------------------------------------------------


def test_a_ticket_goes_only_to_an_online_agent_with_room_and_every_skill():
    agents = [agent("away", "주문", "배송", presence="away"), agent("offline", "주문", "배송", presence="offline"),
              agent("full", "주문", "배송", capacity=0), agent("half", "주문"), agent("both", "주문", "배송", "환불")]
    state, effects = assign_waiting(state_of(agents, [ticket("t1", skills=("주문", "배송"))]), at(10))
    assert assignments(effects) == [("t1", "both")]
    assert state.tickets["t1"].status == "assigned"
    assert state.tickets["t1"].assigned_at == at(10)
    assert state.agents["both"].active == ("t1",)


def test_a_ticket_without_skills_can_go_to_any_agent():
    state, effects = assign_waiting(state_of([agent("kim", "VIP")], [ticket("t1")]), at(1))
    assert assignments(effects) == [("t1", "kim")]


def test_a_ticket_nobody_can_serve_does_not_block_the_tickets_behind_it():
    tickets = [ticket("vip", priority="urgent", skills=("VIP",)), ticket("plain", age=1)]
    state, effects = assign_waiting(state_of([agent("kim", "주문")], tickets), at(2))
    assert assignments(effects) == [("plain", "kim")]
    assert ids(waiting(state)) == ["vip"]


def test_assignment_follows_waiting_order_until_capacity_runs_out():
    tickets = [ticket("low", priority="low"), ticket("n2", age=2), ticket("n1", age=1), ticket("hi", age=3,
                                                                                               priority="high")]
    state, effects = assign_waiting(state_of([agent("kim", capacity=2), agent("lee", capacity=1)], tickets), at(5))
    assert [e.ticket.id for e in effects] == ["hi", "n1", "n2"]
    assert ids(waiting(state)) == ["low"]
    assert broken_invariants(state) == []


def test_least_busy_prefers_the_agent_with_the_fewest_conversations():
    state = state_of([agent("kim"), agent("lee")], [ticket("t1"), ticket("t2", age=1)])
    state = claim(claim(state, "t1", "kim", at(2)), "t2", "kim", at(3))
    state, effects = assign_waiting(enqueue(state, ticket("t3", age=4)), at(5), "least_busy")
    assert assignments(effects) == [("t3", "lee")]


def test_least_busy_breaks_ties_by_longest_idle_with_never_assigned_first_then_id():
    state = state_of([agent("b"), agent("a"), agent("c")], [ticket("x1"), ticket("x2", age=1)])
    state = close(close(claim(claim(state, "x1", "a", at(10)), "x2", "b", at(20)), "x1", at(30)), "x2", at(40))
    for n, tid in enumerate(["t1", "t2", "t3"]):
        state = enqueue(state, ticket(tid, age=50 + n))
    state, effects = assign_waiting(state, at(60), "least_busy")
    assert assignments(effects) == [("t1", "c"), ("t2", "a"), ("t3", "b")]


def test_round_robin_rotates_over_eligible_agents_and_remembers_its_place():
    agents = [agent("a"), agent("b", "VIP"), agent("c")]
    state, first = assign_waiting(state_of(agents, [ticket("t1"), ticket("t2", age=1)]), at(5), "round_robin")
    assert assignments(first) == [("t1", "a"), ("t2", "b")]
    state = enqueue(enqueue(state, ticket("t3", age=6)), ticket("vip", age=7, skills=("VIP",)))
    state, second = assign_waiting(state, at(8), "round_robin")
    assert assignments(second) == [("t3", "c"), ("vip", "b")]
    state, third = assign_waiting(enqueue(state, ticket("t4", age=9)), at(10), "round_robin")
    assert assignments(third) == [("t4", "c")]


def test_tickets_of_a_closed_queue_wait_for_it_to_open():
    weekdays = {d: ((time(9), time(18)),) for d in range(5)}
    queues = {"general": QueueSettings("general", hours=weekdays)}
    tickets = [ticket("general-1"), ticket("unlisted", age=1, queue="popup")]
    seollal = at(0).replace(year=2026, month=2, day=17, hour=11)
    state, effects = assign_waiting(state_of([agent("kim")], tickets), seollal, queues=queues)
    assert assignments(effects) == [("unlisted", "kim")]
    state, effects = assign_waiting(state, seollal.replace(day=19), queues=queues)
    assert assignments(effects) == [("general-1", "kim")]


# ---- manual claim -----------------------------------------------------------------------


def test_an_agent_claims_a_waiting_ticket_whatever_its_skills():
    state = claim(state_of([agent("kim")], [ticket("t1", skills=("VIP",))]), "t1", "kim", at(3))
    assert (state.tickets["t1"].status, state.tickets["t1"].agent_id) == ("assigned", "kim")
    assert state.agents["kim"].active == ("t1",)
    assert state.agents["kim"].last_assigned_at == at(3)


@pytest.mark.parametrize(("ticket_id", "agent_id", "reason"), [
    ("taken", "lee", "not_waiting"),
    ("t1", "full", "no_capacity"),
    ("t1", "gone", "offline"),
    ("t1", "nobody", "unknown_agent"),
    ("nothing", "lee", "unknown_ticket"),
])
def test_a_claim_that_cannot_happen_is_refused_with_a_reason(ticket_id, agent_id, reason):
    agents = [agent("kim"), agent("lee"), agent("full", capacity=0), agent("gone", presence="offline")]
    state = claim(state_of(agents, [ticket("taken"), ticket("t1", age=1)]), "taken", "kim", at(2))
    with pytest.raises(QueueError) as refused:
        claim(state, ticket_id, agent_id, at(3))
    assert refused.value.reason == reason
    assert str(refused.value)


def test_claim_refusals_are_claim_errors_for_the_api_to_answer_409():
    state = claim(state_of([agent("kim"), agent("lee")], [ticket("t1")]), "t1", "kim", at(1))
    with pytest.raises(ClaimError, match="assigned, not waiting"):
        claim(state, "t1", "lee", at(2))


# ---- transfer ---------------------------------------------------------------------------


def test_transfer_to_a_queue_waits_there_with_the_original_age_and_a_note():
    state = state_of([agent("kim", "주문"), agent("park", "환불")],
                     [ticket("t1", skills=("주문",)), ticket("c1", age=30, queue="claims", skills=("환불",))])
    state = claim(claim(state, "t1", "kim", at(40)), "c1", "park", at(41))
    state = enqueue(state, ticket("c2", age=45, queue="claims"))
    moved = transfer(state, "t1", to_queue="claims", skills=("환불",), note="환불 건이에요", now=at(50))
    t1 = moved.tickets["t1"]
    assert (t1.status, t1.queue, t1.skills, t1.created_at, t1.agent_id) == ("waiting", "claims", ("환불",), at(0), None)
    assert ids(waiting(moved, "claims")) == ["t1", "c2"]
    assert moved.agents["kim"].active == ()
    [note] = t1.transfers
    assert (note.note, note.from_queue, note.to_queue, note.from_agent, note.at) == (
        "환불 건이에요", "general", "claims", "kim", at(50))
    assert broken_invariants(moved) == []


def test_transfer_to_an_agent_with_room_moves_the_conversation():
    state = claim(state_of([agent("kim"), agent("lee")], [ticket("t1")]), "t1", "kim", at(1))
    moved = transfer(state, "t1", to_agent="lee", note="배송 전문", now=at(9))
    assert (moved.tickets["t1"].agent_id, moved.tickets["t1"].assigned_at) == ("lee", at(9))
    assert (moved.agents["kim"].active, moved.agents["lee"].active) == ((), ("t1",))
    assert moved.tickets["t1"].transfers[0].to_agent == "lee"


@pytest.mark.parametrize(("target", "reason"), [("full", "no_capacity"), ("kim", "same_agent"),
                                                ("gone", "offline")])
def test_transfer_to_an_agent_who_cannot_take_it_changes_nothing(target, reason):
    agents = [agent("kim"), agent("full", capacity=1), agent("gone", presence="offline")]
    state = claim(claim(state_of(agents, [ticket("t1"), ticket("t2")]), "t1", "kim", at(1)), "t2", "full", at(2))
    with pytest.raises(ClaimError) as refused:
        transfer(state, "t1", to_agent=target, note="", now=at(3))
    assert refused.value.reason == reason
    assert state.tickets["t1"].agent_id == "kim"


def test_a_closed_ticket_cannot_be_transferred():
    state = close(state_of([agent("kim")], [ticket("t1")]), "t1", at(1))
    with pytest.raises(ClaimError) as refused:
        transfer(state, "t1", to_queue="claims", note="", now=at(2))
    assert refused.value.reason == "not_open"


def test_a_transfer_must_say_where_to():
    with pytest.raises(ValueError):
        transfer(state_of([], [ticket("t1")]), "t1", note="", now=at(1))


# ---- presence and capacity --------------------------------------------------------------


def test_going_offline_requeues_tickets_with_their_place_and_they_are_reassigned():
    tickets = [ticket("t1", priority="high"), ticket("t2", age=1), ticket("t3", age=2)]
    state, first = assign_waiting(state_of([agent("kim", capacity=2), agent("lee", capacity=1)], tickets), at(5))
    assert assignments(first) == [("t1", "kim"), ("t2", "lee"), ("t3", "kim")]
    state, effects = set_presence(state, "kim", "offline", at(10))
    assert [(e.ticket.id, e.agent_id) for e in effects] == [("t1", "kim"), ("t3", "kim")]
    assert all(isinstance(e, Unassigned) for e in effects)
    assert [(t.id, t.priority, t.created_at) for t in waiting(state)] == [("t1", "high", at(0)),
                                                                          ("t3", "normal", at(2))]
    assert state.agents["kim"].active == ()
    assert [(n.note, n.from_agent, n.at) for n in state.tickets["t3"].transfers] == [(OFFLINE_NOTE, "kim", at(10))]
    state, reassigned = assign_waiting(close(state, "t2", at(11)), at(12))
    assert assignments(reassigned) == [("t1", "lee")]
    assert broken_invariants(state) == []


def test_away_keeps_open_conversations_but_takes_no_new_ones():
    state = claim(state_of([agent("kim")], [ticket("t1"), ticket("t2", age=1)]), "t1", "kim", at(1))
    state, effects = set_presence(state, "kim", "away", at(2))
    assert effects == []
    assert state.agents["kim"].active == ("t1",)
    assert assign_waiting(state, at(3))[1] == []


def test_lowering_capacity_keeps_open_conversations_and_blocks_new_ones_until_below():
    state, _ = assign_waiting(state_of([agent("kim", capacity=3)], [ticket(f"t{n}", age=n) for n in range(4)]),
                              at(5))
    state, _ = set_presence(state, "kim", "online", at(6), max_concurrent=1)
    assert len(state.agents["kim"].active) == 3
    state = close(state, "t0", at(7))
    assert assign_waiting(state, at(8))[1] == []
    state = close(close(state, "t1", at(9)), "t2", at(9))
    assert assignments(assign_waiting(state, at(10))[1]) == [("t3", "kim")]


def test_presence_of_an_unknown_agent_is_an_error():
    with pytest.raises(QueueError) as refused:
        set_presence(QueueState(), "ghost", "online", at(0))
    assert refused.value.reason == "unknown_agent"


@pytest.mark.parametrize(("presence", "capacity"), [("busy", None), ("ONLINE", None), ("online", -1),
                                                    ("online", 51), ("online", "3"), ("online", True)])
def test_presence_and_capacity_from_an_api_body_are_checked_before_they_are_stored(presence, capacity):
    state = state_of([agent("kim")])
    with pytest.raises(QueueError) as refused:
        set_presence(state, "kim", presence, at(0), max_concurrent=capacity)
    assert refused.value.reason == "invalid"


# ---- close ------------------------------------------------------------------------------


def test_closing_frees_the_seat_for_the_next_waiting_ticket():
    state, _ = assign_waiting(state_of([agent("kim", capacity=1)], [ticket("t1"), ticket("t2", age=1)]), at(1))
    state = close(state, "t1", at(61))
    assert (state.tickets["t1"].status, state.tickets["t1"].closed_at) == ("closed", at(61))
    assert state.agents["kim"].active == ()
    state, effects = assign_waiting(state, at(62))
    assert assignments(effects) == [("t2", "kim")]


def test_closing_a_waiting_ticket_takes_it_out_of_line_and_closing_again_changes_nothing():
    state = close(state_of([], [ticket("t1"), ticket("t2", age=1)]), "t1", at(5))
    assert ids(waiting(state)) == ["t2"]
    assert close(state, "t1", at(9)) is state


def test_closing_an_unknown_ticket_is_an_error():
    with pytest.raises(QueueError) as refused:
        close(QueueState(), "t404", at(0))
    assert refused.value.reason == "unknown_ticket"


# ---- waiting too long -------------------------------------------------------------------


def test_overdue_lists_tickets_waiting_past_their_queue_max_wait_in_waiting_order():
    queues = {"general": QueueSettings("general", max_wait=10), "claims": QueueSettings("claims", max_wait=30)}
    tickets = [ticket("g-old", age=0), ticket("g-new", age=300), ticket("c-old", age=0, queue="claims"),
               ticket("g-urgent", age=60, priority="urgent"), ticket("popup", age=0, queue="popup")]
    state = claim(state_of([agent("kim")], [*tickets, ticket("taken", age=0)]), "taken", "kim", at(1))
    assert ids(overdue(state, at(10 * 60), queues)) == []
    assert ids(overdue(state, at(10 * 60 + 61), queues)) == ["g-urgent", "g-old"]
    assert ids(overdue(state, at(31 * 60), queues)) == ["g-urgent", "c-old", "g-old", "g-new"]


# ---- storing and restoring --------------------------------------------------------------


def test_a_ticket_survives_a_json_round_trip_with_its_history():
    state = claim(state_of([agent("kim"), agent("lee")], [ticket("t1", skills=("주문",))]), "t1", "kim", at(1))
    state = transfer(state, "t1", to_agent="lee", note="교환 건 <script>", now=at(2))
    stored = json.loads(json.dumps(state.tickets["t1"].to_dict(), ensure_ascii=False))
    assert stored["created_at"] == at(0).isoformat()
    assert Ticket.from_dict(stored) == state.tickets["t1"]


def test_restore_derives_who_holds_what_from_the_tickets_alone():
    state, _ = assign_waiting(state_of([agent("kim"), agent("lee", capacity=1)],
                                       [ticket(f"t{n}", age=n) for n in range(4)]), at(5))
    stale = [replace(a, active=("ghost",)) for a in state.agents.values()]
    restored = restore(state.tickets.values(), stale, state.cursor)
    assert restored.agents["kim"].active == state.agents["kim"].active
    assert restored.agents["lee"].active == state.agents["lee"].active
    assert restored.tickets == state.tickets
    assert broken_invariants(restored) == []


def test_restore_puts_tickets_of_departed_or_offline_agents_back_in_line():
    state = claim(claim(state_of([agent("kim"), agent("lee")], [ticket("t1"), ticket("t2", age=1)]),
                        "t1", "kim", at(2)), "t2", "lee", at(3))
    restored = restore(state.tickets.values(), [agent("lee", presence="offline")])
    assert ids(waiting(restored)) == ["t1", "t2"]
    assert restored.agents["lee"].active == ()
    assert broken_invariants(restored) == []


# ---- an edited agents: section ------------------------------------------------------------


def test_a_reload_takes_names_and_skills_from_the_file_and_keeps_presence_load_and_api_capacity():
    state, _ = assign_waiting(state_of([agent("kim", "주문", capacity=5)], [ticket("t1")]), at(1))
    edited = {"kim": replace(agent("kim", "주문", "배송", capacity=2, presence="offline"), name="김상담")}
    kept = reconfigure(state, edited).agents["kim"]
    assert (kept.name, kept.skills, kept.presence, kept.active, kept.max_concurrent) == (
        "김상담", frozenset({"주문", "배송"}), "online", ("t1",), 5)
    assert reconfigure(state, edited, edited_capacity=["kim"]).agents["kim"].max_concurrent == 2


def test_a_removed_agent_is_gone_and_their_tickets_go_back_in_line_with_the_offline_note():
    state, _ = assign_waiting(state_of([agent("kim"), agent("lee")], [ticket("t1"), ticket("t2", age=1)]), at(1))
    state = reconfigure(state, {"lee": agent("lee")})
    assert list(state.agents) == ["lee"]
    requeued, back = unheld(state, at(5))
    [item] = back
    assert (item.agent_id, item.ticket.status, item.ticket.transfers[-1].note) == ("kim", "waiting", OFFLINE_NOTE)
    assert requeued.tickets[item.ticket.id].status == "waiting" and broken_invariants(requeued) == []
    assert unheld(requeued, at(6))[1] == []

