"""The FAQ index: built once per content snapshot, answers one query in well under a millisecond.

Every question and alternative phrasing is a variant, normalised once at build time. A query
first meets an n-gram inverted index (syllable bigrams plus 초성 trigrams, so typos inside a
syllable still share grams). Its rarest grams are counted first and counting stops at a fixed
budget of postings, so a query made of words every entry uses costs no more than any other.
Only the few dozen variants that share the most grams are rescored by ``scoring``.
"""

from __future__ import annotations

from collections import Counter
from operator import itemgetter
from typing import Iterable, Mapping, Sequence

from triage.faq import korean
from triage.faq.model import Candidate, Decision, FaqEntry, Route
from triage.faq.policy import decide
from triage.faq.scoring import Form, TermMatcher, Variant, chosung_score, entry_score, explain, form, text_score
from triage.faq.vocabulary import Vocabulary
from triage.settings import FaqSettings

SHORTLIST = 24
"""Variants rescored per query; on the example FAQ the eval figures are the same from 24 to 40."""
POSTING_BUDGET = 1500
"""Postings counted per query, rarest grams first: bounds the work for queries of common words."""
EXPLAINED = 5
"""Candidates whose route is worked out: the most any caller shows."""
MIN_INITIALS = 3
"""초성 queries shorter than this are too ambiguous to answer (ㅂㅅ is 배송, 반송, 변심...)."""
ELSEWHERE = "다른쇼핑몰"
"""The word faq/_synonyms.yaml maps other shops and services to (배민, 11번가, 쿠팡...). "배민 주문 취소"
reads like our 주문 취소 to any scorer, yet no answer of ours is right for it: the bot refuses."""


def grams(text: Form) -> set[str]:
    """Syllable bigrams (unigrams for one-syllable words) of the words and the text, and 초성 trigrams."""
    return query_grams(text) | initial_grams(text.initials)


def query_grams(text: Form) -> set[str]:
    """What a typed query is looked up by: its content grams and the bigrams of the text as typed."""
    return content_grams(text) | syllable_grams(text.compact)


def content_grams(text: Form) -> set[str]:
    """Grams of the content words alone, filler and endings gone: what a question is about."""
    return syllable_grams(text.core) | initial_grams("".join(text.word_initials))


def syllable_grams(key: str) -> set[str]:
    return {key[i:i + 2] for i in range(len(key) - 1)} or ({key} if key else set())


def initial_grams(initials: str) -> set[str]:
    return {"#" + initials[i:i + 3] for i in range(len(initials) - 2)} or ({"#" + initials} if initials else set())


class FaqIndex:
    """Implements ``faq.model.FaqMatcher`` over active entries."""

    def __init__(self, entries: Iterable[FaqEntry], settings: FaqSettings,
                 synonyms: Mapping[str, Sequence[str]] | None = None):
        self.entries: Mapping[str, FaqEntry] = {e.id: e for e in entries}
        self.settings = settings
        self.synonyms = korean.synonym_table(synonyms or {})
        active = [e for e in self.entries.values() if e.active]
        phrasings = [(e.id, text) for e in active for text in (e.q, *e.alt)]
        self.known = frozenset(t for _, text in phrasings for t in korean.terms(text, self.synonyms))
        forms = [(entry_id, form(text, self.synonyms, self.known)) for entry_id, text in phrasings]
        self.keywords = {e.id: tuple(korean.canonical(k, self.synonyms) for k in e.keywords) for e in active}
        self.thresholds = {e.id: e.threshold for e in active}
        negations: dict[str, frozenset[str]] = {}
        for entry_id, text in phrasings:
            negations[entry_id] = negations.get(entry_id, frozenset()) | korean.negated(text)
        self.negations = negations
        documents: dict[str, set[str]] = {}
        for entry_id, phrasing in forms:
            documents.setdefault(entry_id, set()).update(phrasing.terms)
        self.documents = {entry_id: tuple(sorted(terms)) for entry_id, terms in documents.items()}
        self.vocabulary = Vocabulary(documents.values(), (korean.terms(e.a.source) for e in active))
        weight = self.vocabulary.weight
        self.variants = tuple(Variant(entry_id, f, tuple(map(weight, f.terms))) for entry_id, f in forms)
        postings: dict[str, list[int]] = {}
        for number, variant in enumerate(self.variants):
            for gram in grams(variant.form):
                postings.setdefault(gram, []).append(number)
        self.postings = {gram: tuple(ids) for gram, ids in postings.items()}
        by_category: dict[str, set[int]] = {}
        for number, variant in enumerate(self.variants):
            by_category.setdefault(self.entries[variant.entry_id].category, set()).add(number)
        self.by_category = {c: frozenset(ids) for c, ids in by_category.items()}

    def match(self, query: str, category: str | None = None, limit: int = 5) -> list[Candidate]:
        """Ranked candidates, one per entry, best first; empty when nothing is even close."""
        return self._rank(self._scored(query, category), limit)

    def decide(self, query: str, category: str | None = None) -> Decision:
        candidates = self.match(query, category)
        text = self._readable(query)
        if korean.is_chosung_query(text):
            return decide(query, candidates, self.settings, self.thresholds,
                          lambda entry_id: self._has_keywords(entry_id, text))
        unknown = self.vocabulary.unknown_share(korean.terms(text, self.synonyms))
        return decide(query, candidates, self.settings, self.thresholds,
                      lambda entry_id: self._has_keywords(entry_id, text), unknown, self._elsewhere(text),
                      lambda entry_id: self._accounts_for(entry_id, text))

    def _accounts_for(self, entry_id: str, query: str) -> bool:
        """Whether the entry speaks to every part of the query the FAQ has words for. A word other
        entries use but this one never does changes the question (환불 배송비 is not 배송비, 반품 신청
        취소 is not 반품 신청), and so does a negation the entry never makes (취소가 안 돼요 is not 취소
        안 했는데 취소됨, 탈퇴 안 할게요 is not 탈퇴하고 싶어요): the bot asks rather than answers."""
        if not korean.negated(query) <= self.negations.get(entry_id, frozenset()):
            return False
        words = TermMatcher(form(query, self.synonyms, self.known).terms, self.vocabulary.weight)
        return not any(map(self.vocabulary.uses, words.unmatched(self.documents.get(entry_id, ()))))

    def _elsewhere(self, query: str) -> bool:
        """Looked for in the text as typed: particle stripping would cut 11번가 to 11번."""
        return ELSEWHERE in korean.apply_synonyms(korean.compact(query), self.synonyms)

    def _readable(self, query: str) -> str:
        """The query as Hangul: wrong-keyboard text converted, so keywords can be found in it."""
        return korean.from_keyboard(korean.fold(query)) if korean.is_wrong_keyboard(query) else query

    def _has_keywords(self, entry_id: str, query: str) -> bool:
        if korean.is_chosung_query(query):
            initials = korean.compact(query)
            return all(korean.chosung(k) in initials for k in self.keywords.get(entry_id, ()))
        key = korean.canonical(query, self.synonyms)
        return all(k in key for k in self.keywords.get(entry_id, ()))

    def _scored(self, query: str, category: str | None) -> list[tuple[float, Variant, Route]]:
        if korean.is_chosung_query(query):
            return self._by_initials(query, category)
        if korean.is_wrong_keyboard(query):
            return [(s, v, "keyboard") for s, v, _ in self._by_text(self._readable(query), category)]
        return self._by_text(query, category)

    def _shortlist(self, query_grams: set[str], category: str | None,
                   content: frozenset[str] | set[str] = frozenset()) -> list[Variant]:
        """Variants sharing the most grams with the query; a gram of its ``content`` words counts twice,
        so shared filler (하고 싶어요) does not outvote a shared subject (배송 조회)."""
        lists = sorted(((g, self.postings[g]) for g in query_grams if g in self.postings),
                       key=lambda gl: (len(gl[1]), gl[0]))  # by gram too: the same answer in every process
        scope = self.by_category.get(category, frozenset()) if category is not None else None
        found: list[int] = []
        budget = POSTING_BUDGET
        for gram, ids in lists:
            if scope is not None:
                ids = tuple(n for n in ids if n in scope)
            counted = ids[:budget]
            found += counted
            if gram in content:
                found += counted
            budget -= len(ids)
            if budget <= 0:
                break
        # One count over all postings, then a stable sort: the order of Counter.most_common, without
        # the per-call overhead of Counter.update and heapq that cost more than the counting itself.
        ranked = sorted(Counter(found).items(), key=itemgetter(1), reverse=True)
        return [self.variants[number] for number, _ in ranked[:SHORTLIST]]

    def _by_text(self, query: str, category: str | None) -> list[tuple[float, Variant, Route]]:
        asked = form(query, self.synonyms, self.known)
        if not asked.compact:
            return []
        words = TermMatcher(asked.terms, self.vocabulary.weight)
        best: dict[str, tuple[float, Variant]] = {}
        for variant in self._shortlist(query_grams(asked), category, content_grams(asked)):
            score = text_score(asked, variant, words)
            if variant.entry_id not in best or score > best[variant.entry_id][0]:
                best[variant.entry_id] = (score, variant)
        scored = sorted(((entry_score(score, words, self.documents[v.entry_id]), v) for score, v in best.values()),
                        key=lambda item: -item[0])
        return [(score, v, explain(asked, v, words) if rank < EXPLAINED else "fuzzy")
                for rank, (score, v) in enumerate(scored)]

    def _by_initials(self, query: str, category: str | None) -> list[tuple[float, Variant, Route]]:
        initials = korean.compact(query)
        if len(set(initials)) < 2:
            return []
        chunks = korean.fold(query).split()
        scored = []
        for variant in self._shortlist(initial_grams(initials), category):
            score = chosung_score(initials, chunks, variant.form)
            if len(initials) < MIN_INITIALS:
                score = min(score, self.settings.answer - 1)
            scored.append((score, variant, "chosung"))
        return scored

    def _rank(self, scored: list[tuple[float, Variant, Route]], limit: int) -> list[Candidate]:
        best: dict[str, Candidate] = {}
        for score, variant, route in sorted(scored, key=lambda item: -item[0]):
            if variant.entry_id not in best:
                best[variant.entry_id] = Candidate(variant.entry_id, round(score, 1), variant.form.text, route)
        return list(best.values())[:limit]
