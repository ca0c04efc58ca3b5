"""Finding and masking Korean personal data: the one routine logs, analytics, events, stored
transcripts and agent packets all go through, so a number is hidden the same way everywhere.

Korean text glues particles straight onto numbers ("010-1234-5678로", "번호는01012345678이에요"),
so a number's edges are judged by the characters next to it, not by ``\\b`` (Hangul counts as a
word character). A number is a candidate only when it is not part of a longer token: no digit,
Latin letter or ``*`` touches it, directly or across one hyphen or dot. That keeps order numbers
(``ORD-2026-112501``, ``20231114-0000077``), product codes and serials whole and unmasked, and
it keeps a mask's remnants (``010-****-5678``) from being read as a new number.

Shapes alone cannot tell some identifiers apart, so a few rules also read the words just
before a number (see ``_cue``): bare digit runs after 주문/송장/택배 are order and tracking
numbers, a bank word makes a digit run an account, and 사업자 makes a bare 10-digit run a
business number.

Korean keyboards type full-width characters (``０１０－１２３４``), so the patterns read a copy of
the text with full-width ASCII and dash variants folded one-for-one to ASCII: positions stay
the same, and the mask is applied to the original characters. Stdlib only; every pattern is
compiled once and uses bounded repetition, so hostile text costs linear time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, Callable, Iterator

KINDS = ("email", "rrn", "frn", "mobile", "landline", "brn", "card", "account")
"""Also the precedence when two kinds claim the same characters: the more specific one wins."""


@dataclass(frozen=True)
class Finding:
    kind: str  # one of KINDS
    start: int
    end: int


_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | dict.fromkeys(map(ord, "‐‑‒–—−"), "-")
_FOLDABLE = re.compile("[\uff01-\uff5e‐‑‒–—−]")
_SEP = r"[\-.]"
_PHONE_SEP = rf"(?: ?{_SEP} ?| )?"
"""Customers space around a phone's hyphens ("010 - 1234 - 5678") and mix separators ("010 1234-5678",
"010-12345678"), so each of a phone's two separators is read on its own."""
_EDGE = r"[\dA-Za-z*]"
_START = rf"(?<!{_EDGE})(?<!{_EDGE}{_SEP})"
_END = rf"(?!{_EDGE})(?!{_SEP}{_EDGE})"
_NOT_AMOUNT = r"(?!\s?원)"
_COUNTRY = r"\+82[ \-]?0?"
_MOBILE_PREFIX = r"1[016789]"
_AREA = r"(?:2|[3-6][1-5]|70|50[2-8]|80)"
"""Seoul 02, the provinces 031-064, 070 internet phones, 0502-0508 안심번호, 080 toll-free.
The 8-digit 대표번호 (15xx/16xx/18xx-xxxx) belong to businesses, not people, so they stay."""

_NUMBER_RUN = re.compile(r"\d(?:\W{0,3}\d){8,}")
"""Every number kind needs nine digits or more, joined by at most three separators (" - "); rules only
read such runs (and the character before, for ``+82`` and ``(02)``), so prices, dates and
quantities elsewhere in a message cost nothing."""

_CUES = re.compile(
    r"(?P<identifier>주문|송장|택배|배송|등기|상품|모델|시리얼|쿠폰|바코드|예약|접수"
    r"|order|tracking|invoice|sku|serial)"
    r"|(?P<bank>은행|뱅크|(?<!\[)계좌|예금주|입금|송금|이체|무통장"
    r"|국민|신한|농협|우체국|새마을|신협|수협)"
    r"|(?P<business>사업자)"
    r"|(?P<payment>카드|결제|card)",
    re.IGNORECASE,
)
"""Words that tell what a nearby number is. Payment words only matter by being nearer than an
order word ("주문 취소하고 카드 ..."). 우리/하나/기업 are bank names but also everyday words
("we", "one", "company"), so they count only as 우리은행 etc., which 은행 covers. A mask's own
``[계좌번호]`` is no bank word, or masking one account would make the next number an account."""
_CUE_BEFORE = 24
_CUE_AFTER = 12
_CARD_WORD = re.compile(r"(?:카드|card)\D{0,10}$", re.IGNORECASE)
"""카드, 카드번호, "card number:" right before a number (up to ten characters between)."""
_CARD_WORD_BEFORE = 16
_CARD_LAYOUTS = frozenset({(4, 4, 4, 4), (4, 6, 5)})

_BANK_LAYOUTS = frozenset({
    (3, 3, 6),  # 신한, 케이뱅크
    (3, 2, 6),  # 신한 (old), SC제일
    (4, 3, 6),  # 우리
    (6, 2, 6),  # 국민, 농협, 우체국
    (3, 6, 5),  # 하나
    (3, 4, 4, 2),  # 농협
    (3, 6, 2, 3),  # 기업
    (4, 2, 7),  # 카카오뱅크
})
"""Dashed layouts no date, phone or order number takes, so they are accounts without a bank word.
토스뱅크's 4-4-4 is left out: order and tracking numbers share it, so it needs a bank word."""

_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
_CENTURY = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000}
_KEEP = {"rrn": (6, 0), "frn": (6, 0), "brn": (3, 0), "card": (0, 4)}
"""Digits a mask keeps (first, last): the birth date, the tax office, a card's last four."""
_PHONE_HEAD = re.compile(rf"{_COUNTRY}(?:{_MOBILE_PREFIX}|{_AREA})|\(?0(?:{_MOBILE_PREFIX}|{_AREA})")


def _digits(match: re.Match[str]) -> str:
    return "".join(ch for ch in match[0] if ch.isdecimal())


def _cue(match: re.Match[str]) -> str | None:
    """What the nearest telling word says about a number: the closest one before it, else the
    first one just after it ("3333011234567 카카오뱅크로"). Nearest wins, so in "입금했는데
    주문번호 2026112512345" the number is an order number."""
    text, start, end = match.string, match.start(), match.end()
    before = [cue.lastgroup for cue in _CUES.finditer(text, max(0, start - _CUE_BEFORE), start)]
    if before:
        return before[-1]
    after = _CUES.search(text, end, end + _CUE_AFTER)
    return after.lastgroup if after else None


def _birth_date_exists(front: str, gender: str) -> bool:
    try:
        date(_CENTURY[gender] + int(front[:2]), int(front[2:4]), int(front[4:6]))
    except ValueError:
        return False
    return True


def _resident_check(digits: str, offset: int) -> bool:
    """Offset 11 for 주민등록번호; 외국인등록번호 use the same weights with offset 13."""
    total = sum(int(d) * w for d, w in zip(digits, _RRN_WEIGHTS))
    return (offset - total % 11) % 10 == int(digits[12])


def _resident_number(match: re.Match[str], offset: int) -> bool:
    """A real birth date and gender digit are required. Numbers issued since October 2020 end
    in random digits and may fail the check digit, so a separated ``YYMMDD-GNNNNNN`` is masked
    without it: that layout is the RRN's own. A bare 13-digit run must pass the check digit and
    must not follow 주문/송장..., or order numbers starting with a date-like run would be masked."""
    if not _birth_date_exists(match["front"], match["back"][0]):
        return False
    if match["sep"]:
        return True
    return _resident_check(match["front"] + match["back"], offset) and _cue(match) != "identifier"


def _luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _card_issuer(digits: str) -> bool:
    """Cards start with 3 (Amex, JCB, Diners), 4 (Visa), 5 or 2221-2720 (Mastercard),
    6 (UnionPay, Discover) or 9 (Korean domestic cards such as BC). Millisecond timestamps and
    date-led order numbers start with 1 or 20 and are left alone."""
    return digits[0] in "34569" or 2221 <= int(digits[:4]) <= 2720


def _card(match: re.Match[str], grouped: bool) -> bool:
    digits = _digits(match)
    if not (13 <= len(digits) <= 19 and _card_issuer(digits) and _luhn(digits)):
        return grouped and _typed_card(match)
    return grouped or _cue(match) != "identifier"


def _typed_card(match: re.Match[str]) -> bool:
    """A card layout right after the word 카드 is a card even when its check digit fails: a
    customer's one-digit typo would otherwise leave fifteen real digits readable. Only the
    16-digit 4-4-4-4 and Amex 4-6-5 layouts count, and an order word in between still wins."""
    groups = tuple(len(group) for group in re.split(r"\D+", match[0]))
    if groups not in _CARD_LAYOUTS:
        return False
    start = match.start()
    near = _CARD_WORD.search(match.string, max(0, start - _CARD_WORD_BEFORE), start)
    return near is not None and _cue(match) == "payment"


def _brn_check(digits: str) -> bool:
    total = sum(int(d) * w for d, w in zip(digits, _BRN_WEIGHTS)) + int(digits[8]) * 5 // 10
    return (10 - total % 10) % 10 == int(digits[9])


def _brn(match: re.Match[str], grouped: bool) -> bool:
    """Dashed 3-2-5 is the 사업자등록번호 layout; a bare 10-digit run also needs 사업자 nearby."""
    return _brn_check(_digits(match)) and (grouped or _cue(match) == "business")


def _account(match: re.Match[str], grouped: bool) -> bool:
    """Account layouts differ by bank and overlap other numbers, so a 10-14 digit number is an
    account when a bank word is nearest, or when it is dashed in a layout only banks use."""
    if not 10 <= len(_digits(match)) <= 14:
        return False
    cue = _cue(match)
    if cue == "bank":
        return True
    if not grouped or match["sep"] != "-" or cue == "identifier":
        return False
    return tuple(len(group) for group in match[0].split("-")) in _BANK_LAYOUTS


def _always(match: re.Match[str]) -> bool:
    return True


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    accepts: Callable[[re.Match[str]], bool]


def _rule(kind: str, pattern: str, accepts: Callable[[re.Match[str]], bool] = _always) -> _Rule:
    return _Rule(kind, re.compile(pattern), accepts)


def _phone(prefix: str) -> str:
    """A phone whose number after the leading 0 starts with ``prefix``. A bracketed ``(010)`` or
    ``(02)`` is its own edge, so it may follow a word ("tel(02)123-4567")."""
    return (rf"(?:{_START}(?:{_COUNTRY}|0){prefix}|\(0{prefix}\))"
            rf"{_PHONE_SEP}\d{{3,4}}{_PHONE_SEP}\d{{4}}{_END}")


_RESIDENT = r"(?P<front>\d{{6}})(?P<sep>-| |)(?P<back>[{genders}]\d{{6}})"

_EMAIL = _rule("email", r"(?:[A-Za-z0-9._%+\-]{1,64}|[가-힣0-9._%+\-]{1,64})"
                        r"@(?:[A-Za-z0-9가-힣\-]{1,63}\.){1,8}[A-Za-z]{2,24}")
"""Hangul local parts and domains (김민수@네이버.com) are real addresses too. A local part is Latin
or Hangul, not both, so words glued before a Latin address stay ("메일주소는abc@..."); the
top-level domain stays Latin, so a particle after it ("...com이에요") is not swallowed."""
_NUMBER_RULES = (
    _rule("rrn", _START + _RESIDENT.format(genders="1-4") + _END,
          partial(_resident_number, offset=11)),
    _rule("frn", _START + _RESIDENT.format(genders="5-8") + _END,
          partial(_resident_number, offset=13)),
    _rule("mobile", _phone(_MOBILE_PREFIX)),
    _rule("landline", _phone(_AREA)),
    _rule("brn", rf"{_START}\d{{3}}-\d{{2}}-\d{{5}}{_END}", partial(_brn, grouped=True)),
    _rule("brn", rf"{_START}\d{{10}}{_END}", partial(_brn, grouped=False)),
    _rule("card", rf"{_START}\d{{4}}(?P<sep>{_SEP}| )"
                  rf"(?:\d{{4}}(?P=sep)\d{{4}}(?P=sep)\d{{1,4}}(?:(?P=sep)\d{{3}})?|\d{{6}}(?P=sep)\d{{4,5}}){_END}",
          partial(_card, grouped=True)),
    _rule("card", rf"{_START}\d{{13,19}}{_END}", partial(_card, grouped=False)),
    _rule("account", rf"{_START}\d{{2,6}}(?P<sep>[- ])\d{{1,7}}(?:(?P=sep)\d{{1,7}}){{0,2}}{_END}{_NOT_AMOUNT}",
          partial(_account, grouped=True)),
    _rule("account", rf"{_START}\d{{10,14}}{_END}{_NOT_AMOUNT}", partial(_account, grouped=False)),
)


def _matches(rule: _Rule, text: str, pos: int, endpos: int) -> Iterator[re.Match[str]]:
    """Every accepted match; after a rejected one the search resumes one character later, so
    a shorter number inside a rejected candidate still gets its turn."""
    while match := rule.pattern.search(text, pos, endpos):
        if rule.accepts(match):
            yield match
            pos = match.end()
        else:
            pos = match.start() + 1


def _scans(folded: str, has_at: bool) -> Iterator[tuple[_Rule, int, int]]:
    """Which rule reads which stretch. A number rule's end test looks two characters past the
    run (``(?!-\\d)``, ``(?!\\s?원)``), so its stretch ends two characters later."""
    if has_at:
        yield _EMAIL, 0, len(folded)
    for run in _NUMBER_RUN.finditer(folded):
        for rule in _NUMBER_RULES:
            yield rule, max(0, run.start() - 1), run.end() + 2


def find_pii(text: str) -> list[Finding]:
    """Personal data in ``text``, sorted and non-overlapping. Where candidates overlap, the
    leftmost wins, then the longest, then the kind listed first in ``KINDS``."""
    has_at = "@" in text or "＠" in text
    if not has_at and not _NUMBER_RUN.search(text):
        return []
    folded = text.translate(_FOLD) if _FOLDABLE.search(text) else text
    candidates = sorted(
        (match.start(), -match.end(), KINDS.index(rule.kind), rule.kind)
        for rule, pos, endpos in _scans(folded, has_at) for match in _matches(rule, folded, pos, endpos)
    )
    findings: list[Finding] = []
    for start, negative_end, _, kind in candidates:
        if not findings or start >= findings[-1].end:
            findings.append(Finding(kind, start, -negative_end))
    return findings


def contains_pii(text: str) -> bool:
    return bool(find_pii(text))


def _star_digits(span: str, keep_head: int, keep_tail: int) -> str:
    """Stars every digit but the first and last few; separators stay, so the shape reads."""
    total = sum(ch.isdecimal() for ch in span)
    out: list[str] = []
    seen = 0
    for ch in span:
        if ch.isdecimal():
            out.append(ch if seen < keep_head or seen >= total - keep_tail else "*")
            seen += 1
        else:
            out.append(ch)
    return "".join(out)


def _masked(kind: str, span: str) -> str:
    """What replaces one finding. Phones keep the area code and last four digits (enough to
    tell two numbers apart in a transcript), RRNs the birth date, cards the last four, business
    numbers the tax office; an account is all secret, emails keep a letter and the domain."""
    if kind == "email":
        return f"{span[0]}***{span[span.translate(_FOLD).index('@'):]}"
    if kind == "account":
        return "[계좌번호]"
    if kind in ("mobile", "landline"):
        head = _PHONE_HEAD.match(span.translate(_FOLD))
        return _star_digits(span, sum(ch.isdecimal() for ch in head[0]) if head else 0, 4)
    return _star_digits(span, *_KEEP[kind])


def _apply(text: str, findings: list[Finding]) -> str:
    parts: list[str] = []
    last = 0
    for finding in findings:
        parts += [text[last:finding.start], _masked(finding.kind, text[finding.start:finding.end])]
        last = finding.end
    parts.append(text[last:])
    return "".join(parts)


def mask(text: str) -> str:
    """``text`` with every finding masked, repeated until nothing is left to find.

    One pass almost always suffices, but a mask changes what surrounds the next number (a
    shorter email brings a bank word within reach), so masking again until nothing is found
    makes ``mask`` idempotent by construction. It ends: every pass turns at least one digit
    into ``*`` or one email's local part into ``x***``, which no rule matches again."""
    while findings := find_pii(text):
        text = _apply(text, findings)
    return text


def mask_data(value: Any) -> Any:
    """Strings anywhere inside dicts, lists and tuples masked; keys and other types kept as they
    are, so the result still fits the schema the caller serialises it with."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {key: mask_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_data(item) for item in value]
    if isinstance(value, tuple):
        return tuple(mask_data(item) for item in value)
    return value
