"""The handoff packet: everything the bot learned, so the agent never asks the customer twice.

Pure: built from the engine's state and the user's earlier sessions at the moment of
escalation, then stored with the ticket unchanged. Its shape is published as
``schema/handoff.schema.json`` for desks that read it from the API or the webhooks.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, Iterable

from triage.flows.session import HandoffAction, SessionState
from triage.store import SessionRecord, TicketRow

HISTORY_LIMIT = 5
"""The last few sessions are what an agent reads before answering; a regular's whole past is in
the transcript API."""

PEOPLE_ENDS = ("agent", "to_bot")
"""End reasons only an agent gives: such a session reached people even without its ticket at hand."""


def previous_sessions(sessions: Iterable[SessionRecord], current: str, tz: tzinfo,
                      tickets: Iterable[TicketRow] = ()) -> list[dict[str, Any]]:
    """Earlier sessions, newest first, each with what it was about, how it ended and who handled
    it, so the agent picks up where the last conversation stopped instead of asking again.
    ``tickets`` are the customer's (``Store.tickets_of``); without them a session that reached
    people still says so, but names no ticket or agent."""
    latest = {row.session_id: row for row in sorted(tickets, key=lambda row: row.created_at)}
    earlier = sorted((s for s in sessions if s.id != current), key=lambda s: s.started_at, reverse=True)
    return [_past(s, latest.get(s.id), tz) for s in earlier[:HISTORY_LIMIT]]


def _past(session: SessionRecord, row: TicketRow | None, tz: tzinfo) -> dict[str, Any]:
    ticket = row.ticket if row else {}
    handoff = session.state.get("handoff") or {}
    return {"session_id": session.id, "started_at": _iso(session.started_at, tz),
            "ended_at": _iso(session.ended_at, tz) if session.ended_at else None,
            "category": session.category or ticket.get("category"),
            "end_reason": session.end_reason or ("open" if session.status != "ended" else None),
            "outcome": _outcome(session, ticket),
            "summary": ticket.get("summary") or handoff.get("summary"),
            "reason": (row.packet.get("reason") if row else None) or handoff.get("reason"),
            "ticket_id": row.id if row else None, "agent_id": ticket.get("agent_id")}


def _outcome(session: SessionRecord, ticket: dict[str, Any]) -> str:
    """``agent`` once a person took it, ``bot`` when the flow finished it, ``abandoned`` when the
    customer left first (in the bot or while waiting), ``open`` while it lasts."""
    if session.status != "ended":
        return "open"
    if ticket.get("assigned_at") or session.end_reason in PEOPLE_ENDS:
        return "agent"
    return "bot" if session.end_reason == "bot" else "abandoned"


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
