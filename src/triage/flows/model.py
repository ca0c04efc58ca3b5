"""The flow language as typed, immutable domain objects.

The loader builds these from YAML; the engine only reads them. Node targets are always
qualified (``flow.node``) once loaded, so the engine never resolves names at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from triage.flows.templates import Expr, Text

PRIORITIES = ("low", "normal", "high", "urgent")
VALIDATORS = ("phone", "email", "number", "date", "order_id", "rrn", "card", "name", "text")
"""Built-in ``ask`` validators; ``regex:<pattern>`` is accepted besides these."""
PII_VALIDATORS = ("phone", "email", "rrn", "card", "name")
"""Validators whose answers are personal data and need consent first (issue 6)."""


@dataclass(frozen=True)
class Button:
    label: str
    goto: str
    set: Mapping[str, Text] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class Link:
    label: str
    url: Text
    line: int = 0


@dataclass(frozen=True)
class Route:
    when: Expr
    goto: str
    category: str | None = None
    tags: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class Case:
    when: Expr
    goto: str
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class Node:
    """What every node kind has: where it is, and the common keys."""

    id: str
    file: str
    line: int
    set: Mapping[str, Text] = field(default_factory=dict)
    category: str | None = None
    tags: tuple[str, ...] = ()
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    """YAML key -> line, so checks can point at the exact key an editor wrote."""

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)

    @property
    def flow(self) -> str:
        return self.id.rsplit(".", 1)[0]

    @property
    def name(self) -> str:
        return self.id.rsplit(".", 1)[1]

    def targets(self) -> tuple[str, ...]:
        """Every node this one can lead to, for reachability and graphs."""
        return ()


@dataclass(frozen=True, kw_only=True)
class Say(Node):
    texts: tuple[Text, ...]
    image: Text | None = None
    links: tuple[Link, ...] = ()
    buttons: tuple[Button, ...] = ()
    goto: str | None = None
    on_text: str | None = None

    @property
    def waits(self) -> bool:
        return self.goto is None

    def targets(self) -> tuple[str, ...]:
        own = tuple(b.goto for b in self.buttons)
        return own + tuple(t for t in (self.goto, self.on_text) if t)


@dataclass(frozen=True, kw_only=True)
class Ask(Node):
    prompt: Text
    save: str
    goto: str
    validate: str | None = None
    retry: Text | None = None
    max_tries: int = 3
    on_fail: str | None = None
    pii: bool = False

    @property
    def collects_pii(self) -> bool:
        return self.pii or (self.validate in PII_VALIDATORS)

    def targets(self) -> tuple[str, ...]:
        return tuple(t for t in (self.goto, self.on_fail) if t)


@dataclass(frozen=True, kw_only=True)
class Check(Node):
    cases: tuple[Case, ...]
    else_: str

    def targets(self) -> tuple[str, ...]:
        return tuple(c.goto for c in self.cases) + (self.else_,)


@dataclass(frozen=True, kw_only=True)
class Faq(Node):
    found: str
    not_found: str
    faq_category: str | None = None

    def targets(self) -> tuple[str, ...]:
        return (self.found, self.not_found)


@dataclass(frozen=True, kw_only=True)
class Handoff(Node):
    queue: str
    priority: str = "normal"
    skills: tuple[str, ...] = ()
    summary: Text | None = None
    message: Text | None = None
    closed: str | None = None
    offline: bool = False
    """A message for later: the ticket is created even while the queue is closed, and waits for it to open."""

    def targets(self) -> tuple[str, ...]:
        return (self.closed,) if self.closed else ()


@dataclass(frozen=True, kw_only=True)
class End(Node):
    text: Text | None = None


@dataclass(frozen=True, kw_only=True)
class Goto(Node):
    target: str

    def targets(self) -> tuple[str, ...]:
        return (self.target,)


@dataclass(frozen=True, kw_only=True)
class Consent(Node):
    """Asks for consent to collect personal data (issue 6): agree and decline buttons."""

    text: Text
    agree: str
    decline: str
    agree_label: str = "동의합니다"
    decline_label: str = "동의하지 않아요"

    def targets(self) -> tuple[str, ...]:
        return (self.agree, self.decline)


KINDS: dict[str, type[Node]] = {
    "say": Say,
    "ask": Ask,
    "check": Check,
    "faq": Faq,
    "handoff": Handoff,
    "end": End,
    "goto": Goto,
    "consent": Consent,
}
"""Kind key in YAML -> node class; a node has exactly one of these keys."""


@dataclass(frozen=True)
class Flow:
    id: str
    file: str
    line: int = 1
    start: str | None = None
    routes: tuple[Route, ...] = ()
    keywords: Mapping[str, str] = field(default_factory=dict)
    fallback: str | None = None
    max_misses: int | None = None
    on_max_misses: str | None = None
    nodes: Mapping[str, Node] = field(default_factory=dict)
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    keyword_lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    """Keyword -> line, so a wrong keyword is reported on its own line, not on ``keywords:``."""

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)

    def line_of_keyword(self, word: str) -> int:
        return self.keyword_lines.get(word, self.line_of("keywords"))


@dataclass(frozen=True)
class FlowSet:
    """All flows of a site, with the lookups the engine needs precomputed."""

    flows: Mapping[str, Flow]
    entry: str
    nodes: Mapping[str, Node]
    keywords: Mapping[str, str]
    unloaded: frozenset[str] = frozenset()
    """The flows whose files could not be read at all (named by file), so checks across files
    stay quiet about what that file's own error explains."""

    @property
    def entry_flow(self) -> Flow:
        return self.flows[self.entry]

    def fallback_for(self, node_id: str) -> str | None:
        return self._setting(node_id, "fallback")

    def max_misses_for(self, node_id: str) -> int | None:
        return self._setting(node_id, "max_misses")

    def on_max_misses_for(self, node_id: str) -> str | None:
        return self._setting(node_id, "on_max_misses")

    def _setting(self, node_id: str, name: str):
        own = self.flows.get(node_id.rsplit(".", 1)[0])
        value = getattr(own, name, None) if own else None
        return value if value is not None else getattr(self.entry_flow, name, None)
