"""The shell around the analytics core: which database, which period, and nothing written.

Reports and replays read a store that a running server may be writing at the same moment;
WAL lets them read without blocking it. A missing file is an operator's typo, not a reason
to create an empty database and report zeros.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from itertools import zip_longest
from datetime import datetime
from pathlib import Path

from triage.analytics.period import HELP, PeriodError, moment
from triage.analytics.replay import ERROR_KINDS, Input, Recorded, answers_of
from triage.flows.session import Reference, UserInfo
from triage.problems import errors
from triage.settings import Settings, load_settings
from triage.store import EventRecord, SqliteStore, StoreError, TranscriptEntry, open_store


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


# ---- recorded sessions, for replays -------------------------------------------------------------


def recorded(store: SqliteStore, span: Period) -> tuple[list[Recorded], int]:
    """Sessions started in the period with their inputs, and how many had no transcript left
    (purged or forgotten): those cannot be replayed and are counted, not guessed at."""
    events = store.events(span.since, span.until)
    by_session: dict[str, list[EventRecord]] = {}
    for event in events:
        if event.session_id is not None and (event.kind == "session_start" or event.session_id in by_session):
            by_session.setdefault(event.session_id, []).append(event)
    sessions: list[Recorded] = []
    for session_id, own in by_session.items():
        rows = [t for t in store.transcript(session_id) if t.direction == "in" and t.sender == "user"]
        if not rows:
            continue
        sessions.append(_recorded(store, session_id, own, rows))
    return sessions, len(by_session) - len(sessions)


def _recorded(store: SqliteStore, session_id: str, events: list[EventRecord],
              rows: list[TranscriptEntry]) -> Recorded:
    start = events[0]
    record = store.get_session(session_id)
    reference = Reference(**{k: str(v) for k, v in (record.reference if record else {}).items()
                             if k in ("extra", "bot", "bot_event")})
    user = record.state.get("user") if record else None
    info = UserInfo(**user) if isinstance(user, dict) else UserInfo(start.user_key or "",
                                                                    bool(start.data.get("returning")))
    owners = [e.data.get("owner") for e in events if e.kind == "message_in"]
    inputs = tuple(Input(row.kind, row.text or "", row.at, str(row.data.get("media_url") or ""))
                   for row, owner in zip_longest(rows, owners[:len(rows)]) if owner not in ("queue", "agent"))
    records = [(e.kind, e.data) for e in events]
    return Recorded(session_id, start.at, reference, info, inputs,
                    handed_off=any(e.kind == "handoff" for e in events),
                    path=tuple(str(d.get("node")) for k, d in records if k == "node"),
                    answers=answers_of(records),
                    issues=frozenset((k, str(d.get("node") or "")) for k, d in records if k in ERROR_KINDS))
