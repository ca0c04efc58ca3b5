"""`triage replay` on sessions recorded by the real runtime, against the candidates in
tests/fixtures/replay_*/ laid over a copy of the example site."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime
from itertools import count
from pathlib import Path

from zoneinfo import ZoneInfo

import pytest

from triage.cli import main
from triage.content import load_content
from triage.runtime import Runtime
from triage.store import open_store

REPO = Path(__file__).parents[2]
FIXTURES = REPO / "tests" / "fixtures"
TRIAGE = str(Path(sys.executable).with_name("triage"))
START = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Seoul")).timestamp()
"""A Wednesday morning, so every queue is open and handoffs really happen."""

PET_TWICE = (("강아지 사료 추천해주세요", "강아지 사료 추천해주세요"), ("강아지사료 추천", "강아지사료 추천"),
             ("애견 사료 추천", "애견 사료 추천"))
"""Asked twice with no answer: the second miss hands the customer to an agent."""
PET_ONCE = ("강아지 사료 추천해주세요", "반려견 사료")
"""Asked once, then the customer left: contained either way, but now answered."""


def _record(root: Path, db: Path) -> None:
    """A morning of sessions through ``Runtime``: what the server would have stored."""
    content, problems = load_content(root)
    assert content is not None, problems
    ticks = count()
    scripts: list[tuple[str, tuple[str, ...], bool]] = [
        *(("", says, False) for says in PET_TWICE),
        *(("", (said,), True) for said in PET_ONCE),
        ("", ("배송 언제 와요?",), True),
        ("", ("상담원",), False),
        ("topic=order&order=77", ("배송 조회",), True),
        ("topic=order&order=78", ("배송 조회", "상담 종료"), False),
    ]
    with open_store(db) as store:
        runtime = Runtime(store, lambda: content, clock=lambda: START + next(ticks))
        for n, (extra, says, leaves) in enumerate(scripts):
            user = f"user-{n}"
            events = [("reference", {"extra": extra})] + [("message", {"type": "text", "text": t}) for t in says]
            events += [("expired", {"reason": "user_left"})] if leaves else []
            for i, (kind, payload) in enumerate(events):
                item = runtime.accept(kind, user, f"{user}-{i}", payload)
                assert item is not None
                runtime.process(item)


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    db = tmp_path / "past.db"
    _record(REPO, db)
    return db


def candidate(tmp_path: Path, fixture: str) -> Path:
    """The example site with the fixture's files laid over it, as an editor's working copy would be."""
    root = tmp_path / fixture
    for name in ("flows", "faq", "images"):
        shutil.copytree(REPO / name, root / name)
    shutil.copytree(FIXTURES / fixture, root, dirs_exist_ok=True)
    return root


def replay(capsys, db: Path, root: Path) -> dict:
    capsys.readouterr()
    assert main(["replay", "--root", str(REPO), "--db", str(db), "--flows", str(root / "flows"),
                 "--faq", str(root / "faq"), "--since", "36500d", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_unchanged_content_predicts_exactly_what_happened(recorded, tmp_path, capsys):
    got = replay(capsys, recorded, REPO)

    assert got["sessions"] == len(PET_TWICE) + len(PET_ONCE) + 4
    assert got["predicted_contained"] == got["actual_contained"] == len(PET_ONCE) + 3
    assert (got["different_paths"], got["answer_changes"], got["new_dead_ends"]) == (0, [], [])


def test_adding_the_missing_faq_entry_contains_every_session_that_was_handed_off_for_it(recorded, tmp_path, capsys):
    got = replay(capsys, recorded, candidate(tmp_path, "replay_faq_added"))

    assert got["gained"] == len(PET_TWICE)
    assert got["predicted_contained"] == got["actual_contained"] + len(PET_TWICE)
    assert got["different_paths"] == len(PET_TWICE) + len(PET_ONCE)
    [change] = got["answer_changes"]
    # A PET_TWICE customer's rephrased second question was looked up too (not_understood sends
    # it to the FAQ before handing off), so both of their questions compare.
    assert (change["old"], change["new"], change["count"]) == ("(없음)", "pet-food", 2 * len(PET_TWICE) + len(PET_ONCE))
    assert "강아지 사료 추천해주세요" in change["examples"]
    assert got["new_dead_ends"] == []


def test_a_flow_that_strands_customers_is_reported_as_new_dead_ends(recorded, tmp_path, capsys):
    got = replay(capsys, recorded, candidate(tmp_path, "replay_broken"))

    [dead_end] = got["new_dead_ends"]
    assert (dead_end["node"], dead_end["kind"], dead_end["count"]) == ("order.track", "no_way_forward", 1), \
        "the customer who left after tracking now ends stranded there"
    assert len(dead_end["sessions"]) == 1
    assert got["different_paths"] == 2, "both 배송 조회 sessions now take another path"
    assert got["predicted_contained"] == got["actual_contained"]


def test_the_installed_script_draws_progress_on_request_and_refuses_a_broken_candidate(recorded, tmp_path):
    root = candidate(tmp_path, "replay_faq_added")
    ran = subprocess.run([TRIAGE, "replay", "--root", str(REPO), "--db", str(recorded), "--flows", str(root / "flows"),
                          "--faq", str(root / "faq"), "--since", "36500d", "--progress"],
                         capture_output=True, text=True, timeout=60)
    (root / "faq" / "pets.yaml").write_text("entries: [", encoding="utf-8")
    refused = subprocess.run([TRIAGE, "replay", "--root", str(REPO), "--db", str(recorded),
                              "--flows", str(root / "flows"), "--faq", str(root / "faq")],
                             capture_output=True, text=True, timeout=60)

    assert ran.returncode == 0, ran.stderr
    assert "containment: actual 5 (55.6%) -> predicted 8 (88.9%), +3" in ran.stdout
    assert '(없음) -> pet-food: 8  e.g. "강아지 사료 추천해주세요"' in ran.stdout
    assert ran.stderr.endswith("] 9/9\n") and "replaying [" in ran.stderr
    assert refused.returncode == 1 and "pets.yaml:2: YAML syntax error" in refused.stderr
    assert "Traceback" not in refused.stderr
