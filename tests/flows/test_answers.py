"""What ``ask`` accepts, and the normalised value it saves."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, strategies as st

from triage.flows.answers import VALIDATORS, check_answer

NOW = datetime(2026, 11, 25, 10, 0)


@pytest.mark.parametrize(("rule", "typed", "saved"), [
    ("phone", "010-1234-5678", "010-1234-5678"),
    ("phone", "01012345678", "010-1234-5678"),
    ("phone", "０１０ １２３４ ５６７８", "010-1234-5678"),
    ("phone", "+82 10-1234-5678", "010-1234-5678"),
    ("phone", "02-123-4567", "02-123-4567"),
    ("phone", "(031) 1234-5678", "031-1234-5678"),
    ("phone", "1588-1234", "1588-1234"),
    ("email", " hong@example.co.kr ", "hong@example.co.kr"),
    ("number", "1,234", "1234"),
    ("number", "-3.5", "-3.5"),
    ("date", "2026-03-01", "2026-03-01"),
    ("date", "2026.3.1", "2026-03-01"),
    ("date", "2026년 3월 1일", "2026-03-01"),
    ("date", "오늘", "2026-11-25"),
    ("date", "내일", "2026-11-26"),
    ("order_id", "ORD-20261125-77", "ORD-20261125-77"),
    ("rrn", "900101-1234568", "900101-1234568"),
    ("rrn", "9001011234568", "900101-1234568"),
    ("card", "4111 1111 1111 1111", "4111111111111111"),
    ("name", "홍길동", "홍길동"),
    ("name", "Kim Minsu", "Kim Minsu"),
    ("text", " 배송이 늦어요 ", "배송이 늦어요"),
    (None, "아무 말", "아무 말"),
    ("regex:[A-Z]{2}\\d{6}", "AB123456", "AB123456"),
])
def test_valid_answers_are_saved_normalised(rule, typed, saved):
    assert check_answer(rule, typed, NOW) == saved


@pytest.mark.parametrize(("rule", "typed"), [
    ("phone", "010-123-456"), ("phone", "전화번호 없어요"), ("phone", "099-1234-5678"),
    ("email", "hong@example"), ("email", "홍길동"),
    ("number", "12개"), ("number", "1,23"),
    ("date", "2026-02-30"), ("date", "다음 주"),
    ("order_id", "12345"), ("order_id", "------"), ("order_id", "주문번호 77번"),
    ("rrn", "900101-1234567"), ("rrn", "901301-1234568"),
    ("card", "4111 1111 1111 1112"), ("card", "1234"),
    ("name", "김"), ("name", "홍길동123"),
    ("text", "   "),
    ("regex:[A-Z]{2}\\d{6}", "ab123456"),
    ("regex:(", "anything"),
])
def test_invalid_answers_are_refused(rule, typed):
    assert check_answer(rule, typed, NOW) is None


def test_overlong_answers_are_refused_before_any_pattern_runs():
    assert check_answer("regex:(a+)+$", "a" * 5000 + "!", NOW) is None


@given(st.sampled_from([*VALIDATORS, None, "regex:\\d+"]), st.text(max_size=200))
def test_no_answer_makes_a_validator_raise(rule, typed):
    saved = check_answer(rule, typed, NOW)
    assert saved is None or isinstance(saved, str)
