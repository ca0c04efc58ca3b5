"""``triage serve``: the 상담톡 webhook server with the site's flows."""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
from pathlib import Path

from aiohttp import web

from triage import eventloop
from triage.app import DELIVERY, DELIVERY_MODES, SETTINGS, ServeOptions, make_app
from triage.privacy.logging import configure_logging
from triage.problems import ContentError, Problem
from triage.settings import Settings, demo_token_warnings, is_loopback, sender_key_warnings
from triage.store import StoreError

log = logging.getLogger("triage.serve")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("serve", parents=[common], help="run the 상담톡 webhook server")
    add_server_options(parser)
    parser.set_defaults(func=run)


def add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default: server.host in triage.yaml)")
    parser.add_argument("--port", type=port_number, help="port to listen on (default: server.port, 8080)")
    add_store_options(parser)
    parser.add_argument("--preview", action="store_true",
                        help="run a built-in 상담톡 simulator for the /preview page (local editing only)")
    parser.add_argument("--delivery", choices=DELIVERY_MODES, default="process",
                        help="deliver the outbox from a child process on another core (default) or inline, "
                             "in the server's own event loop")


def port_number(text: str) -> int:
    """The kernel takes a port modulo 65536, so 70000 would quietly listen on 4464."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{text}" is not a port number') from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (1-65535)")
    return value


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


def listening_socket(host: str, port: int) -> socket.socket:
    """Bound before the store opens, the deliverer takes its lock or the retention purge runs, so a
    taken port or bad address stops the start before it touches a live database."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def channel_warnings(settings: Settings) -> list[Problem]:
    """Only a simulator on this machine answers to the example key (``triage demo``, ``--preview``,
    ``triage sim``), so warning there would be noise; anywhere else Kakao would refuse every reply."""
    return [] if is_loopback(settings.kakao.base_url) else sender_key_warnings(settings)


def demo_token_refusal(settings: Settings) -> str | None:
    """A warning would scroll by while the published supervisor token opened a real channel's desk to
    anyone, so away from a simulator on this machine a demo token stops the start."""
    found = [] if is_loopback(settings.kakao.base_url) else demo_token_warnings(settings)
    if not found:
        return None
    lines = ", ".join(str(problem.line) for problem in found)
    return (f"triage: not starting: {found[0].path} has demo agent tokens from the README (line {lines}) and "
            f"sends to {settings.kakao.base_url}, not this machine: give every agent a long random token")


async def announce(app: web.Application) -> None:
    """The banner, once the store is open and delivery has started: it is printed only when true."""
    print(banner(app, asyncio.get_running_loop()), flush=True)


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    app = build(args)
    if app is None:
        return 1
    settings = app[SETTINGS]
    refusal = demo_token_refusal(settings)
    if refusal:
        print(refusal, flush=True)
        return 1
    for problem in channel_warnings(settings):
        log.warning("%s:%d: %s", problem.path, problem.line, problem.message)
    where = f"{settings.server.host}:{settings.server.port}"
    try:
        sock = listening_socket(settings.server.host, settings.server.port)
    except OSError as exc:
        print(f"triage: not starting: cannot listen on {where}: {exc.strerror or exc}", flush=True)
        return 1
    app.on_startup.append(announce)
    try:
        with sock:
            web.run_app(app, sock=sock, print=None, access_log=None, handle_signals=True,
                        loop=eventloop.new_event_loop())
    except (OSError, StoreError) as exc:
        print(f"triage: not starting: {exc}", flush=True)
        return 1
    return 0
