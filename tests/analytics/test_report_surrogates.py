"""A database written before the webhook cleaned its text can hold lone surrogates; the
installed ``triage report`` must still print and write every output, with "?" in their place."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from triage.store import Commit, NewEvent, open_store

REPO = Path(__file__).parents[2]
TRIAGE = str(Path(sys.executable).with_name("triage"))
AT = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Seoul")).timestamp()


def _database_with_a_lone_surrogate(db: Path) -> None:
    events = [("session_start", {"extra": "", "returning": False}), ("message_in", {"type": "text", "owner": "bot"}),
              ("faq", {"query": "hi \ud800 there", "decision": "not_found", "entry_id": None})]
    with open_store(db) as store:
        store.commit(Commit(at=AT, events=[NewEvent(kind, "s1", "u1", data, AT + i)
                                           for i, (kind, data) in enumerate(events)]))


def _report(db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRIAGE, "report", "--root", str(REPO), "--db", str(db), "--since", "2026-11-25",
                           "--until", "2026-11-25", *extra], capture_output=True, text=True, timeout=60)


def test_json_table_and_html_reports_replace_a_stored_lone_surrogate(tmp_path):
    db, html = tmp_path / "old.db", tmp_path / "report.html"
    _database_with_a_lone_surrogate(db)

    as_json = _report(db, "--json", "--html", str(html))
    as_table = _report(db)

    assert as_json.returncode == 0 and "Traceback" not in as_json.stderr, as_json.stderr
    assert json.loads(as_json.stdout)["unanswered"][0]["text"] == "hi ? there"
    assert as_table.returncode == 0 and "hi ? there (1회)" in as_table.stdout, as_table.stderr
    assert "hi ? there" in html.read_text(encoding="utf-8")


def test_an_html_file_that_cannot_be_written_is_an_error_line_not_a_traceback(tmp_path):
    db = tmp_path / "old.db"
    _database_with_a_lone_surrogate(db)

    done = _report(db, "--html", str(tmp_path / "no-such-folder" / "report.html"))

    assert done.returncode == 1 and "cannot write the HTML report" in done.stderr
    assert "Traceback" not in done.stderr
