"""``triage deliver``: deliver a database's outbox from a process of its own.

``triage serve`` starts it as a child by default (``--delivery process``) and talks to it over
``--channel-fd``. Run by hand, it delivers whatever is pending until stopped (SIGTERM, Ctrl-C).
Only one deliverer works a database at a time; a second one waits for the first to finish.
"""

from __future__ import annotations

import argparse
import asyncio
import socket

from triage.app import ServeOptions, effective_settings
from triage.commands.serve import add_store_options, print_content_errors
from triage.delivery import deliver_until_stopped, sole_deliverer
from triage.privacy.logging import configure_logging
from triage.problems import ContentError
from triage.reload import ContentHolder
from triage.store import StoreError


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("deliver", parents=[common], help="deliver the outbox to 상담톡 and agent webhooks")
    add_store_options(parser)
    parser.add_argument("--channel-fd", type=int, metavar="FD",
                        help="one end of a socket from triage serve: wake-ups in, EOF means stop (set by serve)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    try:
        channel = None if args.channel_fd is None else socket.socket(fileno=args.channel_fd)
    except OSError as exc:
        print(f"triage deliver: --channel-fd {args.channel_fd} is not an open socket ({exc.strerror or exc})")
        return 2
    try:
        holder = ContentHolder(args.root)
    except ContentError as exc:
        print_content_errors(exc)
        return 1
    settings = effective_settings(holder.current.settings,
                                  ServeOptions(root=args.root, db=args.db, kakao_url=args.kakao_url))
    if settings.storage_path == ":memory:":
        print("triage deliver: needs a database file shared with triage serve, not :memory:")
        return 2
    try:
        with sole_deliverer(settings.storage_path):
            asyncio.run(deliver_until_stopped(holder, settings, channel))
    except (OSError, StoreError) as exc:
        print(f"triage deliver: {exc}")
        return 1
    return 0

