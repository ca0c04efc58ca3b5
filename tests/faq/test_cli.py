"""``triage faq match`` and ``triage faq eval`` through the real CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

from triage.cli import main

ROOT = Path(__file__).parent.parent / "fixtures" / "faq_small"
SCRIPT = Path(sys.executable).with_name("triage")


def test_match_prints_ranked_candidates_with_routes_and_decision(capsys):
    assert main(["faq", "match", "택배 언제와요", "--root", str(ROOT)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[2:4] == ["delivery-when", "synonym"]
    assert lines[-1] == "decision: answer (delivery-when)"


def test_match_json_with_category(capsys):
    assert main(["faq", "match", "환불 언제 돼요", "--category", "취소/환불", "--json", "--root", str(ROOT)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["decision"] == "answer" and data["entry_id"] == "refund-when"
    assert set(data["candidates"][0]) == {"entry_id", "score", "variant", "route"}


def test_a_word_that_only_starts_with_a_negator_does_not_stop_the_answer(capsys):
    """며칠 안에 is "within a few days", not a negation the delivery entry never makes."""
    repo = Path(__file__).parents[2]
    assert main(["faq", "match", "배송 며칠 안에 와요", "--json", "--root", str(repo)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["decision"] == "answer" and data["entry_id"] == "delivery-when"


def test_match_on_broken_faq_lists_problems_not_a_traceback(capsys):
    assert main(["faq", "match", "배송", "--root", str(ROOT.parent / "faq_broken")]) == 1
    err = capsys.readouterr().err
    assert "faq/a.yaml:6: duplicate FAQ id" in err and "Traceback" not in err


def test_eval_prints_figures_by_kind_and_failures(capsys):
    assert main(["faq", "eval", str(ROOT / "eval.csv"), "--root", str(ROOT)]) == 0
    out = capsys.readouterr().out
    assert "by kind:" in out and "synonym" in out and "all" in out


def test_eval_json_shape(capsys):
    assert main(["faq", "eval", str(ROOT / "eval.csv"), "--json", "--root", str(ROOT)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n"] == 3 and data["top1_accuracy"] == 1.0 and data["wrong_answer_rate"] == 0.0
    assert set(data["by_kind"]) == {"synonym", "paraphrase", "none"} and data["failures"] == []


def test_eval_rejects_unknown_ids_and_missing_files(tmp_path, capsys):
    bad = tmp_path / "e.yaml"
    bad.write_text("- {query: 배송, expect: no-such-entry}\n", encoding="utf-8")
    assert main(["faq", "eval", str(bad), "--root", str(ROOT)]) == 1
    assert main(["faq", "eval", str(tmp_path / "missing.yaml"), "--root", str(ROOT)]) == 2
    err = capsys.readouterr().err
    assert "no-such-entry" in err and "is not a file" in err


def test_installed_script_runs_match():
    done = subprocess.run([str(SCRIPT), "faq", "match", "qothdwhghl", "--json", "--root", str(ROOT)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["candidates"][0]["route"] == "keyboard" and data["candidates"][0]["entry_id"] == "delivery-when"


def test_every_process_gives_the_same_answers_whatever_its_hash_seed():
    site = Path(__file__).parents[2]
    outputs = {subprocess.run([str(SCRIPT), "faq", "eval", str(site / "tests" / "faq" / "eval.yaml"), "--json",
                               "--root", str(site)], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2", "3")}
    assert len(outputs) == 1 and json.loads(outputs.pop())
