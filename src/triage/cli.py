"""The ``triage`` command: one argparse tree, one module per subcommand in ``commands/``."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

COMMANDS = ("validate", "chat", "test", "graph", "serve", "faq", "demo", "sim", "purge", "export", "forget", "report", "replay", "deliver")
"""Modules in ``triage.commands``; each has ``register(subparsers)`` that sets ``func``."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="triage", description="Chatbot-first triage for Kakao 상담톡.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", type=Path, default=Path("."),
                        help="content root holding triage.yaml, flows/, faq/ (default: current directory)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"triage.commands.{name}").register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
