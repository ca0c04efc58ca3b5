"""The README's demo agent tokens through the real CLI: ``triage validate`` warns at each one, and ``triage serve``
will not open a real channel's agent API to whoever read them, while the demo on this machine stays quiet."""

from __future__ import annotations

from commands.test_settings_mistakes import FIXTURES, started_serve_log, triage

DEMO = FIXTURES / "demo_tokens"
ROOT = FIXTURES.parents[1]


def test_validate_warns_at_the_demo_token_s_line_but_passes():
    result = triage("validate", "--root", str(DEMO))

    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f'{DEMO / "triage.yaml"}:9: warning: agents.park.token is a demo token published in the README, so anyone '
        "could use the agent API with it: set a long random one",
        "OK: 1 flow, 1 node, 0 FAQ entries (1 warning)",
    ]


def test_serve_sending_to_kakao_refuses_to_start_with_a_demo_token(tmp_path):
    result = triage("serve", "--root", str(DEMO), "--db", str(tmp_path / "live.db"))

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f'triage: not starting: {DEMO / "triage.yaml"} has demo agent tokens from the README (line 9) and sends to '
        "https://bizmessage.example.com, not this machine: give every agent a long random token"]
    assert "Traceback" not in result.stderr and not (tmp_path / "live.db").exists()


def test_serve_names_every_demo_token_of_the_shipped_site(tmp_path):
    result = triage("serve", "--root", str(ROOT), "--db", str(tmp_path / "live.db"), "--kakao-url",
                    "https://bizmessage.example.com")

    lines = [n for n, line in enumerate((ROOT / "triage.yaml").read_text(encoding="utf-8").splitlines(), 1)
             if "token: demo-token-" in line]
    assert result.returncode == 1
    assert f"(line {', '.join(map(str, lines))})" in result.stdout and len(lines) == 3


def test_serve_sending_to_a_simulator_on_this_machine_stays_quiet_about_demo_tokens(tmp_path):
    log = started_serve_log(tmp_path, DEMO, "--kakao-url", "http://127.0.0.1:18291")

    assert "token" not in log and " WARNING " not in log
