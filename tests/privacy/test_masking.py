"""Masking Korean personal data: the fixture samples, each kind's rules, and the guarantees
callers build on (sorted findings, idempotence, speed, structure-preserving mask_data)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.privacy import Finding, contains_pii, find_pii, mask, mask_data
from triage.yamlmarks import read_yaml

FIXTURES = Path(__file__).parent.parent / "fixtures" / "privacy"


def _samples(name: str) -> list[dict[str, Any]]:
    data, problems = read_yaml(FIXTURES / name)
    assert not problems, problems
    return data


MUST_MASK = _samples("must_mask.yaml")
MUST_NOT_MASK = _samples("must_not_mask.yaml")


def _kinds(text: str) -> list[str]:
    return [finding.kind for finding in find_pii(text)]


def test_fixtures_meet_the_issue_bar() -> None:
    assert len(MUST_MASK) >= 60
    assert len(MUST_NOT_MASK) >= 30
    assert {sample["kind"] for sample in MUST_MASK} == {
        "rrn", "frn", "mobile", "landline", "card", "account", "brn", "email"}


@pytest.mark.parametrize("sample", MUST_MASK, ids=lambda s: f"{s['kind']}:{s['text'][:24]}")
def test_personal_data_is_found_and_masked(sample: dict[str, Any]) -> None:
    assert set(_kinds(sample["text"])) == {sample["kind"]}
    assert mask(sample["text"]) == sample["masked"]


@pytest.mark.parametrize("sample", MUST_MASK, ids=lambda s: f"{s['kind']}:{s['text'][:24]}")
def test_masked_text_holds_nothing_more_to_mask(sample: dict[str, Any]) -> None:
    assert not contains_pii(sample["masked"])
    assert mask(sample["masked"]) == sample["masked"]


@pytest.mark.parametrize("sample", MUST_NOT_MASK, ids=lambda s: s["what"])
def test_look_alikes_are_left_alone(sample: dict[str, Any]) -> None:
    assert find_pii(sample["text"]) == []
    assert mask(sample["text"]) == sample["text"]


# --- resident numbers -----------------------------------------------------------------------

VALID_RRN = "9001011526011"
VALID_FRN = "8804206993513"


def _wrong_check_digit(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def test_a_bare_13_digit_run_needs_the_check_digit() -> None:
    assert _kinds(f"주민번호 {VALID_RRN}") == ["rrn"]
    assert _kinds(f"주민번호 {_wrong_check_digit(VALID_RRN)}") == []


def test_a_dashed_resident_number_is_masked_even_when_the_check_digit_fails() -> None:
    """Numbers issued since October 2020 end in random digits."""
    broken = _wrong_check_digit(VALID_RRN)
    assert mask(f"주민번호 {broken[:6]}-{broken[6:]}") == "주민번호 900101-*******"


@pytest.mark.parametrize("front", ["900230", "901301", "900100", "000229"])
def test_the_birth_date_must_exist(front: str) -> None:
    """2000-02-29 exists, but gender digit 1 puts it in 1900, which was not a leap year."""
    assert find_pii(f"{front}-1234567") == []


def test_2000_was_a_leap_year_for_gender_digits_3_and_4() -> None:
    assert _kinds("000229-3234567") == ["rrn"]


@pytest.mark.parametrize("gender", ["0", "9"])
def test_gender_digits_outside_1_to_8_are_not_resident_numbers(gender: str) -> None:
    assert find_pii(f"900101-{gender}234567") == []


def test_foreigner_numbers_use_their_own_check_digit() -> None:
    assert _kinds(f"외국인등록번호 {VALID_FRN}") == ["frn"]
    assert _kinds(f"외국인등록번호 {_wrong_check_digit(VALID_FRN)}") == []
    assert _kinds("880420-6000000") == ["frn"]


def test_a_bare_resident_number_after_an_order_word_is_an_order_number() -> None:
    assert _kinds(f"주문번호 {VALID_RRN}") == []


# --- phones ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "+82 10-1234-5678", "+82-10-1234-5678", "+82 010 1234 5678", "+821012345678", "010.1234.5678"])
def test_mobile_numbers_in_every_written_form(text: str) -> None:
    assert _kinds(text) == ["mobile"]
    assert mask(text).endswith("5678") and "1234" not in mask(text)


@pytest.mark.parametrize("number", ["1588-1234", "1644-1234", "1800-1234", "15881234"])
def test_business_representative_numbers_are_not_personal(number: str) -> None:
    assert find_pii(f"고객센터 {number}") == []


@pytest.mark.parametrize("text", ["A01012345678", "01012345678B", "ORD-010-1234-5678", "010-1234-5678-9",
                                  "9010-1234-5678"])
def test_a_phone_inside_a_longer_code_is_part_of_the_code(text: str) -> None:
    assert find_pii(text) == []


@pytest.mark.parametrize(("text", "masked"), [
    ("010 - 1234 - 5678", "010 - **** - 5678"), ("010 -1234 -5678로", "010 -**** -5678로"),
    ("02 - 123 - 4567", "02 - *** - 4567"), ("+82 10 . 1234 . 5678", "+82 10 . **** . 5678")])
def test_spaces_around_a_phones_separators_still_make_a_phone(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize(("text", "masked"), [
    ("010-12345678", "010-****5678"), ("010 12345678", "010 ****5678"), ("010 1234-5678", "010 ****-5678"),
    ("010-1234 5678", "010-**** 5678"), ("010.1234-5678", "010.****-5678"), ("02 123-4567", "02 ***-4567"),
    ("+82 10-1234 5678", "+82 10-**** 5678")])
def test_each_of_a_phones_separators_may_differ(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize(("text", "masked"), [
    ("(010)1234-5678", "(010)****-5678"), ("(010) 1234 5678로", "(010) **** 5678로"),
    ("(02)123-4567", "(02)***-4567"), ("tel(031)1234-5678", "tel(031)****-5678"),
    ("(010-1234-5678)", "(010-****-5678)")])
def test_a_bracketed_prefix_still_makes_a_phone(text: str, masked: str) -> None:
    assert mask(text) == masked


def test_a_customer_writing_one_number_four_ways_has_all_four_masked() -> None:
    assert mask("연락처 010-12345678 / (010)1234-5678 / 010 1234-5678 / 010-1234-5678") == (
        "연락처 010-****5678 / (010)****-5678 / 010 ****-5678 / 010-****-5678")


@pytest.mark.parametrize("text", [
    "주문번호 20261114-0000077", "2026.11.14 10:30 배송", "2026-11-14 1234개", "39,000원 결제했어요",
    "1588-1234 1234", "수량 02 1234개", "0 1234 5678", "ORD-02-123 4567", "010-1234 5678-9"])
def test_mixed_separators_do_not_turn_look_alikes_into_phones(text: str) -> None:
    assert find_pii(text) == []


def test_korean_particles_may_touch_the_number_on_both_sides() -> None:
    assert mask("번호는010-1234-5678이고요") == "번호는010-****-5678이고요"


def test_area_code_kept_for_each_landline_prefix() -> None:
    assert mask("02-123-4567 031-123-4567 0505-123-4567 070-1234-5678") == (
        "02-***-4567 031-***-4567 0505-***-4567 070-****-5678")


# --- cards ----------------------------------------------------------------------------------

CARD = "4323194875749114"


def test_cards_need_a_valid_luhn_digit() -> None:
    assert _kinds(f"카드 {CARD}") == ["card"]
    assert find_pii(f"카드 {_wrong_check_digit(CARD)}") == []
    grouped = "-".join(CARD[i:i + 4] for i in range(0, 16, 4))
    assert mask(grouped) == "****-****-****-9114"


@pytest.mark.parametrize(("text", "masked"), [
    ("카드 4518-4212-3456-7895", "카드 ****-****-****-7895"),
    ("카드번호는 4518 4212 3456 7895 입니다", "카드번호는 **** **** **** 7895 입니다"),
    ("card number: 4518.4212.3456.7895", "card number: ****.****.****.7895"),
    ("카드 3782-822463-10006", "카드 ****-******-*0006")])
def test_a_card_layout_right_after_the_word_card_is_masked_whatever_its_check_digit(text: str, masked: str) -> None:
    """A one-digit typo must not leave fifteen real digits readable."""
    assert mask(text) == masked


@pytest.mark.parametrize("text", [
    "카드 주문번호 4518-4212-3456-7895", "결제 4518-4212-3456-7895", "4518-4212-3456-7895",
    "카드 4518-4212-3456", "카드 2026-11-25 결제", "카드로 50,000원 결제했어요 2026-1125-0001-2345",
    "카드 사용 내역은 나중에 보내주세요. 송장 4518-4212-3456-7895"])
def test_a_card_layout_failing_luhn_stays_without_the_word_card_just_before_it(text: str) -> None:
    assert find_pii(text) == []


def test_cards_need_a_known_issuer_prefix() -> None:
    """Both pass Luhn; card numbers never start with 1 (timestamps do) or 2026 (dates do)."""
    assert find_pii("1464848506950699") == []
    assert find_pii("2026860915248705") == []


def test_the_nearest_word_decides_whether_a_bare_run_is_a_card() -> None:
    assert find_pii(f"주문번호 {CARD}") == []
    assert _kinds(f"주문 취소하고 카드 {CARD}로 다시 결제할게요") == ["card"]


def test_a_grouped_card_is_a_card_whatever_the_words_around_it() -> None:
    assert _kinds("주문번호 4323-1948-7574-9114") == ["card"]


# --- bank accounts --------------------------------------------------------------------------

def test_a_bank_only_layout_is_an_account_without_a_bank_word() -> None:
    assert mask("110-123-456789 으로 부탁해요") == "[계좌번호] 으로 부탁해요"


def test_an_unknown_layout_needs_a_bank_word() -> None:
    assert find_pii("번호 1234-5678-9012 입니다") == []
    assert _kinds("신한은행 1234-5678-9012 입니다") == ["account"]


def test_an_order_word_outranks_a_bank_layout() -> None:
    assert find_pii("주문번호 110-123-456789") == []


def test_bank_words_after_the_number_count_too() -> None:
    assert _kinds("110234567890 국민은행으로 보내주세요") == ["account"]


def test_everyday_words_that_are_also_bank_names_are_not_bank_words() -> None:
    """우리 = "we", 하나 = "one": only 우리은행 and 하나은행 name the banks."""
    assert find_pii("우리 110234567890") == []
    assert _kinds("우리은행 110234567890") == ["account"]


def test_an_amount_in_won_is_not_an_account() -> None:
    assert find_pii("입금액 1234567890원 확인해주세요") == []


def test_the_account_mask_is_not_itself_a_bank_word() -> None:
    """``[계좌번호]`` contains 계좌; the number after it must not become an account because of it."""
    assert mask("110-123-456789 2026112512") == "[계좌번호] 2026112512"


# --- business numbers and emails ------------------------------------------------------------

def test_business_numbers_need_their_check_digit() -> None:
    assert mask("852-80-84140") == "852-**-*****"
    assert find_pii("852-80-84141") == []


def test_a_bare_business_number_needs_the_word_사업자() -> None:
    assert _kinds("사업자번호 8528084140") == ["brn"]
    assert find_pii("번호 8528084140") == []


def test_an_email_keeps_its_first_letter_and_domain() -> None:
    assert mask("메일 gildong.hong@example.co.kr 로") == "메일 g***@example.co.kr 로"


@pytest.mark.parametrize(("text", "masked"), [
    ("김민수@네이버.com", "김***@네이버.com"), ("메일 minsu@네이버.com 이요", "메일 m***@네이버.com 이요"),
    ("제 메일은 김민수@naver.com이에요", "제 메일은 김***@naver.com이에요"),
    ("메일주소는abc123@gmail.com이에요", "메일주소는a***@gmail.com이에요")])
def test_an_email_with_hangul_in_its_local_part_or_domain_is_masked(text: str, masked: str) -> None:
    assert mask(text) == masked


def test_an_email_made_of_a_phone_number_is_one_email() -> None:
    assert find_pii("01012345678@naver.com") == [Finding("email", 0, 21)]


# --- findings as a whole --------------------------------------------------------------------

def test_findings_are_sorted_and_do_not_overlap() -> None:
    text = "카드 4323-1948-7574-9114, 메일 a@b.co, 폰 010-1234-5678, 주민 900101-1526011"
    findings = find_pii(text)
    assert [f.kind for f in findings] == ["card", "email", "mobile", "rrn"]
    assert all(a.end <= b.start for a, b in zip(findings, findings[1:]))
    assert [text[f.start:f.end] for f in findings] == [
        "4323-1948-7574-9114", "a@b.co", "010-1234-5678", "900101-1526011"]


def test_text_without_digits_or_at_signs_is_returned_as_is() -> None:
    assert mask("배송이 언제 되나요?") == "배송이 언제 되나요?"
    assert not contains_pii("")


FRAGMENTS = [sample["text"] for sample in MUST_MASK + MUST_NOT_MASK] + [
    "010", "1234", "5678", "-", " ", ".", "*", "@", "국민", "주문", "[계좌번호]", "원", "+82", "(02)", "a"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text("0123456789 -.", max_size=20)), max_size=8))
def test_mask_is_idempotent_on_any_mix_of_samples_and_digits(parts: list[str]) -> None:
    text = "".join(parts)
    once = mask(text)
    assert mask(once) == once
    assert not contains_pii(once)


def test_masking_keeps_up_with_chat_traffic() -> None:
    """A 1,000-character message with no personal data must cost well under 0.1 ms."""
    message = ("배송이 언제 되나요? 주문한 지 오래됐는데 아직 안 왔어요. " * 40)[:1000]
    runs = 2000
    started = time.perf_counter()
    for _ in range(runs):
        mask(message)
    assert (time.perf_counter() - started) / runs < 0.0001


@pytest.mark.parametrize("hostile", ["1" * 100_000, "a" * 100_000 + "@", "1-" * 50_000, "a@" * 50_000])
def test_hostile_input_costs_linear_time(hostile: str) -> None:
    started = time.perf_counter()
    mask(hostile)
    assert time.perf_counter() - started < 2


# --- mask_data ------------------------------------------------------------------------------

def test_mask_data_masks_strings_at_any_depth_and_keeps_everything_else() -> None:
    packet = {
        "user": {"phone": "010-1234-5678", "visits": 3, "vip": True},
        "history": [("카드 4323-1948-7574-9114", 1700000000123), None, 2.5],
        "010-1234-5678": "keys stay as they are",
    }
    assert mask_data(packet) == {
        "user": {"phone": "010-****-5678", "visits": 3, "vip": True},
        "history": [("카드 ****-****-****-9114", 1700000000123), None, 2.5],
        "010-1234-5678": "keys stay as they are",
    }
    assert packet["user"]["phone"] == "010-1234-5678"


def test_mask_data_keeps_container_types() -> None:
    masked = mask_data(("010-1234-5678", ["a@b.co"]))
    assert isinstance(masked, tuple) and isinstance(masked[1], list)
    assert masked == ("010-****-5678", ["a***@b.co"])
