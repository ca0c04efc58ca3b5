"""The faq node over the real FaqIndex built from a fixture FAQ directory.

The suggestion dialogue is pinned with the matcher's verdict fixed to "suggest", so these
tests follow the engine's behaviour, not the matcher's tuning (tested in tests/faq/).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from engine_support import FIXTURES, Chat, buttons, load_site, of, texts
from triage.faq.index import FaqIndex
from triage.faq.model import Candidate, Decision
from triage.flows.engine import FAQ_DECLINE, FAQ_PROMPT
from triage.flows.session import FaqAttempt, HandoffAction, Record, SendButtons, SendLinks


@dataclass(frozen=True)
class Suggesting:
    """The real index, except that every question gets a medium-confidence verdict."""

    real: FaqIndex
    offers: tuple[str, ...]

    @property
    def entries(self):
        return self.real.entries

    def match(self, query, category=None, limit=5):
        return self.real.match(query, category, limit)

    def decide(self, query, category=None):
        return Decision("suggest", query, tuple(Candidate(i, 70.0, self.entries[i].q, "fuzzy") for i in self.offers))


@pytest.fixture
def unsure(shop):
    chat = Chat(replace(shop, faq=Suggesting(shop.faq, ("delivery-when", "delivery-fee", "pay-card", "pay-receipt"))))
    chat.start()
    return chat


def faq_records(actions) -> list[dict]:
    return [a.data for a in actions if isinstance(a, Record) and a.kind == "faq"]


def test_a_confident_match_answers_and_goes_to_found(chat):
    actions = chat.say("배송 언제 와요")
    assert of(SendLinks, actions)[0].text == "결제 후 평일 1~2일 안에 출고돼요."
    assert of(SendLinks, actions)[0].links[0].url == "https://shop.example.com/orders"
    assert chat.state.node == "main.anything_else"
    assert chat.state.faq_attempts[-1].decision == "answer"
    assert chat.state.faq_attempts[-1].entry_id == "delivery-when"
    record = faq_records(actions)[0]
    assert record["query"] == "배송 언제 와요" and record["decision"] == "answer"
    assert record["candidates"][0][0] == "delivery-when"
    assert record["category"] == "배송", "the report counts the answer under the category it had when given"


def test_medium_confidence_offers_three_numbered_questions_with_short_labels(unsure):
    actions = unsure.say("언제와요")
    offer = of(SendButtons, actions)[0]
    assert offer.text == ("혹시 이 질문인가요?\n1. 주문한 상품은 언제 배송되나요?\n2. 배송비는 얼마인가요?\n"
                          "3. 신용카드 할부가 되나요?")
    assert offer.labels == ("주문한 상품은 언제 배송…", "배송비는 얼마인가요?", "신용카드 할부가 되나요?", FAQ_DECLINE)
    assert all(len(label) <= 14 for label in offer.labels)
    assert unsure.state.offered == ("delivery-when", "delivery-fee", "pay-card")
    assert unsure.state.node == "main.faq_lookup" and unsure.state.faq_attempts[-1].decision == "suggest"


@pytest.mark.parametrize("typed", ["1", "주문한 상품은 언제 배송…", "주문한 상품은 언제 배송되나요?", "주문한 상품은 언제 배송되나여"])
def test_picking_a_suggestion_answers_it(unsure, typed):
    unsure.say("언제와요")
    actions = unsure.say(typed)
    assert texts(actions)[0] == "결제 후 평일 1~2일 안에 출고돼요."
    assert unsure.state.faq_attempts[-1] == FaqAttempt("언제와요", "chosen", "delivery-when")
    assert (faq_records(actions)[0]["decision"], faq_records(actions)[0]["category"]) == ("chosen", "배송")
    assert unsure.state.node == "main.anything_else" and unsure.state.offered == ()


@pytest.mark.parametrize("typed", [FAQ_DECLINE, "4", "환불은요?"])
def test_declining_a_suggestion_goes_to_not_found(unsure, typed):
    unsure.say("언제와요")
    actions = unsure.say(typed)
    assert unsure.state.faq_attempts[-1].decision == "declined"
    assert of(HandoffAction, actions)[0].reason == "faq_not_found"


def test_no_match_goes_to_not_found_with_reason(chat):
    actions = chat.say("ㅎㅎ")
    assert (faq_records(actions)[0]["decision"], faq_records(actions)[0]["category"]) == ("not_found", None)
    assert of(HandoffAction, actions)[0].reason == "faq_not_found"


def test_without_a_question_the_node_asks_for_one(shop):
    chat = Chat(shop)
    actions = chat.start("topic=question")
    assert texts(actions) == [FAQ_PROMPT] and chat.state.node == "main.faq_lookup"
    actions = chat.say("배송비 얼마")
    assert texts(actions)[0] == "3만 원 이상 구매하시면 무료배송이에요."


def test_ask_then_faq_answers_the_saved_question_once(chat):
    chat.say("자주 묻는 질문")
    chat.say("배송비 얼마")
    assert chat.state.vars["question"] == "배송비 얼마" and chat.state.last_input is None
    assert len(chat.state.faq_attempts) == 1


def test_category_session_scopes_the_search_to_the_session_category(shop):
    everywhere = Chat(shop)
    everywhere.start()
    everywhere.say("신용카드 할부가 되나요?")
    assert everywhere.state.faq_attempts[-1].entry_id == "pay-card"
    scoped = Chat(shop)
    scoped.start("topic=order")
    scoped.say("배송 문의")
    actions = scoped.say("신용카드 할부가 되나요?")
    assert scoped.state.category == "배송"
    found = [c[0] for c in faq_records(actions)[0]["candidates"]]
    assert all(shop.faq.entries[i].category == "배송" for i in found)


def test_an_answer_with_buttons_waits_for_them(chat):
    actions = chat.say("배송지를 바꾸고 싶어요")
    assert buttons(actions) == ("상담원에게 요청", "처음으로")
    assert chat.state.node == "main.faq_lookup"
    actions = chat.say("상담원에게 요청")
    assert of(HandoffAction, actions)[0].reason == "user_asked"


def test_other_text_after_an_answer_with_buttons_is_a_new_question(chat):
    chat.say("배송지를 바꾸고 싶어요")
    actions = chat.say("배송비 얼마")
    assert texts(actions)[0] == "3만 원 이상 구매하시면 무료배송이에요."


def test_a_long_session_keeps_only_the_latest_faq_attempts():
    chat = Chat(load_site(FIXTURES / "shop"))
    chat.start()
    chat.state = chat.state.evolve(faq_attempts=tuple(FaqAttempt(f"예전 질문 {n}", "not_found") for n in range(10)))

    chat.say("배송 언제 와요")

    assert len(chat.state.faq_attempts) == 10
    assert chat.state.faq_attempts[0].query == "예전 질문 1"
    assert chat.state.faq_attempts[-1].query == "배송 언제 와요"
