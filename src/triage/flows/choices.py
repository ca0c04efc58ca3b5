"""Which menu choice a user's text means.

In 상담톡 a button press arrives as the button's label typed by the user, so a label, a
sloppy retyping of it and "2번이요" must all land on the same choice, while a free
question must not be mistaken for one. Rules run from strict to loose and the first that
fits wins (spec section 3): exact label, normalised label, choice number, fuzzy match.
Fuzzy matching is conservative: a high score on the jamo spelling, and never when a second
label scores nearly as well.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal, Mapping, Sequence

from rapidfuzz import fuzz

Rule = Literal["exact", "normalised", "number", "fuzzy"]

FUZZY_MIN = 85.0
FUZZY_MARGIN = 10.0
_NUMBER = re.compile(r"(\d{1,2})\s*(?:번)?\s*(?:이요|요|이에요|입니다|할게요|으로요|로요)?")
_DROP = {"Zs", "Zl", "Zp", "Cc", "Cf", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So"}


_REQUEST = (
    r"이요|은요|는요|요|이랑|랑|과|와|하고|을|를|에게|한테|좀|바로|빨리|지금|연결|통화|대화|상담|얘기|이야기"
    r"|해\s?주(?:세요|실래요|시겠어요|실\s?수\s?있(?:나요|을까요))|해\s?줘요?|시켜\s?주세요|주세요"
    r"|부탁\s?(?:드려요|드립니다|해요|합니다)|원해요|원합니다|하고\s?싶(?:어요|습니다|은데요)|할래요|할게요"
    r"|(?:이|가)?\s?필요(?:해요|합니다)|요청(?:해요|합니다|드려요|드립니다)|되나요|가능한가요|가능할까요"
)
"""What may follow a keyword in a plain request for it: "상담원이요", "상담원 연결해 주세요",
"상담원과 통화하고 싶어요". Editors write keywords as bare words, customers ask in sentences; only
particles, request endings and a few words about reaching someone are allowed after the keyword,
so a sentence that says anything else ("상담원이 불친절했어요") is not taken for the keyword."""


def fold_keyword(text: str) -> str:
    """How a typed text meets a global keyword: only spaces and case are folded, stricter than a
    menu label's ``normalise``, because a keyword fires at any node. Shared by the engine and by
    validation, so a button label collides with a keyword exactly when a press would."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class KeywordHit:
    """``bare`` when the text is the keyword itself: a request around it yields to a button on screen."""

    target: str
    bare: bool


@dataclass(frozen=True)
class Keywords:
    """Global keywords prepared once: one regex per message finds the longest keyword that the
    text is, perhaps followed by a request (``_REQUEST``) and punctuation."""

    targets: tuple[str, ...]
    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, keywords: Mapping[str, str]) -> "Keywords":
        words = sorted((word for word in keywords if fold_keyword(word)), key=lambda word: -len(fold_keyword(word)))
        if not words:
            return cls((), None)
        spelled = "|".join(f"(?P<k{i}>{_spaced(fold_keyword(word))})" for i, word in enumerate(words))
        pattern = re.compile(rf"(?:{spelled})(?:\s?(?:{_REQUEST}))*[\s.,!?~^ㅠㅜ]*")
        return cls(tuple(keywords[word] for word in words), pattern)

    def find(self, text: str) -> KeywordHit | None:
        """The keyword ``text`` asks for, or None when it asks for none."""
        folded = fold_keyword(text)
        found = self.pattern.fullmatch(folded) if self.pattern else None
        if found is None or found.lastgroup is None:
            return None
        return KeywordHit(self.targets[int(found.lastgroup[1:])], found.end(found.lastgroup) == len(folded))


def _spaced(folded: str) -> str:
    """A keyword's spaces are optional when typed: "상담원연결" asks for "상담원 연결"."""
    return r"\s?".join(re.escape(part) for part in folded.split(" "))


def normalise(text: str) -> str:
    """Width, case, spaces and punctuation folded away: "배송 조회!" == "배송조회"."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch) not in _DROP)


def _jamo(text: str) -> str:
    """Typos are one jamo wrong ("조희" for "조회"); syllable-level scores punish them too hard."""
    return unicodedata.normalize("NFD", text)


@dataclass(frozen=True)
class Choices:
    """A menu prepared once: per option, its labels (the first one is shown) in each form."""

    labels: tuple[tuple[str, ...], ...]
    normalised: tuple[tuple[str, ...], ...]
    jamo: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, options: Sequence[Sequence[str]]) -> "Choices":
        labels = tuple(tuple(o) for o in options)
        normalised = tuple(tuple(normalise(label) for label in o) for o in labels)
        return cls(labels, normalised, tuple(tuple(_jamo(n) for n in o if n) for o in normalised))


@dataclass(frozen=True)
class Pick:
    index: int
    rule: Rule


def _first(options: Sequence[Sequence[str]], value: str) -> int | None:
    return next((i for i, option in enumerate(options) if value in option), None)


def _by_number(choices: Choices, text: str) -> int | None:
    m = _NUMBER.fullmatch(unicodedata.normalize("NFKC", text).strip())
    index = int(m.group(1)) - 1 if m else -1
    return index if 0 <= index < len(choices.labels) else None


def _by_fuzz(choices: Choices, folded: str) -> int | None:
    if len(folded) < 2:
        return None
    query = _jamo(folded)
    scores = sorted(((max((fuzz.ratio(query, j) for j in option), default=0.0), i)
                     for i, option in enumerate(choices.jamo)), reverse=True)
    best, index = scores[0]
    runner_up = scores[1][0] if len(scores) > 1 else 0.0
    return index if best >= FUZZY_MIN and best - runner_up >= FUZZY_MARGIN else None


def pick(choices: Choices, text: str) -> Pick | None:
    """The option ``text`` selects, and by which rule; None when it is not a choice."""
    if not choices.labels:
        return None
    stripped = text.strip()
    folded = normalise(stripped)
    for rule, found in (("exact", lambda: _first(choices.labels, stripped)),
                        ("normalised", lambda: _first(choices.normalised, folded) if folded else None),
                        ("number", lambda: _by_number(choices, stripped)),
                        ("fuzzy", lambda: _by_fuzz(choices, folded))):
        index = found()
        if index is not None:
            return Pick(index, rule)  # type: ignore[arg-type]
    return None
