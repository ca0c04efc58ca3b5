"""What ``triage purge``, ``export`` and ``forget`` share: the site's database, and how an
erasure reads to the operator who asked for it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from triage.problems import errors
from triage.settings import Settings, load_settings
from triage.store import Erased, SqliteStore, StoreError, open_store

ERASED_WORDS = (("transcript", "transcript line"), ("inbox", "inbox payload"), ("outbox", "outbox message"),
                ("tickets", "handoff ticket"), ("users", "user row"))
STRIPPED_WORDS = (("sessions", "session"), ("events", "event"))


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, help="SQLite file (default: storage.path under the root, triage.db)")


def open_site_store(args: argparse.Namespace) -> tuple[Settings, SqliteStore] | None:
    """The settings and the existing database, or None after saying why on stderr.

    A missing file is an error, not a fresh database: purging or exporting an empty file
    created by a typo in ``--db`` would report success about nobody's data.
    """
    name = f"triage {args.command}"
    settings, problems = load_settings(args.root)
    for problem in errors(problems):
        print(problem, file=sys.stderr)
    if errors(problems):
        return None
    path = args.db or settings.root / settings.storage_path
    if not Path(path).is_file():
        print(f"{name}: no database at {path} (set --db or storage.path in triage.yaml)", file=sys.stderr)
        return None
    try:
        return settings, open_store(path)
    except StoreError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return None


def add_user_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user-key", required=True, help="the 상담톡 user_key of the person")
    add_db_option(parser)


def open_user_store(args: argparse.Namespace) -> SqliteStore | int:
    """The database for a request about one person, or the exit status after saying why on stderr."""
    if not args.user_key:
        print(f"triage {args.command}: --user-key must not be empty", file=sys.stderr)
        return 2
    opened = open_site_store(args)
    return opened[1] if opened else 1


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def describe(erased: Erased, dry_run: bool) -> list[str]:
    if not erased.total:
        return ["nothing to remove"]
    deleted = ", ".join(_count(getattr(erased, field), word) for field, word in ERASED_WORDS)
    stripped = ", ".join(_count(getattr(erased, field), word) for field, word in STRIPPED_WORDS)
    if dry_run:
        return [f"would delete: {deleted}", f"would anonymise: {stripped}", "dry run: nothing was changed"]
    return [f"deleted: {deleted}", f"anonymised: {stripped} (kept for reports, without personal data)"]
