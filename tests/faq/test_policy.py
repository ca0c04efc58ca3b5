"""The three bands, on hand-made candidates."""

from triage.faq.model import Candidate
from triage.faq.policy import decide
from triage.settings import FaqSettings

SETTINGS = FaqSettings(answer=82, suggest=62, margin=4)


def _decide(*scores: float, answerable: bool = True, unknown: float = 0.0, thresholds=None):
    candidates = [Candidate(f"e{i}", s, f"q{i}", "fuzzy") for i, s in enumerate(scores)]
    return decide("질문", candidates, SETTINGS, thresholds or {}, lambda _: answerable, unknown)


def test_high_and_clear_is_an_answer():
    decision = _decide(90, 70)
    assert (decision.kind, decision.entry_id) == ("answer", "e0")


def test_too_close_to_call_is_a_suggestion_of_up_to_three():
    decision = _decide(90, 88, 80, 75, 70)
    assert decision.kind == "suggest"
    assert [c.entry_id for c in decision.candidates] == ["e0", "e1", "e2"]


def test_medium_is_a_suggestion():
    assert _decide(70).kind == "suggest"


def test_low_is_not_found():
    decision = _decide(50, 40)
    assert (decision.kind, decision.candidates, decision.entry_id) == ("not_found", (), None)


def test_missing_keywords_or_unknown_words_block_answers():
    assert _decide(95, answerable=False).kind == "suggest"
    assert _decide(95, unknown=0.3).kind == "suggest"
    assert _decide(65, unknown=0.5).kind == "not_found"


def test_a_strong_match_overrules_unknown_words_but_only_to_ask():
    assert _decide(95, 40, unknown=0.5).kind == "suggest"
    assert _decide(95, 40, unknown=1.0).kind == "suggest"


def test_another_shop_named_in_the_query_is_refused_even_on_a_perfect_match():
    decision = decide("배민 주문 취소", [Candidate("cancel-how", 100.0, "주문 취소", "exact")], SETTINGS, {},
                      lambda _: True, elsewhere=True)
    assert (decision.kind, decision.candidates) == ("not_found", ())


def test_entry_threshold_overrides():
    assert _decide(85, thresholds={"e0": 90}).kind == "suggest"
    assert _decide(75, thresholds={"e0": 70}).kind == "answer"


def test_a_query_restating_a_phrasing_is_answered_despite_words_the_splitter_did_not_know():
    restated = [Candidate("exchange-size", 100.0, "사이즈가 안 맞아요", "spacing"), Candidate("e1", 57.5, "q1", "fuzzy")]
    guessed = [Candidate("exchange-size", 95.0, "사이즈가 안 맞아요", "fuzzy"), Candidate("e1", 57.5, "q1", "fuzzy")]
    assert decide("사이즈가 안맞아요", restated, SETTINGS, {}, lambda _: True, 0.5).kind == "answer"
    assert decide("사이즈가 안맞네", guessed, SETTINGS, {}, lambda _: True, 0.5).kind == "suggest"


def test_an_entry_that_does_not_speak_to_the_whole_query_is_offered_not_answered():
    candidates = [Candidate("delivery-fee", 90.0, "배송비는 얼마인가요?", "fuzzy"), Candidate("e1", 70.0, "q1", "fuzzy")]
    decision = decide("환불 배송비 얼마", candidates, SETTINGS, {}, lambda _: True, accounted=lambda _: False)
    assert decision.kind == "suggest" and decision.candidates[0].entry_id == "delivery-fee"
