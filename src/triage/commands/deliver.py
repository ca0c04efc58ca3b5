"""``triage deliver``: deliver a server's outbox from a process of its own.

``triage serve`` starts it as a child by default (``--delivery process``): the rows come over
``--channel-fd`` and the outcomes go back the same way, for the server to record. It never
opens the database; ``--db`` names the lock that lets only one deliverer work a database at a
time (a second one waits for the first to finish).
"""

from __future__ import annotations

import argparse
import asyncio
import socket

from triage import eventloop
from triage.app import ServeOptions, effective_settings
from triage.commands.serve import add_store_options, print_content_errors
from triage.delivery import deliver_until_stopped, sole_deliverer
from triage.privacy.logging import configure_logging
from triage.problems import ContentError
from triage.reload import ContentHolder


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("deliver", parents=[common], help="deliver the outbox to 상담톡 and agent webhooks")
    add_store_options(parser)
    parser.add_argument("--channel-fd", type=int, metavar="FD", required=True,
                        help="one end of a socket from triage serve: rows in, outcomes out, EOF means stop "
                             "(set by serve)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    try:
        channel = socket.socket(fileno=args.channel_fd)
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
        print("triage deliver: needs the database file triage serve uses (for its lock), not :memory:")
        return 2
    try:
        with sole_deliverer(settings.storage_path):
            with asyncio.Runner(loop_factory=eventloop.new_event_loop) as runner:
                runner.run(deliver_until_stopped(holder, settings, channel))
    except OSError as exc:
        print(f"triage deliver: {exc}")
        return 1
    return 0

