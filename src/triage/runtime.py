"""The one way through triage: an acknowledged event becomes one engine step and one commit.

webhook -> inbox row (durable, acknowledged) -> ``Runtime.process`` -> ``engine.step`` ->
``Store.commit`` (session state, transcript, outbox rows, analytics events, inbox row marked
done: one transaction) -> outbox worker -> 상담톡. Because the outbox rows are written in the
same transaction as the state that caused them, a crash can neither lose a reply nor send
one twice: the serial number was fixed when the row was written.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable, Iterable, Protocol, Sequence

from triage.content import Content
from triage.flows.engine import new_state, step
from triage.flows.session import (Action, EndSession, Event, HandoffAction, Record, Reference, Release, SendButtons,
                                  SendImage, SendLinks, SendText, SessionState, Start, Timeout, UserInfo, UserMedia,
                                  UserText)
from triage.handoff.webhooks import WebhookConfig, webhook_rows
from triage.kakao.render import media_hosts_for, render_actions
from triage.kakao.serials import SerialNumbers
from triage.privacy.masking import mask, mask_data
from triage.settings import KAKAO_SESSION_SECONDS
from triage.store import (AgentRow, Commit, Inbound, InboxItem, NewEvent, NewOutbox, SessionRecord, SessionRef,
                          Store, StoreError, TranscriptEntry, UserRecord)
from triage.timers import HANDOFF_STAGES, HandoffDue, due

log = logging.getLogger("triage.runtime")

MEDIA_LABELS = {"photo": "[사진]", "video": "[동영상]", "audio": "[음성]", "file": "[파일]"}


@dataclass
class Plan:
    """What one processed event (or one agent action) changes, built up before the single commit.

    ``touched`` holds other customers' sessions the event changed (the next in line got an
    agent); ``desk`` is the handoff desk's staged queue change, adopted in ``after_commit``.
    ``customer_wrote`` marks the customer's own message, the one thing that extends the 상담톡
    session: the commit stamps the session's ``user_at`` with it.
    """

    content: Content
    now: float
    user: UserRecord
    session: SessionRecord | None = None
    state: SessionState | None = None
    transcript: list[TranscriptEntry] = field(default_factory=list)
    outbox: list[NewOutbox] = field(default_factory=list)
    events: list[NewEvent] = field(default_factory=list)
    closed: list[SessionRecord] = field(default_factory=list)
    touched: list[SessionRecord] = field(default_factory=list)
    agents: list[AgentRow] = field(default_factory=list)
    desk: Any = None
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    end_reason: str | None = None
    customer_wrote: bool = False


class Handoffs(Protocol):
    """What the runtime asks of the handoff desk (``handoff/desk.py``) while it builds a plan."""

    def escalated(self, plan: Plan, action: HandoffAction) -> None: ...
    def user_message(self, plan: Plan, entry: TranscriptEntry) -> None: ...
    def cancels(self, plan: Plan, text: str | None) -> bool: ...
    def session_ended(self, plan: Plan, session: SessionRecord, reason: str) -> None: ...
    def timer(self, plan: Plan, stage: str) -> None: ...
    def tick(self, plan: Plan) -> None: ...
    def due(self, now: float) -> list[HandoffDue]: ...
    def restore(self) -> None: ...


class _NoDesk:
    """Without a desk (``triage chat``, older callers) a handoff only records its event."""

    def escalated(self, plan: Plan, action: HandoffAction) -> None: ...
    def user_message(self, plan: Plan, entry: TranscriptEntry) -> None: ...
    def cancels(self, plan: Plan, text: str | None) -> bool:
        return False
    def session_ended(self, plan: Plan, session: SessionRecord, reason: str) -> None: ...
    def timer(self, plan: Plan, stage: str) -> None: ...
    def tick(self, plan: Plan) -> None: ...
    def due(self, now: float) -> list[HandoffDue]:
        return []
    def restore(self) -> None: ...


class Runtime:
    """Turns inbox rows into commits; synchronous and quick, so it runs on the event loop."""

    def __init__(self, store: Store, content: Callable[[], Content], *, clock: Callable[[], float] = time.time,
                 serials: Callable[[], str] | None = None, on_outbox: Callable[[], None] = lambda: None,
                 desk: Handoffs | None = None, webhooks: Callable[[], WebhookConfig] = WebhookConfig,
                 on_commit: Callable[[], None] = lambda: None):
        self.store = store
        self.content = content
        self.clock = clock
        self.serials = serials or SerialNumbers(clock=clock)
        self.on_outbox = on_outbox
        self.desk: Handoffs = desk or _NoDesk()
        self.webhooks = webhooks
        self.on_commit = on_commit
        self._heard: dict[Callable[[], None], None] | None = None
        """Listeners to call once the current batch is durable; None outside a batch."""

    # ---- inbound -------------------------------------------------------------------------

    def accept(self, kind: str, user_key: str, dedupe_key: str, payload: dict[str, Any]) -> InboxItem | None:
        """Durably record an inbound event; ``None`` when it was already received."""
        return self.accept_many([Inbound(user_key, kind, dedupe_key, payload)])[0]

    def accept_many(self, events: Sequence[Inbound]) -> list[InboxItem | None]:
        """``accept`` for several events in one transaction; ``None`` for each duplicate."""
        now = self.clock()
        ids = self.store.accept_inbound_many(events, now)
        return [None if item_id is None else InboxItem(item_id, e.user_key, e.kind, e.dedupe_key, e.payload, now)
                for item_id, e in zip(ids, events)]

    def opens_session(self, item: InboxItem) -> bool:
        """Whether this message would start a new local session (so its reference matters)."""
        if item.kind != "message":
            return False
        current = self.store.open_session_ref(item.user_key)
        return current is None or _other_kakao_session(current, item.payload.get("session_id"))

    def process_batch(self, items: Iterable[InboxItem]) -> None:
        """Process events of different users in one store transaction (see ``Store.batch``).

        Each event still commits whole or not at all (a savepoint), and one that fails stays
        pending for the next start without taking the others with it. What listens for commits
        (the outbox, the event stream) hears once, after the batch is durable. Should the batch
        itself fail, the desk forgets what it adopted from it and reloads from the store.
        """
        self._heard = {}
        try:
            with self.store.batch():
                for item in items:
                    try:
                        self.process(item)
                    except Exception:  # one bad event must not stop the others
                        log.exception("processing inbox item %s (%s) failed; it stays pending for the next start",
                                      item.id, item.kind)
        except StoreError:
            log.exception("a batch of inbox items failed to commit; they stay pending for the next start")
            self.desk.restore()
            self._heard = {}
        finally:
            heard, self._heard = self._heard, None
            for listener in heard:
                listener()

    def process(self, item: InboxItem) -> None:
        plan = self.plan(item.user_key)
        handler = {"message": self._message, "reference": self._reference, "expired": self._expired,
                   "timer": self._timer, "closed": self._closed}.get(item.kind)
        if handler is None:
            log.warning("inbox item %s has unknown kind %r; marked done", item.id, item.kind)
        else:
            handler(plan, item.payload)
        self.commit(plan, item.id)

    # ---- event kinds ---------------------------------------------------------------------

    def _message(self, plan: Plan, payload: dict[str, Any]) -> None:
        kakao_session = payload.get("session_id")
        if plan.session is None or _other_kakao_session(plan.session, kakao_session):
            self._start(plan, kakao_session, Reference(extra=payload.get("extra") or ""))
        plan.customer_wrote = True
        kind = payload.get("type") or "text"
        text = payload.get("text")
        shown = text if kind == "text" else MEDIA_LABELS.get(kind, f"[{kind}]")
        entry = TranscriptEntry(plan.session.id, "in", "user", kind, shown,
                                {k: payload.get(k) for k in ("serial_number", "media_url") if payload.get(k)}, plan.now)
        plan.transcript.append(entry)
        plan.events.append(self._event(plan, "message_in", {"type": kind, "owner": plan.state.owner}))
        if plan.state.owner in ("queue", "agent"):
            self._with_people(plan, entry, text if kind == "text" else None)
            return
        if kind == "text" and not (text or "").strip():
            return
        event: Event = UserText(text) if kind == "text" else UserMedia(kind, payload.get("media_url") or "")
        self.step(plan, event)

    def _with_people(self, plan: Plan, entry: TranscriptEntry, text: str | None) -> None:
        """The bot is silent while people own the session; only the cancel keyword reaches it."""
        if self.desk.cancels(plan, text):
            self.step(plan, Release())
        else:
            self.desk.user_message(plan, entry)

    def _reference(self, plan: Plan, payload: dict[str, Any]) -> None:
        reference = Reference(payload.get("extra") or "", payload.get("bot") or "", payload.get("bot_event") or "")
        kakao_session = payload.get("session_id")
        if plan.session is not None and not _other_kakao_session(plan.session, kakao_session):
            merged = {**plan.session.reference, **_reference_dict(reference)}
            plan.session = replace(plan.session, reference=merged, kakao_session_id=kakao_session)
            plan.events.append(self._event(plan, "reference_late", {"extra": reference.extra}))
            return
        self._start(plan, kakao_session, reference)

    def _expired(self, plan: Plan, payload: dict[str, Any]) -> None:
        if plan.session is not None and not _other_kakao_session(plan.session, payload.get("session_id")):
            self._end(plan, payload.get("reason") or "expired")

    def _closed(self, plan: Plan, payload: dict[str, Any]) -> None:
        """상담톡 said the session is gone (the outbox met "no session"): end it here too, in turn
        with the user's other events, whichever process made the delivery."""
        session_id = payload.get("session_id")
        if plan.session and plan.session.status != "ended" and session_id in (None, plan.session.id):
            self._end(plan, payload.get("reason") or "no_session")

    def _timer(self, plan: Plan, payload: dict[str, Any]) -> None:
        if plan.session is None or plan.session.id != payload.get("session_id"):
            return
        stage = payload.get("stage") or ""
        if stage == "expire":
            self._end(plan, "expired")
        elif stage in HANDOFF_STAGES and plan.state is not None:
            self.desk.timer(plan, stage)
            self._ended_by_desk(plan)
        elif plan.state is not None:
            self.step(plan, Timeout(stage))

    def due_timers(self) -> list[InboxItem]:
        """Accept a timer event for every session whose inactivity timer has run out."""
        now = self.clock()
        timers = self.content().settings.timers
        shortest = min((t for t in (timers.bot_warn, timers.bot_end) if t), default=None)
        bot_idle = self.store.idle_sessions(("bot",), now - shortest) if shortest else []
        stale = self.store.silent_sessions(now - KAKAO_SESSION_SECONDS)
        found = [*due(bot_idle, stale, timers, now), *self.desk.due(now)]
        items = [self.accept("timer", d.user_key, d.dedupe_key, {"session_id": d.session_id, "stage": d.stage})
                 for d in found]
        return [item for item in items if item is not None]

    def tick(self) -> None:
        """Let the desk assign what time alone made assignable; commits only when something changed,
        including agents a reload of triage.yaml removed or re-sized, so a restart does not undo them."""
        plan = self.blank_plan()
        self.desk.tick(plan)
        if plan.transcript or plan.outbox or plan.events or plan.touched or plan.agents:
            self.commit(plan, None)

    # ---- steps ---------------------------------------------------------------------------

    def _ended_by_desk(self, plan: Plan) -> None:
        if plan.state is not None and plan.state.owner == "ended" and plan.session.status != "ended":
            self._end(plan, plan.end_reason or "agent", by_engine=True)

    def _start(self, plan: Plan, kakao_session: str | None, reference: Reference) -> None:
        if plan.session is not None:
            self._end(plan, "replaced")
        now_dt = self._local(plan)
        session_id = f"{int(plan.now * 1000):x}{secrets.token_hex(4)}"
        info = UserInfo(plan.user.user_key, returning=plan.user.sessions > 0, sessions=plan.user.sessions,
                        last_category=plan.user.last_category)
        plan.state = new_state(session_id, info, now_dt)
        plan.session = SessionRecord(session_id, plan.user.user_key, kakao_session, plan.state.owner,
                                     {}, _reference_dict(reference), None, plan.now, plan.now, user_at=plan.now)
        plan.user = replace(plan.user, sessions=plan.user.sessions + 1)
        plan.events.append(self._event(plan, "session_start", {"extra": reference.extra, "returning": info.returning}))
        self.step(plan, Start(reference))

    def step(self, plan: Plan, event: Event) -> None:
        state, actions = step(plan.content, plan.state, event, self._local(plan))
        plan.state = state
        self._actions(plan, actions)
        if state.owner == "ended" and plan.session.status != "ended":
            self._end(plan, "bot", by_engine=True)

    def _actions(self, plan: Plan, actions: Sequence[Action]) -> None:
        session = plan.session
        handoffs = []
        for action in actions:
            entry = _transcript_of(action, session.id, plan.now)
            if entry is not None:
                plan.transcript.append(entry)
            elif isinstance(action, Record):
                plan.events.append(self._event(plan, action.kind, dict(action.data)))
            elif isinstance(action, HandoffAction):
                handoffs.append(action)
                plan.events.append(self._event(plan, "handoff", {
                    "queue": action.queue, "priority": action.priority, "skills": list(action.skills),
                    "reason": action.reason, "summary": action.summary, "category": plan.state.category}))
        settings = plan.content.settings
        calls = render_actions(actions, session.user_key, settings.channel.sender_key, self.serials,
                               media_hosts_for(settings.kakao))
        plan.outbox += [NewOutbox(session.user_key, session.id, call.kind, call.body.get("serial_number"),
                                  call.body, plan.now) for call in calls]
        for action in handoffs:
            self.desk.escalated(plan, action)

    def _end(self, plan: Plan, reason: str, by_engine: bool = False) -> None:
        """Close the plan's session locally.

        When the engine ended it (``by_engine``), its end call is already in the outbox and its
        final state is kept; otherwise the 상담톡 session is already gone (expired, replaced by a
        new one, or reported missing), so nothing is sent and the plan is free for a new session.
        """
        session = plan.session
        self.desk.session_ended(plan, session, reason)
        state = plan.state.evolve(owner="ended") if plan.state else None
        plan.session = replace(session, status="ended", ended_at=plan.now, end_reason=reason,
                                state=state.to_dict() if state else session.state)
        plan.events.append(self._event(plan, "session_end", {"reason": reason, "category": session.category}))
        if not by_engine:
            plan.closed.append(plan.session)
            plan.session, plan.state = None, None

    # ---- commit --------------------------------------------------------------------------

    def plan(self, user_key: str) -> Plan:
        now = self.clock()
        user = self.store.get_user(user_key) or UserRecord(user_key, now, now)
        plan = Plan(self.content(), now, replace(user, last_seen=now))
        session = self.store.current_session(user_key)
        if session is not None:
            plan.session = session
            plan.state = SessionState.from_dict(session.state) if session.state else None
        return plan

    def blank_plan(self) -> Plan:
        """A plan about no customer in particular (an agent's presence, the clock)."""
        return Plan(self.content(), self.clock(), UserRecord("", 0.0, 0.0))

    def end(self, plan: Plan, reason: str) -> None:
        """Close the plan's session once its end call (queued by the caller) is on its way."""
        if plan.session is not None and plan.session.status != "ended":
            self._end(plan, reason, by_engine=True)

    def commit(self, plan: Plan, inbox_id: int | None = None) -> None:
        """Write everything the plan changed in one transaction.

        Personal data is masked here, the one door to storage: always in events (analytics, the
        SSE stream and desk webhooks are built from them), and in transcripts and agent packets
        when ``privacy.mask_transcripts`` is on. Session state keeps what the flow collected.
        """
        session = plan.session
        if session is not None and plan.state is not None:
            state = plan.state
            status = "ended" if session.status == "ended" else state.owner
            session = replace(session, state=state.to_dict(), category=state.category, status=status,
                              updated_at=plan.now, user_at=plan.now if plan.customer_wrote else session.user_at)
            plan.user = replace(plan.user, last_category=state.category or plan.user.last_category)
        tickets = list(plan.desk.rows.values()) if plan.desk is not None else []
        events = [NewEvent(e.kind, e.session_id, e.user_key, mask_data(e.data), e.at) for e in plan.events]
        transcript = plan.transcript
        if plan.content.settings.privacy.mask_transcripts:
            transcript = [replace(e, text=mask(e.text) if e.text else e.text, data=mask_data(e.data)) for e in transcript]
            tickets = [replace(t, packet=mask_data(t.packet)) for t in tickets]
        outbox = [*plan.outbox, *webhook_rows(self.webhooks(), events)]
        commit = Commit(at=plan.now, inbox_id=inbox_id, session=session, sessions=[*plan.closed, *plan.touched],
                        user=plan.user if plan.user.user_key else None, transcript=transcript, outbox=outbox,
                        events=events, tickets=tickets, agents=plan.agents)
        sent = self.store.commit(commit)
        for adopt in plan.after_commit:
            adopt()
        if sent:
            self._tell(self.on_outbox)
        self._tell(self.on_commit)

    def _tell(self, listener: Callable[[], None]) -> None:
        if self._heard is None:
            listener()
        else:
            self._heard[listener] = None

    def _event(self, plan: Plan, kind: str, data: dict[str, Any]) -> NewEvent:
        session_id = plan.session.id if plan.session else None
        return NewEvent(kind, session_id, plan.user.user_key, data, plan.now)

    def _local(self, plan: Plan) -> datetime:
        return datetime.fromtimestamp(plan.now, plan.content.settings.tz)


def _other_kakao_session(session: SessionRecord | SessionRef, kakao_session: str | None) -> bool:
    return bool(kakao_session and session.kakao_session_id and kakao_session != session.kakao_session_id)


def _reference_dict(reference: Reference) -> dict[str, str]:
    return {"extra": reference.extra, "bot": reference.bot, "bot_event": reference.bot_event}


def _transcript_of(action: Action, session_id: str, now: float) -> TranscriptEntry | None:
    """The bot's side of the transcript, as the customer saw it."""
    if isinstance(action, SendText):
        return TranscriptEntry(session_id, "out", "bot", "text", action.text, {}, now)
    if isinstance(action, SendButtons):
        return TranscriptEntry(session_id, "out", "bot", "buttons", action.text, {"buttons": list(action.labels)}, now)
    if isinstance(action, SendLinks):
        links = [{"label": link.label, "url": link.url} for link in action.links]
        return TranscriptEntry(session_id, "out", "bot", "links", action.text, {"links": links}, now)
    if isinstance(action, SendImage):
        return TranscriptEntry(session_id, "out", "bot", "image", None, {"url": action.url}, now)
    if isinstance(action, EndSession):
        return TranscriptEntry(session_id, "out", "system", "end", None, {"reason": action.reason}, now)
    return None
