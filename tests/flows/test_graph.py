"""Edges and drawings of the flows, and ``triage graph`` through the real CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from triage.cli import main
from triage.flows.graph import edges, to_dot, to_mermaid
from triage.flows.loader import load_flows
from triage.flows.model import FlowSet

FIXTURES = Path(__file__).parents[1] / "fixtures"
TRIAGE = Path(sys.executable).with_name("triage")

_QUOTED = r'"(?:[^"\\]|\\.)*"'
_MERMAID_LINE = re.compile(
    r"flowchart TD"
    r"|  classDef k_\w+ [\w:#,]+"
    r'|  subgraph f_\w+\["[^"]*"\]'
    r"|  end"
    r'|    \w+(\["[^"]*"\]|\[\["[^"]*"\]\]|\(\["[^"]*"\]\)|\{"[^"]*"\}|\[/"[^"]*"/\]):::k_\w+'
    r'|  \w+ (-->|-- "[^"]*" -->) \w+')
_DOT_LINE = re.compile(
    rf"digraph flows {{|  rankdir=TB;|  node \[fontname={_QUOTED}\];|  subgraph {_QUOTED} {{|    label={_QUOTED};"
    rf"|    {_QUOTED} \[label={_QUOTED}, shape=\w+, style=filled, fillcolor={_QUOTED}, color={_QUOTED}\];"
    rf"|  {_QUOTED} -> {_QUOTED}( \[label={_QUOTED}\])?;|  }}|}}")


def flows_of(name: str) -> FlowSet:
    flows, _ = load_flows([FIXTURES / name / "flows"], root=FIXTURES / name)
    assert flows is not None
    return flows


def bad_lines(drawing: str, grammar: re.Pattern[str]) -> list[str]:
    """Lines outside the small grammar the renderers promise; Mermaid and dot accept all of it."""
    return [line for line in drawing.splitlines() if not grammar.fullmatch(line)]


def test_edges_are_every_move_between_existing_nodes_with_button_labels():
    assert edges(flows_of("validate_ok")) == [
        ("main.welcome", "order.question", "배송 문의"),
        ("main.welcome", "order.agent", "상담원 연결"),
        ("order.question", "order.answer", "answer"),
        ("order.answer", "main.welcome", "found"),
        ("order.answer", "order.agent", "not_found"),
    ]


def test_edges_leave_out_targets_that_do_not_exist():
    assert all(target in flows_of("broken_flows").nodes for _, target, _ in edges(flows_of("broken_flows")))


def test_mermaid_groups_flows_colours_kinds_and_shapes_handoffs_and_ends():
    drawing = to_mermaid(flows_of("validate_ok"))
    assert drawing.startswith("flowchart TD\n")
    assert '  subgraph f_n_main["main"]' in drawing and '  subgraph f_n_order["order"]' in drawing
    assert '    n_order_2e_agent[["agent<br/>queue general"]]:::k_handoff' in drawing
    assert '    n_main_2e_unused(["unused"]):::k_end' in drawing
    assert '  n_main_2e_welcome -- "배송 문의" --> n_order_2e_question' in drawing
    assert "  classDef k_consent fill:#fce4ec,stroke:#d81b60" in drawing


@pytest.mark.parametrize("site", ["validate_ok", "validate_labels", "broken_flows"])
def test_drawings_stay_inside_the_grammar_whatever_the_labels_hold(site):
    flows = flows_of(site)
    assert bad_lines(to_mermaid(flows), _MERMAID_LINE) == []
    assert bad_lines(to_dot(flows), _DOT_LINE) == []


def test_quotes_brackets_and_markup_in_labels_are_escaped():
    flows = flows_of("validate_labels")
    mermaid, dot = to_mermaid(flows), to_dot(flows)
    assert '-- "#quot;따옴표#quot; [괄호]" -->' in mermaid
    assert '-- "a#35;b; #lt;b#gt;" -->' in mermaid
    assert '"main.환영" -> "main.확인" [label="\\"따옴표\\" [괄호]"];' in dot
    assert '[label="back\\\\slash {x}"]' in dot


def test_one_flow_can_be_drawn_alone():
    drawing = to_dot(flows_of("validate_ok"), "order")
    assert '"cluster_order"' in drawing and '"cluster_main"' not in drawing
    assert '"order.answer" -> "order.agent" [label="not_found"];' in drawing
    assert "main.welcome" not in drawing


def test_triage_graph_prints_mermaid_by_default(capsys):
    assert main(["graph", "--root", str(FIXTURES / "validate_ok")]) == 0
    out, err = capsys.readouterr()
    assert out == to_mermaid(flows_of("validate_ok")) and err == ""


def test_triage_graph_names_an_unknown_flow_with_a_suggestion(capsys):
    assert main(["graph", "--root", str(FIXTURES / "validate_ok"), "--flow", "ordr"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == 'there is no flow "ordr" (did you mean "order"?); flows: main, order\n'


def test_triage_graph_still_draws_flows_with_errors_and_says_so(capsys):
    assert main(["graph", "--root", str(FIXTURES / "broken_flows"), "--flow", "graph"]) == 0
    out, err = capsys.readouterr()
    assert "n_graph_2e_spin" in out
    assert err == "note: the flows have errors, so this drawing may be incomplete; run triage validate\n"


def test_the_installed_script_draws_dot():
    result = subprocess.run([str(TRIAGE), "graph", "--format", "dot", "--root", str(FIXTURES / "validate_labels")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == to_dot(flows_of("validate_labels"))
