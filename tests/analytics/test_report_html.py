"""The HTML report in headless Chromium, from a store filled through ``Store.commit``.

A week of sessions with queue events (``assigned``/``closed`` as the agent desk writes them),
so every chart has something to draw. Chromium runs with every host name unresolvable: a page
that fetched anything would show it broken, and the check on the file itself finds any
``src``/``href`` that points off the page.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from triage.cli import main
from triage.store import Commit, NewEvent, open_store

REPO = Path(__file__).parents[2]
SEOUL = ZoneInfo("Asia/Seoul")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TRIAGE = str(Path(sys.executable).with_name("triage"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", '--host-resolver-rules=MAP * ~NOTFOUND']


def _week(db: Path) -> datetime:
    """Seven days; day i has 3 + i sessions: one handed off and assigned, one answered by the FAQ, the rest left."""
    monday = datetime(2026, 11, 16, 10, 0, tzinfo=SEOUL)
    with open_store(db) as store:
        for day in range(7):
            for n in range(3 + day):
                sid, at = f"s{day}-{n}", (monday + timedelta(days=day, minutes=n)).timestamp()
                events = [("session_start", {"extra": "topic=order" if n % 2 else "", "returning": False}),
                          ("node", {"node": "main.welcome"}), ("message_in", {"type": "text", "owner": "bot"})]
                if n == 0:
                    events += [("node", {"node": "main.general_agent"}),
                               ("handoff", {"reason": "user_asked", "category": "주문", "queue": "general"}),
                               ("assigned", {"ticket_id": sid, "queue": "general", "agent_id": "kim",
                                             "waited_seconds": 30 + day}),
                               ("closed", {"ticket_id": sid, "handled_seconds": 300})]
                elif n == 1:
                    events += [("faq", {"query": "배송 언제 와요", "decision": "answer", "entry_id": "delivery-when"}),
                               ("node", {"node": "main.anything_else"}), ("session_end", {"reason": "user_left"})]
                else:
                    events += [("faq", {"query": "선물 포장지 색", "decision": "not_found", "entry_id": None}),
                               ("node", {"node": "main.not_understood"}), ("session_end", {"reason": "user_left"})]
                store.commit(Commit(at=at, events=[NewEvent(kind, sid, "u" + sid, data, at + i)
                                                   for i, (kind, data) in enumerate(events)]))
    return monday + timedelta(days=6)


def _chromium(*args: str, profile: Path) -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail("headless Chromium is needed to check the HTML report: apt-get install -y chromium "
                    "(.ci/run installs it)")
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def week(tmp_path: Path) -> tuple[Path, Path]:
    db = tmp_path / "week.db"
    until = _week(db)
    html = tmp_path / "report.html"
    argv = ["report", "--root", str(REPO), "--db", str(db), "--since", "2026-11-16",
            "--until", until.date().isoformat()]
    assert main([*argv, "--html", str(html)]) == 0
    return db, html


def test_the_html_report_is_one_file_that_loads_nothing_from_the_network(week):
    _, html = week
    text = html.read_text(encoding="utf-8")

    assert not re.search(r"""(?:src|href|url)\s*[=(]\s*["']?\s*(?:https?:)?//""", text, re.I)
    assert "<link" not in text and "@import" not in text
    assert text.count("<svg class=chart") == 4, "funnel, categories, trend and the flow graph"


def test_every_chart_renders_with_a_size_in_headless_chromium_and_a_screenshot_is_saved(week, tmp_path):
    _, html = week
    dom = _chromium("--dump-dom", "--virtual-time-budget=5000", html.as_uri(), profile=tmp_path / "profile")

    assert 'data-loaded="yes"' in dom, "the page finished loading"
    sizes = re.findall(r'data-size="(\d+)x(\d+)"', dom)
    assert len(sizes) == 4 and all(int(w) > 100 and int(h) > 50 for w, h in sizes), sizes

    shot = REPO / "build" / "report.png"
    shot.parent.mkdir(exist_ok=True)
    shot.unlink(missing_ok=True)
    _chromium(f"--screenshot={shot}", "--window-size=1280,2400", "--hide-scrollbars", html.as_uri(),
              profile=tmp_path / "profile")
    assert shot.stat().st_size > 20_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_queue_wait_and_handling_time_come_from_the_desk_events(week, capsys):
    db, _ = week
    capsys.readouterr()

    assert main(["report", "--root", str(REPO), "--db", str(db), "--since", "2026-11-16", "--until", "2026-11-22",
                 "--json"]) == 0

    got = json.loads(capsys.readouterr().out)
    assert got["sessions"] == sum(3 + day for day in range(7))
    assert got["times"]["queue_wait"] == {"count": 7, "median": 33.0, "p90": 36.0}
    assert got["times"]["handling"] == {"count": 7, "median": 300.0, "p90": 300.0}
    assert got["times"]["time_to_handoff"] == {"count": 7, "median": 4.0, "p90": 4.0}
    assert [d["sessions"] for d in got["daily"]] == [3, 4, 5, 6, 7, 8, 9]
    assert got["unanswered"] == [{"text": "선물 포장지 색", "count": 28, "examples": ["선물 포장지 색"]}]


def test_the_installed_script_prints_the_table_and_names_a_missing_database(week, tmp_path):
    db, _ = week
    shown = subprocess.run([TRIAGE, "report", "--root", str(REPO), "--db", str(db), "--since", "2026-11-16",
                            "--until", "2026-11-22"], capture_output=True, text=True, timeout=60)
    missing = subprocess.run([TRIAGE, "report", "--root", str(REPO), "--db", str(tmp_path / "nope.db")],
                             capture_output=True, text=True, timeout=60)

    assert shown.returncode == 0, shown.stderr
    assert "sessions  " in shown.stdout and "median 33.0s · p90 36.0s (n=7)" in shown.stdout
    assert "선물 포장지 색 (28회)" in shown.stdout
    assert re.search(r"resolved by the bot +7  16\.7%", shown.stdout)
    assert re.search(r"배송 +7 / 0 / 0 / 0  resolved 100\.0%", shown.stdout)
    assert missing.returncode == 1 and "nope.db: no database here" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_the_headline_counts_only_resolved_sessions_as_bot_resolved_and_names_reasons_in_korean(week):
    _, html = week
    text = html.read_text(encoding="utf-8")
    cards = {label: value for value, label in re.findall(r"<div class=card><b>([^<]*)</b><span>([^<]*)</span>", text)}

    assert cards == {"세션": "42", "봇 해결률": "16.7%", "상담원 없이 끝난 상담": "83.3%", "상담원 연결률": "16.7%",
                     "FAQ 적중률": "20.0%", "연결까지 (중앙값)": "4.0초"}
    assert "봇 해결 7 · 상담원 연결 7 · 이탈 28. 진행 중 0건은 빼고 셉니다." in text
    assert "<td>고객 요청</td>" in text and "user_asked" not in text
    assert "<tr><td>배송</td><td class=n>7</td><td class=n>7</td><td class=n>0</td>" in text, \
        "FAQ answers about delivery are counted under 배송, not 미분류"
