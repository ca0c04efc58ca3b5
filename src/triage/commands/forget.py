"""``triage forget --user-key K``: a person's deletion request, everywhere at once."""

from __future__ import annotations

import argparse
import sys
import time

from triage.commands.privacy_store import add_db_option, describe, open_site_store
from triage.privacy.requests import forget_user


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("forget", parents=[common],
                            help="delete one user's personal data, keeping anonymous report figures")
    parser.add_argument("--user-key", required=True, help="the 상담톡 user_key of the person")
    parser.add_argument("--dry-run", action="store_true", help="count what would be removed, change nothing")
    add_db_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.user_key:
        print("triage forget: --user-key must not be empty", file=sys.stderr)
        return 2
    opened = open_site_store(args)
    if opened is None:
        return 1
    _, store = opened
    with store:
        erased = forget_user(store, args.user_key, time.time(), args.dry_run)
    print(f"forget {args.user_key}:")
    for line in describe(erased, args.dry_run):
        print(f"  {line}")
    return 0
