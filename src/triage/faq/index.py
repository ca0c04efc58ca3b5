"""The FAQ index: built once per content snapshot, answers one query in well under a millisecond.

Every question and alternative phrasing is a variant, normalised once at build time. A query
first meets an n-gram inverted index (syllable bigrams plus 초성 trigrams, so typos inside a
syllable still share grams), which shortlists a few dozen variants without touching the rest;
only those are rescored with the expensive scorers and jamo forms.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import chain
from typing import Iterable, Mapping, Sequence

from rapidfuzz import fuzz

from triage.faq import korean
from triage.faq.model import Candidate, Decision, FaqEntry, Route
from triage.faq.policy import decide
from triage.faq.vocabulary import Vocabulary
from triage.settings import FaqSettings

SHORTLIST = 40
"""Variants rescored per query; recall is flat beyond this on the example FAQ."""
COMMON_GRAM_SHARE = 0.05
"""Grams in more variants than this share say little and cost most, so the prefilter skips them."""
WORD_OVERLAP_WEIGHT = 0.9
"""Shared words reordered or padded with filler are good evidence, but less than the same text."""
CHOSUNG_MISS_PENALTY = 2
"""Initials carry little information, so each point of mismatch costs double."""
MIN_INITIALS = 3
"""초성 queries shorter than this are too ambiguous to answer (ㅂㅅ is 배송, 반송, 변심...)."""


@dataclass(frozen=True)
class Variant:
    """One phrasing of one entry, in every form a query is compared in."""

    entry_id: str
    text: str
    key: str
    plain: str
    words: str
    jamo: str
    initials: str


def grams(key: str) -> set[str]:
    """Syllable bigrams (unigrams for one-syllable keys) and 초성 trigrams of a canonical key."""
    pairs = {key[i:i + 2] for i in range(len(key) - 1)} or {key}
    initials = korean.chosung(key)
    return pairs | {"#" + initials[i:i + 3] for i in range(len(initials) - 2)}


def initial_grams(initials: str) -> set[str]:
    return {"#" + initials[i:i + 3] for i in range(len(initials) - 2)} or {"#" + initials}


@dataclass(frozen=True)
class QueryForm:
    """A query in the same forms as a Variant, computed once per query."""

    folded: str
    compact: str
    plain: str
    key: str
    words: str
    jamo: str


class FaqIndex:
    """Implements ``faq.model.FaqMatcher`` over active entries."""

    def __init__(self, entries: Iterable[FaqEntry], settings: FaqSettings,
                 synonyms: Mapping[str, Sequence[str]] | None = None):
        self.entries: Mapping[str, FaqEntry] = {e.id: e for e in entries}
        self.settings = settings
        self.synonyms = korean.synonym_table(synonyms or {})
        active = [e for e in self.entries.values() if e.active]
        self.variants = tuple(self._variant(e.id, text) for e in active for text in (e.q, *e.alt))
        self.keywords = {e.id: tuple(self._keyword(k) for k in e.keywords) for e in active}
        self.thresholds = {e.id: e.threshold for e in active}
        self.vocabulary = Vocabulary(v.words for v in self.variants)
        postings: dict[str, list[int]] = {}
        for number, variant in enumerate(self.variants):
            for gram in grams(variant.key) | initial_grams(variant.initials):
                postings.setdefault(gram, []).append(number)
        self.postings = {gram: tuple(ids) for gram, ids in postings.items()}
        self.common = max(50, int(len(self.variants) * COMMON_GRAM_SHARE))
        by_category: dict[str, set[int]] = {}
        for number, variant in enumerate(self.variants):
            by_category.setdefault(self.entries[variant.entry_id].category, set()).add(number)
        self.by_category = {c: frozenset(ids) for c, ids in by_category.items()}

    def _variant(self, entry_id: str, text: str) -> Variant:
        key = korean.canonical(text, self.synonyms)
        words = korean.apply_synonyms(korean.strip_particles(text), self.synonyms)
        return Variant(entry_id, text, key, korean.canonical(text), words, korean.jamo(key), korean.chosung(key))

    def _keyword(self, word: str) -> tuple[str, str]:
        key = korean.canonical(word, self.synonyms)
        return key, korean.chosung(key)

    # ---- matching ---------------------------------------------------------------------------

    def match(self, query: str, category: str | None = None, limit: int = 5) -> list[Candidate]:
        """Ranked candidates, one per entry, best first; empty when nothing is even close."""
        if korean.is_chosung_query(query):
            return self._rank(self._by_initials(korean.compact(query), category), limit)
        if korean.is_wrong_keyboard(query):
            converted = korean.from_keyboard(korean.fold(query))
            return self._rank([(c, v, "keyboard") for c, v, _ in self._by_text(converted, category)], limit)
        return self._rank(self._by_text(query, category), limit)

    def decide(self, query: str, category: str | None = None) -> Decision:
        candidates = self.match(query, category)
        text = self._readable(query)
        words = korean.apply_synonyms(korean.strip_particles(text), self.synonyms)
        unknown = 0.0 if korean.is_chosung_query(text) else self.vocabulary.unknown_share(words)
        return decide(query, candidates, self.settings, self.thresholds,
                      lambda entry_id: self._has_keywords(entry_id, text), unknown)

    def _readable(self, query: str) -> str:
        """The query as Hangul: wrong-keyboard text converted, so keywords can be found in it."""
        return korean.from_keyboard(korean.fold(query)) if korean.is_wrong_keyboard(query) else query

    def _has_keywords(self, entry_id: str, query: str) -> bool:
        key = korean.canonical(query, self.synonyms)
        initials = korean.compact(query)
        if korean.is_chosung_query(query):
            return all(k_initials in initials for _, k_initials in self.keywords.get(entry_id, ()))
        return all(k_key in key for k_key, _ in self.keywords.get(entry_id, ()))

    def _shortlist(self, query_grams: set[str], category: str | None) -> list[int]:
        lists = [self.postings[g] for g in sorted(query_grams) if g in self.postings]
        rare = [ids for ids in lists if len(ids) <= self.common] or lists
        counts = Counter(chain.from_iterable(rare))
        scope = self.by_category.get(category, frozenset()) if category is not None else None
        if scope is not None:
            counts = Counter({n: c for n, c in counts.items() if n in scope})
        return [number for number, _ in counts.most_common(SHORTLIST)]

    def _by_text(self, query: str, category: str | None) -> list[tuple[float, Variant, Route]]:
        key = korean.canonical(query, self.synonyms)
        if not key:
            return []
        form = QueryForm(korean.fold(query), korean.compact(query), korean.canonical(query), key,
                         korean.apply_synonyms(korean.strip_particles(query), self.synonyms), korean.jamo(key))
        return [self._score(self.variants[number], form) for number in self._shortlist(grams(key), category)]

    @staticmethod
    def _score(variant: Variant, form: QueryForm) -> tuple[float, Variant, Route]:
        if form.folded == korean.fold(variant.text):
            return 100.0, variant, "exact"
        if form.compact == korean.compact(variant.text):
            return 100.0, variant, "spacing"
        if form.plain == variant.plain:
            return 100.0, variant, "particles"
        if form.key == variant.key:
            return 100.0, variant, "synonym"
        syllables = fuzz.ratio(form.key, variant.key)
        typed = fuzz.ratio(form.jamo, variant.jamo)
        worded = fuzz.token_set_ratio(form.words, variant.words) * WORD_OVERLAP_WEIGHT
        best = max(syllables, typed, worded)
        if form.plain != form.key and best > fuzz.ratio(form.plain, variant.plain):
            return best, variant, "synonym"
        if best == typed and typed > syllables:
            return typed, variant, "jamo"
        return best, variant, "fuzzy"

    def _by_initials(self, initials: str, category: str | None) -> list[tuple[float, Variant, Route]]:
        if len(set(initials)) < 2:
            return []
        scored = []
        for number in self._shortlist(initial_grams(initials), category):
            variant = self.variants[number]
            exact = max(fuzz.ratio(initials, variant.initials),
                        WORD_OVERLAP_WEIGHT * 100 if variant.initials.startswith(initials) else 0)
            score = max(0.0, 100 - CHOSUNG_MISS_PENALTY * (100 - exact))
            if len(initials) < MIN_INITIALS:
                score = min(score, self.settings.answer - 1)
            scored.append((score, variant, "chosung"))
        return scored

    def _rank(self, scored: list[tuple[float, Variant, Route]], limit: int) -> list[Candidate]:
        best: dict[str, Candidate] = {}
        for score, variant, route in sorted(scored, key=lambda item: -item[0]):
            if variant.entry_id not in best:
                best[variant.entry_id] = Candidate(variant.entry_id, round(score, 1), variant.text, route)
        return list(best.values())[:limit]
