"""Engine actions -> the exact 상담톡 calls, with menus split to Kakao's per-bubble limits."""

from __future__ import annotations

import itertools

import pytest

from triage.flows.session import (EndSession, HandoffAction, LinkOut, Record, SendButtons, SendImage, SendLinks,
                                  SendText, SetCategory, SetTags)
from triage.kakao.protocol import parse_write
from triage.kakao.render import (CHOOSE_TEXT, IMAGE_LABEL, IMAGE_TEXT, MORE_TEXT, OutboundCall, balanced,
                                 block_call, end_with_bot_call, is_kakao_hosted, media_hosts_for, render_actions)
from triage.settings import KakaoSettings

USER, SENDER = "Ab3dEf6hIj9k", "0123456789abcdef0123456789abcdef01234567"
TO = {"user_key": USER, "sender_key": SENDER}


def serials():
    numbers = itertools.count(1)
    return lambda: f"s-{next(numbers)}"


def render(*actions, **kwargs) -> list[OutboundCall]:
    return render_actions(list(actions), USER, SENDER, serials(), **kwargs)


def bodies(*actions) -> list[dict]:
    return [call.body for call in render(*actions)]


def test_text_is_a_tx_write():
    assert render(SendText("안녕하세요")) == [
        OutboundCall("write", {**TO, "serial_number": "s-1", "message_type": "TX", "message": "안녕하세요"})]


def test_text_over_1000_characters_becomes_several_bubbles_each_within_the_limit():
    text = "\n".join(f"{i}번째 안내 문장입니다. " * 8 for i in range(20))
    written = bodies(SendText(text))
    assert len(written) > 1
    assert all(b["message_type"] == "TX" and 0 < len(b["message"]) <= 1000 for b in written)
    assert " ".join(b["message"] for b in written).split() == text.split()
    assert [b["serial_number"] for b in written] == [f"s-{i}" for i in range(1, len(written) + 1)]


def test_blank_text_sends_nothing():
    assert render(SendText("  \n")) == []


def test_buttons_become_bk_quick_replies_on_an_li_bubble():
    assert bodies(SendButtons("무엇을 도와드릴까요?", ("배송", "환불"))) == [
        {**TO, "serial_number": "s-1", "message_type": "LI", "message": "무엇을 도와드릴까요?",
         "supplement": {"quick_reply": [{"name": "배송", "type": "BK"}, {"name": "환불", "type": "BK"}]}}]


def test_eleven_to_twenty_buttons_split_into_two_balanced_bubbles():
    labels = tuple(f"메뉴{i}" for i in range(15))
    first, second = bodies(SendButtons("골라 주세요", labels))
    assert first["message"] == "골라 주세요" and second["message"] == MORE_TEXT
    names = [[q["name"] for q in b["supplement"]["quick_reply"]] for b in (first, second)]
    assert names == [list(labels[:8]), list(labels[8:])]


def test_exactly_ten_buttons_fit_one_bubble():
    (only,) = bodies(SendButtons("골라 주세요", tuple(str(i) for i in range(10))))
    assert len(only["supplement"]["quick_reply"]) == 10


def test_links_become_wl_links():
    assert bodies(SendLinks("확인해 주세요", (LinkOut("배송조회", "https://shop.example.com/t/77"),))) == [
        {**TO, "serial_number": "s-1", "message_type": "LI", "message": "확인해 주세요",
         "links": [{"name": "배송조회", "type": "WL", "url_mobile": "https://shop.example.com/t/77",
                    "url_pc": "https://shop.example.com/t/77"}]}]


def test_more_than_five_links_split():
    links = tuple(LinkOut(f"링크{i}", f"https://shop.example.com/{i}") for i in range(7))
    written = bodies(SendLinks("모음", links))
    assert [len(b["links"]) for b in written] == [4, 3]
    assert [b["message"] for b in written] == ["모음", MORE_TEXT]


def test_text_less_buttons_after_links_merge_into_the_last_link_bubble():
    links = tuple(LinkOut(f"링크{i}", f"https://shop.example.com/{i}") for i in range(6))
    written = bodies(SendLinks("모음", links), SendButtons("", ("처음으로", "상담원 연결")))
    assert len(written) == 2
    assert "supplement" not in written[0]
    assert written[1]["supplement"] == {"quick_reply": [{"name": "처음으로", "type": "BK"},
                                                        {"name": "상담원 연결", "type": "BK"}]}


def test_buttons_with_their_own_text_after_links_stay_separate():
    written = bodies(SendLinks("모음", (LinkOut("a", "https://a.example"),)), SendButtons("다음은?", ("네",)))
    assert [b["message"] for b in written] == ["모음", "다음은?"]


def test_text_less_buttons_alone_get_a_prompt():
    (only,) = bodies(SendButtons("", ("네", "아니요")))
    assert only["message"] == CHOOSE_TEXT


def test_a_long_menu_text_sends_its_head_as_tx_and_the_menu_on_the_tail():
    text = "안내 문장입니다. " * 150
    written = bodies(SendButtons(text, ("네",)))
    assert [b["message_type"] for b in written] == ["TX"] * (len(written) - 1) + ["LI"]
    assert written[-1]["supplement"]["quick_reply"] == [{"name": "네", "type": "BK"}]


def test_a_kakao_hosted_image_is_an_im_write():
    url = "https://dn-m.talk.kakao.com/talkm/img_l.jpg"
    assert bodies(SendImage(url)) == [{**TO, "serial_number": "s-1", "message_type": "IM", "image_url": url}]


def test_an_image_file_from_the_content_root_is_an_im_write_naming_the_file_for_delivery_to_upload():
    assert bodies(SendImage("images/size-guide.png")) == [
        {**TO, "serial_number": "s-1", "message_type": "IM", "image_file": "images/size-guide.png"}]


def test_a_foreign_image_becomes_a_link_bubble():
    url = "https://shop.example.com/banner.png"
    assert bodies(SendImage(url)) == [
        {**TO, "serial_number": "s-1", "message_type": "LI", "message": IMAGE_TEXT,
         "links": [{"name": IMAGE_LABEL, "type": "WL", "url_mobile": url, "url_pc": url}]}]


def test_the_relays_own_host_counts_as_kakao_hosted():
    hosts = media_hosts_for(KakaoSettings(base_url="http://127.0.0.1:8090"))
    url = "http://127.0.0.1:8090/dn/1/img_l.jpg"
    assert bodies(SendImage(url))[0]["message_type"] == "LI"
    assert render(SendImage(url), media_hosts=hosts)[0].body["message_type"] == "IM"


@pytest.mark.parametrize("url, hosted", [
    ("https://dn-m.talk.kakao.com/a.jpg", True), ("http://api1-kage.kakao.com/dn/x/img_l.jpg", True),
    ("https://k.kakaocdn.net/a.png", True), ("https://evilkakao.com/a.png", False),
    ("https://kakao.com.evil.example/a.png", False), ("not a url", False),
])
def test_kakao_hosted(url, hosted):
    assert is_kakao_hosted(url) is hosted


def test_end_session_is_an_end_call_and_internal_actions_render_nothing():
    calls = render(SetCategory("배송"), SetTags(("vip",)), Record("faq", {}),
                   HandoffAction("general", "normal", (), "요약", "user_asked"), EndSession())
    assert calls == [OutboundCall("end", TO)]


def test_end_with_bot_and_block_calls():
    assert end_with_bot_call(USER, SENDER, "welcome") == OutboundCall("end_with_bot", {**TO, "bot_event": "welcome"})
    assert block_call(USER, SENDER) == OutboundCall("block", TO)


def test_every_rendered_write_passes_the_protocol_checker_with_unique_serials():
    links = tuple(LinkOut(f"링크{i}", f"https://shop.example.com/{i}") for i in range(12))
    calls = render(SendText("가" * 2500), SendButtons("메뉴", tuple(f"b{i}" for i in range(31))),
                   SendLinks("링크", links), SendButtons("", ("처음으로",)), SendImage("https://x.example/a.png"))
    writes = [parse_write(call.body) for call in calls]
    assert all(len(w.links) <= 5 and len(w.quick_replies) <= 10 for w in writes)
    assert len({w.serial_number for w in writes}) == len(writes)


@pytest.mark.parametrize("count, limit, sizes", [(0, 10, []), (10, 10, [10]), (11, 10, [6, 5]), (21, 10, [7, 7, 7]),
                                                 (6, 5, [3, 3]), (12, 5, [4, 4, 4])])
def test_balanced_groups(count, limit, sizes):
    groups = balanced(list(range(count)), limit)
    assert [len(g) for g in groups] == sizes
    assert [x for g in groups for x in g] == list(range(count))
