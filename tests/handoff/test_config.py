from __future__ import annotations

from pathlib import Path

from triage.handoff.config import AgentConfig, HandoffConfig, HandoffTimers, agent_for_token, desk, parse_handoff
from triage.handoff.queue import assign_waiting, enqueue, set_presence
from triage.settings import Settings, load_settings

from queue_support import at, ticket

FIXTURES = Path(__file__).parents[1] / "fixtures" / "handoff_config"


def load(name: str) -> tuple[HandoffConfig, list[str]]:
    settings, problems = load_settings(FIXTURES / name)
    assert problems == []
    config, found = parse_handoff(settings)
    prefix = f"{FIXTURES / name / 'triage.yaml'}:"
    return config, [str(p).removeprefix(prefix) for p in sorted(found)]


def test_a_site_without_the_sections_gets_every_default():
    assert parse_handoff(Settings()) == (HandoffConfig(), [])


def test_every_setting_of_a_staffed_desk_is_read():
    config, problems = load("ok")
    assert problems == []
    assert (config.assignment, config.cancel_keyword, config.position_interval) == ("round_robin", "상담 취소", 90)
    assert config.timers == HandoffTimers(queue_reminder=120, queue_end=900, agent_warn=0, agent_end=600)
    assert list(config.agents) == ["kim", "lee", "boss"]
    assert config.agents["lee"] == AgentConfig("lee", "이상담", "lee-0123456789abcdef", ("환불",), 2, False, 10)
    assert (config.agents["boss"].supervisor, config.agents["boss"].max_concurrent) == (True, 3)


def test_every_mistake_is_reported_at_its_line():
    _, problems = load("broken")
    assert problems == [
        '9: warning: no queue asks for skill "배숑" (did you mean "배송"?)',
        '10: unknown key "max_concurent" in kim (did you mean "max_concurrent"?)',
        '11: agents "kim" and "lee" share a token, so the API could not tell them apart',
        '13: "max_concurrent" must be between 1 and 50',
        '15: agent "park" needs a "token"',
        '17: warning: agent "choi" has a token shorter than 16 characters, which is easy to guess',
        '18: "supervisor" must be a true/false',
        '19: "jung" must be a mapping',
        '22: assignment "least-busy" must be one of least_busy, round_robin (did you mean "least_busy"?)',
        '23: "cancel_keyword" must not be empty',
        '24: "position_interval" must be 0 or more seconds',
        '27: "queue_end" (300s) must come after "queue_reminder" (600s)',
        '28: "agent_warn" must be a whole number',
        '29: unknown key "agent_ends" in timers (did you mean "agent_end"?)',
    ]


def test_broken_values_fall_back_to_defaults_so_the_desk_still_runs():
    config, _ = load("broken")
    assert (config.assignment, config.cancel_keyword, config.position_interval) == ("least_busy", "대기 취소", 60)
    assert config.agents["lee"].max_concurrent == 3
    assert agent_for_token(config, "") is None


def test_tokens_never_appear_in_a_repr():
    config, _ = load("ok")
    assert "0123456789abcdef" not in repr(config)


def test_a_token_finds_its_agent_and_nothing_else_does():
    config, _ = load("ok")
    assert agent_for_token(config, "boss-0123456789abcdef").id == "boss"
    assert agent_for_token(config, "boss-0123456789abcdeF") is None
    assert agent_for_token(config, "boss-0123456789abcde") is None
    assert agent_for_token(config, "") is None
    assert agent_for_token(config, "상담원 토큰\x00") is None


def test_the_desk_starts_with_every_agent_offline_until_they_say_otherwise():
    config, _ = load("ok")
    state = enqueue(desk(config), ticket("t1", skills=("환불",)))
    assert {a.presence for a in state.agents.values()} == {"offline"}
    assert assign_waiting(state, at(1))[1] == []
    state, _ = set_presence(state, "lee", "online", at(2))
    state, effects = assign_waiting(state, at(3), config.assignment)
    assert [(e.ticket.id, e.agent.id, e.agent.max_concurrent) for e in effects] == [("t1", "lee", 2)]
