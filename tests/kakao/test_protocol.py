"""Webhook bodies from tests/fixtures/kakao: every field read, every malformed body rejected by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triage.kakao import protocol
from triage.kakao.protocol import (ProtocolError, parse_end, parse_expired, parse_message, parse_reference,
                                   parse_write)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "kakao"
SENDER = "0123456789abcdef0123456789abcdef01234567"
PARSERS = {"message": parse_message, "reference": parse_reference, "expired_session": parse_expired}
MALFORMED = sorted((FIXTURES / "malformed").glob("*/*.json"))


def body(name: str) -> dict:
    return json.loads((FIXTURES / "valid" / f"{name}.json").read_text(encoding="utf-8"))


def test_text_message_reads_every_field():
    message = parse_message(body("message_text"))
    assert message == protocol.InboundMessage(
        user_key="Ab3dEf6hIj9k", sender_key=SENDER, session_id="170000123", time_ms=1700000000123,
        serial_number="2900000000000000001", type="text", text="배송이 언제 되나요?", media_url=None,
        extra="order-20231114-77", raw=body("message_text"))
    assert message.raw == body("message_text")
    assert message.known_type


def test_photo_content_object_gives_the_url_and_a_digit_string_time_is_accepted():
    message = parse_message(body("message_photo"))
    assert (message.type, message.text) == ("photo", None)
    assert message.media_url == "https://dn-m.talk.kakao.com/talkm/i_example.jpg"
    assert message.time_ms == 1700000005000
    assert message.extra is None


def test_media_content_as_a_plain_string_is_the_url_and_unknown_fields_are_tolerated():
    message = parse_message(body("message_file_string_content"))
    assert message.media_url == "https://dn-m.talk.kakao.com/talkm/f_example.pdf"
    assert message.session_id is None
    assert message.raw["unknown_field"] == {"x": 1}


def test_unknown_message_types_are_kept_for_the_server_to_log():
    message = parse_message(body("message_unknown_type"))
    assert (message.type, message.text, message.known_type) == ("emoticon", "(이모티콘)", False)


@pytest.mark.parametrize("kind, content, text, url", [
    ("emoticon", {"id": "4412207.emot_001"}, None, None),
    ("location", {"lat": 37.5665, "lng": 126.978}, None, None),
    ("sticker", {"url": "https://dn-m.talk.kakao.com/s.webp"}, None, "https://dn-m.talk.kakao.com/s.webp"),
    ("contact", ["홍길동", "010-0000-0000"], None, None),
    ("poll", None, None, None),
])
def test_unknown_kinds_need_no_content_and_keep_only_text_or_a_url(kind, content, text, url):
    message = parse_message({**body("message_text"), "type": kind, "content": content})
    assert (message.type, message.text, message.media_url, message.known_type) == (kind, text, url, False)


@pytest.mark.parametrize("kind, content, field", [
    ("photo", {"id": "x"}, "content.url"),
    ("text", {"url": "https://a/b"}, "content"),
    ("emoticon", "가" * 10_001, "content"),
    ("emoticon", {"url": "u" * 1001}, "content.url"),
])
def test_known_kinds_keep_their_rules_and_unknown_ones_their_limits(kind, content, field):
    with pytest.raises(ProtocolError) as caught:
        parse_message({**body("message_text"), "type": kind, "content": content})
    assert caught.value.field == field


def test_numeric_session_id_and_attachment_url_are_tolerated():
    raw = {**body("message_photo"), "session_id": 170000123, "content": None,
           "attachment": {"url": "https://dn-m.talk.kakao.com/a.jpg"}}
    message = parse_message(raw)
    assert (message.session_id, message.media_url) == ("170000123", "https://dn-m.talk.kakao.com/a.jpg")


def test_a_numeric_serial_number_is_kept_as_its_exact_digits():
    message = parse_message({**body("message_text"), "serial_number": 2900000000000000001})
    assert message.serial_number == "2900000000000000001"


@pytest.mark.parametrize("serial", [2.9e18, 1.0, True, -5])
def test_a_serial_number_that_is_no_whole_number_is_refused(serial):
    with pytest.raises(ProtocolError) as caught:
        parse_message({**body("message_text"), "serial_number": serial})
    assert caught.value.field == "serial_number"


def test_reference_reads_this_entrys_extra_and_the_bot_fields_of_the_last_reference():
    reference = parse_reference(body("reference"))
    assert reference == protocol.InboundReference(
        user_key="Ab3dEf6hIj9k", sender_key=SENDER, session_id="170000123", app_user_id=None,
        time_ms=1700000000050, extra="order-20231114-77", bot="false", bot_event="", raw={})


def test_an_empty_reference_falls_back_to_last_reference():
    reference = parse_reference(body("reference_last_only"))
    assert (reference.extra, reference.bot, reference.bot_event) == ("page-faq", "true", "refund_block")
    assert (reference.app_user_id, reference.time_ms, reference.session_id) == (98765, 1700000100000, "170000124")


def test_reference_without_any_meta_gives_empty_strings():
    raw = {k: v for k, v in body("reference").items() if k not in ("reference", "last_reference")}
    reference = parse_reference(raw)
    assert (reference.extra, reference.bot, reference.bot_event) == ("", "", "")


def test_expired_session():
    expired = parse_expired(body("expired_session"))
    assert (expired.user_key, expired.session_id, expired.time_ms, expired.reason) == (
        "Ab3dEf6hIj9k", "170000123", 1702592000123, "expired")


def test_there_are_at_least_twenty_malformed_bodies():
    assert len(MALFORMED) >= 20


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_malformed_body_is_rejected_naming_the_field(path: Path):
    field = path.stem.split("--")[0]
    with pytest.raises(ProtocolError) as caught:
        PARSERS[path.parent.name](json.loads(path.read_text(encoding="utf-8")))
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{field}: ")
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("value", [None, "text", 3, []])
def test_a_body_that_is_not_an_object_names_the_body(value):
    with pytest.raises(ProtocolError, match="^body: must be a JSON object"):
        parse_message(value)


def test_limits_are_exact_at_the_boundary():
    raw = {**body("message_text"), "user_key": "u" * 20, "extra": "x" * 50, "serial_number": "9" * 30}
    message = parse_message(raw)
    assert (len(message.user_key), len(message.extra or ""), len(message.serial_number)) == (20, 50, 30)


# ---- write bodies as the simulator reads them -------------------------------------------

WRITE = {"user_key": "Ab3dEf6hIj9k", "sender_key": SENDER, "serial_number": "p-1", "message_type": "TX",
         "message": "안녕하세요"}


def test_write_body_round_trips_through_the_checker():
    bubble = protocol.li("골라 주세요", [protocol.web_link("배송조회", "https://shop.example.com/t")],
                         [protocol.quick_reply("상담 종료")])
    request = parse_write(protocol.write_body("Ab3dEf6hIj9k", SENDER, "p-2", bubble))
    assert request.links == (protocol.Button("배송조회", "WL", "https://shop.example.com/t"),)
    assert request.quick_replies == (protocol.Button("상담 종료", "BK"),)


def test_an_app_link_needs_one_of_its_schemes():
    link = {"name": "앱에서 보기", "type": "AL", "scheme_ios": "hanbit://orders/77"}
    request = parse_write({**WRITE, "message_type": "LI", "links": [link]})
    assert request.links == (protocol.Button("앱에서 보기", "AL"),)


def test_a_bare_supplement_list_is_tolerated():
    request = parse_write({**WRITE, "message_type": "LI", "supplement": [{"name": "네", "type": "BK"}]})
    assert request.quick_replies == (protocol.Button("네", "BK"),)


@pytest.mark.parametrize("change, field", [
    ({"message_type": "XX"}, "message_type"),
    ({"message": None}, "message"),
    ({"message": "가" * 1001}, "message"),
    ({"links": [{"name": "a", "type": "WL", "url_mobile": "https://a"}]}, "links"),
    ({"message_type": "LI", "links": [{"name": "a", "type": "WL", "url_mobile": "https://a"}] * 6}, "links"),
    ({"message_type": "LI", "supplement": {"quick_reply": [{"name": "a", "type": "BK"}] * 11}},
     "supplement.quick_reply"),
    ({"message_type": "LI", "links": [{"name": "a", "type": "WL"}]}, "links[0].url_mobile"),
    ({"message_type": "LI", "links": [{"name": "a", "type": "ZZ"}]}, "links[0].type"),
    ({"message_type": "LI", "links": [{"name": "앱에서 보기", "type": "AL"}]}, "links[0].scheme_android"),
    ({"message_type": "LI", "links": [{"name": "a", "type": "WL", "url_mobile": "javascript:x"}]},
     "links[0].url_mobile"),
    ({"message_type": "IM", "message": None}, "image_url"),
    ({"message_type": "FI", "message": None, "file_url": "https://a/f", "file_name": "f.pdf"}, "file_size"),
    ({"serial_number": "s" * 31}, "serial_number"),
    ({"auto_answer": "ab"}, "auto_answer"),
])
def test_write_rules(change, field):
    with pytest.raises(ProtocolError) as caught:
        parse_write({k: v for k, v in {**WRITE, **change}.items() if v is not None})
    assert caught.value.field == field


def test_end_bodies():
    assert parse_end(protocol.end_with_bot_body("u", SENDER, "welcome")) == protocol.EndRequest("u", SENDER, "welcome")
    assert protocol.end_with_bot_body("u", SENDER) == {"user_key": "u", "sender_key": SENDER}
    with pytest.raises(ProtocolError, match="bot_event"):
        parse_end({"user_key": "u", "sender_key": SENDER, "bot_event": "e" * 101})


@pytest.mark.parametrize("code, expected, same", [
    ("0000", "0", True), ("0", "0", True), ("-803", "-803", True), ("200", "0", False), ("ok", "0", False),
    (None, "0", False),
])
def test_codes_compare_numerically(code, expected, same):
    assert protocol.same_code(code, expected) is same


@pytest.mark.parametrize("raw, code", [(0, "0"), ("0000", "0000"), (-501, "-501"), (True, None), ("", None),
                                       (None, None)])
def test_codes_are_normalized_to_text(raw, code):
    assert protocol.normalize_code(raw) == code
