"""Word matching, verb forms, routes and 초성 scores, on hand-made phrasings."""

from triage.faq import korean
from triage.faq.scoring import TermMatcher, Variant, chosung_score, explain, form, inflects, term_similarity, text_score

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
