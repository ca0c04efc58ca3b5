"""The engine walks real fixture flows: routes, node kinds, keywords, misses, handoff, end."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from engine_support import FIXTURES, SEOUL, WEDNESDAY_10, Chat, buttons, load_site, of, texts
from triage.flows.engine import MAX_MOVES, REPEAT_TEXT, RETRY_TEXT, UNREADABLE_TEXT, new_state, step
from triage.flows.loader import load_flows
from triage.flows.session import (
    EndSession, HandoffAction, Record, Reference, Release, SendImage, SendLinks, SendText, SetCategory, SetTags,
    Start, Timeout, UserInfo, UserMedia, UserText,
)
from triage.flows.templates import FALLBACK_TEXT
from triage.settings import Privacy


@pytest.fixture
def chat(shop):
    return Chat(shop)


def records(actions, kind):
    return [a.data for a in actions if isinstance(a, Record) and a.kind == kind]


# ---- start and routes ---------------------------------------------------------------------


def test_start_without_extra_enters_the_start_node_and_waits(chat):
    actions = chat.start()
    assert texts(actions) == ["안녕하세요, 테스트쇼핑 고객센터입니다.", "무엇을 도와드릴까요?"]
    assert buttons(actions) == ("주문/배송", "자주 묻는 질문", "연락처 남기기", "상담원 연결", "메뉴 고르기")
    assert (chat.state.owner, chat.state.node) == ("bot", "main.welcome")
    assert records(actions, "node") == [{"node": "main.welcome"}]


def test_a_route_on_extra_sets_category_and_tags_and_renders_params(chat):
    actions = chat.start("topic=order&order=77")
    assert SetCategory("주문") in actions and SetTags(("extra", "주문")) in actions
    assert records(actions, "route")[0]["goto"] == "order.menu"
    assert of(SendImage, actions) == [SendImage("https://shop.example.com/img/order.png")]
    link_bubble = of(SendLinks, actions)[0]
    assert link_bubble.text == "주문/배송 메뉴예요. 주문번호 77를 확인했어요."
    assert link_bubble.links[0].url == "https://shop.example.com/track?order=77"
    assert chat.state.params == {"topic": "order", "order": "77"}
    assert chat.state.category == "주문"


def test_links_and_buttons_on_one_node_send_links_then_an_empty_text_menu(chat):
    actions = chat.start("topic=order")
    sends = [a for a in actions if not isinstance(a, (Record, SetCategory, SetTags))]
    assert [type(a).__name__ for a in sends] == ["SendImage", "SendLinks", "SendButtons"]
    assert sends[-1].text == "" and sends[-1].labels == ("주문 변경", "배송 문의", "처음으로")


def test_routes_combine_conditions_and_the_first_true_one_wins(chat):
    actions = chat.start("topic=refund&grade=vip")
    handoff = of(HandoffAction, actions)[0]
    assert (handoff.queue, handoff.priority, handoff.skills, handoff.reason) == ("vip", "high", ("VIP",), "rule")
    assert chat.state.tags == ("vip",) and chat.state.category == "환불"


def test_unmatched_extra_is_recorded_and_the_start_node_runs(chat):
    actions = chat.start("topic=unknown")
    assert records(actions, "extra_unmatched") == [{"extra": "topic=unknown"}]
    assert chat.state.node == "main.welcome"


def test_missing_params_render_empty_and_test_false(chat):
    actions = chat.start("topic=order")
    assert of(SendLinks, actions)[0].text == "주문/배송 메뉴예요."
    assert of(SendLinks, actions)[0].links[0].url == "https://shop.example.com/track?order="
    chat.say("주문 변경")
    actions = chat.say("ORD-2026-0001")
    assert of(HandoffAction, actions)[0].queue == "general"
    assert of(HandoffAction, actions)[0].summary == "주문 / 주문 -"


def test_a_new_start_on_an_ended_session_begins_afresh(chat):
    chat.start("topic=order")
    chat.say("종료")
    assert chat.state.owner == "ended"
    chat.start()
    assert (chat.state.owner, chat.state.node, chat.state.params, chat.state.category) == ("bot", "main.welcome", {}, None)


def test_text_on_a_new_session_starts_it_and_keeps_the_text(chat):
    actions = chat.say("안녕하세요")
    assert buttons(actions)[0] == "주문/배송"
    assert chat.state.last_input == "안녕하세요"


# ---- keywords, misses, fallback -----------------------------------------------------------


@pytest.mark.parametrize("typed", ["상담원", " 상담원 ", "처음으로"])
def test_keywords_work_at_any_node_even_in_another_flow_and_during_ask(chat, typed):
    chat.start("topic=order")
    chat.say("주문 변경")
    assert chat.state.node == "order.change"
    actions = chat.say(typed)
    assert records(actions, "keyword") == [{"text": typed}]
    assert chat.state.node in ("main.agent", "main.welcome")


def test_keyword_to_a_handoff_gives_reason_user_asked(chat):
    chat.start()
    assert of(HandoffAction, chat.say("상담원"))[0].reason == "user_asked"


def test_builtin_fallback_repeats_the_buttons_then_max_misses_hands_off(chat):
    chat.start()
    chat.say("메뉴 고르기")
    first = chat.say("ㅁㄴㅇㄹ")
    assert texts(first) == [REPEAT_TEXT]
    assert buttons(first)[0] == "배송 조회"
    assert chat.state.misses == 1
    second = chat.say("ㅋㅋㅋ")
    handoff = of(HandoffAction, second)[0]
    assert handoff.reason == "misses" and chat.state.owner == "queue"
    assert chat.state.handoff.reason == "misses"


def test_a_flow_fallback_overrides_the_builtin_one(chat):
    chat.start("topic=order")
    actions = chat.say("아무말")
    assert texts(actions)[0] == "아래 주문 메뉴에서 골라 주세요."
    assert chat.state.node == "order.menu" and chat.state.misses == 1


def test_a_successful_choice_resets_misses(chat):
    chat.start("topic=order")
    chat.say("아무말")
    chat.say("주문 변경")
    assert chat.state.misses == 0


def test_on_text_sends_free_text_on_without_counting_a_miss(chat):
    chat.start()
    actions = chat.say("배송비 얼마")
    assert records(actions, "faq")[0]["entry_id"] == "delivery-fee"
    assert chat.state.misses == 0


# ---- ask ----------------------------------------------------------------------------------


def test_ask_validates_normalises_and_saves(chat):
    chat.start()
    chat.say("연락처 남기기")
    chat.say("동의합니다")
    assert chat.state.node == "main.phone"
    actions = chat.say("010 1234 5678")
    assert chat.state.vars["phone"] == "010-1234-5678"
    assert texts(actions)[0] == "010-1234-5678 번호로 연락드릴게요."


def test_invalid_answers_retry_are_not_misses_and_the_third_goes_to_on_fail(chat):
    chat.start()
    chat.say("연락처 남기기")
    chat.say("동의합니다")
    for attempt in (1, 2):
        actions = chat.say("몰라요")
        assert texts(actions) == ["번호 형식이 맞지 않아요. 010-1234-5678 처럼 입력해 주세요."]
        assert (chat.state.tries, chat.state.misses) == (attempt, 0)
    actions = chat.say("몰라요")
    assert of(HandoffAction, actions)[0].reason == "ask_failed"


def test_ask_without_retry_text_uses_the_default(chat):
    chat.start("topic=order")
    chat.say("주문 변경")
    assert texts(chat.say("주문번호가 뭐죠?")) == [RETRY_TEXT]


def test_ask_answer_then_check_routes_on_vars(chat):
    chat.start("topic=order")
    chat.say("주문 변경")
    actions = chat.say("X12345678")
    assert of(EndSession, actions) == [EndSession("bot")]


def test_check_routes_on_params(chat):
    chat.start("topic=order&grade=vip")
    chat.say("주문 변경")
    assert of(HandoffAction, chat.say("ORD-123456"))[0].queue == "vip"


# ---- consent ------------------------------------------------------------------------------


def test_consent_offers_two_buttons_and_stores_the_answer_with_time(chat):
    chat.start()
    actions = chat.say("연락처 남기기")
    assert buttons(actions) == ("동의합니다", "동의하지 않아요")
    actions = chat.say("동의합니다")
    assert chat.state.vars["consent"] == {"agreed": True, "at": WEDNESDAY_10.isoformat()}
    assert records(actions, "consent")[0]["agreed"] is True


def test_declining_consent_goes_to_decline(chat):
    chat.start()
    chat.say("연락처 남기기")
    chat.say("2번")
    assert chat.state.vars["consent"]["agreed"] is False and chat.state.node == "main.welcome"


# ---- handoff, hours, release, end ---------------------------------------------------------


def test_handoff_renders_summary_sends_message_and_silences_the_bot(chat):
    chat.start("topic=order&order=77")
    actions = chat.say("상담원")
    assert texts(actions) == ["상담원을 연결해 드릴게요."]
    assert of(HandoffAction, actions) == [HandoffAction("general", "normal", ("주문",), "주문 / 주문 77", "user_asked")]
    assert chat.state.owner == "queue"
    assert chat.say("여보세요?") == []
    assert chat.send(UserMedia("photo", "https://x/p.jpg")) == []
    assert chat.send(Timeout("end")) == []


def test_a_button_with_set_applies_it_before_the_handoff(chat):
    chat.start()
    chat.say("상담원 연결")
    assert chat.state.vars["topic"] == "기타" and chat.state.handoff.reason == "user_asked"


@pytest.mark.parametrize("when", ["2026-11-29T10:00", "2026-11-25T19:00", "2026-02-17T10:00"])
def test_a_closed_queue_goes_to_the_closed_target(shop, when):
    chat = Chat(shop, datetime.fromisoformat(when).replace(tzinfo=SEOUL))
    chat.start()
    actions = chat.say("상담원")
    assert records(actions, "queue_closed") == [{"queue": "general"}]
    assert of(HandoffAction, actions) == []
    assert texts(actions)[-1] == "이용해 주셔서 감사합니다." and chat.state.owner == "ended"


def test_release_hands_the_session_back_to_a_named_node(chat):
    chat.start()
    chat.say("상담원")
    actions = chat.send(Release("anything_else"))
    assert chat.state.owner == "bot" and chat.state.handoff is None
    assert buttons(actions) == ("처음으로", "상담 종료")
    chat.say("상담원")
    chat.send(Release("order.menu"))
    assert chat.state.node == "order.menu"
    chat.say("상담원")
    chat.send(Release())
    assert chat.state.node == "main.welcome"


def test_end_says_goodbye_and_ends(chat):
    chat.start()
    actions = chat.say("종료")
    assert texts(actions) == ["이용해 주셔서 감사합니다."]
    assert of(EndSession, actions) == [EndSession("bot")] and chat.state.owner == "ended"


# ---- timers and media ---------------------------------------------------------------------


def test_inactivity_warns_then_ends(chat, shop):
    chat.start()
    assert texts(chat.send(Timeout("warn"))) == [shop.settings.timers.warning]
    actions = chat.send(Timeout("end"))
    assert texts(actions) == [shop.settings.timers.bot_end_text]
    assert of(EndSession, actions) == [EndSession("inactive")] and chat.state.owner == "ended"


def test_a_photo_is_acknowledged_kept_and_routed_like_text_where_on_text_exists(chat):
    chat.start()
    actions = chat.send(UserMedia("photo", "https://kakao.example/p.jpg"))
    assert texts(actions)[0] == "사진을 받았어요."
    assert chat.state.vars["last_media"] == {"kind": "photo", "url": "https://kakao.example/p.jpg"}
    assert records(actions, "faq")[0]["query"] == "[사진]"


def test_a_file_at_a_node_without_on_text_is_only_acknowledged(chat):
    chat.start("topic=order")
    actions = chat.send(UserMedia("file", "https://kakao.example/f.pdf"))
    assert texts(actions) == ["파일을 받았어요."] and chat.state.node == "order.menu"


def test_a_kind_the_engine_does_not_know_asks_for_text_and_changes_nothing(chat):
    chat.start()
    before = chat.state
    actions = chat.send(UserMedia("emoticon", ""))
    assert texts(actions) == [UNREADABLE_TEXT] and chat.state == before


# ---- privacy, templates, long texts, loops ------------------------------------------------


def test_the_privacy_notice_rides_on_the_first_bubble_only(shop):
    notice = "상담 내용은 1년간 보관돼요."
    chat = Chat(replace(shop, settings=replace(shop.settings, privacy=Privacy(notice=notice))))
    first = chat.start()
    assert texts(first)[0] == f"{notice}\n\n안녕하세요, 테스트쇼핑 고객센터입니다."
    assert all(notice not in t for t in texts(chat.say("메뉴 고르기")))


def test_the_privacy_notice_goes_alone_when_the_start_sends_no_text(shop):
    notice = "상담 내용은 1년간 보관돼요."
    chat = Chat(replace(shop, settings=replace(shop.settings, privacy=Privacy(notice=notice))))
    actions = chat.start("topic=refund&grade=vip")
    assert texts(actions) == [notice] and of(HandoffAction, actions)


def test_a_runtime_template_failure_sends_the_fallback_and_the_session_continues(chat):
    actions = chat.start("topic=risky")
    assert texts(actions) == [FALLBACK_TEXT]
    error = records(actions, "template_error")[0]
    assert error["node"] == "main.risky" and "ZeroDivisionError" in error["error"]
    chat.say("처음으로")
    assert chat.state.node == "main.welcome"


def test_a_template_that_would_build_a_huge_text_sends_the_fallback_and_records_why():
    content = load_site(FIXTURES.parent / "template_runtime")
    state, actions = step(content, new_state("s", UserInfo("u"), WEDNESDAY_10), Start(), WEDNESDAY_10)
    assert texts(actions) == [FALLBACK_TEXT]
    assert records(actions, "template_error") == [
        {"node": "main.welcome", "line": 5, "error": 'SecurityError: the result of "*" would be too large for a text'}]
    assert state.node == "main.welcome"


def test_user_text_is_data_never_a_template(chat):
    chat.start("topic=order")
    chat.say("배송 문의")
    assert chat.state.vars["asked"] == "배송 문의"
    chat.say("처음으로")
    chat.say("연락처 남기기")
    chat.say("동의합니다")
    actions = chat.say("{{ channel.sender_key }}")
    assert "{{ channel.sender_key }}" not in str(chat.state.vars.get("phone"))
    assert texts(actions)[0].startswith("번호 형식이")


def test_the_sandbox_refuses_private_attributes_at_load_time():
    flows, problems = load_flows([FIXTURES / "unsafe" / "flows"], "main", FIXTURES / "unsafe")
    assert [str(p) for p in problems] == ['flows/main.yaml:6: "__class__" is a private attribute and cannot be read']


def test_a_loop_that_never_waits_is_stopped_recorded_and_handed_to_a_person():
    content = load_site(FIXTURES / "loop")
    state, actions = step(content, new_state("s", UserInfo("u"), WEDNESDAY_10), Start(), WEDNESDAY_10)
    assert records(actions, "loop_guard")
    assert len(records(actions, "node")) == MAX_MOVES
    assert texts(actions)[-1] == FALLBACK_TEXT and of(HandoffAction, actions)[0].queue == "general"
    assert state.owner == "queue"


def test_long_texts_are_split_into_bubbles(shop):
    long_notice = "개인정보 안내입니다. " * 120
    chat = Chat(replace(shop, settings=replace(shop.settings, privacy=Privacy(notice=long_notice))))
    bubbles = texts(chat.start())
    assert [len(b) <= 1000 for b in bubbles] == [True, True, True]
    assert bubbles[0].endswith("안내입니다.") and bubbles[1].endswith("안녕하세요, 테스트쇼핑 고객센터입니다.")
    assert bubbles[2] == "무엇을 도와드릴까요?"


def test_a_node_removed_by_a_reload_restarts_at_the_start(chat, shop):
    chat.start()
    chat.state = chat.state.evolve(node="main.gone")
    actions = chat.say("안녕")
    assert records(actions, "node_missing") == [{"node": "main.gone"}]
    assert chat.state.node == "main.welcome"


def test_time_comes_only_from_now_in_the_site_zone(shop):
    utc_now = datetime.fromisoformat("2026-11-25T01:00:00+00:00")
    state, _ = step(shop, new_state("s", UserInfo("u"), utc_now), Start(Reference()), utc_now)
    state, _ = step(shop, state, UserText("연락처 남기기"), utc_now)
    state, _ = step(shop, state, UserText("동의합니다"), utc_now)
    assert state.vars["consent"]["at"] == "2026-11-25T10:00:00+09:00"
