"""The store's events turned into the figures a business reads: pure, so the terminal table,
``--json`` and the HTML page all show the same numbers, and tests can pin them on hand-built
event lists.

A session is counted when its ``session_start`` lies in the period; every event of that
session found in the period then tells its story. Definitions an operator can rely on:

- *contained*: no ``handoff`` event. *resolved*: contained and ended by the bot at an ``end``
  node; *left*: contained and ended any other way (the user left, Kakao expired it, the bot
  ended it for inactivity); *open*: contained and not ended yet.
- *drop-off*: the last node of each *left* session: where customers give up.
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
class Day:
    day: date
    sessions: int
    contained: int
    handoffs: int


@dataclass(frozen=True)
class Figures:
    sessions: int
    engaged: int
    contained: int
    contained_engaged: int
    contained_with_faq: int
    resolved: int
    left: int
    open: int
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

    @property
    def funnel(self) -> tuple[tuple[str, int], ...]:
        """Each stage a subset of the one before: started, wrote, served without an agent, by the FAQ."""
        return (("시작", self.sessions), ("입력", self.engaged), ("봇 해결", self.contained_engaged),
                ("FAQ 답변", self.contained_with_faq))


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


def stories(events: Sequence[EventRecord], tz: tzinfo) -> list[SessionStory]:
    """One story per session started among ``events``, in start order."""
    starts = {e.session_id: e for e in events if e.kind == "session_start" and e.session_id}
    by_session: dict[str, list[EventRecord]] = {sid: [] for sid in starts}
    for event in events:
        if event.session_id in by_session:
            by_session[event.session_id].append(event)
    return [_story(starts[sid], own, tz) for sid, own in by_session.items()]


def _story(start: EventRecord, events: list[EventRecord], tz: tzinfo) -> SessionStory:
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
        elif kind == "handoff" and "handoff_at" not in values:
            values["handoff_at"] = event.at
            values["handoff_reason"] = _text(data.get("reason")) or "rule"
        elif kind == "session_end" and "end_reason" not in values:
            values["end_reason"] = _text(data.get("reason")) or "ended"
        if kind in ("route", "handoff", "session_end") and isinstance(data.get("category"), str) and data["category"]:
            category = data["category"]
    day = datetime.fromtimestamp(start.at, tz).date()
    return SessionStory(start.session_id or "", start.at, day, category=category, nodes=tuple(nodes), **values)


def resolved(story: SessionStory, end_nodes: frozenset[str]) -> bool:
    """Ended by the bot at an ``end`` node; without the flows, any end by the bot counts."""
    return (story.contained and story.end_reason == "bot"
            and (not end_nodes or story.last_node in end_nodes))


# ---- figures ----------------------------------------------------------------------------------


def figures(events: Sequence[EventRecord], tz: tzinfo, end_nodes: frozenset[str] = frozenset()) -> Figures:
    """Everything the report shows, from one pass over the period's events."""
    told = stories(events, tz)
    counted = {s.id for s in told}
    own = [e for e in events if e.session_id in counted]
    contained = [s for s in told if s.contained]
    ended_here = [s for s in contained if s.end_reason is not None]
    left = [s for s in ended_here if not resolved(s, end_nodes)]
    verdicts = Counter(e.data.get("decision") for e in own if e.kind == "faq")
    return Figures(
        sessions=len(told),
        engaged=sum(s.wrote for s in told),
        contained=len(contained),
        contained_engaged=sum(s.wrote for s in contained),
        contained_with_faq=sum(s.faq_answered for s in contained),
        resolved=len(ended_here) - len(left),
        left=len(left),
        open=len(contained) - len(ended_here),
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
        daily=_daily(told),
        node_visits=dict(Counter(node for s in told for node in s.nodes)),
    )


def _ranked(values: Iterable[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(Counter(values).items(), key=lambda item: (-item[1], item[0])))


def _durations(events: Sequence[EventRecord], kind: str, key: str) -> list[float]:
    """Queue events carry their own durations; those outside any counted session still count,
    since an agent's work belongs to the period it happened in."""
    return [s for s in (_seconds(e.data.get(key)) for e in events if e.kind == kind) if s is not None]


def _by_category(told: Sequence[SessionStory]) -> tuple[Share, ...]:
    sessions = Counter(s.category or UNCATEGORISED for s in told)
    handoffs = Counter(s.category or UNCATEGORISED for s in told if not s.contained)
    return tuple(Share(name, handoffs[name], total) for name, total in _ranked_counter(sessions))


def _by_reason(told: Sequence[SessionStory]) -> tuple[Share, ...]:
    reasons = Counter(s.handoff_reason for s in told if s.handoff_reason is not None)
    return tuple(Share(name, count, len(told)) for name, count in _ranked_counter(reasons))


def _ranked_counter(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _daily(told: Sequence[SessionStory]) -> tuple[Day, ...]:
    days = sorted({s.day for s in told})
    return tuple(Day(d, sum(s.day == d for s in told), sum(s.day == d and s.contained for s in told),
                     sum(s.day == d and not s.contained for s in told)) for d in days)


# ---- JSON -------------------------------------------------------------------------------------


def to_json(fig: Figures) -> dict[str, Any]:
    """The ``--json`` document; its keys are listed in the README and are a stable interface."""
    def timing(s: Spread) -> dict[str, Any]:
        return {"count": s.count, "median": s.median, "p90": s.p90}

    def shares(items: Sequence[Share]) -> dict[str, Any]:
        return {s.name: {"count": s.count, "of": s.total, "rate": s.rate} for s in items}

    return {
        "sessions": fig.sessions,
        "engaged": fig.engaged,
        "containment": {"contained": fig.contained, "rate": ratio(fig.contained, fig.sessions),
                        "with_faq": fig.contained_with_faq, "without_faq": fig.contained - fig.contained_with_faq,
                        "resolved": fig.resolved, "left": fig.left, "open": fig.open},
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
                   "handoffs": d.handoffs} for d in fig.daily],
    }
