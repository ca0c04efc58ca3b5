"""Long texts become bubbles of at most 1,000 characters, cut where a reader expects."""

from __future__ import annotations

from hypothesis import given, strategies as st

from triage.flows.textsplit import split_text


def test_short_text_is_one_bubble():
    assert split_text("안녕하세요.") == ["안녕하세요."]


def test_blank_text_is_no_bubble():
    assert split_text("  \n ") == []


def test_cuts_at_a_line_end_first():
    text = "가" * 60 + "\n" + "나" * 30 + ". " + "다" * 20
    assert split_text(text, limit=100) == ["가" * 60, "나" * 30 + ". " + "다" * 20]


def test_cuts_at_a_sentence_end_when_no_line_end_fits():
    text = "배송은 내일 출발해요. " * 10
    bubbles = split_text(text, limit=50)
    assert all(b.endswith("출발해요.") and len(b) <= 50 for b in bubbles)
    assert " ".join(bubbles) == text.strip()


def test_cuts_at_a_space_when_there_is_no_sentence_end():
    words = ["상품"] * 40
    bubbles = split_text(" ".join(words), limit=25)
    assert all(len(b) <= 25 for b in bubbles)
    assert " ".join(bubbles).split() == words


def test_only_a_single_token_longer_than_the_limit_is_cut_hard():
    assert split_text("a" * 25, limit=10) == ["a" * 10, "a" * 10, "a" * 5]


words = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=" \n\t\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029"), min_size=1, max_size=12)


@given(st.lists(words, min_size=1, max_size=200), st.integers(min_value=12, max_value=120))
def test_bubbles_fit_and_no_word_is_split(tokens, limit):
    text = " ".join(tokens)
    bubbles = split_text(text, limit)
    assert all(0 < len(b) <= limit for b in bubbles)
    assert " ".join(bubbles).split() == text.split()
