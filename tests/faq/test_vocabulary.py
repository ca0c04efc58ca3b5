"""Which words the FAQ knows, and how much each one says."""

from triage.faq.vocabulary import Vocabulary

ENTRIES = [("배송", "언제"), ("배송", "조회"), ("배송", "송장번호"), ("환불", "언제"), ("아이디", "찾기")]


def test_rare_words_weigh_more_than_common_ones_and_unseen_words_most():
    words = Vocabulary(ENTRIES)
    assert words.weight("송장번호") > words.weight("언제") > words.weight("배송")
    assert words.weight("쿠팡") > words.weight("송장번호")


def test_known_words_include_typos_verb_forms_and_answer_words():
    words = Vocabulary(ENTRIES, [("토스페이", "카카오페이")])
    assert words.knows("배숑") and words.knows("찾는") and words.knows("토스")
    assert not words.knows("환율") and not words.knows("쿠팡")


def test_unknown_share_counts_content_words_only():
    words = Vocabulary(ENTRIES)
    assert words.unknown_share(("쿠팡", "배송", "언제")) == 1 / 3
    assert words.unknown_share(("두", "1234")) == 0.0
