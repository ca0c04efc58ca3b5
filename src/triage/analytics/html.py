"""The report as one self-contained HTML file: inline CSS, SVG charts drawn here in Python.

No script library, font or image is fetched: the file is mailed around and opened on
machines with no access to the internet, and a report must never phone home with customer
data. The one inline script only writes each chart's rendered size into ``data-size`` so a
headless browser can prove the charts are really drawn.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from html import escape
from typing import Iterable, Sequence

from triage.analytics.metrics import Figures, Outcomes, Spread, ratio
from triage.flows.graph import KIND_STYLES, edges, kind_of
from triage.flows.model import FlowSet

NONE = "–"
BLUE, RED, GREEN, GREY, AMBER = "#1e88e5", "#e53935", "#43a047", "#9e9e9e", "#fb8c00"
REASONS = {"user_asked": "고객 요청", "misses": "이해하지 못함 반복", "faq_not_found": "FAQ에서 답을 못 찾음",
           "ask_failed": "입력 확인 실패", "rule": "플로 규칙"}
"""The engine's handoff reasons as a business owner reads them; an unknown code is shown as is."""
OUTCOME_BARS = (("봇 해결", GREEN), ("상담원 연결", RED), ("이탈", AMBER), ("진행 중", GREY))
STYLE = """
body{font-family:system-ui,'Apple SD Gothic Neo','Noto Sans KR',sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.period{color:#666;margin-bottom:16px}.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border:1px solid #ddd;border-radius:8px;padding:10px 16px;min-width:150px}
.card b{display:block;font-size:24px}.card span{color:#666;font-size:13px}
table{border-collapse:collapse;font-size:14px;margin:6px 0}
td,th{border-bottom:1px solid #eee;padding:4px 10px;text-align:left}
td.n,th.n{text-align:right}svg.chart{display:block;width:100%;height:auto;margin:8px 0}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:24px}
"""
SIZE_SCRIPT = """addEventListener('load',function(){document.querySelectorAll('svg.chart').forEach(function(c){
var r=c.getBoundingClientRect();c.setAttribute('data-size',Math.round(r.width)+'x'+Math.round(r.height));});
document.body.setAttribute('data-loaded','yes');});"""


def page(fig: Figures, flows: FlowSet | None, title: str, period: str) -> str:
    """The whole report; ``flows`` is None when the content does not load (the graph is then left out)."""
    sections = [
        _cards(fig),
        _section("퍼널: 진입에서 해결까지", funnel_chart(fig)),
        _section("카테고리별 결과", category_chart(fig) + _category_table(fig)),
        _section("일별 추이", trend_chart(fig)),
        _section("이탈 지점 (플로 그래프)", flow_chart(flows, fig) if flows else "<p>플로를 불러오지 못했어요.</p>"),
        "<div class=grid>" + "".join([
            _section("상담원 연결 사유", _table(("사유", "건수", "비율"),
                                           [(REASONS.get(s.name, s.name), s.count, _pct(s.rate))
                                            for s in fig.handoffs_by_reason])),
            _section("FAQ", _faq_table(fig)),
            _section("답하지 못한 질문", _table(("질문 (묶음)", "횟수"),
                                          [(f"{c.label} ({c.count}회)", c.count) for c in fig.unanswered])),
            _section("이탈 노드", _table(("노드", "세션"), fig.dropoff)),
            _section("시간 (초)", _times_table(fig)),
            _section("extra 값", _table(("값", "세션", "경로 없음"), _extra_rows(fig))),
        ]) + "</div>",
    ]
    return ("<!doctype html><html lang=ko><head><meta charset=utf-8>"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{escape(title)}</h1><div class=period>{escape(period)}</div>{''.join(sections)}"
            f"<script>{SIZE_SCRIPT}</script></body></html>\n")


def _pct(rate: float | None) -> str:
    return NONE if rate is None else f"{rate * 100:.1f}%"


def _secs(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f}"


def _section(heading: str, body: str) -> str:
    return f"<section><h2>{escape(heading)}</h2>{body}</section>"


def _table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    def cell(tag: str, value: object) -> str:
        numeric = isinstance(value, (int, float)) or str(value).endswith("%")
        return f"<{tag}{' class=n' if numeric else ''}>{escape(str(value))}</{tag}>"

    body = "".join("<tr>" + "".join(cell("td", v) for v in row) + "</tr>" for row in rows)
    header = "<tr>" + "".join(cell("th", h) for h in head) + "</tr>"
    return f"<table>{header}{body or f'<tr><td>{NONE}</td></tr>'}</table>"


def _cards(fig: Figures) -> str:
    """Rates over the sessions that have ended or reached a person: an open conversation may
    still end either way, so counting it as resolved (or not) would be a guess."""
    o = fig.outcomes
    cards = [("세션", str(fig.sessions)), ("봇 해결률", _pct(ratio(o.resolved, o.decided))),
             ("상담원 없이 끝난 상담", _pct(ratio(o.without_agent, o.decided))),
             ("상담원 연결률", _pct(ratio(o.handed, o.decided))),
             ("FAQ 적중률", _pct(ratio(fig.faq_answered, fig.faq_queries))),
             ("연결까지 (중앙값)", _secs(fig.time_to_handoff.median) + "초")]
    note = (f"비율은 결과가 난 상담 {o.decided}건 기준: 봇 해결 {o.resolved} · 상담원 연결 {o.handed} · "
            f"이탈 {o.abandoned}. 진행 중 {o.open}건은 빼고 셉니다.")
    return ("<div class=cards>" + "".join(f"<div class=card><b>{escape(v)}</b><span>{escape(k)}</span></div>"
                                          for k, v in cards) + f"</div><p class=period>{escape(note)}</p>")


def _outcome_counts(o: Outcomes) -> tuple[int, int, int, int]:
    """In the order of ``OUTCOME_BARS``."""
    return o.resolved, o.handed, o.abandoned, o.open


def _category_table(fig: Figures) -> str:
    return _table(("카테고리", "세션", *(name for name, _ in OUTCOME_BARS), "봇 해결률"),
                  [(t.name, t.outcomes.sessions, *_outcome_counts(t.outcomes),
                    _pct(ratio(t.outcomes.resolved, t.outcomes.decided))) for t in fig.by_category])


def _faq_table(fig: Figures) -> str:
    return _table(("", "건수", "비율"), [
        ("질문", fig.faq_queries, ""), ("바로 답변", fig.faq_answered, _pct(ratio(fig.faq_answered, fig.faq_queries))),
        ("혹시 이 질문? 제안", fig.faq_suggested, ""),
        ("제안 수락", fig.faq_accepted, _pct(ratio(fig.faq_accepted, fig.faq_suggested))),
        ("제안 거절", fig.faq_declined, ""),
        ("못 찾음", fig.faq_not_found, _pct(ratio(fig.faq_not_found, fig.faq_queries)))])


def _times_table(fig: Figures) -> str:
    rows: list[tuple[str, Spread]] = [("상담원 연결까지", fig.time_to_handoff), ("대기 시간", fig.queue_wait),
                                      ("상담 시간", fig.handling)]
    return _table(("", "건수", "중앙값", "p90"), [(name, s.count, _secs(s.median), _secs(s.p90)) for name, s in rows])


def _extra_rows(fig: Figures) -> list[tuple[str, int, str]]:
    unmatched = dict(fig.extra_unmatched)
    return [(value, count, "예" if value in unmatched else "") for value, count in fig.extra_seen]


# ---- charts -----------------------------------------------------------------------------------


def _svg(width: int, height: int, body: str, label: str) -> str:
    return (f'<svg class=chart role=img aria-label="{escape(label)}" '
            f'viewBox="0 0 {width} {height}" style="max-width:{width}px">{body}</svg>')


def _text(x: float, y: float, text: str, size: int = 13, anchor: str = "start", fill: str = "#222") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}">'
            f"{escape(text)}</text>")


def _bar(x: float, y: float, width: float, height: float, fill: str) -> str:
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width, 0):.1f}" height="{height:.1f}" fill="{fill}" rx="3"/>'


def funnel_chart(fig: Figures) -> str:
    stages = fig.funnel
    top = max(stages[0][1], 1)
    width, row, left, span = 900, 44, 120, 640
    parts = []
    for i, (stage, count) in enumerate(stages):
        y = 10 + i * row
        share = count / top
        parts += [_text(left - 10, y + 22, stage, anchor="end"), _bar(left, y, span * share, 32, BLUE),
                  _text(left + span * share + 8, y + 22, f"{count} ({share * 100:.0f}%)")]
    return _svg(width, 20 + row * len(stages), "".join(parts), "퍼널")


def category_chart(fig: Figures) -> str:
    """One stacked bar per category: resolved, handed to people, abandoned, still open."""
    topics = fig.by_category
    top = max((t.outcomes.sessions for t in topics), default=1) or 1
    width, row, left, span = 900, 30, 150, 600
    parts = [part for i, (name, colour) in enumerate(OUTCOME_BARS)
             for part in (_bar(left + i * 100, 6, 12, 12, colour), _text(left + i * 100 + 18, 17, name, 12))]
    for i, t in enumerate(topics):
        y, x = 30 + i * row, float(left)
        parts.append(_text(left - 10, y + 16, t.name, anchor="end"))
        for count, (_, colour) in zip(_outcome_counts(t.outcomes), OUTCOME_BARS):
            parts.append(_bar(x, y, span * count / top, 22, colour))
            x += span * count / top
        parts.append(_text(x + 8, y + 16, f"{t.outcomes.sessions}세션 · 해결 {t.outcomes.resolved}"))
    return _svg(width, 40 + row * max(len(topics), 1), "".join(parts), "카테고리별 결과")


def trend_chart(fig: Figures) -> str:
    days = fig.daily
    width, height, left, bottom, top_pad = 900, 220, 50, 180, 20
    top = max((d.sessions for d in days), default=1) or 1
    step = (width - left - 40) / max(len(days) - 1, 1)

    def point(i: int, value: int) -> tuple[float, float]:
        return left + i * step, bottom - (bottom - top_pad) * value / top

    parts = [f'<line x1="{left}" y1="{bottom}" x2="{width - 20}" y2="{bottom}" stroke="{GREY}"/>',
             _text(left - 8, top_pad + 4, str(top), 11, "end"), _text(left - 8, bottom, "0", 11, "end")]
    for series, colour, name in ((lambda d: d.sessions, BLUE, "세션"), (lambda d: d.resolved, GREEN, "봇 해결"),
                                 (lambda d: d.handoffs, RED, "상담원 연결")):
        points = [point(i, series(d)) for i, d in enumerate(days)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>' for x, y in points]
    parts += [_text(point(i, 0)[0], bottom + 18, d.day.strftime("%m-%d"), 11, "middle") for i, d in enumerate(days)]
    parts += [_text(width - 300 + i * 95, 14, name, 12, fill=colour)
              for i, (colour, name) in enumerate(((BLUE, "세션"), (GREEN, "봇 해결"), (RED, "상담원 연결")))]
    return _svg(width, height, "".join(parts), "일별 추이")


# ---- the flow graph with drop-off -------------------------------------------------------------

NODE_W, NODE_H, GAP_X, GAP_Y, PER_ROW = 150, 46, 18, 40, 7


@dataclass(frozen=True)
class Placed:
    node: str
    x: float
    y: float


def layers(flows: FlowSet) -> list[list[str]]:
    """Nodes by breadth-first depth from where sessions enter (start, then routes and keywords),
    so the drawing reads top-down like a conversation; unreachable nodes go last."""
    entry = flows.entry_flow
    start = entry.start or next(iter(entry.nodes))
    roots = [start, *(r.goto for r in entry.routes), *flows.keywords.values()]
    out_of: dict[str, list[str]] = {}
    for a, b, _ in edges(flows):
        out_of.setdefault(a, []).append(b)
    depth: dict[str, int] = {}
    queue: deque[str] = deque()
    for i, root in enumerate(dict.fromkeys(roots)):
        if root in flows.nodes and root not in depth:
            depth[root] = 0 if i == 0 else 1
            queue.append(root)
    while queue:
        node = queue.popleft()
        for target in out_of.get(node, ()):
            if target not in depth:
                depth[target] = depth[node] + 1
                queue.append(target)
    last = max(depth.values(), default=-1) + 1
    grouped: dict[int, list[str]] = {}
    for node in flows.nodes:
        grouped.setdefault(depth.get(node, last), []).append(node)
    return [grouped[d] for d in sorted(grouped)]


def layout(flows: FlowSet) -> list[Placed]:
    """Each layer in rows of at most ``PER_ROW`` nodes, centred."""
    placed: list[Placed] = []
    y = 10.0
    full = PER_ROW * (NODE_W + GAP_X)
    for layer in layers(flows):
        for start in range(0, len(layer), PER_ROW):
            row = layer[start:start + PER_ROW]
            x0 = (full - len(row) * (NODE_W + GAP_X)) / 2 + GAP_X / 2
            placed += [Placed(n, x0 + i * (NODE_W + GAP_X), y) for i, n in enumerate(row)]
            y += NODE_H + GAP_Y
    return placed


def flow_chart(flows: FlowSet, fig: Figures) -> str:
    """Edges grey, nodes coloured by kind as in ``triage graph``; a red badge counts the
    sessions that left at that node, and nodes nobody reached are faded."""
    placed = layout(flows)
    at = {p.node: p for p in placed}
    dropped = dict(fig.dropoff)
    parts = ['<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
             f'orient="auto"><path d="M0,0L10,5L0,10z" fill="{GREY}"/></marker></defs>']
    for a, b in dict.fromkeys((a, b) for a, b, _ in edges(flows)):
        if a != b:
            pa, pb = at[a], at[b]
            parts.append(f'<line x1="{pa.x + NODE_W / 2:.1f}" y1="{pa.y + NODE_H:.1f}" x2="{pb.x + NODE_W / 2:.1f}" '
                         f'y2="{pb.y:.1f}" stroke="{GREY}" stroke-opacity=".5" marker-end="url(#arrow)"/>')
    for p in placed:
        parts.append(_flow_node(flows, p, fig.node_visits.get(p.node, 0), dropped.get(p.node, 0)))
    width = PER_ROW * (NODE_W + GAP_X)
    height = int(max((p.y for p in placed), default=0) + NODE_H + 20)
    return _svg(width, height, "".join(parts), "플로 그래프의 이탈 지점")


def _flow_node(flows: FlowSet, p: Placed, visits: int, dropped: int) -> str:
    node = flows.nodes[p.node]
    fill, stroke = (part.split(":")[1] for part in KIND_STYLES[kind_of(node)].split(","))
    name = p.node if len(p.node) <= 22 else p.node[:21] + "…"
    parts = [f'<g opacity="{1 if visits else 0.45}"><title>{escape(p.node)}: 방문 {visits}, 이탈 {dropped}</title>',
             f'<rect x="{p.x:.1f}" y="{p.y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" '
             f'stroke="{stroke}"/>', _text(p.x + 8, p.y + 19, name, 12),
             _text(p.x + 8, p.y + 36, f"방문 {visits}", 11, fill="#555")]
    if dropped:
        parts += [f'<circle cx="{p.x + NODE_W - 4:.1f}" cy="{p.y + 4:.1f}" r="13" fill="{RED}"/>',
                  _text(p.x + NODE_W - 4, p.y + 8.5, str(dropped), 12, "middle", "#fff")]
    return "".join(parts) + "</g>"
