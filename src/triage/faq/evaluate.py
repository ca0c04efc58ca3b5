"""Measuring the matcher on labelled queries, so tuning is judged by figures, not by feel.

Top-1 accuracy counts a query as right when the bot's first offer is the expected entry (an
answer, or the first "혹시 이 질문인가요?" button) and, for ``none`` queries, when the bot said it
does not know. The wrong-answer rate counts what hurts customers: answering with the wrong
entry, or answering a question it should have refused.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from triage.faq.model import Decision, FaqMatcher
from triage.problems import Problem
from triage.yamlmarks import line_of, read_yaml

NONE = "none"


@dataclass(frozen=True)
class EvalCase:
    query: str
    expect: str
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra columns such as ``kind``; figures are broken down by each."""
    line: int = 0


@dataclass(frozen=True)
class Outcome:
    case: EvalCase
    decision: Decision

    @property
    def offered(self) -> str | None:
        return self.decision.candidates[0].entry_id if self.decision.candidates else None

    @property
    def correct(self) -> bool:
        if self.case.expect == NONE:
            return self.decision.kind == "not_found"
        return self.decision.kind != "not_found" and self.offered == self.case.expect

    @property
    def wrong_answer(self) -> bool:
        return self.decision.kind == "answer" and self.decision.entry_id != self.case.expect

    @property
    def suggested(self) -> bool:
        return self.decision.kind == "suggest"


@dataclass(frozen=True)
class Figures:
    n: int
    top1_accuracy: float
    wrong_answer_rate: float
    did_you_mean_rate: float
    answered_right_rate: float
    """Answered outright with the expected entry (refused, for none queries): the strict figure."""


def figures(outcomes: Sequence[Outcome]) -> Figures:
    n = len(outcomes)

    def rate(count: int) -> float:
        return round(count / n, 4) if n else 0.0

    answered_right = sum(o.decision.entry_id == o.case.expect or (o.case.expect == NONE and o.decision.kind == "not_found")
                         for o in outcomes)
    return Figures(n, rate(sum(o.correct for o in outcomes)), rate(sum(o.wrong_answer for o in outcomes)),
                   rate(sum(o.suggested for o in outcomes)), rate(answered_right))


@dataclass(frozen=True)
class Report:
    overall: Figures
    breakdowns: Mapping[str, Mapping[str, Figures]]
    """Label name (``kind``) -> label value (``typo``) -> figures for those queries."""
    outcomes: tuple[Outcome, ...]

    @property
    def failures(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not o.correct)


def evaluate(matcher: FaqMatcher, cases: Iterable[EvalCase]) -> Report:
    outcomes = tuple(Outcome(case, matcher.decide(case.query)) for case in cases)
    groups: dict[str, dict[str, list[Outcome]]] = {}
    for outcome in outcomes:
        for label, value in outcome.case.labels.items():
            groups.setdefault(label, {}).setdefault(value, []).append(outcome)
    breakdowns = {label: {value: figures(group) for value, group in sorted(values.items())}
                  for label, values in groups.items()}
    return Report(figures(outcomes), breakdowns, outcomes)


# ---- reading eval files --------------------------------------------------------------------


def _case(row: Mapping, line: int, shown: str) -> tuple[EvalCase | None, list[Problem]]:
    query, expect = row.get("query"), row.get("expect")
    if not isinstance(query, (str, int)) or not str(query).strip():
        return None, [Problem(shown, line, 'each eval case needs a "query"')]
    if not isinstance(expect, (str, int)) or not str(expect).strip():
        return None, [Problem(shown, line, f'each eval case needs "expect": an FAQ id or {NONE}')]
    labels = {str(k): str(v) for k, v in row.items() if k not in ("query", "expect") and v is not None}
    return EvalCase(str(query), str(expect).strip(), labels, line), []


def parse_csv(text: str, shown: str) -> tuple[list[EvalCase], list[Problem]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"query", "expect"} <= set(reader.fieldnames):
        return [], [Problem(shown, 1, "the CSV header must name the columns query and expect")]
    cases, problems = [], []
    for row in reader:
        case, more = _case(row, reader.line_num, shown)
        problems += more
        if case is not None:
            cases.append(case)
    return cases, problems


def parse_rows(data: object, shown: str) -> tuple[list[EvalCase], list[Problem]]:
    if not isinstance(data, list):
        return [], [Problem(shown, getattr(data, "line", 1) or 1, "an eval file must be a list of {query, expect}")]
    cases, problems = [], []
    for i, row in enumerate(data):
        if not isinstance(row, dict):
            problems.append(Problem(shown, line_of(data, i), "each eval case must be a mapping {query, expect}"))
            continue
        case, more = _case(row, line_of(data, i), shown)
        problems += more
        if case is not None:
            cases.append(case)
    return cases, problems


def load_cases(path: Path, shown: str | None = None) -> tuple[list[EvalCase], list[Problem]]:
    """Read a YAML list or a CSV file (by its .csv suffix) of eval cases."""
    shown = shown or str(path)
    if path.suffix.lower() != ".csv":
        data, problems = read_yaml(path, shown)
        return ([], problems) if data is None else parse_rows(data, shown)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Problem(shown, 1, f"cannot read the CSV file: {exc}")]
    return parse_csv(text, shown)
