"""Eval files and the figures computed from them."""

from pathlib import Path

from triage.faq.evaluate import evaluate, load_cases, parse_csv, parse_rows
from triage.faq.index import FaqIndex
from triage.faq.loader import load_faq
from triage.settings import FaqSettings
from triage.yamlmarks import parse_yaml

ROOT = Path(__file__).parent.parent / "fixtures" / "faq_small"


def _index() -> FaqIndex:
    entries, synonyms, _ = load_faq(ROOT / "faq", ROOT)
    return FaqIndex(entries, FaqSettings(), synonyms)


def test_csv_cases_keep_extra_columns_as_labels():
    cases, problems = load_cases(ROOT / "eval.csv")
    assert problems == []
    assert [(c.query, c.expect, dict(c.labels), c.line) for c in cases][0] == \
        ("택배 언제와요", "delivery-when", {"kind": "synonym"}, 2)


def test_bad_rows_are_problems_with_lines():
    data, _ = parse_yaml("- {query: 배송}\n- 그냥 글\n- {expect: none}\n", "e.yaml")
    _, problems = parse_rows(data, "e.yaml")
    assert [str(p) for p in problems] == [
        'e.yaml:1: each eval case needs "expect": an FAQ id or none',
        "e.yaml:2: each eval case must be a mapping {query, expect}",
        'e.yaml:3: each eval case needs a "query"',
    ]
    assert parse_csv("question,answer\n", "e.csv")[1][0].message.startswith("the CSV header")


def test_figures_count_answers_suggestions_and_refusals():
    data, _ = parse_yaml(
        "- {query: 택배 언제와요, expect: delivery-when, kind: a}\n"
        "- {query: 택배 언제와요, expect: delivery-fee, kind: a}\n"
        "- {query: 환율 알려주세요, expect: none, kind: b}\n"
        "- {query: 환불 계좌 바꾸고 싶어, expect: refund-strict, kind: b}\n", "e.yaml")
    cases, _ = parse_rows(data, "e.yaml")
    report = evaluate(_index(), cases)
    assert (report.overall.n, report.overall.top1_accuracy, report.overall.wrong_answer_rate,
            report.overall.did_you_mean_rate, report.overall.answered_right_rate) == (4, 0.75, 0.25, 0.25, 0.5)
    assert report.breakdowns["kind"]["a"].wrong_answer_rate == 0.5
    assert [o.case.expect for o in report.failures] == ["delivery-fee"]
