"""``triage test``: run the editors' conversation tests against the site's flows."""

from __future__ import annotations

import argparse
from pathlib import Path

from triage.commands.chat import load_site
from triage.flows.conversation_test import load_tests, report, run_tests, summary


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("test", parents=[common], help="run conversation tests (tests/conversations/)")
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                        help="test files or directories (default: the tests path in triage.yaml)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    content = load_site(args.root)
    if content is None:
        return 1
    tests, problems = load_tests(args.paths or [content.settings.path("tests")], args.root)
    outcomes = run_tests(content, tests)
    for outcome in outcomes:
        print("\n".join(report(outcome)))
    if problems:
        print("problems in the test files (those tests did not run):")
        print("\n".join(f"  {problem}" for problem in problems))
    print(summary(outcomes))
    return 0 if not problems and all(o.passed for o in outcomes) else 1
