"""The hot-path encoder writes what the standard library would read back, even for hostile values."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.json_encoding import dumps, dumps_bytes, loads_ours

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@given(JSON_VALUES)
def test_every_json_value_reads_back_as_it_was(value):
    assert json.loads(dumps(value)) == value
    assert json.loads(dumps_bytes(value)) == value


def test_korean_text_is_written_as_utf8_not_escapes():
    assert dumps_bytes({"text": "배송 조회"}) == '{"text":"배송 조회"}'.encode()


@pytest.mark.parametrize("value", [{"text": "hi \ud800 there"}, {"n": 2**70}, {"k": type("Sub", (str,), {})("x")}])
def test_what_orjson_refuses_is_written_by_the_standard_encoder(value):
    text = dumps(value)
    assert text.isascii() and json.loads(text) == value
    assert dumps_bytes(value) == text.encode()


def test_values_no_json_encoder_takes_raise_type_error():
    @dataclass
    class Thing:
        name: str

    with pytest.raises(TypeError):
        dumps({"thing": Thing("x")})
    with pytest.raises(TypeError):
        dumps_bytes({1j: "complex key"})


@given(JSON_VALUES)
def test_what_we_write_we_read_back(value):
    assert loads_ours(dumps_bytes(value)) == value


def test_the_ascii_fallback_reads_back_too():
    assert loads_ours(dumps({"text": "hi \ud800 there"})) == {"text": "hi \ud800 there"}


def test_broken_json_still_raises_value_error():
    with pytest.raises(ValueError):
        loads_ours(b'{"row": ')
