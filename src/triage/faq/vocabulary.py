"""The words an FAQ knows and how much each says, so the matcher can weigh evidence.

환율 looks like 환불 to a fuzzy scorer, and "배민 주문 취소" contains 주문 취소. What gives
them away is a word no FAQ entry uses. A word counts as known when some FAQ word starts the
same way (first syllable, then the second syllable's initial, so 바꿔 and 바꿀 agree), or
differs from one by a keystroke (춰소 for 취소).

Words also differ in weight: 배송 appears in a dozen entries and tells them apart poorly,
송장번호 in one. The weight is the inverse document frequency over entries; a word no entry
uses weighs most, because a question about something the FAQ never mentions is probably not
an FAQ question.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Iterable

from rapidfuzz import fuzz

from triage.faq import korean

TYPO_SIMILARITY = 80.0
"""Jamo similarity of two-syllable stems one keystroke apart (배숑 ~ 배송 is 80)."""


VERB_ENDINGS = frozenset("는은을기고게지네면니")
"""Second syllables that make a two-syllable word a verb form (찾는, 맞네) of a known stem (찾기, 맞아)."""


def stem(word: str) -> str:
    """First syllable plus the second syllable's initial: where Korean inflection has not yet begun."""
    return word[0] + korean.chosung(word[1]) if korean.is_syllable(word[1]) else word[:2]


def content_words(terms: Iterable[str]) -> list[str]:
    """Words worth checking for familiarity: two characters or more and not bare numbers."""
    return [w for w in terms if len(w) >= 2 and not w.isdigit()]


class Vocabulary:
    def __init__(self, documents: Iterable[Iterable[str]], answers: Iterable[Iterable[str]] = ()):
        """``documents`` holds one collection of terms per entry (its question and phrasings together);
        words of the ``answers`` are on topic too (토스 in 토스페이) but do not weigh in matching."""
        frequency: Counter[str] = Counter()
        count = 0
        for terms in documents:
            frequency.update(set(terms))
            count += 1
        self.idf = {term: math.log((count + 1) / (df + 0.5)) for term, df in frequency.items()}
        self.unseen = math.log((count + 1) / 0.5)
        words = set(content_words(frequency)) | {w for terms in answers for w in content_words(terms)}
        self.stems = frozenset(stem(w) for w in words)
        self.firsts = frozenset(w[0] for w in words)
        by_initials: dict[str, set[str]] = {}
        for word in words:
            by_initials.setdefault(korean.chosung(word[:2]), set()).add(korean.jamo(word[:2]))
        self.by_initials = {k: tuple(v) for k, v in by_initials.items()}

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.unseen)

    def uses(self, term: str) -> bool:
        """Whether some entry's phrasings use exactly this word."""
        return term in self.idf

    def knows(self, word: str) -> bool:
        if stem(word) in self.stems or len(word) == 2 and word[1] in VERB_ENDINGS and word[0] in self.firsts:
            return True
        near = self.by_initials.get(korean.chosung(word[:2]), ())
        typed = korean.jamo(word[:2])
        return any(fuzz.ratio(typed, other) >= TYPO_SIMILARITY for other in near)

    def unknown_share(self, terms: Iterable[str]) -> float:
        """Share of the query's content words no FAQ entry uses (0 when it has none)."""
        words = content_words(terms)
        return sum(not self.knows(w) for w in words) / len(words) if words else 0.0
