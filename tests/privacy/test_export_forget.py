"""``triage export`` and ``triage forget``: a person's access and deletion requests, on a store
filled through the real server, and the server still serving afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from traffic_support import (ALICE, BOB, EMAIL, NOTICE, PHONE, converse, event_kinds, fill, personal, privacy_site,
                             rows, said)

from triage.cli import main

TRIAGE = str(Path(sys.executable).with_name("triage"))


@pytest.fixture
async def traffic(open_site, live, tmp_path):
    root = privacy_site(open_site)
    return root, await fill(live, root, tmp_path / "triage.db")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def test_the_first_message_of_every_session_carries_the_notice(traffic):
    _, filled = traffic
    assert all(text.startswith(NOTICE) for text in filled.first_messages.values())


async def test_export_holds_everything_about_the_user_and_nothing_about_others(traffic, capsys):
    root, filled = traffic
    code, out, _ = run(capsys, "export", "--root", str(root), "--db", str(filled.db), "--user-key", ALICE)
    document = json.loads(out)

    assert code == 0 and document["user"]["user_key"] == ALICE and BOB not in out
    (session,) = document["sessions"]
    consent = session["state"]["vars"]["consent"]
    assert consent["agreed"] is True and datetime.fromisoformat(consent["at"]).tzinfo is not None
    assert session["state"]["vars"]["email"] == EMAIL
    typed = [t["text"] for t in session["transcript"] if t["direction"] == "in"]
    assert typed[:4] == ["연락처", "동의합니다", PHONE, EMAIL]
    assert {e["user_key"] for e in document["events"]} == {ALICE}
    assert "consent" in {e["kind"] for e in document["events"]}
    assert document["outbox"] and all(o["user_key"] == ALICE for o in document["outbox"])
    assert document["tickets"] == []
    assert len(document["inbox"]) == rows(filled.db, "inbox", ALICE)


async def test_forget_removes_the_user_keeps_the_aggregates_and_others(traffic, capsys):
    root, filled = traffic
    kinds = event_kinds(filled.db)
    bob_export = run(capsys, "export", "--root", str(root), "--db", str(filled.db), "--user-key", BOB)[1]
    assert json.loads(bob_export)["tickets"][0]["packet"]["reference"]["extra"] == "topic=order"
    assert personal(filled.db, ALICE)

    code, out, _ = run(capsys, "forget", "--root", str(root), "--db", str(filled.db), "--user-key", ALICE)

    assert code == 0 and "deleted:" in out and "1 user row" in out
    assert personal(filled.db, ALICE) == []
    assert event_kinds(filled.db) == kinds
    assert rows(filled.db, "sessions") == 2
    assert run(capsys, "export", "--root", str(root), "--db", str(filled.db), "--user-key", BOB)[1] == bob_export
    gone = json.loads(run(capsys, "export", "--root", str(root), "--db", str(filled.db), "--user-key", ALICE)[1])
    assert gone == {"user_key": ALICE, "user": None, "sessions": [], "events": [], "outbox": [], "tickets": [],
                    "inbox": []}


async def test_forget_twice_removes_nothing_the_second_time(traffic):
    root, filled = traffic
    args = [TRIAGE, "forget", "--root", str(root), "--db", str(filled.db), "--user-key", ALICE]
    first = subprocess.run(args, capture_output=True, text=True, timeout=60)
    second = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert first.returncode == second.returncode == 0
    assert "anonymised: 1 session" in first.stdout
    assert second.stdout.splitlines() == [f"forget {ALICE}:", "  nothing to remove"]


async def test_the_server_still_serves_a_forgotten_user_on_the_same_database(traffic, live, capsys):
    root, filled = traffic
    run(capsys, "forget", "--root", str(root), "--db", str(filled.db), "--user-key", ALICE)

    stack = await live(root, db=str(filled.db))
    alice = stack.user(ALICE)
    await alice.consult()
    first = await alice.wait_for(said("무엇을 도와드릴까요"))
    await converse(alice, [("연락처", "동의하시나요"), ("동의합니다", "휴대폰 번호")])

    assert first[0]["text"].startswith(NOTICE) and "다시 찾아 주셔서" not in first[0]["text"]
    again = json.loads(run(capsys, "export", "--root", str(root), "--db", str(filled.db), "--user-key", ALICE)[1])
    assert again["user"]["sessions"] == 1 and len(again["sessions"]) == 1


def test_a_missing_database_or_an_empty_user_key_is_a_clear_error(tmp_path, capsys):
    code, _, err = run(capsys, "forget", "--root", str(tmp_path), "--db", str(tmp_path / "none.db"), "--user-key", "x")
    assert code == 1 and err.strip() == f"triage forget: no database at {tmp_path / 'none.db'} " \
                                       "(set --db or storage.path in triage.yaml)"
    code, _, err = run(capsys, "export", "--root", str(tmp_path), "--user-key", "")
    assert code == 2 and err.strip() == "triage export: --user-key must not be empty"
