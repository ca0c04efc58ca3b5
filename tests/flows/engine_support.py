"""A tiny driver for engine tests: real fixture files in, the engine's actions out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from triage.content import Content
from triage.faq.index import FaqIndex
from triage.faq.loader import load_faq
from triage.flows.engine import new_state, step
from triage.flows.loader import load_flows
from triage.flows.session import (
    Action, Event, Reference, SendButtons, SendLinks, SendText, SessionState, Start, UserInfo, UserText,
)
from triage.problems import errors
from triage.settings import load_settings

FIXTURES = Path(__file__).parents[1] / "fixtures" / "engine"
SEOUL = ZoneInfo("Asia/Seoul")
WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=SEOUL)


def load_site(root: Path) -> Content:
    """Settings, flows and FAQ from a fixture site, without the validator: some fixtures are
    deliberately broken to prove the engine survives what validation would refuse."""
    settings, problems = load_settings(root)
    flows, flow_problems = load_flows([root / "flows"], settings.entry_flow, root)
    entries, synonyms, faq_problems = load_faq(root / "faq", root) if (root / "faq").is_dir() else ([], {}, [])
    found = errors(problems + flow_problems + faq_problems)
    assert flows is not None and not found, found
    return Content(settings, flows, FaqIndex(entries, settings.faq, synonyms))


def texts(actions: list[Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, (SendText, SendButtons, SendLinks))]


def buttons(actions: list[Action]) -> tuple[str, ...]:
    menus = [a.labels for a in actions if isinstance(a, SendButtons)]
    return menus[-1] if menus else ()


def of(kind: type, actions: list[Action]) -> list:
    return [a for a in actions if isinstance(a, kind)]


@dataclass
class Chat:
    content: Content
    now: datetime = WEDNESDAY_10
    state: SessionState = field(init=False)
    last: list[Action] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = new_state("session-1", UserInfo("user-1"), self.now)

    def send(self, event: Event) -> list[Action]:
        self.state, self.last = step(self.content, self.state, event, self.now)
        return self.last

    def start(self, extra: str = "") -> list[Action]:
        return self.send(Start(Reference(extra=extra)))

    def say(self, text: str) -> list[Action]:
        return self.send(UserText(text))
