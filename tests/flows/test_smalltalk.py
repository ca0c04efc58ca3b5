"""Greetings and thanks: recognised as customers type them, and never a miss or an unanswered question."""

from __future__ import annotations

import pytest

from engine_support import buttons, of, texts
from triage.flows.engine import GREETING_REPLY, THANKS_REPLY
from triage.flows.session import HandoffAction, Record, Timeout
from triage.flows.smalltalk import kind, without_greeting


def kinds(actions) -> list[str]:
    return [a.kind for a in actions if isinstance(a, Record)]


@pytest.mark.parametrize("text", ["안녕하세요", "안녕하세요~^^", "안녕하세요.", "문의드립니다", "여보세요?", "ㅎㅇ",
                                  "Hi!!", "안녕하세요 문의드려요"])
def test_greetings_are_recognised_however_they_are_typed(text):
    assert kind(text) == "greeting"


@pytest.mark.parametrize("text", ["감사합니다", "감사 합니다ㅎㅎ", "감사합니다!!", "네", "네네~", "넵", "ㅇㅋ", "ㅇㅋㅋ",
                                  "알겠습니다^^", "네 감사합니다", "안녕하세요 감사해요"])
def test_thanks_and_acknowledgements_are_recognised_however_they_are_typed(text):
    assert kind(text) == "thanks"


@pytest.mark.parametrize("text", ["ㅋㅋㅋ", "ㅎㅎ", "배송 언제 와요", "예약", "안녕하세요 배송 언제 와요", "감사합니다 " * 10])
def test_laughter_questions_and_long_texts_are_not_small_talk(text):
    assert kind(text) is None


@pytest.mark.parametrize("text, question", [
    ("안녕하세요 배송 언제 와요?", "배송 언제 와요?"),
    ("안녕하세요~ 문의드립니다. 환불하고 싶어요", "환불하고 싶어요"),
    ("안녕하세요,배송비 얼마", "배송비 얼마"),
    ("안녕하세요", "안녕하세요"),
    ("배송 안녕", "배송 안녕"),
])
def test_an_opening_greeting_is_cut_from_the_question(text, question):
    assert without_greeting(text) == question


def test_a_greeting_at_the_welcome_sends_nothing_and_is_no_miss(chat):
    actions = chat.say("안녕하세요~")
    assert actions == [Record("small_talk", {"node": "main.welcome", "kind": "greeting"})]
    assert (chat.state.node, chat.state.misses, chat.state.faq_attempts) == ("main.welcome", 0, ())


def test_a_greeting_with_a_question_is_answered_as_the_question(chat):
    actions = chat.say("안녕하세요 배송 언제 와요?")
    assert texts(actions)[0] == "결제 후 평일 1~2일 안에 출고돼요."
    assert chat.state.faq_attempts[-1].query == "배송 언제 와요?"


def test_a_greeting_before_a_keyword_still_reaches_it(chat):
    actions = chat.say("안녕하세요 상담원")
    assert of(HandoffAction, actions)[0].reason == "user_asked"


def test_thanks_after_an_answer_get_a_courteous_reply_with_the_menu_and_never_reach_an_agent(chat):
    chat.say("배송 언제 와요")
    for said in ("감사합니다", "네", "알겠습니다"):
        actions = chat.say(said)
        assert texts(actions) == [THANKS_REPLY] and buttons(actions) == ("처음으로", "상담 종료")
        assert kinds(actions) == ["small_talk"]
    assert (chat.state.node, chat.state.misses) == ("main.anything_else", 0)


def test_an_ask_node_keeps_a_greeting_as_the_answer_and_the_faq_reads_the_question(chat):
    chat.say("자주 묻는 질문")
    actions = chat.say("안녕하세요 배송비 얼마")
    assert chat.state.vars["question"] == "안녕하세요 배송비 얼마"
    assert texts(actions)[0] == "3만 원 이상 구매하시면 무료배송이에요."


def test_thanks_typed_where_the_faq_waits_for_a_question_are_no_faq_miss(chat):
    chat.say("자주 묻는 질문")
    actions = chat.say("감사합니다")
    assert texts(actions) == [THANKS_REPLY] and "faq" not in kinds(actions)
    assert chat.state.node == "main.faq_lookup" and not of(HandoffAction, actions)


def test_a_yes_at_a_consent_is_not_taken_for_thanks(chat):
    chat.say("연락처 남기기")
    actions = chat.say("네")
    assert "miss" in kinds(actions) and THANKS_REPLY not in texts(actions)


def test_a_greeting_after_the_idle_warning_is_answered_with_the_menu_at_hand(chat):
    chat.send(Timeout("warn"))
    actions = chat.say("여보세요")
    assert texts(actions) == [GREETING_REPLY] and buttons(actions)[0] == "주문/배송"
    assert kinds(actions) == ["small_talk"]
    assert (chat.state.node, chat.state.misses, chat.state.idle_warned) == ("main.welcome", 0, False)


def test_a_greeting_after_the_idle_warning_where_the_faq_waits_is_answered_and_no_faq_miss(chat):
    chat.say("자주 묻는 질문")
    chat.send(Timeout("warn"))
    actions = chat.say("안녕하세요")
    assert texts(actions) == [GREETING_REPLY] and not of(HandoffAction, actions)
    assert chat.state.node == "main.faq_lookup"


def test_a_greeting_once_answered_after_the_warning_is_silent_again(chat):
    chat.send(Timeout("warn"))
    chat.say("여보세요")
    assert chat.say("안녕하세요") == [Record("small_talk", {"node": "main.welcome", "kind": "greeting"})]
