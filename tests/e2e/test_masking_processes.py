"""Customers type personal data into 상담톡; none of it may surface in logs, events or reports.

With ``privacy.mask_transcripts`` the stored transcript and the agent's packet are masked too.
Session state keeps what the flow itself collected (an ``ask`` for a phone number must be able
to use it); retention purges it.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from loopback import copy_site
from triage.privacy.masking import find_pii

from .conftest import Stack, greeted, until

TRIAGE = str(Path(sys.executable).with_name("triage"))
SAMPLES = yaml.safe_load((Path(__file__).parents[1] / "fixtures" / "privacy" / "must_mask.yaml").read_text("utf-8"))


def typed() -> list[str]:
    """One sample of every kind of personal data, as the customer wrote it."""
    firsts: dict[str, str] = {}
    for sample in SAMPLES:
        firsts.setdefault(sample["kind"], sample["text"])
    return list(firsts.values())


def secrets_in(texts: list[str]) -> list[str]:
    return [text[f.start:f.end] for text in texts for f in find_pii(text)]


def leaks(haystack: str, secrets: list[str]) -> list[str]:
    return [secret for secret in secrets if secret in haystack]


@pytest.fixture
def masked_stack(tmp_path) -> Stack:
    stack = Stack(copy_site(tmp_path / "site", {"privacy": {"mask_transcripts": True}}, always_open=True),
                  tmp_path / "triage.db")
    try:
        stack.start_sim()
        stack.start_server()
        yield stack
    finally:
        stack.stop()


async def test_personal_data_is_masked_in_logs_events_transcripts_and_reports(masked_stack, http, tmp_path):
    lines = typed()
    secrets = secrets_in(lines)
    assert len(lines) == len({s["kind"] for s in SAMPLES}) >= 6 and len(secrets) >= len(lines)
    customer = await greeted(http, masked_stack, "e2e-pii")
    for line in lines:
        await customer.say(line)
    await until(lambda: masked_stack.query(
        "SELECT count(*) FROM transcript WHERE direction = 'in' AND sender = 'user'")[0][0] >= len(lines))
    masked_stack.stop()

    logs = masked_stack.server.stdout.read()
    with sqlite3.connect(masked_stack.db) as conn:
        events = json.dumps(conn.execute("SELECT kind, data FROM events").fetchall(), ensure_ascii=False)
        transcript = json.dumps(conn.execute("SELECT text, data FROM transcript").fetchall(), ensure_ascii=False)
        packets = json.dumps(conn.execute("SELECT packet FROM tickets").fetchall(), ensure_ascii=False)
    report = subprocess.run([TRIAGE, "report", "--root", str(masked_stack.root), "--db", str(masked_stack.db),
                             "--json", "--html", str(tmp_path / "report.html")],
                            capture_output=True, text=True, timeout=60)

    assert report.returncode == 0, report.stderr
    assert "faq" in events, "the typed questions reached the FAQ and were recorded"
    assert leaks(logs, secrets) == []
    assert leaks(events, secrets) == []
    assert leaks(transcript, secrets) == []
    assert "faq_attempts" in packets, "two misses in a row escalated, with a packet for the agent"
    assert leaks(packets, secrets) == []
    assert leaks(report.stdout, secrets) == []
    assert leaks((tmp_path / "report.html").read_text(encoding="utf-8"), secrets) == []
