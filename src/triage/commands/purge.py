"""``triage purge [--older-than 365d] [--dry-run]``: apply the retention period by hand.

The server does the same daily; this is for a first run on an old database, a shorter
period after a policy change, or checking with ``--dry-run`` what a purge would remove.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime

from triage.commands.privacy_store import add_db_option, describe, open_site_store
from triage.privacy.retention import cutoff, parse_days, purge


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("purge", parents=[common],
                            help="delete transcripts and personal fields older than the retention period")
    parser.add_argument("--older-than", metavar="AGE",
                        help="age in days like 365d (default: privacy.retention_days in triage.yaml)")
    parser.add_argument("--dry-run", action="store_true", help="count what would be removed, change nothing")
    add_db_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        days = parse_days(args.older_than) if args.older_than is not None else None
    except ValueError as exc:
        print(f"triage purge: --older-than {exc}", file=sys.stderr)
        return 2
    opened = open_site_store(args)
    if opened is None:
        return 1
    settings, store = opened
    days = settings.privacy.retention_days if days is None else days
    now = time.time()
    with store:
        erased = purge(store, days, now, args.dry_run)
    before = datetime.fromtimestamp(cutoff(now, days), settings.tz).strftime("%Y-%m-%d %H:%M")
    print(f"purge: personal data older than {days} days (before {before} {settings.timezone})")
    for line in describe(erased, args.dry_run):
        print(f"  {line}")
    return 0
