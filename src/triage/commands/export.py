"""``triage export --user-key K [--out FILE]``: a person's access request, as one JSON document."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from triage.commands.privacy_store import add_user_options, open_user_store
from triage.privacy.requests import export_user


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("export", parents=[common], help="everything stored about one user, as JSON")
    parser.add_argument("--out", type=Path, help="write the document to this file (default: standard output)")
    add_user_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = open_user_store(args)
    if isinstance(store, int):
        return store
    with store:
        document = export_user(store, args.user_key)
    data = encoded(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    if args.out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    try:
        args.out.write_bytes(data)
    except OSError as exc:
        print(f"triage export: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"export {args.user_key}: {len(document['sessions'])} sessions, {len(document['events'])} events "
          f"written to {args.out}", file=sys.stderr)
    return 0


def encoded(text: str) -> bytes:
    """Encoded whole before anything is written, so a failure cannot leave a half or empty file.

    A lone surrogate (stored before the webhooks replaced them) becomes its JSON escape ``\\udXXX``:
    it only ever sits inside a JSON string, so the document stays valid UTF-8 JSON that reads back
    to exactly what is stored, which an access request owes the person.
    """
    return text.encode("utf-8", "backslashreplace")
