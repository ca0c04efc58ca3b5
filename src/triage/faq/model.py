"""FAQ entries and match results as domain objects, shared by the loader, index and engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping, Protocol

from triage.flows.model import Button, Link
from triage.flows.templates import Text

Route = Literal["exact", "spacing", "particles", "jamo", "chosung", "keyboard", "synonym", "fuzzy", "keyword"]
DecisionKind = Literal["answer", "suggest", "not_found"]


@dataclass(frozen=True)
class FaqEntry:
    id: str
    category: str
    q: str
    a: Text
    alt: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    buttons: tuple[Button, ...] = ()
    image: Text | None = None
    threshold: float | None = None
    tags: tuple[str, ...] = ()
    active: bool = True
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Candidate:
    entry_id: str
    score: float  # 0..100
    variant: str  # the question or alt phrasing that matched
    route: Route  # how it matched, for explanations


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    query: str
    candidates: tuple[Candidate, ...] = ()

    @property
    def entry_id(self) -> str | None:
        return self.candidates[0].entry_id if self.kind == "answer" and self.candidates else None


class FaqMatcher(Protocol):
    """What the engine needs from the FAQ: pure, fast, no I/O."""

    entries: Mapping[str, FaqEntry]

    def match(self, query: str, category: str | None = None, limit: int = 5) -> list[Candidate]: ...

    def decide(self, query: str, category: str | None = None) -> Decision: ...
