"""``triage validate [PATHS]``: every problem in the site's files, as ``file:line: message``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from triage.content import Content, load_content
from triage.problems import Problem, errors
from triage.settings import demo_token_warnings, load_settings, sender_key_warnings


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("validate", parents=[common],
                            help="check flows, FAQ and triage.yaml; exit 1 when there are errors")
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATHS",
                        help="flow files or directories (default: the flows directory named in triage.yaml)")
    parser.set_defaults(func=run)


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {plural or word + 's'}"


def summary(content: Content | None, problems: list[Problem]) -> str:
    """One closing line: what failed and where, or what was checked when nothing failed."""
    failed = len(errors(problems))
    warnings = len(problems) - failed
    if content is None or failed:
        files = len({p.path for p in problems})
        return f"{_count(failed, 'error')}, {_count(warnings, 'warning')} in {_count(files, 'file')}"
    flows = content.flows
    checked = (f"OK: {_count(len(flows.flows), 'flow')}, {_count(len(flows.nodes), 'node')}, "
               f"{_count(len(content.faq.entries), 'FAQ entry', 'FAQ entries')}")
    return checked + (f" ({_count(warnings, 'warning')})" if warnings else "")


def channel_warnings(root: Path) -> list[Problem]:
    """Only validate warns about the channel: it is the check before going live, while the simulator,
    the demo and the example site rightly run on the example key and the demo agent tokens. A site
    without triage.yaml is a sandbox on every default, the local simulator included, so it has
    nothing to warn about. A
    triage.yaml with errors gets those first: one that cannot be parsed reads as empty, and a
    "sender_key is missing" beside its syntax error would send the editor to the wrong line."""
    settings, problems = load_settings(root)
    sound = Path(settings.file).is_file() and not any(p.severity == "error" for p in problems)
    return [*sender_key_warnings(settings), *demo_token_warnings(settings)] if sound else []


def run(args: argparse.Namespace) -> int:
    if not args.root.is_dir():
        print(f"triage validate: --root {args.root} is not a directory", file=sys.stderr)
        return 2
    content, problems = load_content(args.root, args.paths or None)
    problems = sorted(problems + channel_warnings(args.root))
    for problem in problems:
        print(problem)
    print(summary(content, problems))
    return 1 if content is None else 0
