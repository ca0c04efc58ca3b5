"""The flows as a directed graph: every target an editor named, and drawings of the result.

The validator, ``triage graph`` and later reports all walk the same references, so a new
target key is added here once and every consumer sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from triage.flows.model import Ask, Check, Consent, End, Faq, Flow, FlowSet, Goto, Handoff, Node, Say


@dataclass(frozen=True)
class Reference:
    """One place a file names a target: which key, where, and what a drawing shows."""

    target: str
    key: str
    file: str
    line: int
    flow: str
    """The flow whose file holds the reference, where bare names resolve."""
    source: str | None = None
    """The node the move starts from; None for flow-level entry points (start, routes, ...)."""
    label: str = ""


def _keyed(node: Node, key: str, target: str | None, label: str = "") -> list[Reference]:
    if not target:
        return []
    return [Reference(target, key, node.file, node.line_of(key), node.flow, node.id, label)]


def node_references(node: Node) -> list[Reference]:
    """The moves out of one node, in the order an editor reads them."""
    match node:
        case Say():
            buttons = [Reference(b.goto, "goto", node.file, b.line, node.flow, node.id, b.label) for b in node.buttons]
            return buttons + _keyed(node, "goto", node.goto) + _keyed(node, "on_text", node.on_text, "text")
        case Ask():
            return _keyed(node, "goto", node.goto, "answer") + _keyed(node, "on_fail", node.on_fail, "on_fail")
        case Check():
            cases = [Reference(c.goto, "goto", node.file, c.line, node.flow, node.id, c.when.source) for c in node.cases]
            return cases + _keyed(node, "else", node.else_, "else")
        case Faq():
            return _keyed(node, "found", node.found, "found") + _keyed(node, "not_found", node.not_found, "not_found")
        case Handoff():
            return _keyed(node, "closed", node.closed, "closed")
        case Goto():
            return _keyed(node, "goto", node.target)
        case Consent():
            return _keyed(node, "agree", node.agree, node.agree_label) + _keyed(node, "decline", node.decline,
                                                                                 node.decline_label)
        case _:
            return []


def flow_references(flow: Flow) -> list[Reference]:
    """The flow-level entry points: where sessions start, keywords and misses lead."""
    def keyed(key: str, target: str | None) -> list[Reference]:
        return [Reference(target, key, flow.file, flow.line_of(key), flow.id)] if target else []

    routes = [Reference(r.goto, "goto", flow.file, r.line, flow.id, label=r.when.source)
              for r in flow.routes]
    keywords = [Reference(target, "keywords", flow.file, flow.line_of_keyword(word), flow.id, label=word)
                for word, target in flow.keywords.items()]
    return (keyed("start", flow.start) + routes + keywords + keyed("fallback", flow.fallback)
            + keyed("on_max_misses", flow.on_max_misses))


def references(flows: FlowSet) -> list[Reference]:
    """Every target named anywhere, flow-level ones first within each file."""
    return [ref for flow in flows.flows.values()
            for ref in flow_references(flow) + [r for node in flow.nodes.values() for r in node_references(node)]]


def edges(flows: FlowSet) -> list[tuple[str, str, str]]:
    """``(from, to, label)`` for every move between nodes that exist."""
    return [(r.source, r.target, r.label) for r in references(flows)
            if r.source is not None and r.target in flows.nodes]


# ---- drawings -------------------------------------------------------------------------

KIND_STYLES = {
    "say": "fill:#e3f2fd,stroke:#1e88e5",
    "ask": "fill:#fff8e1,stroke:#f9a825",
    "check": "fill:#f3e5f5,stroke:#8e24aa",
    "faq": "fill:#e8f5e9,stroke:#43a047",
    "handoff": "fill:#ffebee,stroke:#e53935",
    "end": "fill:#eeeeee,stroke:#616161",
    "goto": "fill:#ffffff,stroke:#9e9e9e",
    "consent": "fill:#fce4ec,stroke:#d81b60",
}
_KIND_OF = {Say: "say", Ask: "ask", Check: "check", Faq: "faq", Handoff: "handoff", End: "end", Goto: "goto",
            Consent: "consent"}
_MERMAID_SHAPES = {"handoff": ('[["', '"]]'), "end": ('(["', '"])'), "check": ('{"', '"}'), "ask": ('[/"', '"/]')}
_DOT_SHAPES = {"handoff": "doubleoctagon", "end": "doublecircle", "check": "diamond", "ask": "parallelogram"}
_UNSAFE_ID = re.compile(r"[^0-9A-Za-z_]")


def kind_of(node: Node) -> str:
    return _KIND_OF[type(node)]


def _node_label(node: Node) -> str:
    """The node's name plus a hint of its content, so a drawing reads without the YAML."""
    hint = {Handoff: lambda n: f"queue {n.queue}", Faq: lambda n: f"faq {n.faq_category or '*'}"}.get(type(node))
    return f"{node.name}\n{hint(node)}" if hint else node.name


def _selected(flows: FlowSet, flow: str | None) -> list[Flow]:
    return [f for f in flows.flows.values() if flow is None or f.id == flow]


def _mermaid_id(node_id: str) -> str:
    """Mermaid ids must be ASCII words; hex-encode anything else so ids stay unique."""
    return "n_" + _UNSAFE_ID.sub(lambda m: f"_{ord(m.group()):x}_", node_id)


def _mermaid_text(text: str) -> str:
    """Mermaid labels are double-quoted; quotes and markup become entity codes."""
    escaped = text.replace("#", "#35;").replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return escaped.replace("\n", "<br/>")


def _edge_label(label: str) -> str:
    return label if len(label) <= 40 else label[:39] + "…"


def _draw(flows: FlowSet, flow: str | None, node_line: Callable[[Node], str],
          edge_line: Callable[[str, str, str], str], group: Callable[[Flow, list[str]], list[str]]) -> list[str]:
    shown = _selected(flows, flow)
    ids = {n for f in shown for n in f.nodes}
    lines = [line for f in shown for line in group(f, [node_line(n) for n in f.nodes.values()])]
    lines += [edge_line(a, b, _edge_label(label)) for a, b, label in edges(flows) if a in ids and b in ids]
    return lines


def to_mermaid(flows: FlowSet, flow: str | None = None) -> str:
    """A ``flowchart TD`` with one subgraph per flow, coloured by node kind.

    Classes are prefixed ``k_`` because ``end`` is a Mermaid keyword.
    """
    def node_line(node: Node) -> str:
        kind = kind_of(node)
        open_, close = _MERMAID_SHAPES.get(kind, ('["', '"]'))
        return f"    {_mermaid_id(node.id)}{open_}{_mermaid_text(_node_label(node))}{close}:::k_{kind}"

    def edge_line(a: str, b: str, label: str) -> str:
        arrow = f'-- "{_mermaid_text(label)}" -->' if label else "-->"
        return f"  {_mermaid_id(a)} {arrow} {_mermaid_id(b)}"

    def group(f: Flow, nodes: list[str]) -> list[str]:
        return [f'  subgraph f_{_mermaid_id(f.id)}["{_mermaid_text(f.id)}"]', *nodes, "  end"]

    body = _draw(flows, flow, node_line, edge_line, group)
    styles = [f"  classDef k_{kind} {style}" for kind, style in KIND_STYLES.items()]
    return "\n".join(["flowchart TD", *styles, *body]) + "\n"


def _dot_text(text: str) -> str:
    """DOT strings are double-quoted; backslashes and quotes are escaped, newlines become \\n."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(flows: FlowSet, flow: str | None = None) -> str:
    """The same drawing for Graphviz: one cluster per flow, shapes and colours by kind."""
    def node_line(node: Node) -> str:
        kind = kind_of(node)
        fill, stroke = (part.split(":")[1] for part in KIND_STYLES[kind].split(","))
        return (f"    {_dot_text(node.id)} [label={_dot_text(_node_label(node))}, "
                f'shape={_DOT_SHAPES.get(kind, "box")}, style=filled, fillcolor="{fill}", color="{stroke}"];')

    def edge_line(a: str, b: str, label: str) -> str:
        return f"  {_dot_text(a)} -> {_dot_text(b)}" + (f" [label={_dot_text(label)}];" if label else ";")

    def group(f: Flow, nodes: list[str]) -> list[str]:
        return [f"  subgraph {_dot_text('cluster_' + f.id)} {{", f"    label={_dot_text(f.id)};", *nodes, "  }"]

    body = _draw(flows, flow, node_line, edge_line, group)
    return "\n".join(["digraph flows {", "  rankdir=TB;", '  node [fontname="sans-serif"];', *body, "}"]) + "\n"
