"""Past sessions re-run through candidate content: proof that a change helps before it ships.

Each recorded session starts again with its own ``extra`` and user info, at its own time
(business hours and ``now`` in templates behave as they did), and receives the user's
recorded inputs in order through the same pure ``engine.step`` the server runs. Only what the
user said to the bot is replayed: messages typed while an agent or the queue owned the
session were a conversation with a person, which the candidate content would never see.

Everything here is pure; ``history.recorded`` reads the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Sequence

from triage.analytics.metrics import shown
from triage.content import Content
from triage.flows import engine
from triage.flows.graph import node_references
from triage.flows.model import End, Handoff
from triage.flows.session import Action, Event, HandoffAction, Record, Reference, Start, UserInfo, UserMedia, UserText

ERROR_KINDS = ("template_error", "node_missing", "loop_guard")
"""Records that mean the content failed the customer, whatever the path."""
STUCK = "no_way_forward"
NO_ENTRY = "(없음)"
EXAMPLES = 3


@dataclass(frozen=True)
class Input:
    kind: str
    """``text``, or a media kind (photo, file, ...) as the transcript stored it."""
    text: str
    at: float
    media_url: str = ""


@dataclass(frozen=True)
class Recorded:
    """One past session as the store holds it: what the user sent, and what happened then."""

    session_id: str
    started_at: float
    reference: Reference
    user: UserInfo
    inputs: tuple[Input, ...]
    handed_off: bool
    path: tuple[str, ...]
    answers: tuple[tuple[str, str | None], ...]
    """(query, FAQ entry that answered it or None), in order."""
    issues: frozenset[tuple[str, str]] = frozenset()
    """(kind, node) of the errors the session met."""


@dataclass(frozen=True)
class Replayed:
    session_id: str
    handed_off: bool
    path: tuple[str, ...]
    answers: tuple[tuple[str, str | None], ...]
    dead_ends: frozenset[tuple[str, str]]


@dataclass(frozen=True)
class AnswerChange:
    old: str
    new: str
    count: int
    examples: tuple[str, ...]


@dataclass(frozen=True)
class DeadEnd:
    node: str
    kind: str
    count: int
    sessions: tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    sessions: int
    actual_contained: int
    predicted_contained: int
    different_paths: int
    answer_changes: tuple[AnswerChange, ...] = ()
    new_dead_ends: tuple[DeadEnd, ...] = ()

    @property
    def gained(self) -> int:
        return self.predicted_contained - self.actual_contained


def answers_of(records: Iterable[tuple[str, dict]]) -> tuple[tuple[str, str | None], ...]:
    """The final FAQ verdict on each question, from ``faq`` records (events or actions):
    a suggestion is settled by the chosen/declined record that follows it."""
    out: list[tuple[str, str | None]] = []
    for kind, data in records:
        if kind != "faq" or data.get("decision") == "suggest":
            continue
        entry = data.get("entry_id") if data.get("decision") in ("answer", "chosen") else None
        out.append((str(data.get("query") or ""), entry if isinstance(entry, str) else None))
    return tuple(out)


def replay(content: Content, session: Recorded) -> Replayed:
    """The session's inputs through ``content``, exactly as the server would have run them."""
    tz = content.settings.tz
    state = engine.new_state(session.session_id, session.user, datetime.fromtimestamp(session.started_at, tz))
    events: list[tuple[Event, float]] = [(Start(session.reference), session.started_at)]
    events += [(_event(i), i.at) for i in session.inputs]
    actions: list[Action] = []
    for event, at in events:
        state, out = engine.step(content, state, event, datetime.fromtimestamp(at, tz))
        actions += out
    records = [(a.kind, dict(a.data)) for a in actions if isinstance(a, Record)]
    path = tuple(str(data.get("node")) for kind, data in records if kind == "node")
    errors = {(kind, str(data.get("node") or "")) for kind, data in records if kind in ERROR_KINDS}
    node = content.flows.nodes.get(state.node or "")
    if state.owner == "bot" and node is not None and not isinstance(node, (End, Handoff)) \
            and not node_references(node):
        errors.add((STUCK, node.id))
    return Replayed(session.session_id, any(isinstance(a, HandoffAction) for a in actions), path,
                    answers_of(records), frozenset(errors))


def _event(item: Input) -> Event:
    return UserText(item.text) if item.kind == "text" else UserMedia(item.kind, item.media_url)


def compare(content: Content, sessions: Sequence[Recorded],
            progress: Callable[[int, int], None] = lambda done, total: None) -> Comparison:
    pairs: list[tuple[Recorded, Replayed]] = []
    for i, session in enumerate(sessions, 1):
        pairs.append((session, replay(content, session)))
        progress(i, len(sessions))
    return Comparison(
        sessions=len(pairs),
        actual_contained=sum(not old.handed_off for old, _ in pairs),
        predicted_contained=sum(not new.handed_off for _, new in pairs),
        different_paths=sum(old.path != new.path for old, new in pairs),
        answer_changes=_answer_changes(pairs),
        new_dead_ends=_new_dead_ends(pairs),
    )


def _answer_changes(pairs: Sequence[tuple[Recorded, Replayed]]) -> tuple[AnswerChange, ...]:
    """Questions asked in both runs, in order, whose answering entry differs; pairing stops
    where the two runs diverge, since later questions were asked in another context."""
    changed: dict[tuple[str, str], list[str]] = {}
    for old, new in pairs:
        for (query, before), (again, after) in zip(old.answers, new.answers):
            if query != again:
                break
            if before != after:
                changed.setdefault((before or NO_ENTRY, after or NO_ENTRY), []).append(shown(query))
    return tuple(sorted((AnswerChange(a, b, len(qs), tuple(dict.fromkeys(qs))[:EXAMPLES])
                         for (a, b), qs in changed.items()), key=lambda c: (-c.count, c.old, c.new)))


def _new_dead_ends(pairs: Sequence[tuple[Recorded, Replayed]]) -> tuple[DeadEnd, ...]:
    """Dead ends the recorded session did not meet: a session that really ended at the same
    node was already stuck there, so only what the change introduces is reported."""
    found: dict[tuple[str, str], list[str]] = {}
    for old, new in pairs:
        for kind, node in sorted(new.dead_ends - old.issues):
            if kind == STUCK and old.path and old.path[-1] == node and not old.handed_off:
                continue
            found.setdefault((node, kind), []).append(new.session_id)
    ends = (DeadEnd(node, kind, len(ids), tuple(ids[:EXAMPLES])) for (node, kind), ids in found.items())
    return tuple(sorted(ends, key=lambda d: (-d.count, d.node, d.kind)))
