"""What customers typed, as old databases hold it, through the installed ``triage report``:
lone surrogates (stored before the webhook cleaned its text) become "?" instead of a crash, and
personal data with typos stays masked in the table, the JSON and the HTML file."""

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
TYPOS = ("카드 4518-4212-3456-7895 결제 안돼요", "번호 010 - 1234 - 5678 로 연락주세요", "김민수@네이버.com 으로 보내주세요")


def _database(db: Path, *queries: str) -> Path:
    """One session per unanswered question, written as the store writes events."""
    with open_store(db) as store:
        for n, query in enumerate(queries):
            events = [("session_start", {"extra": "", "returning": False}),
                      ("message_in", {"type": "text", "owner": "bot"}),
                      ("faq", {"query": query, "decision": "not_found", "entry_id": None})]
            store.commit(Commit(at=AT + n, events=[NewEvent(kind, f"s{n}", f"u{n}", data, AT + n + i)
                                                   for i, (kind, data) in enumerate(events)]))
    return db


def _report(db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRIAGE, "report", "--root", str(REPO), "--db", str(db), "--since", "2026-11-25",
                           "--until", "2026-11-25", *extra], capture_output=True, text=True, timeout=60)


def test_json_table_and_html_reports_replace_a_stored_lone_surrogate(tmp_path):
    db, html = _database(tmp_path / "old.db", "hi \ud800 there"), tmp_path / "report.html"

    as_json = _report(db, "--json", "--html", str(html))
    as_table = _report(db)

    assert as_json.returncode == 0 and "Traceback" not in as_json.stderr, as_json.stderr
    assert json.loads(as_json.stdout)["unanswered"][0]["text"] == "hi ? there"
    assert as_table.returncode == 0 and "hi ? there (1회)" in as_table.stdout, as_table.stderr
    assert "hi ? there" in html.read_text(encoding="utf-8")


def test_an_html_file_that_cannot_be_written_is_an_error_line_not_a_traceback(tmp_path):
    db = _database(tmp_path / "old.db", "hi \ud800 there")

    done = _report(db, "--html", str(tmp_path / "no-such-folder" / "report.html"))

    assert done.returncode == 1 and "cannot write the HTML report" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_mistyped_card_a_spaced_phone_and_a_hangul_email_are_masked_in_every_output(tmp_path):
    db, html = _database(tmp_path / "typos.db", *TYPOS), tmp_path / "report.html"

    as_json = _report(db, "--json", "--html", str(html))
    as_table = _report(db)

    outputs = (as_json.stdout, as_table.stdout, html.read_text(encoding="utf-8"))
    for shown in outputs:
        assert "4212" not in shown and "3456" not in shown and "1234" not in shown and "김민수" not in shown
    assert "카드 ****-****-****-7895 결제 안돼요" in as_table.stdout
    assert "번호 010 - **** - 5678 로 연락주세요" in as_table.stdout
    assert "김***@네이버.com 으로 보내주세요" in as_table.stdout
