"""FAQ matcher benchmark: 10,000 generated entries (30,000 variants) against the naive baseline.

Prints the index build time, p50/p99 latency per query for FaqIndex.decide and for
``rapidfuzz.process.extractOne(query, all_variants, scorer=fuzz.WRatio)`` measured in the same
run, their ratio, and both matchers' figures on tests/faq/eval.yaml with the example FAQ, each
next to the issue's target. Latency is CPU time per query, so other work on a shared machine
does not count against either matcher.

    .venv/bin/python bench/faq_bench.py [--entries 10000] [--queries 2000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

from rapidfuzz import fuzz, process

from triage.faq.evaluate import Figures, evaluate, load_cases
from triage.faq.index import FaqIndex
from triage.faq.loader import load_faq
from triage.faq.model import Candidate, Decision, FaqEntry
from triage.flows.templates import Text
from triage.settings import FaqSettings, load_settings

REPO = Path(__file__).resolve().parents[1]
PRODUCTS = ("운동화", "청바지", "니트", "패딩", "원피스", "셔츠", "가방", "지갑", "모자", "양말", "텀블러", "이어폰",
            "충전기", "노트북 파우치", "마스크팩", "선크림", "샴푸", "커피 원두", "견과류", "생수", "냄비", "프라이팬",
            "이불", "베개", "수건", "캠핑 의자", "요가 매트", "아기 물티슈", "강아지 간식", "고양이 모래")
BRANDS = tuple(f"{name}{n}" for name in ("한빛", "다온", "마루", "새봄", "하늘", "누리", "온새", "별빛") for n in range(1, 43))
INTENTS = (
    ("{p} 배송은 언제 오나요?", "{p} 언제 와요", "{p} 도착 예정일"),
    ("{p} 사이즈 교환 되나요?", "{p} 교환 신청", "{p} 사이즈가 안 맞아요"),
    ("{p} 반품하고 싶어요", "{p} 반품 신청 방법", "{p} 환불 받고 싶어요"),
    ("{p} 재입고 언제 되나요?", "{p} 품절이에요", "{p} 재입고 알림"),
    ("{p} 정품인가요?", "{p} 가품 아닌가요", "{p} 정품 인증"),
    ("{p} 세탁 방법 알려주세요", "{p} 빨아도 되나요", "{p} 관리 방법"),
    ("{p} 불량이에요", "{p} 고장났어요", "{p} 파손되어 왔어요"),
    ("{p} 할인 쿠폰 있나요?", "{p} 쿠폰 적용", "{p} 할인 받는 법"),
)


def generate(count: int, seed: int = 7) -> list[FaqEntry]:
    """Entries like a big catalogue's FAQ: brand x product x intent, three phrasings each."""
    rng = random.Random(seed)
    combos = [(b, p, i) for b in BRANDS for p in PRODUCTS for i in range(len(INTENTS))]
    entries = []
    for n, (brand, product, intent) in enumerate(rng.sample(combos, count)):
        q, *alt = (t.format(p=f"{brand} {product}") for t in INTENTS[intent])
        entries.append(FaqEntry(id=f"gen-{n}", category=f"분류{intent}", q=q, a=Text("답변"), alt=tuple(alt)))
    return entries


def perturb(text: str, rng: random.Random) -> str:
    """What users do to a question: drop spaces, change endings, cut it short."""
    choice = rng.randrange(4)
    if choice == 0:
        return text.replace(" ", "")
    if choice == 1:
        return text.rstrip("?").replace("나요", "나여").replace("요", "")
    if choice == 2:
        return " ".join(text.split()[:3])
    return text


class NaiveMatcher:
    """The baseline: WRatio extractOne over every variant, answering above the answer threshold."""

    def __init__(self, entries: Sequence[FaqEntry], settings: FaqSettings):
        self.entries: Mapping[str, FaqEntry] = {e.id: e for e in entries}
        self.settings = settings
        self.variants = [(e.id, text) for e in entries if e.active for text in (e.q, *e.alt)]
        self.texts = [text for _, text in self.variants]

    def match(self, query: str, category: str | None = None, limit: int = 5) -> list[Candidate]:
        found = process.extractOne(query, self.texts, scorer=fuzz.WRatio)
        if found is None:
            return []
        entry_id, text = self.variants[found[2]]
        return [Candidate(entry_id, found[1], text, "fuzzy")]

    def decide(self, query: str, category: str | None = None) -> Decision:
        candidates = self.match(query, category)
        if candidates and candidates[0].score >= self.settings.answer:
            return Decision("answer", query, tuple(candidates))
        if candidates and candidates[0].score >= self.settings.suggest:
            return Decision("suggest", query, tuple(candidates))
        return Decision("not_found", query)


P99_TARGET_MS = 2.0
SPEED_UP_TARGET = 10.0
TOP1_TARGET = 0.92
WRONG_ANSWER_LIMIT = 0.02


def latencies(decide: Callable[[str], object], queries: Sequence[str]) -> list[float]:
    times = []
    for query in queries:
        start = time.process_time()
        decide(query)
        times.append((time.process_time() - start) * 1000)
    return times


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def describe(name: str, f: Figures) -> str:
    return (f"{name:<8} top-1 {f.top1_accuracy:6.1%}  wrong answers {f.wrong_answer_rate:5.1%}  "
            f"did-you-mean {f.did_you_mean_rate:5.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--baseline-queries", type=int, default=200, help="the baseline is slow; fewer suffice")
    args = parser.parse_args()
    rng = random.Random(11)
    settings = FaqSettings()
    entries = generate(args.entries)
    start = time.perf_counter()
    index = FaqIndex(entries, settings)
    build = time.perf_counter() - start
    variants = [t for e in entries for t in (e.q, *e.alt)]
    off_topic = ["오늘 날씨 어때요", "환율 알려주세요", "점심 뭐 먹지", "ㅋㅋㅋ", "qothd", "ㅂㅅㅈㅎ"]
    queries = [perturb(rng.choice(variants), rng) for _ in range(args.queries)] + off_topic * 20
    rng.shuffle(queries)
    naive = NaiveMatcher(entries, settings)
    ours = latencies(index.decide, queries)
    base = latencies(naive.decide, queries[: args.baseline_queries])
    p99, speed_up = percentile(ours, 0.99), percentile(base, 0.99) / percentile(ours, 0.99)
    print(f"{len(entries):,} entries, {len(variants):,} variants; index built in {build:.2f} s")
    print(f"FaqIndex.decide  p50 {percentile(ours, 0.5):6.3f} ms  p99 {p99:6.3f} ms  ({len(ours)} queries)  "
          f"target p99 < {P99_TARGET_MS} ms: {verdict(p99 < P99_TARGET_MS)}")
    print(f"naive WRatio     p50 {percentile(base, 0.5):6.3f} ms  p99 {percentile(base, 0.99):6.3f} ms  "
          f"({len(base)} queries)")
    print(f"speed-up         p50 {statistics.median(base) / statistics.median(ours):5.1f}x  p99 {speed_up:5.1f}x  "
          f"target >= {SPEED_UP_TARGET:.0f}x: {verdict(speed_up >= SPEED_UP_TARGET)}")
    site, _ = load_settings(REPO)
    example, synonyms, _ = load_faq(REPO / "faq", REPO)
    cases, _ = load_cases(REPO / "tests" / "faq" / "eval.yaml")
    print(f"eval set ({len(cases)} queries, example FAQ of {len(example)} entries):")
    ours_eval = evaluate(FaqIndex(example, site.faq, synonyms), cases).overall
    naive_eval = evaluate(NaiveMatcher(example, site.faq), cases).overall
    print(describe("FaqIndex", ours_eval))
    print(describe("naive", naive_eval))
    print(f"targets: top-1 >= {TOP1_TARGET:.0%}: {verdict(ours_eval.top1_accuracy >= TOP1_TARGET)}; "
          f"wrong answers <= {WRONG_ANSWER_LIMIT:.0%}: {verdict(ours_eval.wrong_answer_rate <= WRONG_ANSWER_LIMIT)}; "
          f"at least the baseline's accuracy: {verdict(ours_eval.top1_accuracy >= naive_eval.top1_accuracy)}")

if __name__ == "__main__":
    main()
