"""The ``agents:`` and ``handoff:`` sections of ``triage.yaml``, parsed into frozen settings.

``settings.py`` keeps these sections raw so the handoff code owns their shape. Problems name
``file:line`` like every other settings problem, because operators edit tokens and timers by
hand. Tokens never appear in a repr, so a logged config cannot leak them.

::

    agents:
      kim: { name: 김상담, token: "...", skills: [주문, 배송], max_concurrent: 3, supervisor: false }
    handoff:
      assignment: least_busy        # or round_robin
      cancel_keyword: 대기 취소
      position_interval: 60         # seconds between position updates at most
      timers: { queue_reminder: 300, queue_end: 1800, agent_warn: 300, agent_end: 600 }
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from triage.constant_time import same_secret
from triage.handoff.queue import MAX_CONCURRENT_LIMIT, POLICIES, Agent, Policy, QueueState
from triage.problems import Problem, did_you_mean
from triage.settings import Settings, _Reader
from triage.yamlmarks import line_of

AGENT_KEYS = ("name", "token", "skills", "max_concurrent", "supervisor")
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class AgentConfig:
    id: str
    name: str
    token: str = field(repr=False)
    skills: tuple[str, ...] = ()
    max_concurrent: int = 3
    supervisor: bool = False
    line: int = 0


@dataclass(frozen=True)
class HandoffTimers:
    """Seconds of user silence before each stage; 0 turns a stage off.

    While queued: a reminder, then a polite end if the user has left. With an agent: a
    warning to the user (and a notice to the agent), then auto-close.
    """

    queue_reminder: int = 300
    queue_end: int = 1800
    agent_warn: int = 300
    agent_end: int = 600


@dataclass(frozen=True)
class HandoffConfig:
    assignment: Policy = "least_busy"
    cancel_keyword: str = "대기 취소"
    position_interval: int = 60
    timers: HandoffTimers = HandoffTimers()
    agents: Mapping[str, AgentConfig] = field(default_factory=dict)


TIMER_KEYS = tuple(f.name for f in fields(HandoffTimers))
STAGES = (("queue_reminder", "queue_end"), ("agent_warn", "agent_end"))


def _seconds(r: _Reader, data: Mapping, key: str, default: int) -> int:
    value = r.get(data, key, int, default)
    if value < 0:
        r.problem(data, key, f'"{key}" must be 0 or more seconds')
        return default
    return value


def _timers(r: _Reader, section: Mapping) -> HandoffTimers:
    spec = r.section(section, "timers", TIMER_KEYS)
    timers = HandoffTimers(**{key: _seconds(r, spec, key, getattr(HandoffTimers, key)) for key in TIMER_KEYS})
    for first, then in STAGES:
        early, late = getattr(timers, first), getattr(timers, then)
        if early and late and late <= early:
            r.problem(spec, then, f'"{then}" ({late}s) must come after "{first}" ({early}s)')
    return timers


def _skills(r: _Reader, spec: Mapping, known: set[str]) -> tuple[str, ...]:
    raw = r.get(spec, "skills", list, [])
    skills = []
    for i, skill in enumerate(raw):
        if not isinstance(skill, str) or not skill.strip():
            r.problem(raw, i, "a skill must be a word like 주문")
            continue
        if known and skill not in known:
            r.problems.append(Problem(r.path, line_of(raw, i), f'no queue asks for skill "{skill}"'
                                      f'{did_you_mean(skill, known)}', "warning"))
        skills.append(skill)
    return tuple(skills)


def _capacity(r: _Reader, spec: Mapping) -> int:
    value = r.get(spec, "max_concurrent", int, 3)
    if not 1 <= value <= MAX_CONCURRENT_LIMIT:
        r.problem(spec, "max_concurrent", f'"max_concurrent" must be between 1 and {MAX_CONCURRENT_LIMIT}')
        return 3
    return value


def _token(r: _Reader, agents: Mapping, name: str, spec: Mapping) -> str:
    token = str(r.get(spec, "token", (str, int), "")).strip()
    if not token:
        r.problem(spec or agents, "token" if spec else name, f'agent "{name}" needs a "token"')
    elif len(token) < MIN_TOKEN_LENGTH:
        r.problems.append(Problem(r.path, line_of(spec, "token"), f'agent "{name}" has a token shorter than '
                                  f'{MIN_TOKEN_LENGTH} characters, which is easy to guess', "warning"))
    return token


def _agent(r: _Reader, agents: Mapping, name: Any, known: set[str]) -> AgentConfig:
    """A malformed entry is reported once by ``section`` and kept as an agent no token can reach."""
    spec = r.section(agents, name, AGENT_KEYS)
    if agents[name] is not None and not isinstance(agents[name], dict):
        return AgentConfig(str(name), str(name), "", line=line_of(agents, name))
    return AgentConfig(id=str(name), name=r.get(spec, "name", str, str(name)), token=_token(r, agents, str(name), spec),
                       skills=_skills(r, spec, known), max_concurrent=_capacity(r, spec),
                       supervisor=r.get(spec, "supervisor", bool, False), line=line_of(agents, name))


def _agents(r: _Reader, data: Mapping, known: set[str]) -> dict[str, AgentConfig]:
    agents = data.get("agents") or {}
    if not isinstance(agents, dict):
        r.problem(data, "agents", '"agents" must be a mapping of agent ids')
        return {}
    parsed = {str(name): _agent(r, agents, name, known) for name in agents}
    seen: dict[str, str] = {}
    for agent in parsed.values():
        if agent.token and agent.token in seen:
            r.problem(agents, agent.id, f'agents "{seen[agent.token]}" and "{agent.id}" share a token, so the '
                                        f'API could not tell them apart')
        seen.setdefault(agent.token, agent.id)
    return parsed


def _assignment(r: _Reader, section: Mapping) -> Policy:
    value = r.get(section, "assignment", str, "least_busy")
    if value not in POLICIES:
        r.problem(section, "assignment", f'assignment "{value}" must be one of {", ".join(POLICIES)}'
                                         f'{did_you_mean(value, POLICIES)}')
        return "least_busy"
    return value  # type: ignore[return-value]


def _keyword(r: _Reader, section: Mapping) -> str:
    value = r.get(section, "cancel_keyword", str, "대기 취소").strip()
    if not value:
        r.problem(section, "cancel_keyword", '"cancel_keyword" must not be empty')
        return "대기 취소"
    return value


def parse_handoff(settings: Settings) -> tuple[HandoffConfig, list[Problem]]:
    """Read both sections from ``settings.raw``; every problem is collected, defaults fill the gaps."""
    r = _Reader(settings.file)
    data = settings.raw if isinstance(settings.raw, dict) else {}
    known = {skill for queue in settings.queues.values() for skill in queue.skills}
    section = r.section(data, "handoff", ("assignment", "cancel_keyword", "position_interval", "timers"))
    config = HandoffConfig(assignment=_assignment(r, section), cancel_keyword=_keyword(r, section),
                           position_interval=_seconds(r, section, "position_interval", 60),
                           timers=_timers(r, section), agents=_agents(r, data, known))
    return config, r.problems


def agent_for_token(config: HandoffConfig, token: str) -> AgentConfig | None:
    """Compares every token in constant time, so response timing does not reveal a near miss."""
    found = None
    for agent in config.agents.values():
        if agent.token and same_secret(token, agent.token):
            found = agent
    return found


def desk(config: HandoffConfig) -> QueueState:
    """The queue state a server starts with: every configured agent, offline until they say otherwise."""
    return QueueState(agents={a.id: Agent(a.id, a.name, frozenset(a.skills), a.max_concurrent)
                              for a in config.agents.values()})
