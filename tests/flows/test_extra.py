"""``extra`` from the 상담하기 button is hostile: parsed as a query string, never raising."""

from __future__ import annotations

from hypothesis import given, strategies as st

from triage.flows.extra import MAX_KEYS, parse_extra


def test_query_string_pairs_become_params():
    assert parse_extra("topic=order&order=77") == {"topic": "order", "order": "77"}


def test_the_last_value_of_a_repeated_key_wins_and_blank_values_stay():
    assert parse_extra("a=1&a=2&b=") == {"a": "2", "b": ""}


def test_a_bare_value_becomes_params_extra():
    assert parse_extra("order-20231114-77") == {"extra": "order-20231114-77"}


def test_percent_encoded_korean_and_plus_are_decoded():
    assert parse_extra("topic=%EC%A3%BC%EB%AC%B8&q=%EB%B0%B0%EC%86%A1+%EC%A1%B0%ED%9A%8C") == {
        "topic": "주문", "q": "배송 조회"}
    assert parse_extra("%ED%99%98%EB%B6%88") == {"extra": "환불"}


def test_keys_a_template_cannot_address_are_dropped():
    assert parse_extra("ok=1&bad-key=2&__class__=3&9lives=4&=5") == {"ok": "1"}


def test_nothing_gives_nothing():
    assert parse_extra(None) == parse_extra("") == parse_extra("   ") == {}


def test_garbage_is_survived():
    assert parse_extra("a=%FF%FE&b=%00x\x00y") == {"a": "\ufffd\ufffd", "b": "xy"}
    assert parse_extra(b"topic=\xff") == {"topic": "\ufffd"}
    assert parse_extra("&&&==&=") == {}


def test_input_length_and_key_count_are_capped():
    many = "&".join(f"k{i}={i}" for i in range(200))
    params = parse_extra(many)
    assert len(params) == MAX_KEYS and params["k0"] == "0"
    assert parse_extra("a=" + "x" * 5000)["a"] == "x" * 998


@given(st.one_of(st.none(), st.text(), st.binary()))
def test_any_input_gives_string_params_with_addressable_keys(extra):
    params = parse_extra(extra)
    assert len(params) <= MAX_KEYS
    assert all(isinstance(v, str) and k.isidentifier() for k, v in params.items())
