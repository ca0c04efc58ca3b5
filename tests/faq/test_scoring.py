"""Word matching, verb forms, routes and 초성 scores, on hand-made phrasings."""

import pytest
from hypothesis import given, settings, strategies as st

from triage.faq import korean
from triage.faq.scoring import (LENIENCY, RECALL_BETA, TermMatcher, Variant, chosung_score, explain, form, inflects,
                                 term_similarity, text_score)

TABLE = korean.synonym_table({"배송": ["택배"]})


def _variant(text: str) -> Variant:
    phrasing = form(text, TABLE)
    return Variant("e", phrasing, (1.0,) * len(phrasing.terms))


def _score(query: str, phrasing: str) -> float:
    asked = form(query, TABLE)
    return text_score(asked, _variant(phrasing), TermMatcher(asked.terms, lambda _: 1.0))


def test_verb_forms_of_one_stem_match_but_other_words_do_not():
    assert inflects("받", "받을") and inflects("오", "왔") and inflects("사", "샀")
    assert not inflects("사", "사이즈") and not inflects("배", "배송") and not inflects("가", "가입")


def test_term_similarity_of_typos_compounds_and_must_not_match_pairs():
    assert term_similarity("배송", "배송") == 1.0
    assert 0.75 <= term_similarity("배숑", "배송") < 1.0
    assert 0.5 < term_similarity("배송", "배송비") < 1.0
    assert term_similarity("환율", "환불") == 0.0


def test_filler_does_not_dilute_the_match():
    assert _score("혹시 주문 취소 방법 좀 알려주세요", "주문 취소") >= 98


def test_an_unknown_word_lowers_the_score():
    assert _score("배민 주문 취소", "주문 취소") < _score("주문 취소 해주세요", "주문 취소")


def test_routes_explain_how_a_phrasing_matched():
    def route(query: str, phrasing: str) -> str:
        asked = form(query, TABLE)
        return explain(asked, _variant(phrasing), TermMatcher(asked.terms, lambda _: 1.0))

    assert route("배송 조회", "배송 조회") == "exact"
    assert route("배송조회", "배송 조회") == "spacing"
    assert route("택배 언제 와요", "배송 언제 와요") == "synonym"
    assert route("배숑 언제 와요", "배송 언제 와요") == "jamo"


def test_chosung_whole_by_words_and_as_a_prefix():
    phrasing = form("택배사가 어디예요")
    assert chosung_score("ㅌㅂㅅㄱㅇㄷㅇㅇ", ["ㅌㅂㅅㄱㅇㄷㅇㅇ"], phrasing) == 100
    assert chosung_score("ㅌㅂㅅㅇㄷ", ["ㅌㅂㅅ", "ㅇㄷ"], phrasing) == 100
    assert 88 <= chosung_score("ㅌㅂㅅ", ["ㅌㅂㅅ"], phrasing) < 100
    assert chosung_score("ㅎㅇ", ["ㅎㅇ"], form("회원 가입")) < 88


WORDS = ("배송", "배숑", "배송비", "조회", "취소", "춰소", "환불", "환율", "받", "받을", "왔", "오", "교환", "사이즈", "주문", "a", "")
TERMS = st.lists(st.sampled_from(WORDS), max_size=5).map(tuple)
WEIGHTS = st.floats(0.1, 5.0)


@given(TERMS, TERMS, st.data())
@settings(max_examples=200, deadline=None)
def test_word_scores_are_the_weighted_best_pairs_taken_word_by_word(asked: tuple[str, ...], phrasing: tuple[str, ...],
                                                                    data: st.DataObject) -> None:
    """The matcher looks pairs up in per-word caches, column by column; the figures must be those of
    the plain definition: every pair compared, the best partner of each word on either side weighted."""
    query_weights = data.draw(st.lists(WEIGHTS, min_size=len(asked), max_size=len(asked)))
    weights = data.draw(st.lists(WEIGHTS, min_size=len(phrasing), max_size=len(phrasing)))
    matcher = TermMatcher(asked, dict(zip(asked, query_weights)).__getitem__)
    if not asked or not phrasing:
        assert matcher.recall(phrasing) == matcher.score(phrasing, weights) == 0.0
        return
    pairs = [[term_similarity(q, t) for t in phrasing] for q in asked]
    recall = sum(w * max(row) for w, row in zip(matcher.weights, pairs)) / matcher.total
    precision = sum(w * max(col) for w, col in zip(weights, zip(*pairs))) / sum(weights)
    assert matcher.recall(phrasing) == pytest.approx(recall, abs=1e-12)
    beta = RECALL_BETA ** 2
    expected = 0.0 if not recall or not precision else \
        100 * ((1 + beta) * precision * recall / (beta * precision + recall)) ** LENIENCY
    assert matcher.score(phrasing, weights) == pytest.approx(expected, abs=1e-9)


def test_a_phrasing_without_content_words_needs_no_typo_route():
    from triage.faq.scoring import TermMatcher

    assert TermMatcher(("배송",), lambda term: 1.0).needs_typo(()) is False


def test_unmatched_words_are_those_no_compound_form_or_typo_of_the_phrasing_covers():
    words = TermMatcher(("환불", "배송비", "얼마"), lambda _: 1.0)
    assert words.unmatched(("배송비", "얼마")) == ("환불",)
    assert words.unmatched(("반품", "배송", "얼마")) == ("환불",)
    assert words.unmatched(()) == ("환불", "배송비", "얼마")
