"""The idle warning tells the customer when the session really ends: the time comes from
``timers.bot_end`` in triage.yaml, never from a fixed text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine_support import FIXTURES, Chat, load_site, texts
from triage.flows.session import Timeout

SITE = FIXTURES.parent / "idle_timers"
DEFAULT_TAIL = "상담이 종료돼요. 계속하시려면 아무 말이나 입력해 주세요."


def warning(root: Path) -> list[str]:
    chat = Chat(load_site(root))
    chat.start()
    return texts(chat.send(Timeout("warn")))


def with_timers(tmp_path: Path, timers: str) -> Path:
    root = shutil.copytree(SITE, tmp_path / "site")
    (root / "triage.yaml").write_text(f"channel:\n  name: 작은 상점\ntimers: {timers}\n", encoding="utf-8")
    return root


def test_the_default_warning_says_the_minute_bot_end_leaves_not_three():
    assert warning(SITE) == [f"1분 뒤 {DEFAULT_TAIL}"]


@pytest.mark.parametrize(("bot_end", "said"), [
    (30, "30초"), (90, "1분 30초"), (180, "3분"), (5400, "1시간 30분"), (0, "잠시"),
])
def test_the_default_warning_says_any_bot_end_the_way_a_person_would(tmp_path, bot_end, said):
    assert warning(with_timers(tmp_path, f"{{ bot_warn: 300, bot_end: {bot_end} }}")) == [f"{said} 뒤 {DEFAULT_TAIL}"]


def test_an_editors_warning_gets_the_time_where_it_says_bot_end_and_a_number_it_wrote_is_left_alone(tmp_path):
    root = with_timers(tmp_path, '{ bot_warn: 300, bot_end: 120, bot_warn_text: "{bot_end} 안에 답이 없으면 마칠게요. (5분 규정)" }')
    assert warning(root) == ["2분 안에 답이 없으면 마칠게요. (5분 규정)"]
