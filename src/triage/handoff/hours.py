"""Is a queue staffed at a given moment?

Pure: the caller passes the time, so conversation tests and the engine can pin any date
(a Sunday, 설날) without touching the clock. Rules, in order:

- a date in ``closed_days`` is closed all day;
- a queue with no ``hours`` is always open (nothing was scheduled, so nothing can be closed);
- with ``holidays: kr`` a Korean public holiday (substitute holidays included) is closed;
- otherwise the day's spans decide. A span that ends before it starts ("22:00-02:00") runs
  past midnight, and its early-morning part belongs to the day it started on.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from triage.settings import QueueSettings

SITE_TZ = ZoneInfo("Asia/Seoul")
_END_OF_DAY = time(23, 59, 59)


@lru_cache(maxsize=64)
def _korean_holidays(year: int) -> frozenset[date]:
    """Computing a year's lunar holidays is slow; a year's answer never changes."""
    return frozenset(holidays.country_holidays("KR", years=year))


def is_holiday(queue: QueueSettings, day: date) -> bool:
    return day in queue.closed_days or (queue.holidays == "kr" and day in _korean_holidays(day.year))


def _within(start: time, end: time, moment: time) -> bool:
    return start <= moment < end or (end == _END_OF_DAY and moment >= start)


def _open_by_spans(queue: QueueSettings, day: date, moment: time) -> bool:
    for start, end in queue.hours.get(day.weekday(), ()):
        wraps = end <= start
        if (_within(start, end, moment) if not wraps else moment >= start) and not is_holiday(queue, day):
            return True
    yesterday = day - timedelta(days=1)
    return any(end <= start and moment < end and not is_holiday(queue, yesterday)
               for start, end in queue.hours.get(yesterday.weekday(), ()))


def is_open(queue: QueueSettings, now: datetime, tz: tzinfo = SITE_TZ) -> bool:
    """``now`` is converted to the site's zone (``tz``, Asia/Seoul unless the site says otherwise)."""
    local = now.astimezone(tz) if now.tzinfo else now
    if local.date() in queue.closed_days:
        return False
    if not queue.hours:
        return True
    return _open_by_spans(queue, local.date(), local.time())
