"""``triage chat`` on the shipped content: greetings and thanks as 상담톡 customers write them."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from triage.cli import main

ROOT = Path(__file__).parents[2]


def chat(monkeypatch, capsys, *lines: str) -> list[str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    assert main(["chat", "--root", str(ROOT), "--now", "2026-11-25T10:00"]) == 0
    return capsys.readouterr().out.splitlines()


def test_a_greeting_gets_only_the_welcome_and_a_greeting_with_a_question_gets_the_answer(monkeypatch, capsys):
    out = chat(monkeypatch, capsys, "안녕하세요", "안녕하세요~ 배송비 얼마예요?")
    greeted = out.index("사용자: 안녕하세요")
    assert out[greeted + 1] == "— node: main.welcome · category: - · owner: bot"
    assert out[greeted + 2:greeted + 4] == ["사용자: 안녕하세요~ 배송비 얼마예요?",
                                           "봇: 3만 원 이상 구매하시면 무료배송이에요. 그 미만은 배송비 3,000원이 붙어요."]
    assert not any("이해하지 못했어요" in line for line in out)


def test_thanks_after_an_answer_get_a_courteous_reply_and_no_agent(monkeypatch, capsys):
    out = chat(monkeypatch, capsys, "배송비 얼마예요", "감사합니다~", "넵", "ㅇㅋ")
    thanked = out.index("사용자: 감사합니다~")
    assert out[thanked + 1:thanked + 3] == ["봇: 네, 더 궁금한 점이 있으시면 편하게 말씀해 주세요.",
                                           "    [1] 처음으로  [2] 상담원 연결  [3] 상담 종료"]
    assert out[-1] == "— node: main.anything_else · category: - · owner: bot"
    assert not any("상담원을 연결해 드릴게요" in line for line in out)
