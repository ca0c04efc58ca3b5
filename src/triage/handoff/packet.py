"""The handoff packet: everything the bot learned, so the agent never asks the customer twice.

Pure: built from the engine's state and the user's earlier sessions at the moment of
escalation, then stored with the ticket unchanged. Its shape is published as
``schema/handoff.schema.json`` for desks that read it from the API or the webhooks.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, Iterable

from triage.flows.session import HandoffAction, SessionState
from triage.store import SessionRecord

HISTORY_LIMIT = 10
"""The latest sessions are what an agent reads; a regular's whole past is in the transcript API."""


def previous_sessions(sessions: Iterable[SessionRecord], current: str, tz: tzinfo) -> list[dict[str, Any]]:
    """Earlier sessions, newest first: when, about what, and how they ended."""
    earlier = sorted((s for s in sessions if s.id != current), key=lambda s: s.started_at, reverse=True)
    return [{"session_id": s.id, "started_at": _iso(s.started_at, tz),
             "ended_at": _iso(s.ended_at, tz) if s.ended_at else None,
             "category": s.category, "end_reason": s.end_reason or ("open" if s.status != "ended" else None)}
            for s in earlier[:HISTORY_LIMIT]]


def build_packet(state: SessionState, action: HandoffAction, history: list[dict[str, Any]]) -> dict[str, Any]:
    reference = state.reference
    return {
        "session_id": state.session_id,
        "user_key": state.user.user_key,
        "queue": action.queue,
        "priority": action.priority,
        "skills": list(action.skills),
        "summary": action.summary,
        "reason": action.reason,
        "offline": action.offline,
        "reference": {"extra": reference.extra, "bot": reference.bot, "bot_event": reference.bot_event},
        "params": dict(state.params),
        "category": state.category,
        "tags": list(state.tags),
        "vars": _json_safe(dict(state.vars)),
        "faq_attempts": [{"query": a.query, "decision": a.decision, "entry_id": a.entry_id,
                          "candidates": [{"entry_id": c[0], "score": c[1]} for c in a.candidates]}
                         for a in state.faq_attempts],
        "path": list(state.path),
        "user": {"returning": state.user.returning, "sessions": state.user.sessions,
                 "last_category": state.user.last_category, "previous_sessions": history},
    }


def _iso(at: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(at, tz).isoformat()


def _json_safe(value: Any) -> Any:
    """Vars come from templates and answers; anything JSON cannot carry is shown as text."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
