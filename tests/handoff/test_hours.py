"""Business hours with Korean public holidays, from the queue settings an operator writes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from triage.handoff.hours import is_open
from triage.settings import load_settings

SEOUL = ZoneInfo("Asia/Seoul")
SITE = Path(__file__).parents[1] / "fixtures" / "engine" / "hours"


@pytest.fixture(scope="module")
def queues():
    settings, problems = load_settings(SITE)
    assert problems == []
    return settings.queues


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SEOUL)


@pytest.mark.parametrize(("when", "open_"), [
    ("2026-11-25T08:59", False),   # Wednesday, before opening
    ("2026-11-25T09:00", True),
    ("2026-11-25T17:59", True),
    ("2026-11-25T18:00", False),
    ("2026-11-28T12:30", True),    # Saturday morning
    ("2026-11-28T13:00", False),
    ("2026-11-29T10:00", False),   # Sunday: no hours
    ("2026-02-17T10:00", False),   # 설날
    ("2026-03-02T10:00", False),   # substitute holiday for 삼일절 (a Sunday)
    ("2026-03-03T10:00", True),
    ("2026-12-31T10:00", False),   # a closed day of this site
])
def test_general_queue(queues, when, open_):
    assert is_open(queues["general"], at(when)) is open_


def test_holidays_none_ignores_public_holidays(queues):
    assert is_open(queues["always_staffed"], at("2026-02-17T10:00"))


def test_a_queue_without_hours_is_always_open_but_closed_days_still_close_it(queues):
    assert is_open(queues["vip"], at("2026-11-29T03:00"))
    assert not is_open(queues["vip"], at("2026-12-31T03:00"))


def test_spans_past_midnight_belong_to_the_day_they_start(queues):
    night = queues["night"]
    assert is_open(night, at("2026-11-27T23:00"))       # Friday night
    assert is_open(night, at("2026-11-28T01:30"))       # Friday's span, on Saturday morning
    assert not is_open(night, at("2026-11-28T02:00"))
    assert not is_open(night, at("2026-11-30T01:00"))   # Sunday has no span


def test_the_time_is_read_in_the_site_zone(queues):
    utc = datetime.fromisoformat("2026-11-25T00:30:00+00:00")
    assert is_open(queues["general"], utc)
    assert not is_open(queues["general"], utc, ZoneInfo("UTC"))
