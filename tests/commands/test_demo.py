"""`triage demo` as a person runs it: one command, a KakaoTalk user typing into it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from loopback import free_port

REPO = Path(__file__).parents[2]
TRIAGE = str(Path(sys.executable).with_name("triage"))


def test_the_demo_chats_through_the_simulator_and_the_server(tmp_path):
    typed = "1\n배송 언제 와요?\n/extra topic=order&order=77\n배송 조회\n/quit\n"
    result = subprocess.run(
        [TRIAGE, "demo", "--root", str(REPO), "--db", str(tmp_path / "demo.db"),
         "--port", str(free_port()), "--sim-port", str(free_port())],
        input=typed, capture_output=True, text=True, timeout=60)

    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "triage listening on http://127.0.0.1:" in out and "상담톡 simulator on" in out
    assert "event loop uvloop" in out, "the demo runs on the loop triage serve runs on"
    assert out.index("무엇을 도와드릴까요") < out.index("주문·배송 문의를 도와드릴게요"), "button 1 was pressed"
    assert "1~2일 안에 출고" in out, "a typed question was answered from the FAQ"
    assert "주문번호 77" in out and "🔗 배송 조회: https://shop.example.com/orders/track?order=77" in out
    assert (tmp_path / "demo.db").exists()
