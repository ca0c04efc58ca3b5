"""``triage test`` through the real CLI: exit codes, the closing line, and how failures read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from triage.cli import main

ROOT = Path(__file__).parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
TRIAGE = Path(sys.executable).with_name("triage")


def test_a_wrong_conversation_test_prints_the_pinned_diff_and_transcript(capsys):
    wrong = FIXTURES / "wrong_conversations"
    code = main(["test", "--root", str(ROOT), str(wrong / "wrong.yaml")])
    assert code == 1
    assert capsys.readouterr().out == (wrong / "expected_output.txt").read_text(encoding="utf-8")


def test_problems_in_test_files_are_listed_above_the_closing_line_and_fail_the_run(capsys):
    code = main(["test", "--root", str(ROOT), str(FIXTURES / "invalid_conversations")])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[-1] == "1 passed, 1 failed"
    start = lines.index("problems in the test files (those tests did not run):")
    assert lines[start + 1] == ('  tests/fixtures/invalid_conversations/mistakes.yaml:5: unknown step "bott" '
                                '(did you mean "bot"?) (step keys: user, photo, bot, bot_exact, buttons, link, '
                                'handoff, ended, vars, category)')
    assert len(lines) - start - 2 == 9


def test_a_broken_site_stops_before_any_test_runs(capsys):
    code = main(["test", "--root", str(FIXTURES / "broken_site")])
    out = capsys.readouterr()
    assert code == 1
    assert out.out == ""
    assert 'flows/main.yaml:8: goto "track" names no node of flow "main"' in out.err


def test_the_installed_script_runs_the_wrong_tests_and_exits_1():
    result = subprocess.run([str(TRIAGE), "test", "--root", str(ROOT), str(FIXTURES / "wrong_conversations")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "1 passed, 2 failed"
    assert result.stderr == ""
