"""A handoff node's ``offline:`` key: a left message that waits for the queue instead of a live wait."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from triage.content import load_content
from triage.flows.loader import load_flows
from triage.flows.model import Handoff
from triage.flows.session import HandoffAction

from flows.engine_support import SEOUL, WEDNESDAY_10, Chat, of, texts

SITE = Path(__file__).parents[1] / "fixtures" / "offline_handoff"
SUNDAY_10 = datetime(2026, 11, 29, 10, 0, tzinfo=SEOUL)


def inline_problems(tmp_path: Path, offline: str) -> list[str]:
    text = f"start: a\nnodes:\n  a:\n    handoff:\n      queue: general\n      offline: {offline}\n"
    (tmp_path / "main.yaml").write_text(text, encoding="utf-8")
    _, problems = load_flows([tmp_path], "main", tmp_path)
    return [str(p) for p in problems]


def test_offline_is_read_from_the_node_and_defaults_to_a_live_wait():
    content, problems = load_content(SITE)
    assert problems == [] and content is not None
    assert [(n.id, n.offline) for n in content.flows.nodes.values() if isinstance(n, Handoff)] == [
        ("main.agent", False), ("main.saved", True)]


def test_offline_must_be_true_or_false(tmp_path):
    assert inline_problems(tmp_path, "yes please") == ['main.yaml:6: "offline" must be true or false']
    assert inline_problems(tmp_path, "1") == ['main.yaml:6: "offline" must be true or false']
    assert inline_problems(tmp_path, "false") == []


def test_outside_hours_a_live_handoff_takes_its_closed_branch_but_a_left_message_is_queued():
    chat = Chat(load_content(SITE)[0], now=SUNDAY_10)
    chat.start()
    assert texts(chat.say("상담원 연결")) == ["지금은 운영 시간이 아니에요."]
    chat.say("메시지 남기기")
    actions = chat.say("월요일에 교환 문의드릴게요")
    assert texts(actions) == ["메시지를 잘 받았어요."]
    assert of(HandoffAction, actions) == [HandoffAction("general", "normal", ("주문",),
                                                        "[메시지] 월요일에 교환 문의드릴게요", "rule", True)]
    assert chat.state.owner == "queue"


def test_within_hours_a_left_message_is_still_marked_offline():
    chat = Chat(load_content(SITE)[0], now=WEDNESDAY_10)
    chat.start()
    chat.say("메시지 남기기")
    assert [a.offline for a in of(HandoffAction, chat.say("배송지 변경 부탁드려요"))] == [True]
