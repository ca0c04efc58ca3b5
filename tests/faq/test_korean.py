"""Each normalisation step, pinned with the Korean it exists for."""

import pytest
from rapidfuzz import fuzz

from triage.faq import korean


def test_fold_undoes_width_case_and_punctuation():
    assert korean.fold("ＶＩＰ　등급？！") == "vip 등급"
    assert korean.fold("  배송   조회...  ") == "배송 조회"


def test_fold_keeps_initial_consonants_as_compatibility_jamo():
    assert korean.fold("ㅂㅅㅈㅎ") == "ㅂㅅㅈㅎ"


def test_compact_ignores_spacing():
    assert korean.compact("배 송 조 회") == korean.compact("배송조회") == "배송조회"


def test_strip_particles_removes_particles_and_endings():
    assert korean.strip_particles("배송은 언제 되나요?") == "배송 언제 되"
    assert korean.strip_particles("비밀번호를 잊어버렸어요") == "비밀번호 잊어버렸"
    assert korean.strip_particles("취소할까요") == "취소"


def test_strip_particles_leaves_short_stems_alone():
    assert korean.strip_particles("포도") == "포도"
    assert korean.strip_particles("가나") == "가나"


def test_jamo_uses_compatibility_jamo_and_splits_compounds():
    assert korean.jamo("환불") == "ㅎㅗㅏㄴㅂㅜㄹ"
    assert korean.jamo("닭") == "ㄷㅏㄹㄱ"


def test_jamo_distance_prefers_typos_over_different_words():
    typo = fuzz.ratio(korean.jamo("배숑"), korean.jamo("배송"))
    assert typo > fuzz.ratio("배숑", "배송")


def test_chosung_extracts_initials():
    assert korean.chosung("배송 조회!") == "ㅂㅅㅈㅎ"


def test_chosung_query_detection():
    assert korean.is_chosung_query("ㅂㅅㅈㅎ")
    assert korean.is_chosung_query("ㅂㅅ ㅈㅎ")
    assert not korean.is_chosung_query("배송조회")
    assert not korean.is_chosung_query("ㅂ")


def test_keyboard_conversion_both_ways():
    assert korean.from_keyboard("qothd") == "배송"
    assert korean.to_keyboard("배송") == "qothd"
    assert korean.from_keyboard("ghksqnf djswp ehlskdy") == "환불 언제 되나요"
    assert korean.from_keyboard(korean.to_keyboard("닭값 얹어")) == "닭값 얹어"


def test_wrong_keyboard_detection_keeps_real_english():
    assert korean.is_wrong_keyboard("qothdwhghl")
    assert not korean.is_wrong_keyboard("hello")
    assert not korean.is_wrong_keyboard("refund")
    assert not korean.is_wrong_keyboard("배송")


def test_synonyms_rewrite_to_the_canonical_word_longest_first():
    table = korean.synonym_table({"환불": ["반품금액"], "반품": ["리턴"], "배송": ["택배"]})
    assert korean.apply_synonyms("반품금액언제", table) == "환불언제"
    assert korean.apply_synonyms("택배비", table) == "배송비"


def test_canonical_forms_agree_across_spacing_particles_and_synonyms():
    table = korean.synonym_table({"배송": ["택배"]})
    assert korean.canonical("택배는 언제 와요?", table) == korean.canonical("배송언제 와요", table)


def test_must_not_match_pairs_stay_apart():
    assert korean.canonical("배송") != korean.canonical("배상")
    assert korean.canonical("환불") != korean.canonical("환율")
    assert korean.chosung("환불") != korean.chosung("환율")


def test_terms_drop_filler_endings_and_verb_tails():
    assert korean.terms("혹시 주문 취소 방법 좀 알려주세요") == ("주문", "취소")
    assert korean.terms("반품하고 싶어요") == ("반품",)
    assert korean.terms("앱에서 주문이 안 돼요") == ("앱", "주문", "안")
    assert korean.terms("배송 언제쯤 받을 수 있어요") == ("배송", "언제", "받을")


def test_terms_apply_synonyms_to_whole_words():
    table = korean.synonym_table({"배송": ["택배"], "상품": ["물건"]})
    assert korean.terms("택배가 안 와요", table) == ("배송", "안", "와")
    assert korean.terms("물건이 안 왔어요", table) == ("상품", "안", "왔")


def test_terms_of_pure_filler_are_empty():
    assert korean.terms("어떻게 하는 방법 알려주세요") == ()


def test_segment_splits_run_together_words_into_known_words_only():
    known = {"배송", "기간", "언제", "조회"}
    assert korean.segment("배송기간", known) == ("배송", "기간")
    assert korean.segment("배송이언제", known) == ("배송", "언제")
    assert korean.segment("로켓배송", known) == ("로켓배송",)
    assert korean.segment("배상", known) == ("배상",)


def test_segment_drops_filler_between_known_words_but_prefers_known_words():
    known = {"출고", "후", "취소", "반품", "수거", "언제"}
    assert korean.segment("출고후취소가능", known) == ("출고", "후", "취소")
    assert korean.segment("반품수거언제", known) == ("반품", "수거", "언제")
    assert korean.segment("가능취소", known) == ("가능취소",)


@pytest.mark.parametrize(("text", "negated"), [
    ("취소가 안 돼요", {"안되"}),
    ("내가 취소 안 했는데 취소됨", {"안하"}),
    ("탈퇴 안 할게요", {"안하"}),
    ("아직 안 왔어요", {"안오"}),
    ("택배가 안와요", {"안오"}),
    ("물건을 못 받았어요", {"못바"}),
    ("배송 언제 와요", set()),
    ("안돼요", {"안되"}),
    ("입금확인 안됨", {"안되"}),
    ("출고가 안되고 있어요", {"안되"}),
    ("제가 취소 안했는데 취소됐어요", {"안하"}),
    ("주문 안 해도 돼요", {"안하"}),
    ("색이 안 변해요", {"안벼"}),
    ("배송 주소 안 바꿔도 돼요", {"안바"}),
])
def test_negated_names_the_verb_a_negation_applies_to_whatever_its_tense_or_spacing(text, negated):
    assert korean.negated(text) == negated


@pytest.mark.parametrize("text", [
    "배송 며칠 안에 와요",
    "반품 며칠 안에서 해야 돼요",
    "주문 취소 안내 받았어요",
    "안내문자 왔어요",
    "안녕하세요",
    "안전하게 포장되나요",
    "안심번호 되나요",
    "안쪽 사이즈",
    "안쪽이요",
    "며칠 안 쪽으로 와요",
])
def test_words_that_only_start_with_a_negator_negate_nothing(text):
    assert korean.negated(text) == frozenset()
