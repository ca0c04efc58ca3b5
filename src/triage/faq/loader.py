"""``faq/*.yaml`` and ``faq/_synonyms.yaml`` -> FaqEntry objects, with every problem at file:line.

Each file is a list of entries, or a mapping with a default ``category`` and ``entries``.
Problems are collected, never raised, so ``triage validate`` reports all of them in one run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from rapidfuzz import fuzz, process

from triage.faq.korean import canonical, synonym_table
from triage.faq.model import FaqEntry
from triage.flows.loader import display_path
from triage.flows.model import Button, Link
from triage.flows.templates import TemplateProblem, Text, compile_text, static_length
from triage.flows.validate import written_image_problem, written_url_problem
from triage.kakao.protocol import label_problem
from triage.problems import Problem, did_you_mean
from triage.yamlmarks import line_of, read_yaml

SYNONYMS_FILE = "_synonyms.yaml"
ENTRY_KEYS = ("id", "category", "q", "alt", "keywords", "a", "links", "buttons", "image", "threshold", "tags", "active")
FILE_KEYS = ("category", "entries")
MAX_ANSWER = 1000
NEAR_IDENTICAL = 95.0
"""Questions this similar (0..100, after normalisation) read as one question to users."""


class _FileReader:
    """Reads the entries of one file; problems accumulate in ``self.problems``."""

    def __init__(self, path: str):
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, container: Any, key: Any, message: str) -> None:
        self.problems.append(Problem(self.path, line_of(container, key), message))

    def entries(self, data: Any) -> list[FaqEntry]:
        default_category = None
        items = data
        if isinstance(data, dict):
            for key in data:
                if key not in FILE_KEYS:
                    self.problem(data, key, f'unknown key "{key}" in an FAQ file{did_you_mean(str(key), FILE_KEYS)}')
            default_category = self.text_value(data, "category")
            items = data.get("entries")
        if not isinstance(items, list):
            self.problems.append(Problem(self.path, getattr(data, "line", 1) or 1,
                                         "an FAQ file must be a list of entries, or a mapping with entries:"))
            return []
        entries = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                self.problem(items, i, "each FAQ entry must be a mapping with id, q and a")
                continue
            entry = self.entry(item, default_category, line_of(items, i))
            if entry is not None:
                entries.append(entry)
        return entries

    def text_value(self, data: Mapping, key: str) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, (dict, list)) or not str(value).strip():
            self.problem(data, key, f'"{key}" must be text')
            return None
        return str(value).strip()

    def template(self, data: Mapping, key: Any) -> Text | None:
        value = data.get(key)
        if value is None or isinstance(value, (dict, list)):
            return None
        try:
            return compile_text(str(value), line_of(data, key))
        except TemplateProblem as exc:
            self.problem(data, key, str(exc))
            return Text(str(value), line_of(data, key))

    def label(self, data: Mapping) -> str | None:
        """A button or link label, held to the limit flows have, so an FAQ answer cannot carry a
        button 상담톡 refuses."""
        label = self.text_value(data, "label")
        message = label_problem(label) if label is not None else None
        if message is not None:
            self.problem(data, "label", message)
        return label

    def url(self, data: Mapping, key: str, check: Callable[[Text], str | None] = written_url_problem) -> Text | None:
        url = self.template(data, key)
        message = check(url) if url is not None else None
        if message is not None:
            self.problem(data, key, message)
        return url

    def strings(self, data: Mapping, key: str) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
            self.problem(data, key, f'"{key}" must be a list of phrases')
            return ()
        return tuple(str(v).strip() for v in value if str(v).strip())

    def mappings(self, data: Mapping, key: str, allowed: tuple[str, ...]) -> list[tuple[int, Mapping]]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(data, key, f'"{key}" must be a list of {"/".join(allowed)}')
            return []
        good = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.problem(value, i, f'each item of {key} must be a mapping ({"/".join(allowed)})')
                continue
            for name in item:
                if name not in allowed:
                    self.problem(item, name, f'unknown key "{name}" in {key}{did_you_mean(str(name), allowed)}')
            good.append((line_of(value, i), item))
        return good

    def links(self, data: Mapping) -> tuple[Link, ...]:
        links = []
        for line, item in self.mappings(data, "links", ("label", "url")):
            label, url = self.label(item), self.url(item, "url")
            if label is None or url is None:
                self.problem(item, "label", "a link needs a label and a url")
                continue
            links.append(Link(label, url, line))
        return tuple(links)

    def buttons(self, data: Mapping) -> tuple[Button, ...]:
        buttons = []
        for line, item in self.mappings(data, "buttons", ("label", "goto")):
            label, goto = self.label(item), self.text_value(item, "goto")
            if label is None or goto is None:
                self.problem(item, "label", 'a button needs a label and a goto such as "order.track"')
                continue
            buttons.append(Button(label, goto, line=line))
        return tuple(buttons)

    def threshold(self, data: Mapping) -> float | None:
        value = data.get("threshold")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
            self.problem(data, "threshold", '"threshold" must be a number from 0 to 100')
            return None
        return float(value)

    def active(self, data: Mapping) -> bool:
        value = data.get("active", True)
        if not isinstance(value, bool):
            self.problem(data, "active", '"active" must be true or false')
            return True
        return value

    def entry(self, data: Mapping, default_category: str | None, line: int) -> FaqEntry | None:
        for key in data:
            if key not in ENTRY_KEYS:
                self.problem(data, key, f'unknown key "{key}" in an FAQ entry{did_you_mean(str(key), ENTRY_KEYS)}')
        entry_id, question = self.text_value(data, "id"), self.text_value(data, "q")
        category = self.text_value(data, "category") or default_category
        answer = self.template(data, "a")
        if entry_id is None:
            self.problem(data, "q", 'an FAQ entry needs an "id" such as delivery-when')
        if question is None:
            self.problem(data, "id", 'an FAQ entry needs a question "q"')
        if category is None:
            self.problem(data, "id", 'an FAQ entry needs a "category" (on the entry or for the whole file)')
        if answer is None or not answer.source.strip():
            self.problem(data, "a" if "a" in data else "id", "the answer \"a\" is empty")
        elif static_length(answer.source) > MAX_ANSWER:
            self.problem(data, "a", f"the answer is {static_length(answer.source)} characters long; "
                                    f"상담톡 shows at most {MAX_ANSWER}")
        if entry_id is None or question is None or category is None or answer is None:
            return None
        return FaqEntry(
            id=entry_id, category=category, q=question, a=answer, alt=self.strings(data, "alt"),
            keywords=self.strings(data, "keywords"), links=self.links(data), buttons=self.buttons(data),
            image=self.url(data, "image", written_image_problem), threshold=self.threshold(data),
            tags=self.strings(data, "tags"), active=self.active(data), file=self.path, line=line,
        )


def load_synonyms(file: Path, shown: str) -> tuple[dict[str, tuple[str, ...]], list[Problem]]:
    """``canonical: [variant, ...]``; editors extend it, so bad lines are problems, not crashes."""
    data, problems = read_yaml(file, shown)
    if data is None:
        return {}, problems
    if not isinstance(data, dict):
        return {}, problems + [Problem(shown, getattr(data, "line", 1) or 1,
                                       "the synonyms file must be a mapping like 환불: [반품금액, 환불금]")]
    synonyms = {}
    for word, variants in data.items():
        if isinstance(variants, str):
            variants = [variants]
        if not isinstance(variants, list) or not all(isinstance(v, (str, int)) for v in variants):
            problems.append(Problem(shown, line_of(data, word), f'synonyms of "{word}" must be a list of words'))
            continue
        synonyms[str(word)] = tuple(str(v) for v in variants)
    return synonyms, problems


def duplicate_ids(entries: Iterable[FaqEntry]) -> list[Problem]:
    seen: dict[str, FaqEntry] = {}
    problems = []
    for entry in entries:
        first = seen.setdefault(entry.id, entry)
        if first is not entry:
            problems.append(Problem(entry.file, entry.line, f'duplicate FAQ id "{entry.id}" '
                                                            f"(also in {first.file}:{first.line})"))
    return problems


def near_identical(entries: Iterable[FaqEntry], synonyms: Mapping[str, tuple[str, ...]]) -> list[Problem]:
    """Active entries whose questions normalise to nearly the same text: users cannot tell them apart."""
    table = synonym_table(synonyms)
    active = [e for e in entries if e.active]
    keys = [canonical(e.q, table) for e in active]
    problems = []
    for i, entry in enumerate(active):
        later = keys[i + 1:]
        for _, _, j in process.extract(keys[i], later, scorer=fuzz.ratio, score_cutoff=NEAR_IDENTICAL, limit=None):
            other = active[i + 1 + j]
            problems.append(Problem(other.file, other.line, f'FAQ "{other.id}" asks nearly the same question as '
                                                            f'"{entry.id}" ({entry.file}:{entry.line}); merge them',
                                    "warning"))
    return problems


def faq_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith("_"))


def load_faq(directory: Path, root: Path | None = None) -> tuple[list[FaqEntry], dict[str, tuple[str, ...]], list[Problem]]:
    """Entries, synonyms and problems of an FAQ directory; a missing directory means no FAQ at all."""
    if not directory.is_dir():
        return [], {}, []
    synonyms: dict[str, tuple[str, ...]] = {}
    problems: list[Problem] = []
    synonyms_file = directory / SYNONYMS_FILE
    if synonyms_file.exists():
        synonyms, problems = load_synonyms(synonyms_file, display_path(synonyms_file, root))
    entries: list[FaqEntry] = []
    for file in faq_files(directory):
        shown = display_path(file, root)
        data, file_problems = read_yaml(file, shown)
        problems += file_problems
        if data is None:
            continue
        reader = _FileReader(shown)
        entries += reader.entries(data)
        problems += reader.problems
    problems += duplicate_ids(entries) + near_identical(entries, synonyms)
    unique = {e.id: e for e in reversed(entries)}
    return [e for e in entries if unique[e.id] is e], synonyms, problems
