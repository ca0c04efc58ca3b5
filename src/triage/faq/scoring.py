"""How well one query matches one phrasing, by several routes, each scored 0..100.

Users rarely type an FAQ question as written. They pad it (혹시 ... 알려주세요), reorder it,
misspell a word by a keystroke, or send only initials. No single scorer sees all of that, so
each route answers one habit and the best route wins:

- identical text, or identical once spacing, particles or synonyms are normalised (100);
- content words, weighted by how much each says (IDF) and matched one by one, allowing a
  keystroke typo (배숑 ~ 배송) or a compound (배송비 ~ 배송): a soft F-measure of the two sides;
- the content words run together, by syllables and by jamo, for run-on text (배송이언제되나요);
- 초성 against a phrasing's initials, whole, as a prefix, or word by word.

Everything here is pure; ``Form`` is computed once per phrasing at build time and once per query.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from operator import mul
from typing import Callable, Sequence

from rapidfuzz import fuzz

from triage.faq import korean
from triage.faq.model import Route

Weight = Callable[[str], float]

SAME_TERMS = 98.0
"""The same content words with different filler: as good as identical, one point under a spelling."""
TYPO_SIMILARITY = 0.75
"""Jamo similarity (0..1) from which two words count as one misspelled (배숑/배송 0.8, 환율/환불 0.71)."""
INFLECTION = 0.9
"""Two forms of one verb (받/받을, 오/왔): the same word, bar the tense or mood."""
ENDING_SYLLABLES = frozenset("을은는아어으았었와워여기고면")
"""Syllables verb endings begin with after a stem; 사 -> 사이즈 is not one, 받 -> 받을 is."""
RECALL_BETA = 1.5
"""Recall of the query's words counts more than coverage of the phrasing: users ask partial questions."""
LENIENCY = 0.6
"""Exponent (< 1) that lifts partial word matches: half the weighted words in common reads as 66, a
guess worth offering, while unrelated text stays low."""
RUN_ON_WEIGHT = 0.92
"""Run-together comparison ignores word boundaries, so it is weaker evidence than matched words."""
ENTRY_WEIGHT = 0.9
"""Words spread over an entry's phrasings count for less than the same words in one phrasing."""
CHOSUNG_MISS_PENALTY = 2
"""Initials carry little information, so each point of mismatch costs double."""
CHOSUNG_PREFIX = 88.0
"""Initials that start a phrasing (ㅌㅂㅅ for 택배사가 어디예요): likely, never certain."""
MIN_PREFIX = 3
"""Fewer initials than this start too many phrasings to mean one (ㅎㅇ is 회원, 환율, 하이...)."""


@dataclass(frozen=True)
class Form:
    """A text in every form it is compared in."""

    text: str
    folded: str
    compact: str
    plain: str
    key: str
    terms: tuple[str, ...]
    core: str
    jamo: str
    initials: str
    word_initials: tuple[str, ...]


@dataclass(frozen=True)
class Variant:
    """One phrasing of one entry, with the weight of each of its words."""

    entry_id: str
    form: Form
    weights: tuple[float, ...]


def form(text: str, table: korean.SynonymTable = (), known: frozenset[str] = frozenset()) -> Form:
    """``known`` holds the FAQ's own words, to split run-together words into (배송기간 -> 배송 기간)."""
    folded = korean.fold(text)
    terms = tuple(part for term in korean.terms(folded, table) for part in korean.segment(term, known))
    core = "".join(terms)
    return Form(text, folded, folded.replace(" ", ""), korean.canonical(folded), korean.canonical(folded, table),
                terms, core, _jamo(core), korean.chosung(folded), tuple(korean.chosung(t) for t in korean.terms(folded)))


@lru_cache(maxsize=65536)
def _jamo(text: str) -> str:
    """Words repeat across thousands of phrasings; decompose each once."""
    return korean.jamo(text)


def contains(a: str, b: str) -> bool:
    """One word inside the other, as in compounds (배송 in 배송비, 조회 in 배송조회)."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 2 and short in long


def term_similarity(a: str, b: str) -> float:
    """1 for the same word, less for a compound containing it or a keystroke typo, else 0."""
    if a == b:
        return 1.0
    if contains(a, b):
        return 0.5 + 0.5 * min(len(a), len(b)) / max(len(a), len(b))
    if inflects(a, b) or inflects(b, a):
        return INFLECTION
    if min(len(a), len(b)) < 2:
        return 0.0
    return fuzz.ratio(_jamo(a), _jamo(b), score_cutoff=TYPO_SIMILARITY * 100) / 100


def inflects(stem: str, word: str) -> bool:
    """``word`` is ``stem`` with an ending fused into its last syllable (오 -> 와/왔, 사 -> 샀/산) or
    added as syllables that endings start with (받 -> 받을/받아): the same verb, another form."""
    if not stem or len(word) < len(stem) or word[:len(stem) - 1] != stem[:-1]:
        return False
    last, fused = _jamo(stem[-1]), _jamo(word[len(stem) - 1])
    return fused.startswith(last) and (fused != last or len(word) > len(stem)) and \
        all(syllable in ENDING_SYLLABLES for syllable in word[len(stem):])


class _Similar(dict[str, float]):
    """One query word's similarity to each FAQ word it has been compared with, computed on first use."""

    def __init__(self, word: str):
        super().__init__()
        self.word = word

    def __missing__(self, term: str) -> float:
        similarity = self[term] = term_similarity(self.word, term)
        return similarity


@lru_cache(maxsize=1024)
def similar_to(word: str) -> _Similar:
    """Customers reuse a small vocabulary (배송, 취소, 환불...), and each query compares its words
    with about a hundred FAQ words; keyed by the word, a known pair then costs one dict lookup."""
    return _Similar(word)


class TermMatcher:
    """One query's words against any phrasing's words, with each word pair compared once."""

    def __init__(self, terms: Sequence[str], weight: Weight):
        self.terms = tuple(terms)
        self.weights = tuple(weight(t) for t in self.terms)
        self.total = sum(self.weights)
        self._similar = tuple(map(similar_to, self.terms))
        self._scores: dict[tuple[str, ...], float] = {}

    def _columns(self, terms: Sequence[str]) -> list[list[float]]:
        """Each query word's similarity to each of ``terms``: looked up by ``map`` in C, so a pair
        seen before costs no Python call, and a phrasing's scores need no per-word loop."""
        return [list(map(similar.__getitem__, terms)) for similar in self._similar]

    def recall(self, terms: Sequence[str]) -> float:
        """Weighted share of the query's words found among ``terms``, 0..1."""
        if not self.terms or not terms:
            return 0.0
        return sum(map(mul, self.weights, map(max, self._columns(terms)))) / self.total

    def score(self, terms: tuple[str, ...], weights: Sequence[float]) -> float:
        """A recall-leaning F-measure of weighted word matches; ``weights`` are those of ``terms``.

        Kept per phrasing's words: the shown candidates are scored again to explain their route."""
        score = self._scores.get(terms)
        if score is None:
            score = self._scores[terms] = self._score(terms, weights)
        return score

    def _score(self, terms: Sequence[str], weights: Sequence[float]) -> float:
        if not self.terms or not terms:
            return 0.0
        columns = self._columns(terms)
        recall = sum(map(mul, self.weights, map(max, columns))) / self.total
        precision = sum(map(mul, weights, map(max, zip(*columns)))) / sum(weights)
        if not recall or not precision:
            return 0.0
        beta = RECALL_BETA ** 2
        return 100 * ((1 + beta) * precision * recall / (beta * precision + recall)) ** LENIENCY

    def unmatched(self, terms: Sequence[str]) -> tuple[str, ...]:
        """The query's words that resemble none of ``terms``, not even as a compound, form or typo."""
        if not terms:
            return self.terms
        return tuple(asked for asked, column in zip(self.terms, self._columns(terms)) if not max(column))

    def needs_typo(self, terms: Sequence[str]) -> bool:
        """Whether some query word met its best partner only through a keystroke typo."""
        for asked, similar in zip(self.terms, self._similar):
            best, partner = max(zip(map(similar.__getitem__, terms), terms), default=(0.0, ""))
            if 0 < best < 1 and not contains(asked, partner):
                return True
        return False


def exact_route(query: Form, variant: Form) -> Route | None:
    """The routes that make a phrasing and a query the same question."""
    if query.folded == variant.folded:
        return "exact"
    if query.compact == variant.compact:
        return "spacing"
    if query.plain == variant.plain:
        return "particles"
    if query.key == variant.key:
        return "synonym"
    return None


def _run_on(query: Form, variant: Form) -> tuple[float, float]:
    """Syllable and jamo similarity of the words run together, for text typed without spaces.

    Only when one side is a single word: otherwise word boundaries are known and the word
    route is the fairer judge. Jamo only for equal lengths, where it measures a typo rather
    than two different words that happen to share letters.
    """
    if min(len(query.terms), len(variant.terms)) != 1:
        return 0.0, 0.0
    syllables = fuzz.ratio(query.core, variant.core) * RUN_ON_WEIGHT
    typed = fuzz.ratio(query.jamo, variant.jamo) * RUN_ON_WEIGHT if len(query.core) == len(variant.core) else 0.0
    return syllables, typed


def text_score(query: Form, variant: Variant, words: TermMatcher) -> float:
    if exact_route(query, variant.form) is not None:
        return 100.0
    if query.terms and query.terms == variant.form.terms:
        return SAME_TERMS
    return max(words.score(variant.form.terms, variant.weights), *_run_on(query, variant.form))


def explain(query: Form, variant: Variant, words: TermMatcher) -> Route:
    """The route ``text_score`` took, for the few candidates shown: kept out of the hot loop."""
    route = exact_route(query, variant.form)
    if route is not None:
        return route
    terms = variant.form.terms
    syllables, typed = _run_on(query, variant.form)
    if query.terms != terms and max(syllables, typed) > words.score(terms, variant.weights):
        return "jamo" if typed > syllables else "spacing"
    if query.terms != terms and words.needs_typo(terms):
        return "jamo"
    return "synonym" if query.plain != query.key else "particles" if query.terms == terms else "fuzzy"


def entry_score(best: float, words: TermMatcher, vocabulary: Sequence[str]) -> float:
    """The best phrasing's score, raised when the query's words appear across the entry's phrasings:
    users mix words from several."""
    return max(best, (best + ENTRY_WEIGHT * 100 * words.recall(vocabulary) ** LENIENCY) / 2)


def chosung_score(initials: str, chunks: Sequence[str], variant: Form) -> float:
    """Initials typed whole (ㅂㅅㅈㅎ), in words (ㅂㅅ ㅈㅎ), or as the start of a phrasing (ㅌㅂㅅ)."""
    words = "".join(variant.word_initials)
    if initials in (variant.initials, words) or tuple(chunks) == variant.word_initials:
        return 100.0
    if len(initials) >= MIN_PREFIX and (variant.initials.startswith(initials) or words.startswith(initials)):
        return CHOSUNG_PREFIX + (100 - CHOSUNG_PREFIX) * len(initials) / max(len(variant.initials), 1)
    close = max(fuzz.ratio(initials, variant.initials), fuzz.ratio(initials, words))
    return max(0.0, 100 - CHOSUNG_MISS_PENALTY * (100 - close))
