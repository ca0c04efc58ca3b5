"""One immutable snapshot of a site's content: settings, flows and FAQ.

Everything that reads editors' files goes through ``load_content``, so the server, ``triage
chat``, ``triage test`` and ``triage validate`` see exactly the same thing. Hot reload swaps
the whole snapshot, never part of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from triage.faq.index import FaqIndex
from triage.faq.loader import load_faq
from triage.flows.loader import load_flows
from triage.flows.model import FlowSet
from triage.flows.validate import validate
from triage.handoff.config import parse_handoff
from triage.handoff.webhooks import parse_webhooks
from triage.problems import Problem, errors
from triage.settings import Settings, load_settings


@dataclass(frozen=True)
class Content:
    settings: Settings
    flows: FlowSet
    faq: FaqIndex
    warnings: tuple[Problem, ...] = field(default=(), compare=False)


def load_content(root: Path, flow_paths: Iterable[Path] | None = None,
                 faq_dir: Path | None = None) -> tuple[Content | None, list[Problem]]:
    """Load and check everything under ``root``; ``None`` when any error was found.

    The checks across the site (queues, the privacy notice, targets) wait for a triage.yaml that
    parses: against defaults they would report what the editor never wrote."""
    settings, problems = load_settings(root)
    problems += parse_handoff(settings)[1] + parse_webhooks(settings)[1]
    flows, flow_problems = load_flows(list(flow_paths) if flow_paths else [settings.path("flows")],
                                      settings.entry_flow, root)
    problems += flow_problems
    entries, synonyms, faq_problems = load_faq(faq_dir or settings.path("faq"), root)
    problems += faq_problems
    index = FaqIndex(entries, settings.faq, synonyms)
    if flows is not None and settings.readable:
        problems += validate(flows, settings, index)
    problems = sorted(set(problems))
    if flows is None or errors(problems):
        return None, problems
    return Content(settings, flows, index, tuple(problems)), problems
