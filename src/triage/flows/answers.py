"""Checking and normalising what a user typed at an ``ask`` node.

Each validator returns the value to save (normalised, so agents and templates see one
format) or ``None`` when the answer does not fit. Answers are hostile text: input is
NFKC-folded (full-width digits are common on Korean keyboards) and length-capped before any
regular expression sees it, so an editor's ``regex:`` cannot be made to backtrack for long.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Callable

MAX_ANSWER = 1000

Validator = Callable[[str, datetime], "str | None"]

_PHONE = re.compile(
    r"(?P<a>01[016789])(?P<b>\d{3,4})(?P<c>\d{4})"
    r"|(?P<d>02)(?P<e>\d{3,4})(?P<f>\d{4})"
    r"|(?P<g>0[3-6][1-5]|070|050\d)(?P<h>\d{3,4})(?P<i>\d{4})"
    r"|(?P<j>1[568]\d{2})(?P<k>\d{4})"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_NUMBER = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?")
_DATE = re.compile(r"(\d{4})\s*[-./년]\s*(\d{1,2})\s*[-./월]\s*(\d{1,2})\s*일?")
_RELATIVE_DAYS = {"그제": -2, "그저께": -2, "어제": -1, "오늘": 0, "내일": 1, "모레": 2}
_ORDER_ID = re.compile(r"(?=.*[A-Za-z0-9])[A-Za-z0-9-]{6,20}")
_RRN = re.compile(r"(\d{6})-?(\d{7})")
_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_CARD = re.compile(r"\d{13,19}")
_NAME = re.compile(r"(?=.{2,20}$)[가-힣A-Za-z]+( [가-힣A-Za-z]+)*")
_SEPARATORS = re.compile(r"[\s().-]")


def phone(text: str, now: datetime) -> str | None:
    digits = _SEPARATORS.sub("", text)
    if digits.startswith("+82"):
        digits = "0" + digits[3:]
    m = _PHONE.fullmatch(digits)
    return "-".join(part for part in m.groups() if part) if m else None


def email(text: str, now: datetime) -> str | None:
    return text if len(text) <= 254 and _EMAIL.fullmatch(text) else None


def number(text: str, now: datetime) -> str | None:
    return text.replace(",", "") if _NUMBER.fullmatch(text) else None


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def date_(text: str, now: datetime) -> str | None:
    if text in _RELATIVE_DAYS:
        return (now.date() + timedelta(days=_RELATIVE_DAYS[text])).isoformat()
    m = _DATE.fullmatch(text)
    found = _valid_date(*map(int, m.groups())) if m else None
    return found.isoformat() if found else None


def order_id(text: str, now: datetime) -> str | None:
    return text if _ORDER_ID.fullmatch(text) else None


def _birth_date_exists(front: str, century_digit: str) -> bool:
    century = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000,
               "9": 1800, "0": 1800}[century_digit]
    return _valid_date(century + int(front[:2]), int(front[2:4]), int(front[4:6])) is not None


def rrn(text: str, now: datetime) -> str | None:
    """주민등록번호: a real birth date and the check digit (numbers issued before Oct 2020)."""
    m = _RRN.fullmatch(text.replace(" ", ""))
    if not m or not _birth_date_exists(m[1], m[2][0]):
        return None
    digits = m[1] + m[2]
    check = (11 - sum(int(d) * w for d, w in zip(digits, _RRN_WEIGHTS)) % 11) % 10
    return f"{m[1]}-{m[2]}" if check == int(digits[12]) else None


def card(text: str, now: datetime) -> str | None:
    digits = re.sub(r"[\s-]", "", text)
    if not _CARD.fullmatch(digits):
        return None
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return digits if total % 10 == 0 else None


def name(text: str, now: datetime) -> str | None:
    return text if _NAME.fullmatch(text) else None


def text_(text: str, now: datetime) -> str | None:
    return text or None


VALIDATORS: dict[str, Validator] = {
    "phone": phone, "email": email, "number": number, "date": date_, "order_id": order_id,
    "rrn": rrn, "card": card, "name": name, "text": text_,
}


@lru_cache(maxsize=256)
def _pattern(source: str) -> re.Pattern[str] | None:
    """Compiled once per pattern; a pattern the loader already rejected matches nothing."""
    try:
        return re.compile(source)
    except re.error:
        return None


def check_answer(rule: str | None, answer: str, now: datetime) -> str | None:
    """The value to save for ``answer`` under ``rule`` (None = any non-empty text), or None."""
    cleaned = unicodedata.normalize("NFKC", answer).strip()
    if not cleaned or len(cleaned) > MAX_ANSWER:
        return None
    if rule and rule.startswith("regex:"):
        pattern = _pattern(rule[len("regex:"):])
        return cleaned if pattern is not None and pattern.fullmatch(cleaned) else None
    return VALIDATORS.get(rule or "text", text_)(cleaned, now)
