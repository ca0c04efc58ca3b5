"""Retention: ``triage purge`` and the server's daily purge delete transcripts and personal
fields, keep the anonymous rows reports count, and leave the server serving."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from traffic_support import ALICE, BOB, NOTICE, converse, event_kinds, fill, personal, privacy_site, rows, said

from triage.cli import main
from triage.privacy.retention import DAY, cutoff, parse_days, purge_daily
from triage.settings import Privacy, Settings
from triage.store import open_store

TRIAGE = str(Path(sys.executable).with_name("triage"))
PERSONAL_TABLES = ("transcript", "inbox", "outbox", "tickets", "users")


@pytest.fixture
async def traffic(open_site, live, tmp_path):
    root = privacy_site(open_site)
    return root, await fill(live, root, tmp_path / "triage.db")


def counts(db: Path) -> dict[str, int]:
    return {table: rows(db, table) for table in (*PERSONAL_TABLES, "sessions", "events")}


def test_ages_are_days():
    assert [parse_days(text) for text in ("365d", "30", " 7d ")] == [365, 30, 7]
    with pytest.raises(ValueError, match='"1y" is not an age in days; write it like 365d'):
        parse_days("1y")
    assert cutoff(10 * DAY, 3) == 7 * DAY


async def test_a_dry_run_counts_and_changes_nothing(traffic):
    root, filled = traffic
    before = counts(filled.db)
    result = subprocess.run([TRIAGE, "purge", "--root", str(root), "--db", str(filled.db), "--older-than", "0d",
                             "--dry-run"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        f"  would delete: {before['transcript']} transcript lines, {before['inbox']} inbox payloads, "
        f"{before['outbox']} outbox messages, 1 handoff ticket, 2 user rows",
        f"  would anonymise: 2 sessions, {before['events']} events",
        "  dry run: nothing was changed",
    ]
    assert counts(filled.db) == before and personal(filled.db, ALICE)


async def test_purge_deletes_personal_rows_and_keeps_the_aggregates(traffic, capsys):
    root, filled = traffic
    kinds = event_kinds(filled.db)
    with open_store(filled.db) as store:
        categories = sorted(str(s.category) for user in (ALICE, BOB) for s in store.sessions_of(user))

    assert main(["purge", "--root", str(root), "--db", str(filled.db), "--older-than", "0d"]) == 0

    assert "anonymised: 2 sessions" in capsys.readouterr().out
    assert {table: rows(filled.db, table) for table in PERSONAL_TABLES} == dict.fromkeys(PERSONAL_TABLES, 0)
    assert personal(filled.db, ALICE) == [] and personal(filled.db, BOB) == []
    assert event_kinds(filled.db) == kinds
    with open_store(filled.db) as store:
        kept = store.sessions_of("")
        assert sorted(str(s.category) for s in kept) == categories
        assert all(set(s.state) <= {"owner", "node", "path", "category", "tags"} and s.state["path"] for s in kept)
        faq = store.events(kinds=["faq"])
        assert faq and all("query" not in e.data and e.data["decision"] for e in faq)


async def test_purging_twice_removes_nothing_the_second_time(traffic, capsys):
    root, filled = traffic
    args = ["purge", "--root", str(root), "--db", str(filled.db), "--older-than", "0d"]
    main(args)
    capsys.readouterr()
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["  nothing to remove"]


async def test_recent_data_is_kept(traffic, capsys):
    root, filled = traffic
    before = counts(filled.db)
    assert main(["purge", "--root", str(root), "--db", str(filled.db)]) == 0
    assert "nothing to remove" in capsys.readouterr().out
    assert counts(filled.db) == before


async def test_the_server_still_serves_after_a_purge(traffic, live, capsys):
    root, filled = traffic
    main(["purge", "--root", str(root), "--db", str(filled.db), "--older-than", "0d"])

    stack = await live(root, db=str(filled.db))
    for user_key in (ALICE, "user-carol-0b4e"):
        customer = stack.user(user_key)
        await customer.consult()
        first = await customer.wait_for(said("무엇을 도와드릴까요"))
        assert first[0]["text"].startswith(NOTICE)
        await converse(customer, [("연락처", "동의하시나요")])
    assert rows(filled.db, "sessions", ALICE) == 1


async def test_the_daily_purge_runs_at_start_and_then_every_interval(traffic):
    _, filled = traffic
    runs: list[float] = []

    def a_year_later() -> float:
        runs.append(time.time() + 366 * DAY)
        return runs[-1]

    with open_store(filled.db) as store:
        task = asyncio.create_task(purge_daily(store, Settings(), clock=a_year_later, interval=0.02))
        await asyncio.sleep(0.1)
        task.cancel()
    assert len(runs) >= 2
    assert personal(filled.db, ALICE) == [] and rows(filled.db, "transcript") == 0


async def test_a_retention_of_zero_days_turns_the_daily_purge_off(traffic):
    _, filled = traffic
    before = counts(filled.db)
    with open_store(filled.db) as store:
        await asyncio.wait_for(purge_daily(store, Settings(privacy=Privacy(retention_days=0))), 1)
    assert counts(filled.db) == before


async def test_the_server_purges_when_it_starts(traffic, live):
    """A server whose clock reads a year and a day later finds everything past retention."""
    root, filled = traffic
    await live(root, db=str(filled.db), clock=lambda: time.time() + 366 * DAY)
    for _ in range(100):
        if rows(filled.db, "transcript") == 0:
            break
        await asyncio.sleep(0.05)
    assert personal(filled.db, ALICE) == [] and personal(filled.db, BOB) == []
