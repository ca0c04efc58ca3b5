"""Unanswered questions grouped by likeness, so an editor reads "배송지 변경 (42회)" once
instead of 42 near-identical lines, and writes the FAQ entry that is missing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from rapidfuzz import fuzz, process

from triage.faq.korean import compact

SIMILAR = 85
"""WRatio (on the text without spaces, since customers space freely) at or above this joins a
question to a group: 배송지 변경 and 배송지변경 하고싶어요 score 90 and join, while 배송지 변경
and 배송 조회 (44) or 적립금 소멸 and 적립금 사용 (60) stay apart."""
EXAMPLES = 3


@dataclass(frozen=True)
class Cluster:
    label: str
    """The most frequent wording in the group: the phrasing customers actually use."""
    count: int
    examples: tuple[str, ...]


def cluster(questions: Iterable[str], similar: int = SIMILAR) -> list[Cluster]:
    """Greedy clustering, most frequent wording first, so each group is named by its commonest
    form; the result is largest group first, ties by label, so runs are reproducible."""
    counts = Counter(q.strip() for q in questions if q and q.strip())
    wordings = sorted(counts, key=lambda q: (-counts[q], q))
    heads: list[str] = []
    keys: list[str] = []
    members: dict[str, list[str]] = {}
    for wording in wordings:
        key = compact(wording)
        found = process.extractOne(key, keys, scorer=fuzz.WRatio, score_cutoff=similar) if keys else None
        if found is None:
            heads.append(wording)
            keys.append(key)
            members[wording] = [wording]
        else:
            members[heads[found[2]]].append(wording)
    groups = [Cluster(head, sum(counts[m] for m in group), tuple(group[:EXAMPLES])) for head, group in members.items()]
    return sorted(groups, key=lambda c: (-c.count, c.label))
