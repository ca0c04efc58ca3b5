"""The human-agent queue as pure policy: who waits, in what order, and who takes whom.

No clock, no store, no asyncio: every function takes a ``QueueState`` and ``now`` and returns
a new state, plus small effect records where the caller must tell someone (the user their
position, the agent desk an assignment). The store persists the state, the runtime turns
effects into messages and events, and the agent API maps ``QueueError`` to HTTP 404/409.

Rules, the way a call center runs them:

- Waiting order is priority (urgent > high > normal > low), then age, then id. Age is the
  ``created_at`` of the escalation and survives transfers and requeues, so nobody loses their
  place because an agent logged off.
- An agent takes work automatically when online, below ``max_concurrent`` and holding every
  skill the ticket asks for. ``away`` keeps current tickets but takes no new ones; ``offline``
  gives its tickets back to the queue.
- ``assign_waiting`` fills free capacity in waiting order. A ticket nobody can serve is skipped,
  not a wall: the tickets behind it still reach the agents who can take them.
- Tickets of a queue that is closed (business hours, holidays) wait for it to open.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, tzinfo
from typing import Any, Iterable, Literal, Mapping

from triage.flows.model import PRIORITIES
from triage.handoff.hours import SITE_TZ, is_open
from triage.settings import QueueSettings

TicketStatus = Literal["waiting", "assigned", "closed"]
Presence = Literal["online", "away", "offline"]
Policy = Literal["least_busy", "round_robin"]
POLICIES: tuple[Policy, ...] = ("least_busy", "round_robin")
PRESENCES: tuple[Presence, ...] = ("online", "away", "offline")
Reason = Literal["unknown_ticket", "unknown_agent", "not_waiting", "not_open", "no_capacity", "offline",
                 "same_agent", "invalid"]
MAX_CONCURRENT_LIMIT = 50
OFFLINE_NOTE = "agent went offline"


class QueueError(Exception):
    """A request the queue refuses; ``reason`` is stable for APIs, the message is for people."""

    def __init__(self, reason: Reason, message: str):
        self.reason = reason
        super().__init__(message)


class ClaimError(QueueError):
    """A claim or transfer to an agent that cannot happen now (the API answers 409)."""


@dataclass(frozen=True)
class TransferNote:
    at: datetime
    note: str
    from_queue: str
    to_queue: str
    from_agent: str | None = None
    to_agent: str | None = None


@dataclass(frozen=True)
class Ticket:
    id: str
    session_id: str
    user_key: str
    queue: str
    created_at: datetime
    priority: str = "normal"
    skills: tuple[str, ...] = ()
    summary: str = ""
    category: str | None = None
    status: TicketStatus = "waiting"
    agent_id: str | None = None
    assigned_at: datetime | None = None
    closed_at: datetime | None = None
    transfers: tuple[TransferNote, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the store and the agent API; datetimes as ISO 8601."""
        data = {k: _iso(v) for k, v in asdict(self).items()}
        data["skills"] = list(self.skills)
        data["transfers"] = [{k: _iso(v) for k, v in note.items()} for note in data["transfers"]]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Ticket":
        values = {**data, **{k: _when(data.get(k)) for k in ("created_at", "assigned_at", "closed_at")}}
        values["skills"] = tuple(data.get("skills") or ())
        values["transfers"] = tuple(TransferNote(**{**n, "at": _when(n["at"])}) for n in data.get("transfers") or ())
        return cls(**values)


@dataclass(frozen=True)
class Agent:
    id: str
    name: str = ""
    skills: frozenset[str] = frozenset()
    max_concurrent: int = 3
    presence: Presence = "offline"
    active: tuple[str, ...] = ()
    """Ids of the tickets assigned to this agent, oldest assignment first."""
    last_assigned_at: datetime | None = None

    @property
    def free(self) -> int:
        return max(0, self.max_concurrent - len(self.active))


@dataclass(frozen=True)
class QueueState:
    tickets: Mapping[str, Ticket] = field(default_factory=dict)
    agents: Mapping[str, Agent] = field(default_factory=dict)
    cursor: str | None = None
    """Round robin: the agent who got the last automatic assignment; the next turn starts after it."""


@dataclass(frozen=True)
class Assigned:
    ticket: Ticket
    agent: Agent


@dataclass(frozen=True)
class Unassigned:
    """A ticket went back to waiting because its agent left; the user keeps their place."""

    ticket: Ticket
    agent_id: str


@dataclass(frozen=True)
class PositionChanged:
    ticket: Ticket
    before: int | None
    after: int


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _order(ticket: Ticket) -> tuple[int, datetime, str]:
    return (-PRIORITIES.index(ticket.priority), ticket.created_at, ticket.id)


def _ticket(state: QueueState, ticket_id: str) -> Ticket:
    if ticket_id not in state.tickets:
        raise QueueError("unknown_ticket", f'no ticket "{ticket_id}"')
    return state.tickets[ticket_id]


def _agent(state: QueueState, agent_id: str) -> Agent:
    if agent_id not in state.agents:
        raise QueueError("unknown_agent", f'no agent "{agent_id}"')
    return state.agents[agent_id]


def _with(state: QueueState, tickets: Iterable[Ticket] = (), agents: Iterable[Agent] = ()) -> QueueState:
    return replace(state, tickets={**state.tickets, **{t.id: t for t in tickets}},
                   agents={**state.agents, **{a.id: a for a in agents}})


def can_serve(agent: Agent, ticket: Ticket) -> bool:
    """Skills only: whether this agent could ever take this ticket."""
    return agent.skills.issuperset(ticket.skills)


def eligible(agent: Agent, ticket: Ticket) -> bool:
    """Whether automatic assignment may give this ticket to this agent right now."""
    return agent.presence == "online" and agent.free > 0 and can_serve(agent, ticket)


def enqueue(state: QueueState, ticket: Ticket) -> QueueState:
    """A new escalation waits; an id already known is an idempotent retry and changes nothing.

    An unknown priority becomes normal here, once: hostile or stale data must not jump the queue.
    """
    if ticket.id in state.tickets:
        return state
    priority = ticket.priority if ticket.priority in PRIORITIES else "normal"
    return _with(state, [replace(ticket, priority=priority, status="waiting", agent_id=None, assigned_at=None,
                                 closed_at=None)])


def waiting(state: QueueState, queue: str | None = None) -> list[Ticket]:
    return sorted((t for t in state.tickets.values() if t.status == "waiting" and queue in (None, t.queue)),
                  key=_order)


def positions(state: QueueState) -> dict[str, int]:
    """Every waiting ticket's 1-based place within its own queue, in one pass."""
    counts: dict[str, int] = {}
    result = {}
    for ticket in waiting(state):
        counts[ticket.queue] = counts.get(ticket.queue, 0) + 1
        result[ticket.id] = counts[ticket.queue]
    return result


def position(state: QueueState, ticket_id: str) -> int | None:
    ticket = state.tickets.get(ticket_id)
    if ticket is None or ticket.status != "waiting":
        return None
    return [t.id for t in waiting(state, ticket.queue)].index(ticket_id) + 1


def position_changes(before: QueueState, after: QueueState) -> list[PositionChanged]:
    """What the runtime diffs after any change, to decide whose position message is stale."""
    old = positions(before)
    return [PositionChanged(after.tickets[tid], old.get(tid), place)
            for tid, place in positions(after).items() if old.get(tid) != place]


def overdue(state: QueueState, now: datetime, queues: Mapping[str, QueueSettings]) -> list[Ticket]:
    """Waiting longer than the queue's ``max_wait`` minutes, in waiting order.

    The runtime offers these users to leave a message instead of waiting on; a queue the
    settings don't know sets no limit.
    """
    return [t for t in waiting(state) if t.queue in queues
            and (now - t.created_at).total_seconds() > queues[t.queue].max_wait * 60]


def _least_busy(candidates: list[Agent], cursor: str | None) -> Agent:
    """Fewest active tickets; on a tie, the one idle longest (never assigned counts as longest)."""
    return min(candidates, key=lambda a: (len(a.active), a.last_assigned_at is not None,
                                          a.last_assigned_at or datetime.min, a.id))


def _round_robin(candidates: list[Agent], cursor: str | None) -> Agent:
    """The first eligible agent after the cursor in id order, wrapping around."""
    ordered = sorted(candidates, key=lambda a: a.id)
    return next((a for a in ordered if cursor is None or a.id > cursor), ordered[0])


_PICKERS = {"least_busy": _least_busy, "round_robin": _round_robin}


def _assign(ticket: Ticket, agent: Agent, now: datetime) -> tuple[Ticket, Agent]:
    return (replace(ticket, status="assigned", agent_id=agent.id, assigned_at=now),
            replace(agent, active=(*agent.active, ticket.id), last_assigned_at=now))


def _release(agent: Agent, ticket_id: str) -> Agent:
    return replace(agent, active=tuple(t for t in agent.active if t != ticket_id))


def _queue_open(queues: Mapping[str, QueueSettings], name: str, now: datetime, tz: tzinfo) -> bool:
    """A queue the settings don't know has no hours to keep, so it never holds tickets back."""
    return name not in queues or is_open(queues[name], now, tz)


def assign_waiting(state: QueueState, now: datetime, policy: Policy = "least_busy",
                   queues: Mapping[str, QueueSettings] | None = None,
                   tz: tzinfo = SITE_TZ) -> tuple[QueueState, list[Assigned]]:
    """Fill every free seat in waiting order; call it after anything that frees capacity."""
    pick = _PICKERS[policy]
    agents = dict(state.agents)
    tickets: dict[str, Ticket] = {}
    cursor = state.cursor
    assigned = []
    queue = waiting(state)
    open_now = {name: _queue_open(queues or {}, name, now, tz) for name in {t.queue for t in queue}}
    for ticket in queue:
        if not any(a.presence == "online" and a.free > 0 for a in agents.values()):
            break
        candidates = [a for a in agents.values() if eligible(a, ticket)]
        if not candidates or not open_now[ticket.queue]:
            continue
        ticket, agent = _assign(ticket, pick(candidates, cursor), now)
        agents[agent.id], tickets[ticket.id], cursor = agent, ticket, agent.id
        assigned.append(Assigned(ticket, agent))
    return replace(state, tickets={**state.tickets, **tickets}, agents=agents, cursor=cursor), assigned


def _take(ticket: Ticket, agent: Agent, now: datetime) -> tuple[Ticket, Agent]:
    """The checks every manual placement shares: claims and transfers to a named agent."""
    if agent.presence == "offline":
        raise ClaimError("offline", f'agent "{agent.id}" is offline')
    if ticket.agent_id == agent.id:
        raise ClaimError("same_agent", f'ticket "{ticket.id}" is already with agent "{agent.id}"')
    if agent.free == 0:
        raise ClaimError("no_capacity", f'agent "{agent.id}" already has {len(agent.active)} of '
                                        f'{agent.max_concurrent} conversations')
    return _assign(ticket, agent, now)


def claim(state: QueueState, ticket_id: str, agent_id: str, now: datetime) -> QueueState:
    """An agent picks a waiting ticket by hand; skills are the agent's judgement, not checked."""
    ticket, agent = _ticket(state, ticket_id), _agent(state, agent_id)
    if ticket.status != "waiting":
        raise ClaimError("not_waiting", f'ticket "{ticket_id}" is {ticket.status}, not waiting')
    ticket, agent = _take(ticket, agent, now)
    return _with(state, [ticket], [agent])


def _unassigned(ticket: Ticket) -> Ticket:
    return replace(ticket, status="waiting", agent_id=None, assigned_at=None)


def transfer(state: QueueState, ticket_id: str, *, to_agent: str | None = None, to_queue: str | None = None,
             note: str, now: datetime, skills: Iterable[str] | None = None) -> QueueState:
    """Move an open ticket to another agent (who must have room) or back to waiting in a queue.

    The ticket keeps its age either way. ``skills`` replaces what it asks for, because the
    target queue's agents may not hold the skills the first queue needed.
    """
    if to_agent is None and to_queue is None:
        raise ValueError("transfer needs to_agent or to_queue")
    ticket = _ticket(state, ticket_id)
    if ticket.status == "closed":
        raise ClaimError("not_open", f'ticket "{ticket_id}" is closed')
    record = TransferNote(now, note, ticket.queue, to_queue or ticket.queue, ticket.agent_id, to_agent)
    moved = replace(ticket, queue=to_queue or ticket.queue, transfers=(*ticket.transfers, record),
                    skills=tuple(skills) if skills is not None else ticket.skills)
    target = _agent(state, to_agent) if to_agent is not None else None
    if target is not None:
        moved, target = _take(moved, target, now)
    else:
        moved = _unassigned(moved)
    previous = [_release(state.agents[ticket.agent_id], ticket_id)] if ticket.agent_id in state.agents else []
    return _with(state, [moved], [*previous, *([target] if target else [])])


def _requeued(ticket: Ticket, now: datetime) -> Ticket:
    """Back in line with its age and priority, and a note so the next agent knows why."""
    note = TransferNote(now, OFFLINE_NOTE, ticket.queue, ticket.queue, ticket.agent_id)
    return replace(_unassigned(ticket), transfers=(*ticket.transfers, note))


def set_presence(state: QueueState, agent_id: str, presence: Presence, now: datetime,
                 max_concurrent: int | None = None) -> tuple[QueueState, list[Unassigned]]:
    """Going offline hands the agent's tickets back with their original age and priority.

    Lowering ``max_concurrent`` below the current load keeps the conversations already open;
    the agent simply gets nothing new until below the limit again. Both values usually come
    straight from an API body, so nonsense is refused rather than stored.
    """
    agent = _agent(state, agent_id)
    if presence not in PRESENCES:
        raise QueueError("invalid", f'presence must be one of {", ".join(PRESENCES)}')
    if max_concurrent is not None and (type(max_concurrent) is not int
                                       or not 0 <= max_concurrent <= MAX_CONCURRENT_LIMIT):
        raise QueueError("invalid", f"max_concurrent must be between 0 and {MAX_CONCURRENT_LIMIT}")
    capacity = agent.max_concurrent if max_concurrent is None else max_concurrent
    if presence != "offline":
        return _with(state, agents=[replace(agent, presence=presence, max_concurrent=capacity)]), []
    requeued = [_requeued(state.tickets[tid], now) for tid in agent.active if tid in state.tickets]
    updated = replace(agent, presence="offline", max_concurrent=capacity, active=())
    return _with(state, requeued, [updated]), [Unassigned(t, agent_id) for t in requeued]


def reconfigure(state: QueueState, configured: Mapping[str, Agent], edited_capacity: Iterable[str] = ()
                ) -> QueueState:
    """The agents triage.yaml lists now, each keeping what only the running desk knows.

    Name and skills are the file's. Presence, open conversations and the last assignment are
    the desk's. ``max_concurrent`` is the file's for the ``edited_capacity`` agents (the file
    changed it) and otherwise stays what the agent last set through the API. An agent the file
    no longer lists is gone at once; their tickets still name them until ``unheld`` puts them
    back in line.
    """
    edited = set(edited_capacity)
    agents = {}
    for agent_id, fresh in configured.items():
        known = state.agents.get(agent_id)
        agents[agent_id] = fresh if known is None else replace(
            fresh, presence=known.presence, active=known.active, last_assigned_at=known.last_assigned_at,
            max_concurrent=fresh.max_concurrent if agent_id in edited else known.max_concurrent)
    return replace(state, agents=agents)


def unheld(state: QueueState, now: datetime) -> tuple[QueueState, list[Unassigned]]:
    """Assigned tickets whose agent no longer exists go back in line as if that agent went offline."""
    held = [t for t in state.tickets.values() if t.status == "assigned" and t.agent_id not in state.agents]
    back = [Unassigned(_requeued(t, now), t.agent_id or "") for t in held]
    return _with(state, [item.ticket for item in back]), back


def close(state: QueueState, ticket_id: str, now: datetime) -> QueueState:
    """Ends a ticket whether waiting (the user cancelled) or assigned, freeing the agent's seat.

    Closed tickets stay in the state so handle times can be read; the store decides when to
    forget them.
    """
    ticket = _ticket(state, ticket_id)
    if ticket.status == "closed":
        return state
    agent = [_release(state.agents[ticket.agent_id], ticket_id)] if ticket.agent_id in state.agents else []
    return _with(state, [replace(ticket, status="closed", closed_at=now)], agent)


def restore(tickets: Iterable[Ticket], agents: Iterable[Agent], cursor: str | None = None) -> QueueState:
    """Rebuild the state from stored tickets and agents.

    Who holds what is derived from the tickets alone, so after a crash the two can never
    disagree; a ticket held by an agent who is gone or offline goes back in line.
    """
    staff = {a.id: replace(a, active=()) for a in agents}
    rebuilt = {}
    for ticket in sorted(tickets, key=lambda t: (t.assigned_at or t.created_at, t.id)):
        holder = staff.get(ticket.agent_id or "")
        if ticket.status == "assigned" and (holder is None or holder.presence == "offline"):
            ticket = _unassigned(ticket)
        elif holder is not None and ticket.status == "assigned":
            staff[holder.id] = replace(holder, active=(*holder.active, ticket.id))
        rebuilt[ticket.id] = ticket
    return QueueState(rebuilt, staff, cursor)
