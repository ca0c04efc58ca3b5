"""A button press arrives as typed text; the spec's matching order, one rule at a time."""

from __future__ import annotations

import pytest

from engine_support import Chat, texts
from triage.flows.engine import REPEAT_TEXT
from triage.flows.session import Record


@pytest.fixture
def picker(shop):
    chat = Chat(shop)
    chat.start()
    chat.say("메뉴 고르기")
    assert chat.state.node == "menu.picker"
    return chat


def choice(actions) -> dict:
    return next(a.data for a in actions if isinstance(a, Record) and a.kind == "choice")


@pytest.mark.parametrize(("typed", "chosen", "rule"), [
    ("교환 신청", "교환 신청을 골랐어요.", "exact"),
    ("교환신청", "교환 신청을 골랐어요.", "normalised"),
    ("ａｓ 접수!", "AS 접수를 골랐어요.", "normalised"),
    ("1", "배송 조회를 골랐어요.", "number"),
    ("2번", "교환 신청을 골랐어요.", "number"),
    ("3번이요", "교환 신청서를 골랐어요.", "number"),
    ("배송조휘", "배송 조회를 골랐어요.", "fuzzy"),
    ("주문취쇼", "주문 취소를 골랐어요.", "fuzzy"),
])
def test_each_matching_rule_picks_its_button(picker, typed, chosen, rule):
    actions = picker.say(typed)
    assert texts(actions) == [chosen]
    assert choice(actions)["rule"] == rule


def test_exact_beats_a_fuzzy_match_to_an_earlier_label(picker):
    actions = picker.say("교환 신청서")
    assert texts(actions) == ["교환 신청서를 골랐어요."]
    assert choice(actions)["rule"] == "exact"


@pytest.mark.parametrize("typed", ["교환신청써", "주문 조취", "7번", "아무거나 주세요"])
def test_no_guess_when_two_labels_are_close_or_nothing_fits(picker, typed):
    actions = picker.say(typed)
    assert texts(actions) == [REPEAT_TEXT]
    assert picker.state.node == "menu.picker" and picker.state.misses == 1
