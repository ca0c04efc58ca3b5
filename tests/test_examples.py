"""The example site that ships with triage: it validates, and its conversation tests pass and cover it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from triage.cli import main
from triage.content import load_content
from triage.flows.conversation_test import load_tests, run_tests
from triage.flows.model import KINDS, Handoff

ROOT = Path(__file__).parents[1]
TRIAGE = Path(sys.executable).with_name("triage")


@pytest.fixture(scope="module")
def shop():
    content, problems = load_content(ROOT)
    assert content is not None, problems
    return content


@pytest.fixture(scope="module")
def outcomes(shop):
    tests, problems = load_tests([shop.settings.path("tests")], ROOT)
    assert problems == []
    return run_tests(shop, tests)


def test_the_example_site_validates_with_only_the_example_sender_key_and_demo_tokens_to_warn_about(capsys):
    assert main(["validate", "--root", str(ROOT)]) == 0
    *warnings, summary = capsys.readouterr().out.splitlines()
    assert warnings[0].startswith(f"{ROOT / 'triage.yaml'}:6: warning: channel.sender_key is the example key")
    assert [w.split(": warning: ")[1].split(" ")[0] for w in warnings[1:]] == [
        "agents.kim.token", "agents.lee.token", "agents.park.token"]
    assert summary.startswith("OK: 5 flows, ") and summary.endswith(" (4 warnings)")


def test_the_shipped_conversation_tests_pass_through_the_cli(capsys):
    assert main(["test", "--root", str(ROOT)]) == 0
    closing = capsys.readouterr().out.splitlines()[-1]
    passed, failed = (int(part.split()[0]) for part in closing.split(", "))
    assert closing == f"{passed} passed, 0 failed" and passed >= 20


def test_the_installed_script_runs_the_shipped_tests():
    result = subprocess.run([str(TRIAGE), "test"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout
    assert result.stdout.rstrip().endswith(" passed, 0 failed")


def test_the_flows_are_big_enough_and_use_every_node_kind(shop):
    flows = shop.flows
    assert len(flows.nodes) >= 25
    assert {type(node) for node in flows.nodes.values()} == {kind for key, kind in KINDS.items() if key != "consent"}
    assert all(Path(flow.file).stem == flow.id for flow in flows.flows.values())


def test_every_node_is_reached_by_some_conversation_test(shop, outcomes):
    visited = {node for outcome in outcomes for node in outcome.conversation.state.path}
    assert set(shop.flows.nodes) - visited == set()


def test_every_route_is_entered_by_some_conversation_test(shop, outcomes):
    entered = {outcome.conversation.state.path[0] for outcome in outcomes}
    routes = {route.goto for route in shop.flows.entry_flow.routes}
    assert routes | {shop.flows.entry_flow.start} <= entered


def test_every_handoff_is_tested_both_open_and_closed(shop, outcomes):
    handoffs = {node_id for node_id, node in shop.flows.nodes.items() if isinstance(node, Handoff)}
    queued = {o.conversation.state.node for o in outcomes if o.conversation.queue}
    closed = {earlier for o in outcomes for earlier, later in zip(o.conversation.state.path, o.conversation.state.path[1:])
              if earlier in handoffs and later == "after_hours.menu"}
    waiting = {node_id for node_id in handoffs if not shop.flows.nodes[node_id].offline}
    assert (queued, closed) == (handoffs, waiting), "an offline handoff takes a message, so it has no closed branch"
