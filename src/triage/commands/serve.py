"""``triage serve``: the 상담톡 webhook server with the site's flows."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from aiohttp import web

from triage import eventloop
from triage.app import DELIVERY, DELIVERY_MODES, SETTINGS, ServeOptions, make_app
from triage.privacy.logging import configure_logging
from triage.problems import ContentError


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("serve", parents=[common], help="run the 상담톡 webhook server")
    add_server_options(parser)
    parser.set_defaults(func=run)


def add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default: server.host in triage.yaml)")
    parser.add_argument("--port", type=int, help="port to listen on (default: server.port, 8080)")
    add_store_options(parser)
    parser.add_argument("--preview", action="store_true",
                        help="run a built-in 상담톡 simulator for the /preview page (local editing only)")
    parser.add_argument("--delivery", choices=DELIVERY_MODES, default="process",
                        help="deliver the outbox from a child process on another core (default) or inline, "
                             "in the server's own event loop")


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """What the server and its deliverer must agree on: the database and where calls go."""
    parser.add_argument("--db", help="SQLite file (default: storage.path under the root, triage.db)")
    parser.add_argument("--kakao-url", help="base URL of the 상담톡 API or simulator (default: kakao.base_url)")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))


def options_from(args: argparse.Namespace) -> ServeOptions:
    return ServeOptions(root=Path(args.root), host=args.host, port=args.port, db=args.db, kakao_url=args.kakao_url,
                        preview=args.preview, delivery=args.delivery)


def print_content_errors(exc: ContentError) -> None:
    print("triage: the content has errors, not starting:")
    for problem in exc.problems:
        print(f"  {problem}")


def build(args: argparse.Namespace) -> web.Application | None:
    """The app, or None after printing why not (content errors, a delivery mode the database cannot do)."""
    try:
        return make_app(options_from(args))
    except ContentError as exc:
        print_content_errors(exc)
    except ValueError as exc:
        print(f"triage: {exc}, not starting")
    return None


WHERE = {"inline": "in the server's event loop", "process": "from a child process (triage deliver)"}


def banner(app: web.Application, loop: asyncio.AbstractEventLoop) -> str:
    settings = app[SETTINGS]
    under = "/…" if settings.server.path_prefix else ""
    return (f"triage listening on http://{settings.server.host}:{settings.server.port} "
            f"(POST {under}/message {under}/reference {under}/expired_session)\n"
            f"  sending to {settings.kakao.base_url}  ·  store {settings.storage_path}  ·  channel "
            f"{settings.channel.name} ({settings.channel.sender_key[:8]}…)\n"
            f"  delivering {WHERE[app[DELIVERY]]}  ·  event loop {eventloop.name(loop)}")


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    app = build(args)
    if app is None:
        return 1
    settings = app[SETTINGS]
    loop = eventloop.new_event_loop()
    print(banner(app, loop), flush=True)
    web.run_app(app, host=settings.server.host, port=settings.server.port, print=None,
                access_log=None, handle_signals=True, loop=loop)
    return 0
