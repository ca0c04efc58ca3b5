"""The shipped example FAQ, as a content editor sees it: phrasings typed the way customers type them."""

from pathlib import Path

import pytest

from triage.content import load_content
from triage.faq.index import FaqIndex

REPO = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    content, problems = load_content(REPO)
    assert content is not None, problems
    return content.faq


def one_space_merged(text: str) -> list[str]:
    """The phrasing with each of its spaces left out in turn (사이즈가 안맞아요, 내정보 변경)."""
    words = text.split()
    return [" ".join(words[:i] + [words[i] + words[i + 1]] + words[i + 2:]) for i in range(len(words) - 1)]


def outcome(index: FaqIndex, query: str) -> tuple[str, str | None]:
    decision = index.decide(query)
    return decision.kind, decision.candidates[0].entry_id if decision.candidates else None


def test_a_phrasing_missing_one_space_is_answered_whenever_the_phrasing_is(index):
    answered = [(text, entry.id) for entry in index.entries.values() for text in (entry.q, *entry.alt)
                if outcome(index, text) == ("answer", entry.id)]
    merged = [(query, entry_id) for text, entry_id in answered for query in one_space_merged(text)]
    asked_back = [query for query, entry_id in merged if outcome(index, query) != ("answer", entry_id)]
    assert len(merged) > 900 and asked_back == []


@pytest.mark.parametrize(("query", "entry"), [
    ("사이즈가 안맞아요", "exchange-size"),
    ("내정보 변경", "member-info-change"),
    ("적립금 쓸수 있나요", "pay-points-use"),
])
def test_one_missing_space_still_gets_the_answer(index, query, entry):
    assert outcome(index, query) == ("answer", entry)


@pytest.mark.parametrize("query", [
    "취소 안 되나요",  # the auto-cancel entry negates 하 (취소 안 했는데), not 되
    "쿠폰 번호 잃어버렸어요",  # 번호 is part of 비밀번호, but 쿠폰 is nowhere in the password entry
    "반품 안 할게요",  # the return entries negate 되 (반품 안 돼요), not 하
    "반품 신청 취소하고 싶어요",  # the return entry never speaks of 취소
    "탈퇴 안 할게요",  # the withdrawal entry never negates
])
def test_a_query_the_best_entry_only_partly_speaks_to_is_not_answered_with_it(index, query):
    best = index.match(query)[0].entry_id
    assert outcome(index, query) != ("answer", best)
