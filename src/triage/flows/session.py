"""What the engine reads and returns: session state, inbound events and outbound actions.

All immutable and JSON-serialisable, so the store can persist a state and the runtime can
queue actions without the engine knowing either exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any, Literal, Mapping

Owner = Literal["new", "bot", "queue", "agent", "ended"]


@dataclass(frozen=True)
class UserInfo:
    user_key: str
    returning: bool = False
    sessions: int = 0
    last_category: str | None = None


@dataclass(frozen=True)
class Reference:
    """The 상담하기 button's meta, from ``/reference`` (or empty when the user just typed)."""

    extra: str = ""
    bot: str = ""
    bot_event: str = ""


@dataclass(frozen=True)
class FaqAttempt:
    query: str
    decision: str  # answer | suggest | not_found | chosen | declined
    entry_id: str | None = None
    candidates: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class HandoffInfo:
    queue: str
    priority: str
    skills: tuple[str, ...]
    summary: str
    reason: str  # user_asked | misses | rule | faq_not_found | ask_failed


@dataclass(frozen=True)
class SessionState:
    session_id: str
    user: UserInfo
    started_at: datetime
    reference: Reference = Reference()
    params: Mapping[str, str] = field(default_factory=dict)
    owner: Owner = "new"
    node: str | None = None
    vars: Mapping[str, Any] = field(default_factory=dict)
    category: str | None = None
    tags: tuple[str, ...] = ()
    misses: int = 0
    tries: int = 0
    last_input: str | None = None
    path: tuple[str, ...] = ()
    faq_attempts: tuple[FaqAttempt, ...] = ()
    offered: tuple[str, ...] = ()
    handoff: HandoffInfo | None = None
    idle_warned: bool = False
    """The inactivity warning was sent and nothing has happened since (the end timer runs)."""

    def evolve(self, **changes: Any) -> "SessionState":
        """Like ``dataclasses.replace``, at a fifth of its cost: the engine copies state on every
        move, and a frozen ``__init__`` sets each of the 19 fields through ``object.__setattr__``,
        so the fields are copied into the new instance's ``__dict__`` at once instead. A name that
        is not a field fails as it would in ``__init__``."""
        if not changes.keys() <= _STATE_FIELDS:
            raise TypeError(f"SessionState has no field {min(changes.keys() - _STATE_FIELDS)!r}")
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__, **changes)
        return copy

    def to_dict(self) -> dict[str, Any]:
        """Spelled out field by field: the runtime stores a state on every message, and all but
        ``params`` and ``vars`` have a fixed shape of plain leaves, so only those two are walked.
        Equal to ``plain(self)``, which the tests hold it to."""
        user, reference, handoff = self.user, self.reference, self.handoff
        return {
            "session_id": self.session_id,
            "user": {"user_key": user.user_key, "returning": user.returning, "sessions": user.sessions,
                     "last_category": user.last_category},
            "started_at": self.started_at.isoformat(),
            "reference": {"extra": reference.extra, "bot": reference.bot, "bot_event": reference.bot_event},
            "params": plain(self.params),
            "owner": self.owner,
            "node": self.node,
            "vars": plain(self.vars),
            "category": self.category,
            "tags": list(self.tags),
            "misses": self.misses,
            "tries": self.tries,
            "last_input": self.last_input,
            "path": list(self.path),
            "faq_attempts": [{"query": a.query, "decision": a.decision, "entry_id": a.entry_id,
                              "candidates": [[entry_id, score] for entry_id, score in a.candidates]}
                             for a in self.faq_attempts],
            "offered": list(self.offered),
            "handoff": None if handoff is None else {
                "queue": handoff.queue, "priority": handoff.priority, "skills": list(handoff.skills),
                "summary": handoff.summary, "reason": handoff.reason},
            "idle_warned": self.idle_warned,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SessionState":
        values = {k: v for k, v in data.items() if k in _STATE_FIELDS}
        values["user"] = UserInfo(**values["user"])
        values["started_at"] = datetime.fromisoformat(values["started_at"])
        values["reference"] = Reference(**values.get("reference") or {})
        values["tags"] = tuple(values.get("tags") or ())
        values["path"] = tuple(values.get("path") or ())
        values["offered"] = tuple(values.get("offered") or ())
        values["faq_attempts"] = tuple(
            FaqAttempt(a["query"], a["decision"], a.get("entry_id"),
                       tuple((c[0], c[1]) for c in a.get("candidates") or ()))
            for a in values.get("faq_attempts") or ()
        )
        if values.get("handoff"):
            h = dict(values["handoff"])
            h["skills"] = tuple(h.get("skills") or ())
            values["handoff"] = HandoffInfo(**h)
        return cls(**values)


_STATE_FIELDS = frozenset(f.name for f in fields(SessionState))
"""Keys a stored state may hold; others (from a newer or older version) are ignored."""

_LEAVES = frozenset((str, int, float, bool, type(None)))


def plain(value: Any) -> Any:
    """JSON-ready copy of a state: ``dataclasses.asdict`` deep-copies every leaf, and the
    runtime serialises a state on every message, so this walks it once instead. The exact
    types that make up most of a state are tried first: one set lookup each, not a chain of
    ``isinstance`` calls, which makes a long session's state about twice as quick to copy."""
    kind = type(value)
    if kind in _LEAVES:
        return value
    if kind is tuple or kind is list:
        return [plain(item) for item in value]
    if kind is dict:
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value):
        return {name: plain(item) for name, item in value.__dict__.items()}
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


# ---- events: what happened ---------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """A session opens: the 상담하기 button (with ``extra``) or a first message."""

    reference: Reference = Reference()


@dataclass(frozen=True)
class UserText:
    text: str


@dataclass(frozen=True)
class UserMedia:
    kind: str  # photo | video | audio | file | other
    url: str = ""


@dataclass(frozen=True)
class Timeout:
    """An inactivity timer fired; ``stage`` is ``warn`` or ``end``."""

    stage: str


@dataclass(frozen=True)
class Release:
    """An agent hands the session back to the bot, optionally at a named node."""

    node: str | None = None


Event = Start | UserText | UserMedia | Timeout | Release


# ---- actions: what should happen ---------------------------------------------------------


@dataclass(frozen=True)
class LinkOut:
    label: str
    url: str


@dataclass(frozen=True)
class SendText:
    text: str


@dataclass(frozen=True)
class SendButtons:
    text: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class SendLinks:
    text: str
    links: tuple[LinkOut, ...]


@dataclass(frozen=True)
class SendImage:
    url: str


@dataclass(frozen=True)
class HandoffAction:
    queue: str
    priority: str
    skills: tuple[str, ...]
    summary: str
    reason: str
    offline: bool = False
    """A left message rather than a wait: no position updates, no waiting-room timers."""


@dataclass(frozen=True)
class EndSession:
    reason: str = "bot"


@dataclass(frozen=True)
class SetCategory:
    category: str


@dataclass(frozen=True)
class SetTags:
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Record:
    """An analytics or diagnostics event for the store's events log (never sent to users)."""

    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


Action = SendText | SendButtons | SendLinks | SendImage | HandoffAction | EndSession | SetCategory | SetTags | Record
SEND_ACTIONS = (SendText, SendButtons, SendLinks, SendImage)
