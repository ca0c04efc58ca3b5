"""Greetings and thanks: how most 상담톡 chats open and close, and never a question.

Kept apart from the engine so the phrase lists can grow without touching dialogue logic. A
message is compared after normalising what customers add to these words without changing
their meaning: spaces, punctuation, ``~``, ``^^``, trailing ``ㅎㅎ``/``ㅋㅋ``/``ㅠㅠ`` and
stretched letters ("네네", "감사합니다!!", "안녕하세요~^^", "감사 합니다ㅎㅎ").
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["greeting", "thanks"]

_GREETINGS = (
    "안녕하세요", "안녕하세여", "안녕하세용", "안녕하십니까", "안녕", "하이", "하이요", "ㅎㅇ", "헬로", "hello", "hi",
    "여보세요", "저기요", "계세요", "수고하십니다", "수고많으십니다",
    "문의드립니다", "문의드려요", "문의합니다", "문의해요", "문의할게요", "문의있어요", "문의있습니다",
    "질문드립니다", "질문드려요", "질문있어요", "질문있습니다",
)
_THANKS = (
    "감사합니다", "감사해요", "감사드립니다", "감사", "고맙습니다", "고마워요", "고마워", "땡큐", "thanks", "thankyou",
    "thx", "ㄳ", "ㄱㅅ", "네", "넵", "넹", "예", "옙", "응", "ㅇㅇ", "알겠습니다", "알겠어요", "알았어요", "알겠어",
    "확인했습니다", "확인했어요", "확인", "오케이", "ok", "okay", "ㅇㅋ", "좋아요", "좋습니다",
    "수고하세요", "수고하셨습니다",
)
LONGEST = 40
"""Longer messages are never small talk alone, so the check stays cheap on real questions."""

_NOT_WORD = re.compile(r"[\W_]+")
_STRETCHED = re.compile(r"(.)\1+")
_LAUGHTER = re.compile(r"(?<=[가-힣a-z0-9])[ㅎㅋㅠㅜ]+$")
_WORDS = re.compile(r"[^\s,.!?~…^]+")
_SEPARATORS = " \t\n,.!?~…^"


def normalise(text: str) -> str:
    return _LAUGHTER.sub("", _STRETCHED.sub(r"\1", _NOT_WORD.sub("", text.casefold())))


_KINDS: dict[str, Kind] = {**{normalise(p): "thanks" for p in _THANKS}, **{normalise(p): "greeting" for p in _GREETINGS}}
_LONGEST_PHRASE = max(map(len, _KINDS))
_GREETING_FIRSTS = frozenset(normalise(p)[0] for p in _GREETINGS)
"""What a greeting can start with: every message is checked for one, and most start elsewhere."""


def kind(text: str) -> Kind | None:
    """``greeting`` when the message is nothing but greetings, ``thanks`` when it is thanks or an
    acknowledgement (perhaps with a greeting: "네 감사합니다", "안녕하세요 감사해요"), else None."""
    if len(text) > LONGEST:
        return None
    kinds = _phrases(normalise(text))
    if not kinds:
        return None
    return "thanks" if "thanks" in kinds else "greeting"


def _phrases(folded: str) -> set[Kind] | None:
    """The kinds of the phrases ``folded`` is made of, end to end, or None if it is anything else."""
    if not folded:
        return None
    reach: list[set[Kind] | None] = [set()] + [None] * len(folded)
    for end in range(1, len(folded) + 1):
        for start in range(max(0, end - _LONGEST_PHRASE), end):
            found, before = _KINDS.get(folded[start:end]), reach[start]
            if found is not None and before is not None:
                reach[end] = before | {found}
                break
    return reach[-1]


def without_greeting(text: str) -> str:
    """The question after an opening greeting ("안녕하세요~ 배송 언제 와요?" -> "배송 언제 와요?");
    the text unchanged when there is no greeting or nothing after it."""
    if text.lstrip(_SEPARATORS)[:1].casefold() not in _GREETING_FIRSTS:
        return text
    cut = 0
    for word in _WORDS.finditer(text[:LONGEST]):
        if kind(text[:word.end()]) != "greeting":
            break
        cut = word.end()
    rest = text[cut:].lstrip(_SEPARATORS) if cut else text
    return rest or text
