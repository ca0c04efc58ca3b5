"""``triage report``: how much the bot resolved and where it failed, from the store's events.

The terminal gets a compact table, ``--json`` the same figures for machines (keys in the
README), ``--html FILE`` one self-contained page with charts.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

from triage.analytics.history import HistoryError, add_arguments, fail, open_history, period, site_settings
from triage.analytics.html import NONE, page
from triage.analytics.metrics import Figures, Outcomes, Spread, figures, ratio, to_json
from triage.faq.loader import load_faq
from triage.flows.loader import load_flows
from triage.flows.model import End, FlowSet
from triage.settings import Settings

TOP = 10


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("report", parents=[common], help="figures on containment, handoffs, FAQ and drop-off")
    add_arguments(parser, since="7d")
    parser.add_argument("--html", type=Path, metavar="FILE", help="also write a self-contained HTML report here")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = site_settings(args.root)
        span = period(args, settings, datetime.now(timezone.utc))
        with open_history(args, settings) as store:
            events = store.events(span.since, span.until)
    except HistoryError as exc:
        return fail(exc)
    flows = _flows(settings)
    end_nodes = frozenset(n for n, node in flows.nodes.items() if isinstance(node, End)) if flows else frozenset()
    fig = figures(events, settings.tz, end_nodes, _faq_categories(settings))
    if args.html is not None:
        title = f"{settings.channel.name or 'triage'} 상담 리포트"
        try:
            args.html.write_bytes(encoded(page(fig, flows, title, span.label)))
        except OSError as exc:
            return fail(HistoryError(f"{args.html}: cannot write the HTML report ({exc.strerror})"))
    if args.json:
        shown = json.dumps({"period": span.label, **to_json(fig)}, ensure_ascii=False, indent=2)
    else:
        shown = "\n".join(table(fig, span.label))
    print(encoded(shown).decode("utf-8"))
    return 0


def encoded(text: str) -> bytes:
    """UTF-8 with lone surrogates as "?": databases written before the webhook cleaned its text
    still hold them, and one such message must not cost the whole report (nor leave a half-written
    file, which is why the file is written from these finished bytes)."""
    return text.encode("utf-8", "replace")


def _flows(settings: Settings) -> FlowSet | None:
    """The current flows, for end nodes and the drawing; a report still works without them."""
    flows, _ = load_flows([settings.path("flows")], settings.entry_flow, settings.root)
    return flows


def _faq_categories(settings: Settings) -> dict[str, str]:
    """Entry id to category from the current FAQ files, for answer events recorded without
    their entry's category; an entry since removed leaves its session 미분류."""
    entries, _, _ = load_faq(settings.path("faq"), settings.root)
    return {entry.id: entry.category for entry in entries}


def _pct(part: int, whole: int) -> str:
    rate = ratio(part, whole)
    return NONE if rate is None else f"{rate * 100:.1f}%"


def _time(s: Spread) -> str:
    if s.median is None or s.p90 is None:
        return NONE
    return f"median {s.median:.1f}s · p90 {s.p90:.1f}s (n={s.count})"


def _outcome_row(o: Outcomes) -> str:
    return f"{o.resolved} / {o.handed} / {o.abandoned} / {o.open}  resolved {_pct(o.resolved, o.decided)}"


def _rows(title: str, rows: list[tuple[str, str]]) -> list[str]:
    if not rows:
        return ["", title, f"  {NONE}"]
    width = max(len(label) for label, _ in rows)
    return ["", title, *(f"  {label.ljust(width)}  {value}" for label, value in rows)]


def table(fig: Figures, span: str) -> list[str]:
    """The terminal view: the few lines an operator scans, the details in --html/--json."""
    o = fig.outcomes
    lines = [f"triage report · {span}"]
    lines += _rows("sessions", [
        ("sessions", str(fig.sessions)),
        ("ended or handed (rates below are of these)", str(o.decided)),
        ("resolved by the bot", f"{o.resolved}  {_pct(o.resolved, o.decided)}"),
        ("handed to people", f"{o.handed}  {_pct(o.handed, o.decided)}"),
        ("abandoned", f"{o.abandoned}  {_pct(o.abandoned, o.decided)}"),
        ("ended without an agent", f"{o.without_agent}  {_pct(o.without_agent, o.decided)}"),
        ("still open (not in the rates)", str(o.open))])
    lines += _rows("by category: resolved / handed / abandoned / open",
                   [(t.name, _outcome_row(t.outcomes)) for t in fig.by_category])
    lines += _rows("handoffs by reason", [(s.name, f"{s.count}  {_pct(s.count, s.total)}")
                                          for s in fig.handoffs_by_reason])
    q = fig.faq_queries
    lines += _rows("faq", [("queries", str(q)), ("answered", f"{fig.faq_answered}  {_pct(fig.faq_answered, q)}"),
                           ("did-you-mean accepted", f"{fig.faq_accepted}/{fig.faq_suggested}  "
                                                     f"{_pct(fig.faq_accepted, fig.faq_suggested)}"),
                           ("not found", f"{fig.faq_not_found}  {_pct(fig.faq_not_found, q)}")])
    lines += _rows("top unanswered", [(f"{c.label} ({c.count}회)", "") for c in fig.unanswered[:TOP]])
    lines += _rows("drop-off (last node)", [(node, str(count)) for node, count in fig.dropoff[:TOP]])
    lines += _rows("times", [("to handoff", _time(fig.time_to_handoff)), ("queue wait", _time(fig.queue_wait)),
                             ("handling", _time(fig.handling))])
    unmatched = dict(fig.extra_unmatched)
    lines += _rows("extra seen", [(value, f"{count}" + ("  (no route)" if value in unmatched else ""))
                                  for value, count in fig.extra_seen[:TOP]])
    return lines
