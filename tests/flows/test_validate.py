"""The site-wide rules, pinned on tests/fixtures/broken_flows and on small inline flows."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.cli import main
from triage.faq.model import FaqEntry
from triage.flows.loader import FileLoader, assemble, load_flows
from triage.flows.model import FlowSet
from triage.flows.templates import Text
from triage.flows.validate import validate
from triage.problems import Problem
from triage.settings import Settings, load_settings
from triage.yamlmarks import parse_yaml

BROKEN = Path(__file__).parents[1] / "fixtures" / "broken_flows"
URLS = Path(__file__).parents[1] / "fixtures" / "validate_urls"


class Faq:
    """The FAQ as validate() sees it: 배송 has an active entry, 결제 only an inactive one."""

    entries = {
        "delivery-when": FaqEntry("delivery-when", "배송", "배송은 언제 오나요?", Text("보통 2~3일 걸려요.")),
        "pay-card": FaqEntry("pay-card", "결제", "카드 결제가 되나요?", Text("네"), active=False),
    }


def found_in(problems: list[Problem], file: str) -> list[tuple[int, str, str]]:
    return sorted((p.line, p.severity, p.message) for p in problems if p.path == f"flows/{file}")


@pytest.fixture(scope="module")
def broken() -> list[Problem]:
    settings, _ = load_settings(BROKEN)
    flows, _ = load_flows([settings.path("flows")], settings.entry_flow, BROKEN)
    assert flows is not None
    return validate(flows, settings, Faq())


def inline(settings: Settings = Settings(), **files: str) -> list[str]:
    """Validate flows written in the test, one keyword argument per file, as printed lines."""
    loaded = {}
    for name, text in files.items():
        data, problems = parse_yaml(text, f"{name}.yaml")
        loader = FileLoader(f"{name}.yaml", name)
        flow = loader.load(data)
        assert flow is not None and not problems + loader.problems, problems + loader.problems
        loaded[flow.id] = flow
    flows, problems = assemble(loaded, "main", [])
    assert isinstance(flows, FlowSet) and not problems
    return [str(p) for p in sorted(validate(flows, settings, Faq()))]


def test_every_kind_of_target_naming_nothing_is_an_error_on_its_own_line(broken):
    assert found_in(broken, "targets.yaml") == [
        (1, "error", 'fallback "nowhere" names no node of flow "targets"'),
        (2, "error", 'on_max_misses "nowhere" names no node of flow "targets"'),
        (8, "error", 'goto "say_gotoo" names no node of flow "targets" (did you mean "say_goto"?)'),
        (12, "error", 'goto "main.welcom" names no node of flow "main" (did you mean "main.welcome"?)'),
        (23, "error", 'on_fail "fail" names no node of flow "targets"'),
        (26, "error", 'goto "vipp" names no node of flow "targets"'),
        (28, "error", 'else "els" names no node of flow "targets"'),
        (31, "error", 'found "found_it" names no node of flow "targets"'),
        (32, "error", 'not_found "missing" names no node of flow "targets"'),
        (35, "error", 'closed "closed_node" names no node of flow "targets" (did you mean "consent_node"?)'),
        (38, "error", 'agree "yes_node" names no node of flow "targets" (did you mean "ask_node"?)'),
        (39, "error", 'decline "no_node" names no node of flow "targets" (did you mean "handoff_node"?)'),
    ]


def test_routes_keywords_and_buttons_of_the_entry_flow_are_checked_too(broken):
    assert found_in(broken, "main.yaml") == [
        (4, "error", 'goto "ordr.menu" names a flow "ordr" that does not exist (did you mean "graph.menu"?)'),
        (7, "error", 'keyword "상담원" goes to "agnet", which names no node of flow "main" (did you mean "agent"?)'),
        (9, "warning", "max_misses is set but no on_max_misses says where a session goes after 2 misses"),
        (14, "error", 'goto "order" names no node of flow "main"'),
    ]


def test_start_outside_the_entry_flow_is_still_checked_as_a_target(broken):
    assert found_in(broken, "entry_only.yaml") == [
        (1, "error", 'start "nowhere" names no node of flow "entry_only" (did you mean "here"?)'),
    ]


def test_kakao_limits_on_links_buttons_text_and_labels(broken):
    assert found_in(broken, "limits.yaml") == [
        (6, "error", "6 links, but 상담톡 shows at most 5 per message"),
        (16, "error", "11 buttons, but 상담톡 shows at most 10 per message"),
        (31, "error", "this text has 1001 characters; 상담톡 sends at most 1000"),
        (39, "error", 'button label "주문 배송 조회와 취소 및 환불 안내" has 20 characters; '
                      "keep it to 14 so it is not cut off"),
        (41, "error", 'two buttons are labelled "같은 말" (also line 40); a press could not tell them apart'),
        (43, "error", 'button label "아주 긴 링크 이름은 잘려 보여요" has 18 characters; keep it to 14 so it is not cut off'),
        (49, "error", 'two buttons are labelled "네" (also line 48); a press could not tell them apart'),
    ]


def test_loops_dead_ends_and_unreachable_nodes(broken):
    assert found_in(broken, "graph.yaml") == [
        (4, "error", "these nodes loop without ever waiting for the user: spin -> decide -> spin"),
        (18, "error", "these nodes loop without ever waiting for the user: self_loop -> self_loop"),
        (21, "error", "these nodes loop without ever waiting for the user: faq_again -> answer_goto -> faq_again"),
        (28, "warning", 'say node "stuck" waits for the user but has no buttons, goto or on_text, and no fallback '
                        "or on_max_misses applies: whatever the user types repeats it"),
        (36, "warning", 'node "orphan" is never reached: no route, keyword, button or goto leads to it'),
    ]


def test_queues_must_be_in_triage_yaml_and_faq_categories_must_have_active_entries(broken):
    assert found_in(broken, "names.yaml") == [
        (5, "error", 'queue "claim" is not defined in triage.yaml (did you mean "claims"?)'),
        (10, "error", 'FAQ category "배숑" has no active entries (did you mean "배송"?)'),
        (14, "error", 'FAQ category "결제" has no active entries'),
        (18, "error", 'queue "vip" is not defined in triage.yaml'),
    ]


def test_a_template_is_measured_without_its_markup(broken):
    assert not [p for p in broken if p.path == "flows/limits.yaml" and p.line == 34]


WAITING_MENU = """
start: menu
nodes:
  menu:
    say: 고르세요
    buttons:
      - { label: 상담원, goto: agent }
  agent:
    handoff: general
"""


def test_without_queues_in_triage_yaml_general_is_the_one_queue():
    assert inline(main=WAITING_MENU) == []
    assert inline(main=WAITING_MENU.replace("handoff: general", "handoff: vip")) == [
        'main.yaml:9: queue "vip" is not defined in triage.yaml, which defines no queues '
        '(then only "general" exists)',
    ]


def test_the_entry_flow_needs_a_start():
    assert inline(main=WAITING_MENU.replace("start: menu", "")) == [
        'main.yaml:3: the entry flow "main" needs "start": the node a new session begins at when no route matches',
        'main.yaml:4: warning: node "menu" is never reached: no route, keyword, button or goto leads to it',
        'main.yaml:8: warning: node "agent" is never reached: no route, keyword, button or goto leads to it',
    ]


def test_a_closed_handoff_that_leads_back_to_itself_loops():
    flow = WAITING_MENU.replace("handoff: general", "handoff: general\n    closed: sorry") + (
        "  sorry:\n    say: 지금은 상담 시간이 아니에요\n    goto: agent\n")
    assert inline(main=flow) == [
        "main.yaml:8: these nodes loop without ever waiting for the user: agent -> sorry -> agent",
    ]


def test_a_loop_through_an_ask_or_a_menu_waits_and_is_fine():
    flow = WAITING_MENU.replace("handoff: general", "ask: 다시요\n    save: again\n    goto: menu")
    assert inline(main=flow) == []


def test_a_loop_across_flows_is_spelled_with_qualified_names():
    main = "start: hop\nnodes:\n  hop:\n    goto: other.back\n"
    other = "nodes:\n  back:\n    goto: main.hop\n"
    assert inline(main=main, other=other) == [
        "main.yaml:3: these nodes loop without ever waiting for the user: hop -> other.back -> hop",
    ]


def test_a_say_node_without_choices_is_no_dead_end_when_a_fallback_applies():
    flow = "start: hello\nfallback: menu\nnodes:\n  hello:\n    say: 안녕하세요\n" + WAITING_MENU.split("nodes:\n")[1]
    assert inline(main=flow) == []


def test_a_target_naming_a_flow_suggests_its_start():
    main = "start: hop\nnodes:\n  hop:\n    goto: other\n"
    other = "nodes:\n  first:\n    end: 끝\n"
    assert inline(main=main, other=other) == [
        'main.yaml:4: goto "other" names a flow, not a node: write flow.node (did you mean "other.first"?)',
        'other.yaml:2: warning: node "first" is never reached: no route, keyword, button or goto leads to it',
    ]


def test_problems_are_only_ever_errors_or_warnings_with_real_lines(broken):
    assert {p.severity for p in broken} == {"error", "warning"}
    assert all(p.line >= 1 for p in broken)


def test_triage_validate_names_each_written_out_url_kakao_could_not_open_but_not_templates(capsys):
    assert main(["validate", "--root", str(URLS)]) == 1
    reported = [line for line in capsys.readouterr().out.splitlines() if line.startswith("flows/")]
    assert reported == [
        'flows/main.yaml:5: image "shop.example.com/banner.png" is not a file in the content root; '
        "put it there, or give an address starting with https://",
        'flows/main.yaml:7: "/track" is not an absolute http(s) URL such as https://shop.example.com/track',
        'flows/main.yaml:8: "ftp://shop.example.com/manual.pdf" is not an absolute http(s) URL such as '
        "https://shop.example.com/track",
        "flows/main.yaml:9: warning: vars.order is never saved: no ask saves it and no set sets it, "
        "so it is always empty",
        "flows/main.yaml:10: the URL has 1005 characters; 상담톡 takes at most 1000",
    ]
