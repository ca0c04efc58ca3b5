"""The words an FAQ knows, so the matcher can tell an off-topic question from a typo.

환율 looks like 환불 to a fuzzy scorer, and "배민 주문 취소" contains 주문 취소. What gives
them away is a word no FAQ entry uses. A word counts as known when some FAQ word starts the
same way (first syllable, then the second syllable's initial, so 바꿔 and 바꿀 agree), or
differs from one by a keystroke (춰소 for 취소).
"""

from __future__ import annotations

from typing import Iterable

from rapidfuzz import fuzz

from triage.faq import korean

TYPO_SIMILARITY = 80.0
"""Jamo similarity of two-syllable stems one keystroke apart (배숑 ~ 배송 is 80)."""


def stem(word: str) -> str:
    """First syllable plus the second syllable's initial: where Korean inflection has not yet begun."""
    return word[0] + korean.chosung(word[1]) if korean.is_syllable(word[1]) else word[:2]


def content_words(text: str) -> list[str]:
    """Words worth checking: two characters or more and not bare numbers."""
    return [w for w in text.split() if len(w) >= 2 and not w.isdigit()]


class Vocabulary:
    def __init__(self, texts: Iterable[str]):
        words = {w for text in texts for w in content_words(text)}
        self.stems = frozenset(stem(w) for w in words)
        by_initials: dict[str, set[str]] = {}
        for word in words:
            by_initials.setdefault(korean.chosung(word[:2]), set()).add(korean.jamo(word[:2]))
        self.by_initials = {k: tuple(v) for k, v in by_initials.items()}

    def knows(self, word: str) -> bool:
        if stem(word) in self.stems:
            return True
        near = self.by_initials.get(korean.chosung(word[:2]), ())
        typed = korean.jamo(word[:2])
        return any(fuzz.ratio(typed, other) >= TYPO_SIMILARITY for other in near)

    def unknown_share(self, text: str) -> float:
        """Share of the text's content words no FAQ entry uses (0 when it has none)."""
        words = content_words(text)
        return sum(not self.knows(w) for w in words) / len(words) if words else 0.0
