"""What of a kept row is personal, and how it is stripped: the rules behind purge and forget.

Reports over old periods read sessions and events, so those rows stay and lose only what
points at a person. Kept: kinds, times, categories, tags, node ids and paths, FAQ decisions
and entry ids, handoff queues and reasons, consent decisions. Removed: free text a person
typed or that quotes them (FAQ queries, handoff summaries, keyword texts) and session
variables and parameters (``ask`` answers live there). Every other string is masked with the
one masking routine, because ``extra`` and error messages may carry numbers a person typed.
"""

from __future__ import annotations

from typing import Any, Mapping

from triage.privacy.masking import mask_data
from triage.store import Scrubbers

FREE_TEXT = frozenset({"query", "summary", "text"})
"""Event data keys holding a person's own words; masking cannot find a name or an address."""
KEPT_STATE = ("owner", "node", "path", "category", "tags")
"""Session state that describes the conversation's course, not the person."""


def anonymous_event_data(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """``kind`` is part of the signature so a rule for one event kind can be added without
    changing the store; today the same rule fits every kind."""
    return {key: mask_data(value) for key, value in data.items() if key not in FREE_TEXT}


def anonymous_state(state: Mapping[str, Any]) -> dict[str, Any]:
    return {key: mask_data(state[key]) for key in KEPT_STATE if key in state}


def anonymous_reference(reference: Mapping[str, Any]) -> dict[str, Any]:
    return mask_data(dict(reference))


SCRUBBERS = Scrubbers(state=anonymous_state, reference=anonymous_reference, event=anonymous_event_data)
