"""Global keywords as customers ask for them: the bare word, or the word in a plain request."""

from __future__ import annotations

import pytest

from engine_support import of, texts
from triage.flows.choices import KeywordHit, Keywords
from triage.flows.engine import REPEAT_TEXT
from triage.flows.session import HandoffAction, Record

KEYWORDS = Keywords.of({"상담원": "agent", "상담원 연결": "connect", "처음으로": "welcome", "종료": "bye"})


@pytest.mark.parametrize("text", ["상담원이요", "상담원요~", "상담원 부탁드려요", "상담원과 통화하고 싶어요",
                                  "상담원 좀 바로 연결해 주실 수 있나요?", "상담원이 필요해요", "상담원이랑 얘기하고 싶어요"])
def test_a_keyword_followed_by_a_particle_or_a_request_ending_is_asked_for(text):
    assert KEYWORDS.find(text) == KeywordHit("agent", bare=False)


@pytest.mark.parametrize("text", ["상담원 연결해주세요", "상담원 연결 부탁드려요", "상담원연결 해 주세요", "상담원 연결되나요?"])
def test_the_longest_keyword_the_request_starts_with_wins(text):
    assert KEYWORDS.find(text) == KeywordHit("connect", bare=False)


@pytest.mark.parametrize("text, target", [("상담원", "agent"), (" 상담원  연결 ", "connect"), ("상담원연결", "connect")])
def test_the_keyword_itself_is_bare(text, target):
    assert KEYWORDS.find(text) == KeywordHit(target, bare=True)


@pytest.mark.parametrize("text", ["상담원이 불친절했어요", "상담원 연결이 안 돼요", "종료된 주문 환불", "처음으로 돌아가면 뭐가 있어요",
                                  "상담", "저 상담원 연결해 주세요", "상담원이"])
def test_a_sentence_with_other_words_is_no_keyword(text):
    assert KEYWORDS.find(text) is None


def test_no_keywords_find_nothing():
    assert Keywords.of({}).find("상담원") is None


def test_a_request_for_a_keyword_reaches_it_from_any_node(chat):
    chat.say("주문/배송")
    actions = chat.say("상담원 연결해 주세요")
    assert of(HandoffAction, actions)[0].reason == "user_asked"
    assert of(Record, actions)[0] == Record("keyword", {"text": "상담원 연결해 주세요"})


def test_a_complaint_about_agents_is_not_a_request_for_one(chat):
    chat.say("배송 언제 와요")
    actions = chat.say("상담원이 불친절했어요")
    assert not of(HandoffAction, actions)
    assert texts(actions) == [REPEAT_TEXT] and chat.state.misses == 1


def test_a_button_that_a_request_picks_beats_the_keyword_it_starts_with(chat):
    chat.say("상담원 연결")
    assert chat.state.vars["topic"] == "기타" and chat.state.handoff.reason == "user_asked"
