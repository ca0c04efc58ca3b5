"""What the loader reports about each file on its own, pinned on tests/fixtures/broken_flows."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.flows.loader import load_flows
from triage.flows.model import Ask, Handoff, Say
from triage.problems import Problem

FIXTURES = Path(__file__).parents[1] / "fixtures"
BROKEN = FIXTURES / "broken_flows"


@pytest.fixture(scope="module")
def loaded() -> list[Problem]:
    _, problems = load_flows([BROKEN / "flows"], "main", BROKEN)
    return problems


def found_in(problems: list[Problem], file: str) -> list[tuple[int, str]]:
    return sorted((p.line, p.message) for p in problems if p.path == f"flows/{file}")


def test_keys_kinds_templates_and_duplicates_are_reported_where_they_are_written(loaded):
    assert found_in(loaded, "keys.yaml") == [
        (1, 'unknown key "fallbak" in the flow (did you mean "fallback"?)'),
        (6, 'unknown name "chanel" (templates can use params, reference, user, vars, input, session, now, channel)'),
        (7, 'unknown key "buton" in say node "shown" (did you mean "buttons"?)'),
        (10, "template syntax error: unexpected end of template, expected 'end of print statement'."),
        (14, "expression syntax error: unexpected 'end of print statement'"),
        (16, 'unknown name "secret" (templates can use params, reference, user, vars, input, session, now, channel)'),
        (19, 'node "nokind" has no kind: give it one of say, ask, check, faq, handoff, end, goto, consent'),
        (20, 'unknown key "text" in node "nokind" (did you mean "on_text"?)'),
        (21, 'node "twokinds" has two kinds: say and end; a node has exactly one'),
        (26, 'duplicate key "bye"'),
    ]


def test_a_yaml_syntax_error_names_where_the_broken_part_began(loaded):
    assert found_in(loaded, "syntax.yaml") == [
        (5, "YAML syntax error: found unexpected end of stream (while scanning a quoted scalar on line 3)"),
    ]


def test_start_and_routes_belong_to_the_entry_flow_only(loaded):
    assert found_in(loaded, "entry_only.yaml") == [
        (1, '"start" belongs to the entry flow "main", not to flow "entry_only"'),
        (2, '"routes" belongs to the entry flow "main", not to flow "entry_only"'),
    ]


def test_a_keyword_defined_twice_points_at_both_definitions(loaded):
    assert found_in(loaded, "main.yaml") == [
        (8, 'keyword "처음으로" is defined twice (also in flows/entry_only.yaml:6)'),
    ]


def test_two_files_with_the_same_flow_id_are_an_error_naming_the_first(loaded):
    assert found_in(loaded, "twin_b.yaml") == [(1, 'duplicate flow id "twin" (also in flows/twin_a.yaml:1)')]


def test_files_without_structural_problems_report_nothing_here(loaded):
    clean = ("graph.yaml", "limits.yaml", "names.yaml", "targets.yaml", "twin_a.yaml")
    assert [p for p in loaded if p.path.removeprefix("flows/") in clean] == []


def test_unreadable_files_are_problems_on_line_one_or_where_the_bad_byte_is():
    _, problems = load_flows([FIXTURES / "broken_files" / "flows"], "main", FIXTURES / "broken_files")
    assert [str(p) for p in problems] == [
        "flows/binary.yaml:1: this is a binary file, not YAML text",
        "flows/empty.yaml:1: the file is empty",
        "flows/euckr.yaml:3: the file is not UTF-8 text",
        "flows/list.yaml:1: a flow file must be a mapping with nodes:, but this is a list",
    ]


def test_a_directory_without_flow_files_is_one_problem(tmp_path):
    flows, problems = load_flows([tmp_path])
    assert flows is None
    assert [str(p) for p in problems] == [f"{tmp_path}:1: no flow files found (expected *.yaml files with nodes:)"]


def test_targets_are_stored_qualified_and_keywords_remember_their_lines():
    flows, problems = load_flows([FIXTURES / "validate_ok" / "flows"], "main", FIXTURES / "validate_ok")
    assert problems == [] and flows is not None
    welcome = flows.nodes["main.welcome"]
    assert isinstance(welcome, Say)
    assert [(b.label, b.goto, b.line) for b in welcome.buttons] == [
        ("배송 문의", "order.question", 10), ("상담원 연결", "order.agent", 11)]
    question = flows.nodes["order.question"]
    assert isinstance(question, Ask) and question.goto == "order.answer"
    assert flows.keywords == {"상담원": "order.agent"}
    assert flows.entry_flow.line_of_keyword("상담원") == 4


def inline_problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "main.yaml").write_text(text, encoding="utf-8")
    _, problems = load_flows([tmp_path], "main", tmp_path)
    return [str(p) for p in problems]


def test_a_handoff_with_a_null_queue_goes_to_general(tmp_path):
    (tmp_path / "main.yaml").write_text("start: a\nnodes:\n  a:\n    handoff: { queue: null }\n", encoding="utf-8")
    flows, problems = load_flows([tmp_path], "main", tmp_path)
    assert problems == [] and flows is not None
    agent = flows.nodes["main.a"]
    assert isinstance(agent, Handoff) and agent.queue == "general"


def test_a_handoff_queue_must_be_a_name(tmp_path):
    assert inline_problems(tmp_path, "start: a\nnodes:\n  a:\n    handoff:\n      queue: [a, b]\n") == [
        'main.yaml:5: "queue" must be the name of a queue in triage.yaml']


def test_pii_must_be_true_or_false_not_any_text(tmp_path):
    text = "start: a\nnodes:\n  a:\n    ask: 이름은?\n    save: name\n    pii: 'no'\n    goto: a\n"
    assert inline_problems(tmp_path, text) == ['main.yaml:6: "pii" must be true or false']


def test_a_bubble_that_is_not_text_names_the_say_key(tmp_path):
    assert inline_problems(tmp_path, "start: a\nnodes:\n  a:\n    say:\n      - 안녕\n      - {x: 1}\n") == [
        'main.yaml:6: "say" must be text']
