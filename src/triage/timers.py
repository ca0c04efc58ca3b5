"""Inactivity timers: which idle sessions get a warning, an end, or a quiet local expiry.

Kakao keeps a session 30 days after the user's last message; a bot that waits that long
for an answer keeps a dead conversation in every report. Sites set ``timers.bot_warn``
(idle seconds before "3분 뒤 상담이 종료돼요") and ``timers.bot_end`` (seconds after the
warning, or after the last activity when there is no warning, before a polite end).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from triage.settings import Timers
from triage.store import SessionRecord

KAKAO_SESSION_SECONDS = 30 * 86400


@dataclass(frozen=True)
class Due:
    session: SessionRecord
    stage: str  # warn | end | expire

    @property
    def dedupe_key(self) -> str:
        """One timer per stage per idle period: a new message moves ``updated_at``."""
        return f"timer:{self.session.id}:{self.stage}:{self.session.updated_at!r}"


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
    idle past Kakao's own lifetime, which Kakao has certainly closed."""
    found = {s.id: Due(s, "expire") for s in stale}
    for session in bot_idle:
        stage = bot_stage(session, timers, now)
        if stage and session.id not in found:
            found[session.id] = Due(session, stage)
    return list(found.values())
