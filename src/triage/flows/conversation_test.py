"""Conversation tests: editors pin what the bot says, step by step (``triage test``).

Test files are editors' files like flows, so they are checked the same way (``file:line``,
"did you mean") before anything runs. A failing test explains itself with the whole exchange
as a chat transcript, because an editor fixes a flow by reading the conversation, not a diff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from triage.content import Content
from triage.flows.conversation import Conversation, begin, on_site_clock, send_photo, send_text, transcript
from triage.flows.loader import display_path, flow_files
from triage.problems import Problem, did_you_mean
from triage.yamlmarks import line_of, read_yaml

TEST_KEYS = ("name", "extra", "returning", "now", "steps")
DEFAULT_NOW = datetime(2026, 11, 25, 10, 0)
"""A Wednesday morning inside business hours, so no test depends on when it runs."""


@dataclass(frozen=True)
class Step:
    key: str
    value: Any
    line: int


@dataclass(frozen=True)
class ConversationTest:
    name: str
    file: str
    line: int
    steps: tuple[Step, ...]
    extra: str = ""
    returning: bool = False
    now: datetime = DEFAULT_NOW
    """Wall-clock time in the site's time zone, unless the editor wrote an offset."""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Outcome:
    test: ConversationTest
    conversation: Conversation | None
    failed: Step | None = None
    actual: str = ""

    @property
    def passed(self) -> bool:
        return self.failed is None


def show_value(value: Any) -> str:
    """A step value the way an editor wrote it in YAML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k}: {show_value(v)}" for k, v in value.items()) + " }"
    return str(value)


# ---- checks: one per assertion key, each returns what it saw when the step fails ---------

def _bot(c: Conversation, expected: str) -> str | None:
    seen = c.seen_text()
    return None if expected in seen else seen or "(the bot sent nothing)"


def _bot_exact(c: Conversation, expected: str) -> str | None:
    bubbles = c.bubbles()
    return None if expected.strip() in bubbles else "\n".join(bubbles) or "(no bubbles)"


def _buttons(c: Conversation, expected: list[str]) -> str | None:
    offered = list(c.menu())
    if offered == expected:
        return None
    missing = [label for label in expected if label not in offered]
    unexpected = [label for label in offered if label not in expected]
    if not missing and not unexpected:
        return f"{show_value(offered)}\n(the same buttons in another order)"
    diff = [f"missing {show_value(missing)}"] if missing else []
    diff += [f"not expected {show_value(unexpected)}"] if unexpected else []
    return f"{show_value(offered)}\n({'; '.join(diff)})"


def _link(c: Conversation, expected: str) -> str | None:
    urls = [link.url for link in c.links()]
    return None if expected in urls else "\n".join(urls) or "(no links)"


def _handoff(c: Conversation, expected: str | bool) -> str | None:
    """A queue name, or ``false`` for "the bot still has the session"."""
    return None if c.queue == (expected or None) else _whereabouts(c)


def _ended(c: Conversation, expected: bool) -> str | None:
    return None if c.ended == expected else _whereabouts(c)


def _whereabouts(c: Conversation) -> str:
    if c.queue:
        return f"waiting in queue {c.queue}"
    return "the session has ended" if c.ended else f"the bot still has the session (at {c.state.node})"


def _vars(c: Conversation, expected: Mapping[str, Any]) -> str | None:
    have = c.state.vars
    same = all(name in have and str(have[name]) == show_value(value) for name, value in expected.items())
    return None if same else show_value(dict(have))


def _category(c: Conversation, expected: str) -> str | None:
    return None if c.state.category == expected else str(c.state.category or "-")


CHECKS: dict[str, Callable[[Conversation, Any], str | None]] = {
    "bot": _bot, "bot_exact": _bot_exact, "buttons": _buttons, "link": _link,
    "handoff": _handoff, "ended": _ended, "vars": _vars, "category": _category,
}
ACTIONS = ("user", "photo")
STEP_KEYS = (*ACTIONS, *CHECKS)


# ---- running -------------------------------------------------------------------------------

def run_test(content: Content, test: ConversationTest) -> Outcome:
    now = on_site_clock(test.now, content.settings.tz)
    conversation = None
    step = None
    try:
        conversation = begin(content, now, test.extra, test.returning, session_id=f"test:{test.where}")
        for step in test.steps:
            if step.key == "user":
                conversation = send_text(conversation, step.value, now)
            elif step.key == "photo":
                conversation = send_photo(conversation, now)
            elif (actual := CHECKS[step.key](conversation, step.value)) is not None:
                return Outcome(test, conversation, step, actual)
    except Exception as exc:  # a broken engine must fail one test, not the whole run
        where = step or Step("start", test.extra, test.line)
        return Outcome(test, conversation, where, f"the engine raised {type(exc).__name__}: {exc}")
    return Outcome(test, conversation)


def run_tests(content: Content, tests: Iterable[ConversationTest]) -> list[Outcome]:
    return [run_test(content, test) for test in tests]


# ---- reporting -----------------------------------------------------------------------------

def report(outcome: Outcome) -> list[str]:
    test = outcome.test
    if outcome.passed:
        return [f"✓ {test.name}"]
    step = outcome.failed
    assert step is not None
    lines = [f"✗ {test.name} ({test.where})",
             f"  step {step.key} at {test.file}:{step.line}",
             *_block("  expected: ", show_value(step.value)),
             *_block("  actual:   ", outcome.actual)]
    if outcome.conversation is not None:
        lines += ["  conversation so far:", *_block("    ", "\n".join(transcript(outcome.conversation)), "    ")]
    return lines


def _block(head: str, text: str, indent: str = " " * 12) -> list[str]:
    """Multi-line text under a heading, continuation lines aligned, no trailing spaces."""
    first, *rest = text.split("\n")
    return [(head + first).rstrip(), *((indent + line).rstrip() for line in rest)]


def summary(outcomes: Iterable[Outcome]) -> str:
    results = [o.passed for o in outcomes]
    return f"{results.count(True)} passed, {results.count(False)} failed"


# ---- loading and checking test files -------------------------------------------------------

def load_tests(paths: Iterable[Path], root: Path | None = None) -> tuple[list[ConversationTest], list[Problem]]:
    """Every test in the given files and directories; problems instead of exceptions."""
    paths = list(paths)
    files = flow_files(paths)
    if not files:
        where = ", ".join(str(p) for p in paths)
        return [], [Problem(where, 1, "no conversation tests found (expected *.yaml files)")]
    tests: list[ConversationTest] = []
    problems: list[Problem] = []
    for file in files:
        shown = display_path(file, root)
        data, file_problems = read_yaml(file, shown)
        problems += file_problems
        if data is not None:
            more, file_problems = parse_tests(data, shown)
            tests += more
            problems += file_problems
    return tests, problems


def parse_tests(data: Any, path: str) -> tuple[list[ConversationTest], list[Problem]]:
    if not isinstance(data, list):
        return [], [Problem(path, line_of(data, None), "a test file is a list of tests, each starting with - name:")]
    reader = _Reader(path)
    tests = []
    for i, item in enumerate(data):
        test = reader.test(item, line_of(data, i))
        if test is not None:
            tests.append(test)
    seen: dict[str, int] = {}
    for test in tests:
        if test.name in seen:
            reader.problem(test.line, f'test name "{test.name}" is used twice (also at line {seen[test.name]})')
        seen.setdefault(test.name, test.line)
    return tests, reader.problems


class _Reader:
    """Reads tests of one file, collecting problems; a test with any problem is left out."""

    def __init__(self, path: str):
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def test(self, item: Any, line: int) -> ConversationTest | None:
        if not isinstance(item, dict):
            self.problem(line, "each test is a mapping with name: and steps:")
            return None
        before = len(self.problems)
        for key in item:
            if key not in TEST_KEYS:
                self.problem(line_of(item, key), f'unknown key "{key}" in a test{did_you_mean(str(key), TEST_KEYS)}')
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            self.problem(line, "a test needs a name:")
        extra = self.text(item, "extra", "")
        returning = item.get("returning", False)
        if not isinstance(returning, bool):
            self.problem(line_of(item, "returning"), "returning must be true or false")
        now = self.clock(item)
        steps = self.steps(item, line)
        if len(self.problems) > before:
            return None
        return ConversationTest(name.strip(), self.path, line, steps, extra, returning, now)

    def text(self, item: Mapping, key: str, default: str) -> str:
        value = item.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.problem(line_of(item, key), f"{key} must be text")
            return default
        return str(value)

    def clock(self, item: Mapping) -> datetime:
        value = item.get("now")
        if value is None:
            return DEFAULT_NOW
        if isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.strip())
            except ValueError:
                pass
        hint = " (give a time too)" if isinstance(value, date) else ""
        self.problem(line_of(item, "now"), f'now must be a local date and time like "2026-11-25T10:30"{hint}')
        return DEFAULT_NOW

    def steps(self, item: Mapping, line: int) -> tuple[Step, ...]:
        raw = item.get("steps")
        if not isinstance(raw, list) or not raw:
            self.problem(line_of(item, "steps") if "steps" in item else line, "a test needs a list of steps:")
            return ()
        steps = []
        for i, entry in enumerate(raw):
            step = self.step(entry, line_of(raw, i))
            if step is not None:
                steps.append(step)
        return tuple(steps)

    def step(self, entry: Any, line: int) -> Step | None:
        if not isinstance(entry, dict) or not entry:
            self.problem(line, f"each step is one key and its value, such as - user: 배송 조회 "
                               f"(step keys: {', '.join(STEP_KEYS)})")
            return None
        if len(entry) > 1:
            self.problem(line, f"this step has {len(entry)} keys ({', '.join(map(str, entry))}); "
                               f'give each its own "- " line, in the order they happen')
            return None
        (key, value), = entry.items()
        if key not in STEP_KEYS:
            self.problem(line, f'unknown step "{key}"{did_you_mean(str(key), STEP_KEYS)} '
                               f"(step keys: {', '.join(STEP_KEYS)})")
            return None
        why = _bad_value(key, value)
        if why:
            self.problem(line, f"{key}: {why}")
            return None
        return Step(key, _clean(value), line)


_TEXT_KEYS = ("user", "bot", "bot_exact", "link", "category")


def _bad_value(key: str, value: Any) -> str | None:
    """Why a step's value cannot be used, or None."""
    if key in _TEXT_KEYS:
        ok = isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip() != ""
        return None if ok else "must be text"
    if key == "buttons":
        ok = isinstance(value, list) and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value)
        return None if ok else "must be a list of labels such as [배송 조회, 처음으로]"
    if key == "vars":
        return None if isinstance(value, dict) and value else "must be a mapping of variable: value"
    if key == "handoff":
        return None if value is False or _bad_value("bot", value) is None else "must be a queue name, or false"
    if key == "photo":
        return None if value is True else "must be true"
    return None if isinstance(value, bool) else "must be true or false"


def _clean(value: Any) -> Any:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value
