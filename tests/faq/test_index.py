"""The matcher on a small real FAQ: routes, scoping, refusal and the three bands."""

from pathlib import Path

import pytest

from triage.faq.index import FaqIndex
from triage.faq.loader import load_faq
from triage.faq.model import FaqEntry
from triage.flows.templates import Text
from triage.settings import FaqSettings

ROOT = Path(__file__).parent.parent / "fixtures" / "faq_small"


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    entries, synonyms, _ = load_faq(ROOT / "faq", ROOT)
    return FaqIndex(entries, FaqSettings(), synonyms)


@pytest.mark.parametrize(("query", "variant", "route"), [
    ("배송비는 얼마인가요?", "배송비는 얼마인가요?", "exact"),
    ("배송비는얼마인가요", "배송비는 얼마인가요?", "spacing"),
    ("배송비가 얼마인가요", "배송비는 얼마인가요?", "particles"),
    ("택배 언제 와요", "배송 언제 와요", "synonym"),
    ("ㅂㅅㅈㅎ", "배송조회", "chosung"),
    ("qothdwhghl", "배송조회", "keyboard"),
    ("배숑비는 얼마인가요", "배송비는 얼마인가요?", "jamo"),
])
def test_each_route_finds_the_variant_and_says_how(index, query, variant, route):
    top = index.match(query)[0]
    assert (top.variant, top.route) == (variant, route)


def test_candidates_are_one_per_entry_best_first(index):
    candidates = index.match("배송 언제 와요")
    ids = [c.entry_id for c in candidates]
    assert ids[0] == "delivery-when" and len(ids) == len(set(ids))
    assert [c.score for c in candidates] == sorted((c.score for c in candidates), reverse=True)


def test_clear_match_is_answered(index):
    decision = index.decide("택배 언제와요")
    assert (decision.kind, decision.entry_id) == ("answer", "delivery-when")


@pytest.mark.parametrize("query", ["환율 알려주세요", "오늘 날씨 어때요", "ㅋㅋㅋ", "ㅇㅇㅇ", "", "   ", "hello"])
def test_off_topic_and_noise_are_not_found(index, query):
    assert index.decide(query).kind == "not_found"


def test_must_not_match_pairs(index):
    assert all(c.entry_id != "refund-when" or c.score < 62 for c in index.match("환율"))
    assert index.decide("배상 청구").kind != "answer"


def test_keywords_must_appear_to_answer(index):
    assert index.decide("반품금액 언제 되나요").entry_id == "refund-when"
    assert index.decide("언제 되나요").kind != "answer"


def test_entry_threshold_overrides_the_site_threshold(index):
    decision = index.decide("환불 계좌 바꾸고 싶어")
    assert decision.kind == "suggest" and decision.candidates[0].entry_id == "refund-strict"


def test_category_scope(index):
    assert {c.entry_id for c in index.match("배송 언제 와요", category="취소/환불")} <= {"refund-when", "refund-strict"}
    assert index.match("배송 언제 와요", category="없는 분류") == []


def test_inactive_entries_are_never_matched(index):
    assert "old-event" not in [c.entry_id for c in index.match("추석 이벤트 쿠폰")]


def test_hostile_input_never_raises(index):
    for query in ["\x00\ufeff", "{{ 7*7 }}", "🙂" * 500, "ㄱ" * 2000, "a" * 5000, "\u1100\u1161"]:
        index.decide(query)


def test_a_shared_subject_outweighs_shared_filler_in_the_shortlist():
    wishes = [FaqEntry(id=f"wish-{n}", category="기타", q=f"{thing}{n} 하고 싶어요", a=Text("답변"))
              for n, thing in enumerate(["포장", "선물", "가입", "탈퇴", "결제", "교환"] * 6)]
    track = FaqEntry(id="delivery-track", category="배송", q="배송조회", a=Text("주문내역에서 보세요"))
    index = FaqIndex([*wishes, track], FaqSettings(), {"배송": ["택배"]})
    assert index.match("택배 조회하고 싶어요")[0].entry_id == "delivery-track"


@pytest.mark.parametrize("query", ["11번가 배송 언제 와요", "배민에서 환불은 언제 되나요?"])
def test_questions_about_another_shop_are_refused_however_well_the_words_match(index, query):
    assert index.match(query)[0].score >= FaqSettings().suggest
    assert index.decide(query).kind == "not_found"
