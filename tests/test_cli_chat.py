"""``triage chat`` through the real CLI, with messages piped in as an editor would."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from triage.cli import main

ROOT = Path(__file__).parents[1]
TRIAGE = Path(sys.executable).with_name("triage")
WEDNESDAY = "2026-11-25T10:00"


class Terminal(io.StringIO):
    """Typed input: what a person at a terminal sends, one line per message."""

    def isatty(self) -> bool:
        return True


def chat(monkeypatch, capsys, *lines: str, options: tuple[str, ...] = (), stdin=io.StringIO):
    monkeypatch.setattr(sys, "stdin", stdin("".join(f"{line}\n" for line in lines)))
    code = main(["chat", "--root", str(ROOT), "--now", WEDNESDAY, *options])
    return code, capsys.readouterr()


def test_a_short_chat_prints_bubbles_menus_links_status_and_the_handoff(monkeypatch, capsys):
    code, out = chat(monkeypatch, capsys, "1", "상담원", options=("--extra", "topic=order&order=order-20231114-77"))
    assert code == 0
    assert out.out.splitlines() == [
        "명령: /quit 끝내기 · /restart 다시 시작 · /extra topic=order 다른 extra로 시작 · /photo 사진 보내기",
        "(새 상담 시작: extra topic=order&order=order-20231114-77)",
        "봇: 상담 내용은 서비스 품질 향상을 위해 1년간 보관된 뒤 파기됩니다.",
        "",
        "    주문·배송 문의를 도와드릴게요. 원하시는 항목을 골라 주세요.",
        "    [1] 배송 조회  [2] 배송지 변경  [3] 배송 지연 문의  [4] 교환 안내  [5] 처음으로",
        "— node: order.menu · category: 주문 · owner: bot",
        "사용자: 배송 조회",
        "봇: 주문번호 order-20231114-77의 배송 현황은 아래 링크에서 바로 확인하실 수 있어요.",
        "    🔗 배송 조회: https://shop.example.com/orders/track?order=order-20231114-77",
        "봇: 더 궁금하신 점이 있으신가요?",
        "    [1] 처음으로  [2] 상담원 연결  [3] 상담 종료",
        "— node: main.anything_else · category: 주문 · owner: bot",
        "사용자: 상담원",
        "봇: 상담원을 연결해 드릴게요. 잠시만 기다려 주세요.",
        "    기다리지 않으시려면 언제든 '대기 취소'라고 입력해 주세요.",
        "(상담원 연결 대기: general · 우선순위 normal · 스킬 주문, 배송, 기타)",
        "(상담원에게 전달된 요약: [주문] 주문 order-20231114-77 / 마지막 말: 상담원)",
        "— node: main.general_agent · category: 주문 · owner: queue",
        "(상담원을 기다리는 중이라 봇은 답하지 않아요. /restart 로 새 상담을 시작하세요)",
    ]
    assert out.err == ""


def test_a_number_outside_the_menu_is_sent_as_typed(monkeypatch, capsys):
    _, out = chat(monkeypatch, capsys, "9")
    assert "사용자: 9\n" in out.out


def test_escape_codes_typed_by_a_customer_never_reach_the_terminal(monkeypatch, capsys):
    _, out = chat(monkeypatch, capsys, "\x1b[2J\x1b]0;hacked\x07 배송")
    assert "\x1b" not in out.out and "\x07" not in out.out
    assert "사용자: \ufffd[2J\ufffd]0;hacked\ufffd 배송" in out.out


def test_after_the_session_ends_typing_again_starts_a_new_one(monkeypatch, capsys):
    _, out = chat(monkeypatch, capsys, "종료", "안녕하세요")
    assert "(상담이 종료되었어요)\n— node: main.bye · category: - · owner: ended\n사용자: 안녕하세요" in out.out
    assert "봇은 답하지 않아요" not in out.out


def test_extra_restarts_with_the_new_extra_and_restart_keeps_it(monkeypatch, capsys):
    _, out = chat(monkeypatch, capsys, "/extra topic=membership", "/restart")
    assert out.out.count("(새 상담 시작: extra topic=membership)") == 2
    assert out.out.count("— node: membership.menu · category: 멤버십 · owner: bot") == 2


def test_photo_sends_a_photo_and_the_bot_acknowledges_it(monkeypatch, capsys):
    _, out = chat(monkeypatch, capsys, "/photo")
    assert "사용자: [사진]\n봇: 사진" in out.out


def test_quit_stops_reading_and_unknown_commands_show_the_help(monkeypatch, capsys):
    code, out = chat(monkeypatch, capsys, "/help", "/quit", "상담원")
    assert code == 0
    assert out.out.count("명령: /quit 끝내기") == 2
    assert "상담원을 연결해" not in out.out


def test_returning_customers_are_greeted_as_returning(monkeypatch, capsys):
    _, out = chat(monkeypatch, capsys, options=("--returning",))
    assert "다시 찾아 주셔서 감사해요." in out.out


def test_now_decides_business_hours(monkeypatch, capsys):
    _, out = chat(monkeypatch, capsys, "상담원", options=("--now", "2026-11-29T10:00"))
    assert "지금은 상담 운영 시간이 아니에요." in out.out
    assert "— node: after_hours.menu · category: - · owner: bot" in out.out


def test_at_a_terminal_typed_text_is_not_repeated_but_a_picked_label_is_shown(monkeypatch, capsys):
    _, out = chat(monkeypatch, capsys, "취소/환불", "처음으로", "3", stdin=Terminal)
    assert "사용자: 취소/환불" not in out.out and "사용자: 처음으로" not in out.out
    assert "사용자: 회원/멤버십\n" in out.out


def test_at_a_terminal_the_status_line_is_dim(monkeypatch, capsys):
    _, out = chat(monkeypatch, capsys, "취소/환불", stdin=Terminal)
    assert "\x1b[2m— node: refund.menu · category: 환불 · owner: bot\x1b[0m" in out.out


def test_a_broken_site_is_explained_without_a_traceback(capsys):
    code = main(["chat", "--root", str(ROOT / "tests" / "fixtures" / "broken_site")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.splitlines()[0] == 'flows/main.yaml:8: goto "track" names no node of flow "main"'
    assert "Traceback" not in err


def test_a_malformed_now_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["chat", "--root", str(ROOT), "--now", "next tuesday"])
    assert exit_.value.code == 2
    assert '"next tuesday" is not a date and time like 2026-11-29T10:00' in capsys.readouterr().err


def test_the_installed_script_chats_over_a_pipe_even_with_broken_bytes():
    typed = "3\n".encode() + b"\xff\xfe broken\n" + "/quit\n".encode()
    result = subprocess.run([str(TRIAGE), "chat", "--root", str(ROOT), "--now", WEDNESDAY],
                            input=typed, capture_output=True, timeout=60)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "— node: membership.menu · category: 멤버십 · owner: bot" in out
    assert "사용자: \ufffd\ufffd broken" in out
    assert result.stderr == b""
