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
    text = json.dumps(document, ensure_ascii=False, indent=2)
    if args.out is None:
        print(text)
        return 0
    try:
        args.out.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        print(f"triage export: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"export {args.user_key}: {len(document['sessions'])} sessions, {len(document['events'])} events "
          f"written to {args.out}", file=sys.stderr)
    return 0
