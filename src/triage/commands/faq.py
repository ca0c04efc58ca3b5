"""``triage faq match QUERY`` and ``triage faq eval FILE``: the FAQ matcher from the shell.

Editors use ``match`` to see why a question did or did not hit, and ``eval`` to see whether a
change to faq/ or to the thresholds made things better or worse for a whole set of queries.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from triage.faq.evaluate import Figures, Outcome, Report, evaluate, load_cases
from triage.faq.index import FaqIndex
from triage.faq.loader import load_faq
from triage.flows.loader import display_path
from triage.problems import Problem, errors
from triage.settings import load_settings


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("faq", help="try the FAQ matcher on one question, or measure it on many")
    actions = parser.add_subparsers(dest="faq_command", required=True, metavar="ACTION")
    match = actions.add_parser("match", parents=[common], help="the top 5 FAQ entries for a question, with why")
    match.add_argument("query", help='the question as a customer would type it, e.g. "택배 언제와요"')
    match.add_argument("--category", help="only consider entries of this category")
    match.add_argument("--json", action="store_true", help="print machine-readable results")
    match.set_defaults(func=run_match)
    ev = actions.add_parser("eval", parents=[common], help="accuracy on a YAML list (or CSV) of {query, expect}")
    ev.add_argument("file", type=Path, help="eval cases; expect is an FAQ id or none")
    ev.add_argument("--json", action="store_true", help="print machine-readable figures")
    ev.set_defaults(func=run_eval)


def _report(problems: list[Problem]) -> bool:
    """Print errors to stderr; True when there were any, so the command stops."""
    failed = errors(problems)
    for problem in failed:
        print(problem, file=sys.stderr)
    return bool(failed)


def load_index(root: Path) -> tuple[FaqIndex | None, list[Problem]]:
    settings, problems = load_settings(root)
    entries, synonyms, faq_problems = load_faq(settings.path("faq"), root)
    problems += faq_problems
    if errors(problems):
        return None, problems
    return FaqIndex(entries, settings.faq, synonyms), problems


def run_match(args: argparse.Namespace) -> int:
    index, problems = load_index(args.root)
    if _report(problems) or index is None:
        return 1
    candidates = index.match(args.query, args.category)
    decision = index.decide(args.query, args.category)
    if args.json:
        print(json.dumps({"query": args.query, "decision": decision.kind, "entry_id": decision.entry_id,
                          "suggested": [c.entry_id for c in decision.candidates] if decision.kind == "suggest" else [],
                          "candidates": [asdict(c) for c in candidates]}, ensure_ascii=False, indent=2))
        return 0
    for rank, candidate in enumerate(candidates, 1):
        print(f"{rank}. {candidate.score:5.1f}  {candidate.entry_id:<28} {candidate.route:<9} {candidate.variant}")
    if not candidates:
        print("no FAQ entry is even close")
    shown = ", ".join(c.entry_id for c in decision.candidates)
    print(f"decision: {decision.kind}" + (f" ({shown})" if shown else ""))
    return 0


def _row(name: str, f: Figures) -> str:
    return (f"{name:<14} {f.n:>5} {f.top1_accuracy:>8.1%} {f.wrong_answer_rate:>8.1%} "
            f"{f.did_you_mean_rate:>8.1%} {f.answered_right_rate:>8.1%}")


def _failure(outcome: Outcome) -> dict[str, object]:
    case, decision = outcome.case, outcome.decision
    return {"line": case.line, "query": case.query, "expect": case.expect, "decision": decision.kind,
            "got": [c.entry_id for c in decision.candidates], **case.labels}


def as_json(report: Report) -> dict[str, object]:
    data: dict[str, object] = asdict(report.overall)
    for label, values in report.breakdowns.items():
        data[f"by_{label}"] = {value: asdict(f) for value, f in values.items()}
    data.setdefault("by_kind", {})
    data["failures"] = [_failure(o) for o in report.failures]
    return data


def print_report(report: Report, shown: str) -> None:
    print(f"{'':<14} {'n':>5} {'top-1':>8} {'wrong':>8} {'did-you':>8} {'answered':>8}")
    print(_row("all", report.overall))
    for label, values in report.breakdowns.items():
        print(f"by {label}:")
        for value, f in values.items():
            print(_row(f"  {value}", f))
    if report.failures:
        print(f"\n{len(report.failures)} failures:")
    for outcome in report.failures:
        got = ", ".join(c.entry_id for c in outcome.decision.candidates) or "-"
        print(f"{shown}:{outcome.case.line}: {outcome.case.query!r} expected {outcome.case.expect}, "
              f"got {outcome.decision.kind} ({got})")


def run_eval(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"triage faq eval: {args.file} is not a file", file=sys.stderr)
        return 2
    index, problems = load_index(args.root)
    shown = display_path(args.file, None)
    cases, case_problems = load_cases(args.file, shown)
    if _report(problems + case_problems) or index is None:
        return 1
    unknown = sorted({c.expect for c in cases} - set(index.entries) - {"none"})
    if unknown:
        print(f"{shown}: expect names FAQ ids that do not exist: {', '.join(unknown)}", file=sys.stderr)
        return 1
    report = evaluate(index, cases)
    if args.json:
        print(json.dumps(as_json(report), ensure_ascii=False, indent=2))
    else:
        print_report(report, shown)
    return 0
