"""Retention: personal data older than ``privacy.retention_days`` is erased, daily, by the server.

Erasing keeps the anonymous rows reports are built from (see ``anonymise``), so a report
over an old period still counts its sessions, handoffs and FAQ hits.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Callable

from triage.privacy.anonymise import SCRUBBERS
from triage.settings import Settings
from triage.store import Erased, Erasure, Store

log = logging.getLogger("triage.privacy")

DAY = 86400.0
_AGE = re.compile(r"^\s*(\d{1,6})\s*d?\s*$")


def parse_days(text: str) -> int:
    """``365d`` or ``365`` -> 365; raises ValueError with a message meant for the operator."""
    match = _AGE.match(text)
    if not match:
        raise ValueError(f'"{text}" is not an age in days; write it like 365d')
    return int(match[1])


def cutoff(now: float, days: int) -> float:
    return now - days * DAY


def purge(store: Store, days: int, now: float, dry_run: bool = False) -> Erased:
    return store.erase(Erasure.older_than(cutoff(now, days)), SCRUBBERS, now, dry_run)


async def purge_daily(store: Store, settings: Settings, clock: Callable[[], float] = time.time,
                      interval: float = DAY) -> None:
    """Purge at start and then every ``interval``: a server restarted often still purges, and
    each run only has one day's worth of rows to strip. ``retention_days: 0`` keeps everything.
    A failed purge is logged and retried at the next interval; it never stops the server."""
    days = settings.privacy.retention_days
    if days <= 0:
        log.info("privacy.retention_days is %s: the daily purge is off", days)
        return
    while True:
        try:
            erased = purge(store, days, clock())
            log.info("retention purge (older than %s days): %s", days, erased)
        except Exception:
            log.exception("retention purge failed")
        await asyncio.sleep(interval)
