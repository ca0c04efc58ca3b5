"""``--since 7d`` / ``--until 2026-11-25``: what operators type, turned into store timestamps."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

_AGO = re.compile(r"^\s*(\d{1,5})\s*([mhdw])\s*$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
HELP = '"7d", "12h", "30m", "2w" ago, or a date "2026-11-25" / time "2026-11-25T10:30" on the site\'s clock'


class PeriodError(ValueError):
    """A --since/--until value that is neither a duration nor a date; the message says which forms work."""


def moment(text: str, now: datetime, tz: tzinfo, end_of_day: bool = False) -> float:
    """A bare date means the start of that day, or with ``end_of_day`` its end, so
    ``--until 2026-11-25`` includes the whole of the 25th."""
    ago = _AGO.match(text)
    if ago:
        return (now - int(ago.group(1)) * _UNITS[ago.group(2)]).timestamp()
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        day = None
    if day is not None:
        day = day + timedelta(days=1) if end_of_day else day
        return datetime.combine(day, time(), tz).timestamp()
    try:
        moment_ = datetime.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(f'"{text}" is not a period; use {HELP}') from None
    return (moment_ if moment_.tzinfo else moment_.replace(tzinfo=tz)).timestamp()
