"""The live queue: the imperative shell around ``queue.py``'s pure policy.

The desk owns the one ``QueueState`` of a running server. It never writes on its own: every
change is staged on the runtime's plan for the event being processed (ticket rows, messages to
customers, session owners, events) and adopted only after that plan's single commit succeeded,
so memory and database cannot disagree. A change to one ticket may touch others (a closed
conversation frees a seat, the next customer in line is assigned and told), and all of that is
still the one commit.

On start the state is rebuilt from the tickets and agents tables with ``queue.restore``, so a
restart loses no waiting customer and no agent's conversations. An edited ``agents:`` section
takes effect when the content reloads: routing sees the file's names, skills and capacities at
once, and a removed agent's customers go back in line with the next plan (the timer tick's, at
the latest), told the way customers of an agent who went offline are.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from triage.content import Content
from triage.flows.choices import fold_keyword
from triage.flows.session import HandoffAction, SessionState
from triage.handoff import queue as q
from triage.handoff.config import HandoffConfig, desk as initial_desk, parse_handoff
from triage.handoff.estimate import estimate, handle_times, should_notify
from triage.handoff.hours import is_open
from triage.handoff.packet import build_packet, previous_sessions
from triage.kakao.render import OutboundCall, address, end_call, text_bubbles
from triage.settings import Settings
from triage.timers import HandoffDue, handoff_due
from triage.store import AgentRow, NewEvent, NewOutbox, SessionRecord, Store, TicketRow, TranscriptEntry

if TYPE_CHECKING:
    from triage.runtime import Plan

ASSIGNED_TEXT = "상담원 {name}님이 연결되었어요."
CANCELLED_TEXT = "상담원 연결 대기를 취소했어요."
CANCEL_HINT = "대기를 그만두시려면 '{keyword}'를 입력해 주세요."
REMINDER_TEXT = "아직 상담원 연결을 기다리고 있어요. {wait}\n" + CANCEL_HINT
QUEUE_END_TEXT = "응답이 없어 상담원 연결 대기를 종료할게요. 다시 필요하시면 언제든 말씀해 주세요."
AGENT_WARN_TEXT = "상담을 계속하시려면 메시지를 남겨 주세요. 응답이 없으면 잠시 후 상담이 종료돼요."
AGENT_END_TEXT = "응답이 없어 상담을 종료할게요. 이용해 주셔서 감사합니다."
AGENT_LEFT_TEXT = "상담원 연결이 끊겨 다른 상담원을 연결해 드릴게요."
MAX_WAIT_TEXT = ("기다리시는 시간이 길어지고 있어요. 문의 내용을 남겨 주시면 상담원이 순서대로 확인하고 답변드릴게요. "
                 "창을 닫으셔도 괜찮아요.\n" + CANCEL_HINT)
NOTED_TEXT = "남겨 주신 메시지는 상담원에게 전달할게요. {wait}\n" + CANCEL_HINT
NOTED_OFFLINE_TEXT = "남겨 주신 메시지를 잘 받아 두었어요. 운영 시간에 상담원이 순서대로 답변드릴게요."
MESSAGE_KEYS = {"assigned": ASSIGNED_TEXT, "cancelled": CANCELLED_TEXT, "reminder": REMINDER_TEXT,
                "queue_end": QUEUE_END_TEXT, "agent_warn": AGENT_WARN_TEXT, "agent_end": AGENT_END_TEXT,
                "max_wait": MAX_WAIT_TEXT, "agent_left": AGENT_LEFT_TEXT, "noted": NOTED_TEXT,
                "noted_offline": NOTED_OFFLINE_TEXT}
"""Per-queue overrides come from ``queues.<name>.messages`` in triage.yaml."""
NOTED_INTERVAL = 180.0
"""Seconds between acknowledgements of a waiting customer's messages: five lines typed in a row get one."""
HISTORY_DAYS = 7
"""Closed tickets loaded on start, for handle-time estimates."""
USER_LEFT_REASONS = ("expired", "user_ended", "user_left", "no_session", "replaced", "blocked_by_user")


@dataclass
class Change:
    """The desk's part of one plan: the queue as it will be once the commit succeeds."""

    before: q.QueueState
    state: q.QueueState
    rows: dict[str, TicketRow] = field(default_factory=dict)
    notices: dict[str, dict[str, Any]] = field(default_factory=dict)
    staged: dict[str, AgentRow] = field(default_factory=dict)
    """The reload's rows this plan writes first; a presence change written after one supersedes it."""


class Desk:
    """Queue state plus the rules for turning queue changes into what customers and agents see."""

    def __init__(self, store: Store, content: Callable[[], Content], clock: Callable[[], float],
                 serials: Callable[[], str]):
        self.store = store
        self.content = content
        self.clock = clock
        self.serials = serials
        self._settings: Settings | None = None
        self._config = HandoffConfig()
        self.rows: dict[str, TicketRow] = {}
        self._unsaved: dict[str, AgentRow] = {}
        """Agent rows a reload changed, written with the next commit so a restart keeps them."""
        self._tickets = itertools.count()
        self.state = self._restore()

    # ---- configuration and time --------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self.content().settings

    @property
    def config(self) -> HandoffConfig:
        """Parsed once per content snapshot; a reload that adds an agent adds them offline."""
        settings = self.settings
        if settings is not self._settings:
            previous = self._config
            self._settings, self._config = settings, parse_handoff(settings)[0]
            if hasattr(self, "state"):
                self._reconfigure(previous)
        return self._config

    def _reconfigure(self, previous: HandoffConfig) -> None:
        """Routing follows the file now; only what changed in it is staged for the store."""
        now = self.clock()
        current = self._config.agents
        edited = {a.id for a in current.values()
                  if a.id in previous.agents and previous.agents[a.id].max_concurrent != a.max_concurrent}
        removed = [self.state.agents[a] for a in self.state.agents if a not in current]
        self.state = q.reconfigure(self.state, initial_desk(self._config).agents, edited)
        for agent in [*(self.state.agents[a] for a in edited), *(replace(a, presence="offline") for a in removed)]:
            self._unsaved[agent.id] = AgentRow(agent.id, agent.presence, agent.max_concurrent, now)

    def local(self, at: float) -> datetime:
        return datetime.fromtimestamp(at, self.settings.tz)

    def restore(self) -> None:
        """Forget staged changes the store never saved (a failed batch): the store is the truth."""
        self.state = self._restore()

    def _restore(self) -> q.QueueState:
        now = self.clock()
        rows = self.store.tickets(closed_since=now - HISTORY_DAYS * 86400)
        self.rows = {row.id: row for row in rows}
        agents = dict(initial_desk(self.config).agents)
        for row in [*self.store.agent_rows(), *self._unsaved.values()]:
            if row.id in agents:
                agents[row.id] = replace(agents[row.id], presence=row.presence, max_concurrent=row.max_concurrent)
        return q.restore([q.Ticket.from_dict(row.ticket) for row in rows], agents.values())

    # ---- staging on a plan ---------------------------------------------------------------------

    def change(self, plan: Plan) -> Change:
        if plan.desk is None:
            self.config
            plan.desk = Change(self.state, self.state, staged=dict(self._unsaved))
            plan.agents += self._unsaved.values()
            plan.after_commit.append(lambda: self._adopt(plan.desk))
            self._requeue_unheld(plan)
        return plan.desk

    def _requeue_unheld(self, plan: Plan) -> None:
        """Customers of an agent removed from triage.yaml wait again, with the next plan of any kind."""
        state, requeued = q.unheld(plan.desk.state, self.local(plan.now))
        if requeued:
            self._back_in_line(plan, requeued)
            self._settle(plan, state, plan.now)

    def _adopt(self, change: Change) -> None:
        """A staged reload row is saved now, whatever this plan wrote after it for the same agent
        (that newer row is saved too); kept, it would be written again and undo that change."""
        for agent_id, row in change.staged.items():
            if self._unsaved.get(agent_id) is row:
                del self._unsaved[agent_id]
        closed = sorted((t for t in change.state.tickets.values() if t.status == "closed"),
                        key=lambda t: t.closed_at or t.created_at, reverse=True)
        forget = {t.id for t in closed[50:]}
        self.state = replace(change.state, tickets={k: v for k, v in change.state.tickets.items() if k not in forget})
        self.rows.update(change.rows)
        for ticket_id in forget:
            self.rows.pop(ticket_id, None)

    def ticket_of_session(self, plan: Plan, session_id: str) -> q.Ticket | None:
        state = plan.desk.state if plan.desk else self.state
        return next((t for t in state.tickets.values() if t.session_id == session_id and t.status != "closed"), None)

    def row(self, change: Change, ticket_id: str) -> TicketRow:
        return change.rows.get(ticket_id) or self.rows[ticket_id]

    def _settle(self, plan: Plan, state: q.QueueState, now: float, placed: tuple[q.Ticket, str, str] | None = None
                ) -> None:
        """Adopt ``state`` into the plan, fill free seats, and tell everyone what changed.

        ``placed`` is a ticket an agent took by hand (claim, transfer), announced first.
        """
        change = self.change(plan)
        config, settings = self.config, self.settings
        state, assigned = q.assign_waiting(state, self.local(now), config.assignment, settings.queues, settings.tz)
        previous, change.state = change.state, state
        for ticket in state.tickets.values():
            if previous.tickets.get(ticket.id) is not ticket:
                self._write_row(change, ticket, now)
        announced = [placed] if placed else []
        for ticket, agent_id, by in [*announced, *((a.ticket, a.agent.id, "auto") for a in assigned)]:
            self._assigned(plan, ticket, agent_id, now, by)
        self._positions(plan, previous, state, now)

    def _write_row(self, change: Change, ticket: q.Ticket, now: float, **fields: Any) -> None:
        row = self.row(change, ticket.id)
        change.rows[ticket.id] = replace(row, queue=ticket.queue, status=ticket.status, agent_id=ticket.agent_id,
                                         ticket=ticket.to_dict(), updated_at=now, **fields)

    # ---- what customers are told ---------------------------------------------------------------

    def text(self, queue: str, key: str, **values: str) -> str:
        settings = self.settings.queues.get(queue)
        template = (settings.messages.get(key) if settings else None) or MESSAGE_KEYS[key]
        return _fill(template, values)

    def say(self, plan: Plan, session_id: str, user_key: str, text: str, sender: str = "system",
            data: dict[str, Any] | None = None) -> None:
        settings = self.settings
        calls = address(text_bubbles(text), user_key, settings.channel.sender_key, self.serials)
        plan.transcript.append(TranscriptEntry(session_id, "out", sender, "text", text, data or {}, plan.now))
        plan.outbox += [NewOutbox(user_key, session_id, c.kind, c.body.get("serial_number"), c.body, plan.now)
                        for c in calls]

    def event(self, plan: Plan, kind: str, ticket: q.Ticket, **data: Any) -> None:
        plan.events.append(NewEvent(kind, ticket.session_id, ticket.user_key,
                                    {"ticket_id": ticket.id, "queue": ticket.queue, **data}, plan.now))

    def _owner(self, plan: Plan, session_id: str, owner: str) -> None:
        """Who answers the customer now; another customer's session is changed in the same commit."""
        if plan.session is not None and plan.session.id == session_id:
            plan.state = plan.state.evolve(owner=owner, idle_warned=False)
            return
        record = next((s for s in plan.touched if s.id == session_id), None) or self.store.get_session(session_id)
        if record is None or record.status == "ended":
            return
        state = SessionState.from_dict(record.state).evolve(owner=owner)
        plan.touched = [s for s in plan.touched if s.id != session_id]
        plan.touched.append(replace(record, state=state.to_dict(), status=owner, updated_at=plan.now))

    def _assigned(self, plan: Plan, ticket: q.Ticket, agent_id: str, now: float, by: str) -> None:
        agent = self.config.agents.get(agent_id)
        name = agent.name if agent else agent_id
        waited = (ticket.assigned_at - ticket.created_at).total_seconds() if ticket.assigned_at else 0.0
        self._owner(plan, ticket.session_id, "agent")
        self.say(plan, ticket.session_id, ticket.user_key, self.text(ticket.queue, "assigned", name=name))
        self.event(plan, "assigned", ticket, agent_id=agent_id, agent_name=name, waited_seconds=waited, by=by)

    def _positions(self, plan: Plan, before: q.QueueState, after: q.QueueState, now: float) -> None:
        change = self.change(plan)
        recent = handle_times(after.tickets.values())
        moved = {c.ticket.id for c in q.position_changes(before, after)}
        for ticket_id in moved:
            ticket, row = after.tickets[ticket_id], self.row(change, ticket_id)
            wait = estimate(after, ticket_id, recent)
            notice = change.notices.get(ticket_id, row.notice)
            last_at = datetime.fromtimestamp(notice["at"]) if notice.get("at") is not None else None
            if wait is None or row.offline or not should_notify(
                    notice.get("position"), last_at, wait.position, datetime.fromtimestamp(now),
                    self.config.position_interval, notice.get("minutes"), wait.minutes):
                continue
            fresh = {**notice, "position": wait.position, "minutes": wait.minutes, "at": now}
            change.notices[ticket_id] = fresh
            self._write_row(change, ticket, now, notice=fresh)
            self.say(plan, ticket.session_id, ticket.user_key, wait.text)
            self.event(plan, "position", ticket, position=wait.position, minutes=wait.minutes)

    # ---- hooks the runtime calls -----------------------------------------------------------

    def _ticket_id(self, now: float) -> str:
        """Tickets created in the same millisecond wait in the order they came: the queue breaks a
        tie of priority and time by id, so the id carries this process's count before its random tail."""
        return f"t{int(now * 1000):x}{next(self._tickets) % 0x10000:04x}{secrets.token_hex(2)}"

    def escalated(self, plan: Plan, action: HandoffAction) -> None:
        now, state = plan.now, plan.state
        change = self.change(plan)
        user_key = plan.user.user_key
        history = previous_sessions(self.store.sessions_of(user_key), state.session_id, self.settings.tz,
                                    self.store.tickets_of(user_key))
        packet = build_packet(state, action, history)
        ticket = q.Ticket(self._ticket_id(now), state.session_id, plan.user.user_key,
                          action.queue, self.local(now), action.priority, action.skills, action.summary,
                          state.category)
        change.rows[ticket.id] = TicketRow(ticket.id, ticket.session_id, ticket.user_key, ticket.queue, "waiting",
                                           None, ticket.to_dict(), packet, {}, action.offline, now, None, now, now)
        queued = q.enqueue(change.state, ticket)
        self.event(plan, "handoff_created", queued.tickets[ticket.id], priority=action.priority,
                   skills=list(action.skills), summary=action.summary, reason=action.reason,
                   offline=action.offline, category=state.category)
        self._settle(plan, queued, now)

    def user_message(self, plan: Plan, entry: TranscriptEntry) -> None:
        ticket = self.ticket_of_session(plan, plan.session.id)
        if ticket is None:
            return
        change = self.change(plan)
        noted = self._acknowledge(plan, change, ticket) if ticket.status == "waiting" else {}
        self._write_row(change, ticket, plan.now, user_at=plan.now, stage=None, **noted)
        self.event(plan, "user_message", ticket, agent_id=ticket.agent_id, type=entry.kind, text=entry.text,
                   data=dict(entry.data))

    def _acknowledge(self, plan: Plan, change: Change, ticket: q.Ticket) -> dict[str, Any]:
        """Silence from the queue reads as "nobody is there", so a waiting customer who writes hears
        that it will reach an agent, at most every ``NOTED_INTERVAL``. The time is kept in the
        ticket's notice, so a restart does not answer again; returns the row fields to write."""
        row = self.row(change, ticket.id)
        notice = change.notices.get(ticket.id, row.notice)
        if notice.get("noted_at") is not None and plan.now - notice["noted_at"] < NOTED_INTERVAL:
            return {}
        self.say(plan, ticket.session_id, ticket.user_key, self._noted_text(plan, change, ticket, row.offline))
        change.notices[ticket.id] = {**notice, "noted_at": plan.now}
        return {"notice": change.notices[ticket.id]}

    def _noted_text(self, plan: Plan, change: Change, ticket: q.Ticket, offline: bool) -> str:
        """A message left outside hours waits for the opening; anyone else, a ticket past
        ``max_wait`` included, hears their place and how to stop waiting."""
        queue = self.settings.queues.get(ticket.queue)
        if offline and queue is not None and not is_open(queue, self.local(plan.now), self.settings.tz):
            return self.text(ticket.queue, "noted_offline")
        return self.text(ticket.queue, "noted", wait=_wait_text(change, ticket), keyword=self.config.cancel_keyword)

    def cancels(self, plan: Plan, text: str | None) -> bool:
        """The one thing a waiting customer can say to the bot: the cancel keyword."""
        ticket = self.ticket_of_session(plan, plan.session.id)
        keyword = self.config.cancel_keyword
        if ticket is None or ticket.status != "waiting" or fold_keyword(text or "") != fold_keyword(keyword):
            return False
        self.close(plan, ticket, "cancelled")
        self.say(plan, ticket.session_id, ticket.user_key, self.text(ticket.queue, "cancelled"))
        return True

    def close(self, plan: Plan, ticket: q.Ticket, reason: str, by: str | None = None) -> None:
        change = self.change(plan)
        now = plan.now
        closed = q.close(change.state, ticket.id, self.local(now))
        done = closed.tickets[ticket.id]
        handled = (done.closed_at - done.assigned_at).total_seconds() if done.assigned_at else None
        if reason in USER_LEFT_REASONS:
            self.event(plan, "user_left", done, agent_id=done.agent_id, reason=reason)
        self.event(plan, "closed", done, agent_id=done.agent_id, reason=reason, by=by, handled_seconds=handled,
                   waited_seconds=((done.assigned_at or done.closed_at) - done.created_at).total_seconds())
        self._settle(plan, closed, now)

    def session_ended(self, plan: Plan, session: SessionRecord, reason: str) -> None:
        ticket = self.ticket_of_session(plan, session.id)
        if ticket is not None:
            self.close(plan, ticket, reason)

    def timer(self, plan: Plan, stage: str) -> None:
        """Staged inactivity; each stage fires once per silence (the user's next message resets it)."""
        ticket = self.ticket_of_session(plan, plan.session.id)
        if ticket is None:
            return
        change = self.change(plan)
        keyword = self.config.cancel_keyword
        if stage == "queue_reminder":
            self.say(plan, ticket.session_id, ticket.user_key,
                     self.text(ticket.queue, "reminder", wait=_wait_text(change, ticket), keyword=keyword))
        elif stage == "agent_warn":
            self.say(plan, ticket.session_id, ticket.user_key, self.text(ticket.queue, "agent_warn"))
            self.event(plan, "agent_notice", ticket, agent_id=ticket.agent_id, stage="user_idle",
                       idle_seconds=plan.now - self.row(change, ticket.id).user_at)
        elif stage in ("queue_end", "agent_end"):
            self.say(plan, ticket.session_id, ticket.user_key, self.text(ticket.queue, stage))
            self.close(plan, ticket, "inactive")
            self.end(plan, "inactive")
            return
        else:
            return
        self._write_row(change, change.state.tickets[ticket.id], plan.now, stage=stage)

    def end(self, plan: Plan, reason: str, call: OutboundCall | None = None) -> None:
        """End the customer's 상담톡 session (``/chat/end`` unless another call is given, like
        endWithBot or block); the runtime closes it locally in the same commit."""
        call = call or end_call(plan.session.user_key, self.settings.channel.sender_key)
        plan.state = plan.state.evolve(owner="ended")
        plan.end_reason = reason
        plan.outbox.append(NewOutbox(plan.session.user_key, plan.session.id, call.kind, None, call.body, plan.now))

    def due(self, now: float) -> list[HandoffDue]:
        return handoff_due(self.store.tickets(), self.config.timers, now)

    def tick(self, plan: Plan) -> None:
        """Seats free up and queues open with time alone (09:00 on a weekday): assign who can be."""
        change = self.change(plan)
        self._leave_messages(plan, change)
        self._settle(plan, change.state, plan.now)

    def _leave_messages(self, plan: Plan, change: Change) -> None:
        """Past the queue's ``max_wait`` a live wait becomes a left message (an offline ticket).

        The customer keeps their place but is no longer held in the chat: no more position
        updates and no waiting-room timers that would end the session, so they can write what
        they need and go. Each ticket is offered this once; the ``offline`` flag remembers it.
        """
        for ticket in q.overdue(change.state, self.local(plan.now), self.settings.queues):
            row = self.row(change, ticket.id)
            if row.offline:
                continue
            self._write_row(change, ticket, plan.now, offline=True)
            self.say(plan, ticket.session_id, ticket.user_key,
                     self.text(ticket.queue, "max_wait", keyword=self.config.cancel_keyword))
            self.event(plan, "overdue", ticket, waited_seconds=plan.now - row.created_at,
                       max_wait_minutes=self.settings.queues[ticket.queue].max_wait)

    # ---- agents ----------------------------------------------------------------------------------

    def presence(self, plan: Plan, agent_id: str, presence: str, max_concurrent: int | None) -> list[q.Unassigned]:
        change = self.change(plan)
        state, requeued = q.set_presence(change.state, agent_id, presence, self.local(plan.now),  # type: ignore[arg-type]
                                         max_concurrent)
        agent = state.agents[agent_id]
        plan.agents.append(AgentRow(agent_id, agent.presence, agent.max_concurrent, plan.now))
        self._back_in_line(plan, requeued)
        self._settle(plan, state, plan.now)
        return requeued

    def _back_in_line(self, plan: Plan, requeued: list[q.Unassigned]) -> None:
        """Their agent left: the customer is told once, and the cleared notice makes the wait line
        that ``_settle`` sends next news again (or the new agent's name, if one is free)."""
        change = self.change(plan)
        for item in requeued:
            ticket = item.ticket
            change.rows[ticket.id] = replace(self.row(change, ticket.id), notice={})
            self._owner(plan, ticket.session_id, "queue")
            self.say(plan, ticket.session_id, ticket.user_key, self.text(ticket.queue, "agent_left"))
            self.event(plan, "transferred", ticket, from_agent=item.agent_id, to_agent=None, to_queue=ticket.queue,
                       note=q.OFFLINE_NOTE)

    def claim(self, plan: Plan, ticket: q.Ticket, agent_id: str) -> q.Ticket:
        state = q.claim(self.change(plan).state, ticket.id, agent_id, self.local(plan.now))
        claimed = state.tickets[ticket.id]
        self._settle(plan, state, plan.now, (claimed, agent_id, "claim"))
        return claimed

    def transfer(self, plan: Plan, ticket: q.Ticket, note: str, to_agent: str | None, to_queue: str | None,
                 by: str) -> q.Ticket:
        change = self.change(plan)
        skills = self.settings.queues[to_queue].skills if to_queue in self.settings.queues else None
        state = q.transfer(change.state, ticket.id, to_agent=to_agent, to_queue=to_queue, note=note,
                           now=self.local(plan.now), skills=skills)
        moved = state.tickets[ticket.id]
        change.rows[ticket.id] = replace(self.row(change, ticket.id), notice={})
        self.event(plan, "transferred", moved, from_queue=ticket.queue, from_agent=ticket.agent_id,
                   to_agent=to_agent, to_queue=moved.queue, note=note, by=by)
        if to_agent is None:
            self._owner(plan, ticket.session_id, "queue")
        self._settle(plan, state, plan.now, (moved, to_agent, "transfer") if to_agent else None)
        return change.state.tickets[ticket.id]


class _Values(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, values: dict[str, str]) -> str:
    """Editors write ``{name}``; an unknown placeholder stays as typed rather than failing."""
    try:
        return template.format_map(_Values(values))
    except (ValueError, IndexError, AttributeError, KeyError):
        return template


def _wait_text(change: Change, ticket: q.Ticket) -> str:
    wait = estimate(change.state, ticket.id, handle_times(change.state.tickets.values()))
    return wait.text if wait else ""
