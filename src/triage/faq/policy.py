"""The three-band decision: answer, ask "혹시 이 질문인가요?", or admit not knowing.

A wrong answer costs more than a question back: the customer acts on it. So the bot answers
only when the best match is both strong and clearly ahead of the next one.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

from triage.faq.model import Candidate, Decision
from triage.settings import FaqSettings

MAX_SUGGESTIONS = 3
UNKNOWN_REFUSE = 0.5
"""When half the query's words appear in no FAQ entry, the question is about something else..."""
UNKNOWN_OVERRULED = 70.0
"""...unless the rest matches this well (할부 몇개월까지 돼요, 신발 사이즈가 안 맞아요): then the bot asks."""
RESTATING_ROUTES = frozenset({"exact", "spacing", "particles", "synonym"})
"""Routes by which a query scoring 100 is one of the entry's own phrasings, give or take spacing,
particles or synonyms: its words are the phrasing's, however the word splitter cut them."""


def decide(query: str, candidates: Sequence[Candidate], settings: FaqSettings,
           thresholds: Mapping[str, float | None], answerable: Callable[[str], bool],
           unknown_share: float = 0.0, elsewhere: bool = False,
           accounted: Callable[[str], bool] = lambda _: True) -> Decision:
    """Pick the band for ranked ``candidates`` (best first, one per entry).

    ``thresholds`` holds per-entry answer thresholds (None = the site's); ``answerable`` says
    whether an entry's required keywords appear in the query; ``unknown_share`` is the share of
    the query's words no entry uses: any makes the bot ask rather than answer (unless the query
    restates a phrasing), many make it refuse unless the best match is strong; ``elsewhere`` says the query names another shop or service, whose
    questions none of our answers fit however well the words match; ``accounted`` says whether an
    entry speaks to every word and negation of the query the FAQ knows: if not, the bot asks.
    """
    if elsewhere:
        return Decision("not_found", query)
    if unknown_share >= UNKNOWN_REFUSE and (not candidates or candidates[0].score < UNKNOWN_OVERRULED):
        return Decision("not_found", query)
    offered = tuple(c for c in candidates if c.score >= settings.suggest)[:MAX_SUGGESTIONS]
    if not offered:
        return Decision("not_found", query)
    top = offered[0]
    runner_up = candidates[1].score if len(candidates) > 1 else 0.0
    own = thresholds.get(top.entry_id)
    threshold = settings.answer if own is None else own
    if top.score >= threshold and top.score - runner_up >= settings.margin and answerable(top.entry_id) \
            and (restates(top) or not unknown_share and accounted(top.entry_id)):
        return Decision("answer", query, (top,))
    return Decision("suggest", query, offered)


def restates(candidate: Candidate) -> bool:
    """An "unknown" or unmatched word in a query that is a phrasing with one space less (안맞아요 for
    안 맞아요) is an artefact of word splitting, not a sign the question is about something else."""
    return candidate.score >= 100 and candidate.route in RESTATING_ROUTES
