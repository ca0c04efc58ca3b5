"""``triage forget --user-key K``: a person's deletion request, everywhere at once."""

from __future__ import annotations

import argparse
import time

from triage.commands.privacy_store import add_user_options, describe, open_user_store
from triage.privacy.requests import forget_user


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("forget", parents=[common],
                            help="delete one user's personal data, keeping anonymous report figures")
    parser.add_argument("--dry-run", action="store_true", help="count what would be removed, change nothing")
    add_user_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = open_user_store(args)
    if isinstance(store, int):
        return store
    with store:
        erased = forget_user(store, args.user_key, time.time(), args.dry_run)
    print(f"forget {args.user_key}:")
    for line in describe(erased, args.dry_run):
        print(f"  {line}")
    return 0
