"""A clickable drawing of the flows: boxes and arrows laid out in layers, with no JS library.

Editors read a flow top to bottom, so each flow is a band whose rows are the distance from its
entry; the page turns every box into a button that jumps the preview there. Layout is pure
arithmetic over ``graph.edges``, so the drawing always shows exactly what the validator walks.
"""

from __future__ import annotations

from dataclasses import dataclass

from triage.flows.graph import edges, kind_of
from triage.flows.model import Flow, FlowSet

BOX_W, BOX_H = 150, 40
GAP_X, GAP_Y = 24, 34
BAND_TITLE = 28
MARGIN = 12


@dataclass(frozen=True)
class Box:
    node_id: str
    name: str
    kind: str
    x: int
    y: int


@dataclass(frozen=True)
class Arrow:
    x1: int
    y1: int
    x2: int
    y2: int
    label: str
    back: bool
    """Points up or sideways (a loop back to an earlier row), drawn as a curve so it stays visible."""


@dataclass(frozen=True)
class Band:
    flow: str
    y: int


@dataclass(frozen=True)
class Diagram:
    width: int
    height: int
    bands: tuple[Band, ...]
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]


def _roots(flow: Flow, flows: FlowSet, targets: set[str]) -> list[str]:
    """Where reading a flow begins: its start node, else nodes nothing inside it points to."""
    if flow.id == flows.entry and flow.start in flow.nodes:
        return [flow.start]
    roots = [n for n in flow.nodes if n not in targets]
    return roots or list(flow.nodes)[:1]


def layers(flow: Flow, flows: FlowSet, moves: list[tuple[str, str, str]]) -> list[list[str]]:
    """Breadth-first rows from the flow's roots; nodes nothing reaches go in a last row."""
    inside = [(a, b) for a, b, _ in moves if a in flow.nodes and b in flow.nodes and a != b]
    row_of: dict[str, int] = {n: 0 for n in _roots(flow, flows, {b for _, b in inside})}
    frontier = list(row_of)
    while frontier:
        nxt = []
        for node in frontier:
            for a, b in inside:
                if a == node and b not in row_of:
                    row_of[b] = row_of[node] + 1
                    nxt.append(b)
        frontier = nxt
    last = max(row_of.values(), default=-1) + 1
    for node in flow.nodes:
        row_of.setdefault(node, last)
    rows: list[list[str]] = [[] for _ in range(max(row_of.values(), default=-1) + 1)]
    for node in flow.nodes:
        rows[row_of[node]].append(node)
    return [row for row in rows if row]


def layout(flows: FlowSet) -> Diagram:
    """Moves into another flow are left out: that flow's band starts where they land."""
    moves = edges(flows)
    boxes: dict[str, Box] = {}
    bands = []
    y = MARGIN
    for flow in flows.flows.values():
        bands.append(Band(flow.id, y))
        y += BAND_TITLE
        for row in layers(flow, flows, moves):
            for column, node_id in enumerate(row):
                node = flows.nodes[node_id]
                boxes[node_id] = Box(node_id, node.name, kind_of(node), MARGIN + column * (BOX_W + GAP_X), y)
            y += BOX_H + GAP_Y
    arrows = tuple(_arrow(boxes[a], boxes[b], label) for a, b, label in moves
                   if a != b and flows.nodes[a].flow == flows.nodes[b].flow)
    width = max((b.x + BOX_W for b in boxes.values()), default=0) + MARGIN
    return Diagram(width, y + MARGIN, tuple(bands), tuple(boxes.values()), arrows)


def _arrow(a: Box, b: Box, label: str) -> Arrow:
    if b.y > a.y:
        return Arrow(a.x + BOX_W // 2, a.y + BOX_H, b.x + BOX_W // 2, b.y, label, False)
    return Arrow(a.x + BOX_W, a.y + BOX_H // 2, b.x + BOX_W, b.y + BOX_H // 2, label, True)
