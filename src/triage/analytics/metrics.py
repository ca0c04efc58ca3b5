"""The store's events turned into the figures a business reads: pure, so the terminal table,
``--json`` and the HTML page all show the same numbers, and tests can pin them on hand-built
event lists.

A session is counted when its ``session_start`` lies in the period; every event of that
session found in the period then tells its story. Definitions an operator can rely on:

- Every session has one *outcome* (``outcome``): *handed* to people (a ``handoff`` event);
  else *open* while it has not ended (its outcome is not known yet, so rates leave it out);
  else *resolved* by the bot when the customer got an FAQ answer or the bot ended it at an
  ``end`` node; else *abandoned* (the customer left, Kakao or the bot expired it, unanswered).
  Kakao does not report link clicks, so a link the bot sent proves nothing and does not count.
- *contained*: no ``handoff`` event (resolved, abandoned or open): "no agent", not "resolved".
- A session's *category* is the last one a route, button or handoff set; a session without one
  takes the category of the last FAQ entry that answered it (from the ``faq`` event, or from
  the current FAQ files for events written before the engine recorded it), else 미분류.
- *drop-off*: the last node of each *abandoned* session: where customers give up.
- FAQ *queries* are the matcher's first verdicts (answer, suggest, not_found); did-you-mean
  *acceptance* is chosen suggestions over suggestions made; *unanswered* questions are the
  not-found ones plus those whose suggestions the customer declined.
- Times are medians and 90th percentiles (nearest rank) in seconds; ``None`` when there is no
  sample, shown as "–".

Every text that came from a customer or an ``extra`` is masked before it leaves this module.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any, Iterable, Mapping, Sequence

from triage.analytics.clusters import Cluster, cluster
from triage.privacy.masking import mask
from triage.store import EventRecord

UNCATEGORISED = "미분류"
SHOWN_TEXT = 80
"""Customer text longer than this is cut for display: a report row is not a transcript."""
FIRST_VERDICTS = ("answer", "suggest", "not_found")
ANSWERED = ("answer", "chosen")
RESOLVED, HANDED, ABANDONED, OPEN = "resolved", "handed", "abandoned", "open"


@dataclass(frozen=True)
class SessionStory:
    """One session as its events tell it."""

    id: str
    started_at: float
    day: date
    extra: str = ""
    category: str | None = None
    wrote: bool = False
    faq_answered: bool = False
    answered_category: str | None = None
    """The category of the last FAQ entry that answered, for sessions no route or button classified."""
    handoff_at: float | None = None
    handoff_reason: str | None = None
    end_reason: str | None = None
    nodes: tuple[str, ...] = ()

    @property
    def contained(self) -> bool:
        return self.handoff_at is None

    @property
    def last_node(self) -> str | None:
        return self.nodes[-1] if self.nodes else None

    @property
    def topic(self) -> str:
        return self.category or self.answered_category or UNCATEGORISED


@dataclass(frozen=True)
class Spread:
    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Share:
    name: str
    count: int
    total: int

    @property
    def rate(self) -> float | None:
        return ratio(self.count, self.total)


@dataclass(frozen=True)
class Outcomes:
    resolved: int = 0
    handed: int = 0
    abandoned: int = 0
    open: int = 0

    @property
    def sessions(self) -> int:
        return self.decided + self.open

    @property
    def decided(self) -> int:
        """Sessions whose outcome is known: the denominator of every outcome rate."""
        return self.resolved + self.handed + self.abandoned

    @property
    def without_agent(self) -> int:
        return self.resolved + self.abandoned


@dataclass(frozen=True)
class Topic:
    name: str
    outcomes: Outcomes


@dataclass(frozen=True)
class Day:
    day: date
    sessions: int
    contained: int
    resolved: int
    handoffs: int


@dataclass(frozen=True)
class Figures:
    sessions: int
    engaged: int
    contained: int
    contained_with_faq: int
    outcomes: Outcomes
    by_category: tuple[Topic, ...]
    funnel: tuple[tuple[str, int], ...]
    """Each stage a subset of the one before: started, wrote, ended without an agent, resolved
    by the bot, resolved by an FAQ answer."""
    handoffs: int
    handoffs_by_category: tuple[Share, ...]
    handoffs_by_reason: tuple[Share, ...]
    faq_queries: int
    faq_answered: int
    faq_suggested: int
    faq_accepted: int
    faq_declined: int
    faq_not_found: int
    unanswered: tuple[Cluster, ...]
    dropoff: tuple[tuple[str, int], ...]
    time_to_handoff: Spread
    queue_wait: Spread
    handling: Spread
    extra_seen: tuple[tuple[str, int], ...]
    extra_unmatched: tuple[tuple[str, int], ...]
    daily: tuple[Day, ...]
    node_visits: Mapping[str, int] = field(default_factory=dict)


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def spread(samples: Iterable[float]) -> Spread:
    values = sorted(samples)
    if not values:
        return Spread(0, None, None)
    p90 = values[max(0, math.ceil(0.9 * len(values)) - 1)]
    return Spread(len(values), round(statistics.median(values), 3), round(p90, 3))


def shown(text: Any) -> str:
    """Customer-supplied text as a report may show it: masked, one line, cut to size."""
    line = " ".join(mask(str(text)).split())
    return line if len(line) <= SHOWN_TEXT else line[: SHOWN_TEXT - 1] + "…"


def _seconds(value: Any) -> float | None:
    """A duration from an event body, which is data from elsewhere: only finite, non-negative numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


# ---- sessions from events ---------------------------------------------------------------------


def stories(events: Sequence[EventRecord], tz: tzinfo,
            faq_categories: Mapping[str, str] | None = None) -> list[SessionStory]:
    """One story per session started among ``events``, in start order. ``faq_categories``
    (entry id to category) classifies FAQ answers whose events do not carry their category."""
    starts = {e.session_id: e for e in events if e.kind == "session_start" and e.session_id}
    by_session: dict[str, list[EventRecord]] = {sid: [] for sid in starts}
    for event in events:
        if event.session_id in by_session:
            by_session[event.session_id].append(event)
    return [_story(starts[sid], own, tz, faq_categories or {}) for sid, own in by_session.items()]


def _answer_category(data: Mapping[str, Any], faq_categories: Mapping[str, str]) -> str | None:
    recorded = _text(data.get("category")) or faq_categories.get(_text(data.get("entry_id")))
    return recorded or None


def _story(start: EventRecord, events: list[EventRecord], tz: tzinfo,
           faq_categories: Mapping[str, str]) -> SessionStory:
    values: dict[str, Any] = {"extra": _text(start.data.get("extra"))}
    category: str | None = None
    nodes: list[str] = []
    for event in events:
        data = event.data
        kind = event.kind
        if kind == "message_in":
            values["wrote"] = True
        elif kind == "node" and isinstance(data.get("node"), str):
            nodes.append(data["node"])
        elif kind == "faq" and data.get("decision") in ANSWERED:
            values["faq_answered"] = True
            values["answered_category"] = _answer_category(data, faq_categories) or values.get("answered_category")
        elif kind == "handoff" and "handoff_at" not in values:
            values["handoff_at"] = event.at
            values["handoff_reason"] = _text(data.get("reason")) or "rule"
        elif kind == "session_end" and "end_reason" not in values:
            values["end_reason"] = _text(data.get("reason")) or "ended"
        if kind in ("route", "handoff", "session_end") and isinstance(data.get("category"), str) and data["category"]:
            category = data["category"]
    day = datetime.fromtimestamp(start.at, tz).date()
    return SessionStory(start.session_id or "", start.at, day, category=category, nodes=tuple(nodes), **values)


def outcome(story: SessionStory, end_nodes: frozenset[str]) -> str:
    """The one place outcomes are decided (see the module's docstring). Without the flows, any
    end by the bot counts as reaching an ``end`` node."""
    if not story.contained:
        return HANDED
    if story.end_reason is None:
        return OPEN
    at_end = story.end_reason == "bot" and (not end_nodes or story.last_node in end_nodes)
    return RESOLVED if story.faq_answered or at_end else ABANDONED


def outcomes(decided: Iterable[str]) -> Outcomes:
    counts = Counter(decided)
    return Outcomes(counts[RESOLVED], counts[HANDED], counts[ABANDONED], counts[OPEN])


# ---- figures ----------------------------------------------------------------------------------


def figures(events: Sequence[EventRecord], tz: tzinfo, end_nodes: frozenset[str] = frozenset(),
            faq_categories: Mapping[str, str] | None = None) -> Figures:
    """Everything the report shows, from one pass over the period's events."""
    told = stories(events, tz, faq_categories)
    ends = {s.id: outcome(s, end_nodes) for s in told}
    counted = set(ends)
    own = [e for e in events if e.session_id in counted]
    contained = [s for s in told if s.contained]
    left = [s for s in told if ends[s.id] == ABANDONED]
    verdicts = Counter(e.data.get("decision") for e in own if e.kind == "faq")
    return Figures(
        sessions=len(told),
        engaged=sum(s.wrote for s in told),
        contained=len(contained),
        contained_with_faq=sum(s.faq_answered for s in contained),
        outcomes=outcomes(ends.values()),
        by_category=_topics(told, ends),
        funnel=_funnel(told, ends),
        handoffs=len(told) - len(contained),
        handoffs_by_category=_by_category(told),
        handoffs_by_reason=_by_reason(told),
        faq_queries=sum(verdicts[v] for v in FIRST_VERDICTS),
        faq_answered=verdicts["answer"],
        faq_suggested=verdicts["suggest"],
        faq_accepted=verdicts["chosen"],
        faq_declined=verdicts["declined"],
        faq_not_found=verdicts["not_found"],
        unanswered=tuple(cluster(shown(_text(e.data.get("query"))) for e in own
                                 if e.kind == "faq" and e.data.get("decision") in ("not_found", "declined"))),
        dropoff=_ranked(s.last_node or "(시작 전)" for s in left),
        time_to_handoff=spread(s.handoff_at - s.started_at for s in told if s.handoff_at is not None),
        queue_wait=spread(_durations(events, "assigned", "waited_seconds")),
        handling=spread(_durations(events, "closed", "handled_seconds")),
        extra_seen=_ranked(shown(s.extra) for s in told if s.extra),
        extra_unmatched=_ranked(shown(_text(e.data.get("extra"))) for e in own if e.kind == "extra_unmatched"),
        daily=_daily(told, ends),
        node_visits=dict(Counter(node for s in told for node in s.nodes)),
    )


def _ranked(values: Iterable[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(Counter(values).items(), key=lambda item: (-item[1], item[0])))


def _durations(events: Sequence[EventRecord], kind: str, key: str) -> list[float]:
    """Queue events carry their own durations; those outside any counted session still count,
    since an agent's work belongs to the period it happened in."""
    return [s for s in (_seconds(e.data.get(key)) for e in events if e.kind == kind) if s is not None]


def _by_category(told: Sequence[SessionStory]) -> tuple[Share, ...]:
    sessions = Counter(s.topic for s in told)
    handoffs = Counter(s.topic for s in told if not s.contained)
    return tuple(Share(name, handoffs[name], total) for name, total in _ranked_counter(sessions))


def _topics(told: Sequence[SessionStory], ends: Mapping[str, str]) -> tuple[Topic, ...]:
    """Outcomes per category, largest category first, as ``handoffs_by_category`` orders them."""
    grouped: dict[str, list[str]] = {}
    for story in told:
        grouped.setdefault(story.topic, []).append(ends[story.id])
    ranked = _ranked_counter(Counter({name: len(ends_) for name, ends_ in grouped.items()}))
    return tuple(Topic(name, outcomes(grouped[name])) for name, _ in ranked)


def _funnel(told: Sequence[SessionStory], ends: Mapping[str, str]) -> tuple[tuple[str, int], ...]:
    wrote = [s for s in told if s.wrote]
    alone = [s for s in wrote if ends[s.id] in (RESOLVED, ABANDONED)]
    resolved = [s for s in alone if ends[s.id] == RESOLVED]
    return (("시작", len(told)), ("입력", len(wrote)), ("상담원 없이 끝남", len(alone)), ("봇 해결", len(resolved)),
            ("FAQ로 해결", sum(s.faq_answered for s in resolved)))


def _by_reason(told: Sequence[SessionStory]) -> tuple[Share, ...]:
    reasons = Counter(s.handoff_reason for s in told if s.handoff_reason is not None)
    return tuple(Share(name, count, len(told)) for name, count in _ranked_counter(reasons))


def _ranked_counter(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _daily(told: Sequence[SessionStory], ends: Mapping[str, str]) -> tuple[Day, ...]:
    days = sorted({s.day for s in told})
    return tuple(Day(d, sum(s.day == d for s in told), sum(s.day == d and s.contained for s in told),
                     sum(s.day == d and ends[s.id] == RESOLVED for s in told),
                     sum(s.day == d and not s.contained for s in told)) for d in days)


# ---- JSON -------------------------------------------------------------------------------------


def to_json(fig: Figures) -> dict[str, Any]:
    """The ``--json`` document; its keys are listed in the README and are a stable interface."""
    def timing(s: Spread) -> dict[str, Any]:
        return {"count": s.count, "median": s.median, "p90": s.p90}

    def shares(items: Sequence[Share]) -> dict[str, Any]:
        return {s.name: {"count": s.count, "of": s.total, "rate": s.rate} for s in items}

    def counts(o: Outcomes) -> dict[str, int]:
        return {"sessions": o.sessions, RESOLVED: o.resolved, HANDED: o.handed, ABANDONED: o.abandoned, OPEN: o.open}

    return {
        "sessions": fig.sessions,
        "engaged": fig.engaged,
        "outcomes": {**counts(fig.outcomes), "decided": fig.outcomes.decided,
                     "resolved_rate": ratio(fig.outcomes.resolved, fig.outcomes.decided),
                     "handed_rate": ratio(fig.outcomes.handed, fig.outcomes.decided),
                     "abandoned_rate": ratio(fig.outcomes.abandoned, fig.outcomes.decided),
                     "by_category": {t.name: counts(t.outcomes) for t in fig.by_category}},
        "containment": {"contained": fig.contained, "rate": ratio(fig.contained, fig.sessions),
                        "with_faq": fig.contained_with_faq, "without_faq": fig.contained - fig.contained_with_faq},
        "handoffs": {"count": fig.handoffs, "rate": ratio(fig.handoffs, fig.sessions),
                     "by_category": shares(fig.handoffs_by_category), "by_reason": shares(fig.handoffs_by_reason)},
        "faq": {"queries": fig.faq_queries, "answered": fig.faq_answered, "suggested": fig.faq_suggested,
                "accepted": fig.faq_accepted, "declined": fig.faq_declined, "not_found": fig.faq_not_found,
                "hit_rate": ratio(fig.faq_answered, fig.faq_queries),
                "acceptance_rate": ratio(fig.faq_accepted, fig.faq_suggested),
                "not_found_rate": ratio(fig.faq_not_found, fig.faq_queries)},
        "unanswered": [{"text": c.label, "count": c.count, "examples": list(c.examples)} for c in fig.unanswered],
        "dropoff": [{"node": node, "count": count} for node, count in fig.dropoff],
        "times": {"time_to_handoff": timing(fig.time_to_handoff), "queue_wait": timing(fig.queue_wait),
                  "handling": timing(fig.handling)},
        "extra": {"seen": [{"value": v, "count": n} for v, n in fig.extra_seen],
                  "unmatched": [{"value": v, "count": n} for v, n in fig.extra_unmatched]},
        "funnel": [{"stage": stage, "count": count} for stage, count in fig.funnel],
        "daily": [{"day": d.day.isoformat(), "sessions": d.sessions, "contained": d.contained,
                   "resolved": d.resolved, "handoffs": d.handoffs} for d in fig.daily],
    }
