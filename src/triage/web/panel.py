"""What the preview's side panel shows: where the session is, what it collected, what the FAQ saw.

Read-only and pure: it takes a stored session and the live content, so the panel always shows
the state the engine really persisted, and the FAQ candidates for the last thing the user typed.
"""

from __future__ import annotations

from typing import Any

from triage.content import Content
from triage.flows.session import SessionState
from triage.store import SessionRecord

PATH_SHOWN = 8
"""The panel lists the latest nodes only: enough to see how the session got here."""


def panel(record: SessionRecord | None, content: Content) -> dict[str, Any]:
    if record is None or not record.state:
        return {"active": False}
    state = SessionState.from_dict(record.state)
    return {
        "active": record.status != "ended",
        "status": record.status,
        "session_id": state.session_id,
        "node": state.node,
        "owner": state.owner,
        "category": state.category,
        "returning": state.user.returning,
        "params": dict(state.params),
        "vars": dict(state.vars),
        "path": list(state.path[-PATH_SHOWN:]),
        "last_input": state.last_input,
        "faq_query": faq_query(state),
        "candidates": candidates(content, faq_query(state)),
    }


def faq_query(state: SessionState) -> str | None:
    """What the FAQ was last asked, else the last free text: an ``ask`` answer reaches the FAQ as a var."""
    return state.faq_attempts[-1].query if state.faq_attempts else state.last_input


def candidates(content: Content, query: str | None) -> list[dict[str, Any]]:
    """The FAQ matcher's ranking for ``query`` over every category, best first."""
    if not query:
        return []
    entries = content.faq.entries
    return [{"entry_id": c.entry_id, "question": entries[c.entry_id].q, "score": c.score, "route": c.route}
            for c in content.faq.match(query)]
