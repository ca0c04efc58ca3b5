"""``triage replay --flows DIR --faq DIR``: what past sessions would have done with candidate content.

It changes nothing: the store is only read, and the candidate is loaded beside the live
content, so an editor can try a change on real traffic before deploying it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TextIO

from triage.analytics.history import HistoryError, add_arguments, fail, open_history, period, recorded, site_settings
from triage.analytics.metrics import ratio
from triage.analytics.replay import Comparison, compare
from triage.content import load_content
from triage.problems import errors

BAR = 30


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("replay", parents=[common],
                            help="re-run past sessions through candidate flows and FAQ, offline")
    parser.add_argument("--flows", type=Path, required=True, metavar="DIR", help="the candidate flows")
    parser.add_argument("--faq", type=Path, required=True, metavar="DIR", help="the candidate FAQ")
    add_arguments(parser, since="30d")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument("--progress", action="store_true",
                        help="show the progress bar even when stderr is not a terminal")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for option, path in (("--flows", args.flows), ("--faq", args.faq)):
        if not path.is_dir():
            return fail(HistoryError(f"{path}: {option} must be a folder"))
    content, problems = load_content(args.root, flow_paths=[args.flows], faq_dir=args.faq)
    if content is None:
        print("\n".join(str(p) for p in errors(problems)), file=sys.stderr)
        print("the candidate content has errors; fix them (triage validate) before replaying", file=sys.stderr)
        return 1
    try:
        settings = site_settings(args.root)
        span = period(args, settings, datetime.now(timezone.utc))
        with open_history(args, settings) as store:
            sessions, skipped = recorded(store, span)
    except HistoryError as exc:
        return fail(exc)
    show = args.progress or sys.stderr.isatty()
    result = compare(content, sessions, progress_bar(sys.stderr) if show else lambda done, total: None)
    if args.json:
        print(json.dumps({"period": span.label, "skipped_without_transcript": skipped, **as_json(result)},
                         ensure_ascii=False, indent=2))
    else:
        print("\n".join(summary(result, span.label, skipped)))
    return 0


def progress_bar(stream: TextIO) -> Callable[[int, int], None]:
    """Redraws about a hundred times per run at most, so the bar never costs more than the replay."""
    def draw(done: int, total: int) -> None:
        if done != total and done % max(total // 100, 1):
            return
        filled = BAR * done // max(total, 1)
        stream.write(f"\rreplaying [{'#' * filled}{'.' * (BAR - filled)}] {done}/{total}")
        if done == total:
            stream.write("\n")
        stream.flush()

    return draw


def as_json(result: Comparison) -> dict:
    return {"sessions": result.sessions,
            "actual_contained": result.actual_contained, "predicted_contained": result.predicted_contained,
            "gained": result.gained, "different_paths": result.different_paths,
            "answer_changes": [asdict(c) for c in result.answer_changes],
            "new_dead_ends": [asdict(d) for d in result.new_dead_ends]}


def _pct(part: int, whole: int) -> str:
    rate = ratio(part, whole)
    return "–" if rate is None else f"{rate * 100:.1f}%"


def summary(result: Comparison, span: str, skipped: int) -> list[str]:
    n = result.sessions
    lines = [f"triage replay · {span}",
             f"replayed {n} sessions" + (f" ({skipped} without a transcript skipped)" if skipped else ""),
             f"containment: actual {result.actual_contained} ({_pct(result.actual_contained, n)}) -> "
             f"predicted {result.predicted_contained} ({_pct(result.predicted_contained, n)}), {result.gained:+d}",
             f"different path: {result.different_paths} sessions", "", "FAQ answers that change:"]
    lines += [f"  {c.old} -> {c.new}: {c.count}  e.g. " + ", ".join(f'"{q}"' for q in c.examples)
              for c in result.answer_changes] or ["  none"]
    lines += ["", "new dead ends:"]
    lines += [f"  {d.node} ({d.kind}): {d.count} sessions, e.g. {', '.join(d.sessions)}"
              for d in result.new_dead_ends] or ["  none"]
    return lines
