"""An editor's template mistakes through the real CLI: ``triage validate`` names each at its line, and
what only shows at run time reaches the customer as the safe fallback text, never as a traceback."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from triage.cli import main
from triage.flows.templates import FALLBACK_TEXT

FIXTURES = Path(__file__).parents[1] / "fixtures"
TRIAGE = Path(sys.executable).with_name("triage")


def test_validate_names_misspelled_filters_tests_and_fields_at_their_lines(capsys):
    code = main(["validate", "--root", str(FIXTURES / "template_typos")])

    assert capsys.readouterr().out.splitlines() == [
        f"{FIXTURES / 'template_typos' / 'triage.yaml'}:1: warning: channel.sender_key is missing, so the example "
        "key is used, which Kakao refuses for a real channel: set your channel's own",
        'faq/faq.yaml:4: unknown filter "upperr" (did you mean "upper"?)',
        'faq/faq.yaml:8: now has no field "yaer" (did you mean "year"?)',
        'flows/main.yaml:5: unknown filter "upperr" (did you mean "upper"?)',
        'flows/main.yaml:10: channel has no field "nmae" (did you mean "name"?)',
        'flows/main.yaml:14: user has no field "retruning" (did you mean "returning"?)',
        'flows/main.yaml:15: unknown test "defind" (did you mean "defined"?)',
        'flows/main.yaml:22: session has no field "categroy" (did you mean "category"?)',
        "flows/main.yaml:22: warning: vars.order is never saved: no ask saves it and no set sets it, "
        "so it is always empty",
        "7 errors, 2 warnings in 3 files",
    ]
    assert code == 1


def test_templates_that_fail_only_at_run_time_pass_validate(capsys):
    assert main(["validate", "--root", str(FIXTURES / "template_runtime")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "OK: 1 flow, 3 nodes, 0 FAQ entries (1 warning)"


def test_a_template_that_would_build_a_huge_text_answers_with_the_fallback_at_once():
    result = subprocess.run([str(TRIAGE), "test", "--root", str(FIXTURES / "template_runtime")],
                            capture_output=True, text=True, timeout=30)

    assert result.stdout.splitlines()[-1] == "2 passed, 0 failed"
    assert result.returncode == 0
    assert result.stderr == ""


def test_a_width_too_big_for_a_text_answers_with_the_fallback_at_once():
    result = subprocess.run([str(TRIAGE), "test", "--root", str(FIXTURES / "template_widths")],
                            capture_output=True, text=True, timeout=30)

    assert result.stdout.splitlines()[-1] == "1 passed, 0 failed"
    assert result.returncode == 0


def test_validate_refuses_a_loop_inside_a_loop_and_a_range_too_long_for_a_chat_text_at_their_lines():
    result = subprocess.run([str(TRIAGE), "validate", "--root", str(FIXTURES / "template_loops")],
                            capture_output=True, text=True, timeout=30)

    lines = result.stdout.splitlines()
    assert "flows/main.yaml:5: a for loop inside another for loop (chat texts do not need one)" in lines
    assert "flows/main.yaml:8: range of 5,000 numbers (templates count to at most 1,000)" in lines
    assert lines[-1] == "2 errors, 1 warning in 2 files"
    assert result.returncode == 1
    assert result.stderr == ""


def test_a_template_that_would_spin_passes_validate_and_answers_with_the_fallback_at_once():
    validate = subprocess.run([str(TRIAGE), "validate", "--root", str(FIXTURES / "template_spin")],
                              capture_output=True, text=True, timeout=30)
    assert validate.stdout.splitlines()[-1] == "OK: 1 flow, 3 nodes, 0 FAQ entries (1 warning)"

    result = subprocess.run([str(TRIAGE), "test", "--root", str(FIXTURES / "template_spin")],
                            capture_output=True, text=True, timeout=30)

    assert result.stdout.splitlines()[-1] == "2 passed, 0 failed"
    assert result.returncode == 0
    assert result.stderr == ""


def test_a_template_jinja_refuses_to_compile_is_the_fallback_in_chat_and_the_talk_goes_on(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("블록\n"))

    code = main(["chat", "--root", str(FIXTURES / "template_runtime")])

    out = capsys.readouterr()
    assert code == 0
    assert out.err == ""
    lines = out.out.splitlines()
    assert lines[lines.index("사용자: 블록") + 1:] == [
        f"봇: {FALLBACK_TEXT}",
        "봇: 안녕히 가세요.",
        "(상담이 종료되었어요)",
        "— node: main.bye · category: - · owner: ended",
    ]
