"""Inactivity timers: which idle sessions get a warning, an end, or a quiet local expiry.

With people in charge the stages differ (``handoff.timers`` in triage.yaml): while queued, a
reminder and then a polite end if the user has left; with an agent, a warning to the user
(the agent is notified too) and then an auto-close. These count from the customer's last
message, not from the last stage, so "queue_end: 1800" means half an hour of silence.

Kakao keeps a session 30 days after the user's last message, whoever else writes meanwhile,
so the quiet local expiry counts from the customer's last message (``user_at``) alone. A bot
that waits that long for an answer keeps a dead conversation in every report. Sites set
``timers.bot_warn`` (idle seconds before a warning that the session ends in ``bot_end``) and
``timers.bot_end`` (seconds after the warning, or after the last activity when there is no
warning, before a polite end). These count from the session's last change (``updated_at``):
while the bot owns a session only the customer and the bot change it, and the warning itself
must restart the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from triage.handoff.config import HandoffTimers
from triage.settings import KAKAO_SESSION_SECONDS, Timers
from triage.store import SessionRecord, TicketRow

HANDOFF_STAGES = ("queue_reminder", "queue_end", "agent_warn", "agent_end")
_STAGES_BY_STATUS = {"waiting": ("queue_reminder", "queue_end"), "assigned": ("agent_warn", "agent_end")}


@dataclass(frozen=True)
class Due:
    session: SessionRecord
    stage: str  # warn | end | expire

    @property
    def dedupe_key(self) -> str:
        """One timer per stage per idle period: a new message moves what the stage counts from."""
        since = self.session.user_at if self.stage == "expire" else self.session.updated_at
        return f"timer:{self.session.id}:{self.stage}:{since!r}"

    @property
    def session_id(self) -> str:
        return self.session.id

    @property
    def user_key(self) -> str:
        return self.session.user_key


@dataclass(frozen=True)
class HandoffDue:
    ticket: TicketRow
    stage: str  # one of HANDOFF_STAGES

    @property
    def dedupe_key(self) -> str:
        """One timer per stage per silence: the customer's next message moves ``user_at``."""
        return f"timer:{self.ticket.session_id}:{self.stage}:{self.ticket.user_at!r}"

    @property
    def session_id(self) -> str:
        return self.ticket.session_id

    @property
    def user_key(self) -> str:
        return self.ticket.user_key


def handoff_stage(ticket: TicketRow, timers: HandoffTimers, now: float) -> str | None:
    """The stage due for an open ticket; left messages (offline tickets) wait without timers."""
    stages = _STAGES_BY_STATUS.get(ticket.status)
    if stages is None or ticket.offline:
        return None
    first, last = stages
    idle = now - ticket.user_at
    end_after, warn_after = getattr(timers, last), getattr(timers, first)
    if end_after and idle >= end_after:
        return last
    if warn_after and idle >= warn_after and ticket.stage != first:
        return first
    return None


def handoff_due(tickets: Iterable[TicketRow], timers: HandoffTimers, now: float) -> list[HandoffDue]:
    found = ((ticket, handoff_stage(ticket, timers, now)) for ticket in tickets)
    return [HandoffDue(ticket, stage) for ticket, stage in found if stage]


def bot_stage(session: SessionRecord, timers: Timers, now: float) -> str | None:
    idle = now - session.updated_at
    warned = bool(session.state.get("idle_warned"))
    if timers.bot_warn and not warned and idle >= timers.bot_warn:
        return "warn"
    if timers.bot_end and (warned or not timers.bot_warn) and idle >= timers.bot_end:
        return "end"
    return None


def due(bot_idle: Iterable[SessionRecord], stale: Iterable[SessionRecord], timers: Timers, now: float) -> list[Due]:
    """``bot_idle``: bot-owned sessions idle past the shortest timer; ``stale``: open sessions
    whose customer has been silent past Kakao's own lifetime, which Kakao has certainly closed."""
    found = {s.id: Due(s, "expire") for s in stale}
    for session in bot_idle:
        stage = bot_stage(session, timers, now)
        if stage and session.id not in found:
            found[session.id] = Due(session, stage)
    return list(found.values())
