"""The shell around the analytics core: which database, which period, and nothing written.

Reports and replays read a store that a running server may be writing at the same moment;
WAL lets them read without blocking it. A missing file is an operator's typo, not a reason
to create an empty database and report zeros.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from triage.analytics.period import HELP, PeriodError, moment
from triage.problems import errors
from triage.settings import Settings, load_settings
from triage.store import SqliteStore, StoreError, open_store


class HistoryError(Exception):
    """Why the recorded history cannot be read; printed as is, without a traceback."""


@dataclass(frozen=True)
class Period:
    since: float | None
    until: float | None
    label: str


def add_arguments(parser: argparse.ArgumentParser, since: str) -> None:
    parser.add_argument("--since", default=since, help=f"start of the period (default {since}): {HELP}")
    parser.add_argument("--until", help="end of the period (default: now); a bare date includes that whole day")
    parser.add_argument("--db", type=Path, help="the database (default: storage.path of triage.yaml, under --root)")


def site_settings(root: Path) -> Settings:
    settings, problems = load_settings(root)
    if errors(problems):
        raise HistoryError("\n".join(str(p) for p in errors(problems)))
    return settings


def period(args: argparse.Namespace, settings: Settings, now: datetime) -> Period:
    local = now.astimezone(settings.tz)
    try:
        since = moment(args.since, local, settings.tz)
        until = moment(args.until, local, settings.tz, end_of_day=True) if args.until else None
    except PeriodError as exc:
        raise HistoryError(str(exc)) from None
    shown = datetime.fromtimestamp(since, settings.tz).strftime("%Y-%m-%d %H:%M")
    end = datetime.fromtimestamp(until, settings.tz).strftime("%Y-%m-%d %H:%M") if until else "지금"
    return Period(since, until, f"{shown} ~ {end} ({settings.timezone})")


def open_history(args: argparse.Namespace, settings: Settings) -> SqliteStore:
    path = args.db if args.db is not None else settings.root / settings.storage_path
    if not Path(path).is_file():
        raise HistoryError(f"{path}: no database here; pass --db, or --root for the site whose storage.path it is")
    try:
        return open_store(path)
    except StoreError as exc:
        raise HistoryError(str(exc)) from None


def fail(exc: HistoryError) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 1
