"""``triage sim``: a local 상담톡 relay that plays Kakao for ``triage serve``.

The channel, paths and credentials come from the site's ``triage.yaml`` so the simulator
expects exactly what the server's client sends; flags cover what only a test run changes.
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

from aiohttp import web

from triage.kakao.protocol import SENDER_KEY_MAX
from triage.kakao.simulator import SimConfig, make_sim_app
from triage.privacy.logging import configure_logging
from triage.problems import errors
from triage.settings import Settings, load_settings


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("sim", parents=[common], help="run a local 상담톡 simulator (Kakao's side) for the server")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port to listen on (default 8090)")
    parser.add_argument("--partner", type=_base_url, metavar="URL",
                        help="the partner server's base URL (default: server.host and server.port of triage.yaml)")
    parser.add_argument("--sender-key", type=_sender_key, metavar="K", help="channel sender_key (default: channel.sender_key)")
    parser.add_argument("--no-expired-callback", action="store_true",
                        help="do not POST /expired_session when a user leaves or a session expires")
    parser.add_argument("--reference-order", choices=("before", "after"), default="before",
                        help="send /reference before or after the first /message of a session (default before)")
    parser.add_argument("--expiry-seconds", type=float, default=30 * 86400, metavar="S",
                        help="user silence that ends a session (default 30 days)")
    parser.add_argument("--partner-retries", type=_retries, default=0, metavar="N",
                        help="send a webhook the partner fails (non-2xx, timeout) again up to N times, "
                             "same body and serial (default 0)")
    parser.set_defaults(func=run)


def _base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f'"{value}" is not an http(s) URL like http://127.0.0.1:8080')
    return value.rstrip("/")


def _retries(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) > 100:
        raise argparse.ArgumentTypeError(f'"{value}" is not a number of retries from 0 to 100')
    return int(value)


def _sender_key(value: str) -> str:
    if not value or len(value) > SENDER_KEY_MAX:
        raise argparse.ArgumentTypeError(f"a sender_key has 1-{SENDER_KEY_MAX} characters")
    return value


def sim_config(settings: Settings, args: argparse.Namespace) -> SimConfig:
    partner = args.partner or f"http://{settings.server.host}:{settings.server.port}"
    return SimConfig.for_site(settings, partner, sender_key=args.sender_key, reference_order=args.reference_order,
                              expired_callback=not args.no_expired_callback, expiry_seconds=args.expiry_seconds,
                              partner_retries=args.partner_retries)


def shown_partner(partner: str, path_prefix: str) -> str:
    """The secret path stays out of the terminal and its scrollback: only that there is one shows."""
    return partner.removesuffix(path_prefix) + "/…" if path_prefix else partner


def run(args: argparse.Namespace) -> int:
    settings, problems = load_settings(args.root)
    for problem in problems:
        print(problem, file=sys.stderr)
    if errors(problems):
        return 1
    if args.expiry_seconds <= 0:
        print("triage sim: --expiry-seconds must be positive", file=sys.stderr)
        return 2
    configure_logging("INFO")
    config = sim_config(settings, args)
    channel = config.channels[0]
    partner = shown_partner(channel.partner, settings.server.path_prefix)
    print(f"상담톡 simulator listening on http://{args.host}:{args.port}\n"
          f"  calling the partner at {partner} (/reference, /message"
          f"{', /expired_session' if config.expired_callback else ''})  ·  channel {channel.name} "
          f"({channel.sender_key[:8]}…)\n"
          f"  user API: POST /sim/users/<user_key>/consult | messages | leave | block  ·  GET /sim/state",
          flush=True)
    try:
        web.run_app(make_sim_app(config), host=args.host, port=args.port, print=None, access_log=None)
    except OSError as exc:
        print(f"triage sim: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
