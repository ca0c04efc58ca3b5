"""The HTML page on hostile data: customer text is data, never markup."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from triage.analytics.html import layers, page
from triage.analytics.metrics import figures
from triage.flows.loader import load_flows
from triage.store import EventRecord

REPO = Path(__file__).parents[2]
SEOUL = ZoneInfo("Asia/Seoul")
AT = datetime(2026, 11, 25, 10, 0, tzinfo=SEOUL).timestamp()
ATTACK = '"><script>alert(1)</script><img src=//evil.example/x>'


def _example_flows():
    flows, problems = load_flows([REPO / "flows"], "main", REPO)
    assert flows is not None, problems
    return flows


def test_customer_text_extra_and_categories_are_escaped():
    events = [EventRecord(1, "session_start", "a", "u", {"extra": ATTACK}, AT),
              EventRecord(2, "node", "a", "u", {"node": ATTACK}, AT),
              EventRecord(3, "faq", "a", "u", {"query": ATTACK, "decision": "not_found"}, AT),
              EventRecord(4, "handoff", "a", "u", {"reason": ATTACK, "category": ATTACK}, AT)]

    html = page(figures(events, SEOUL), _example_flows(), ATTACK, ATTACK)

    assert "<script>alert" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_flow_graph_starts_at_the_start_node_and_places_every_node_once():
    flows = _example_flows()

    drawn = layers(flows)

    assert drawn[0] == ["main.welcome"]
    assert sorted(n for layer in drawn for n in layer) == sorted(flows.nodes)
    assert "order.menu" in drawn[1], "a route target is one step from the start"


def test_a_page_without_flows_still_shows_every_figure():
    html = page(figures([], SEOUL), None, "리포트", "기간")

    assert "플로를 불러오지 못했어요" in html and html.count("<svg class=chart") == 3
