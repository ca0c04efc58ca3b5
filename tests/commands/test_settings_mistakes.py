"""An operator's triage.yaml mistakes through the real CLI: settings that parse but would break the running
server fail ``triage validate`` and stop ``triage serve`` with the same lines, and the example sender_key
is warned about wherever real Kakao traffic would meet it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from loopback import free_port

FIXTURES = Path(__file__).parents[1] / "fixtures"
TRIAGE = str(Path(sys.executable).with_name("triage"))
UNSAFE = FIXTURES / "unsafe_settings"
UNSAFE_LINES = [
    f'{UNSAFE / "triage.yaml"}:{line}: {message}' for line, message in [
        (6, '"port" must be a whole number from 1 to 65535'),
        (7, '"max_body" must be a whole number of bytes, 8192 or more (8 KB: room for a 1,000-character message)'),
        (9, '"base_url" must be an absolute http:// or https:// address like http://127.0.0.1:8090 '
            '(did you mean "http://127.0.0.1:18291"?)'),
        (10, '"timeout" must be a number of seconds above 0'),
        (11, '"retry_for" must be a number of seconds above 0'),
        (13, '"bot_warn" must be a whole number of seconds, 0 or more (0 = off)'),
        (15, '"retention_days" must be a whole number of days, 0 or more (0 = keep everything)'),
        (18, '"max_wait" must be a whole number of minutes, 0 or more'),
        (21, '"suggest" (70) must not be above "answer" (60)'),
        (22, '"margin" must be a number from 0 to 100'),
        (24, '"timeout" must be a number of seconds above 0'),
    ]
]


def triage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TRIAGE, *args], capture_output=True, text=True, timeout=60)


def test_validate_fails_on_every_setting_outside_its_range_naming_the_range_at_its_line():
    result = triage("validate", "--root", str(UNSAFE))

    assert result.returncode == 1
    assert result.stdout.splitlines() == [*UNSAFE_LINES, "11 errors, 0 warnings in 1 file"]
    assert result.stderr == ""


def test_serve_refuses_to_start_on_the_same_lines(tmp_path):
    result = triage("serve", "--root", str(UNSAFE), "--db", str(tmp_path / "live.db"))

    assert result.returncode == 1
    assert result.stdout.splitlines() == ["triage: the content has errors, not starting:",
                                          *(f"  {line}" for line in UNSAFE_LINES)]
    assert "Traceback" not in result.stderr and not (tmp_path / "live.db").exists()


def test_validate_warns_at_the_channel_line_when_the_sender_key_is_missing_but_passes():
    result = triage("validate", "--root", str(FIXTURES / "template_runtime"))

    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f'{FIXTURES / "template_runtime" / "triage.yaml"}:1: warning: channel.sender_key is missing, so the '
        "example key is used, which Kakao refuses for a real channel: set your channel's own",
        "OK: 1 flow, 3 nodes, 0 FAQ entries (1 warning)",
    ]


def test_a_site_with_its_own_sender_key_validates_without_warnings():
    result = triage("validate", "--root", str(FIXTURES / "real_channel"))

    assert (result.returncode, result.stdout) == (0, "OK: 1 flow, 1 node, 0 FAQ entries\n")


def started_serve_log(tmp_path: Path, root: Path, *args: str) -> str:
    """What ``triage serve`` logged by the time its banner appeared; the server is then stopped."""
    server = subprocess.Popen([TRIAGE, "serve", "--root", str(root), "--port", str(free_port()), "--delivery",
                               "inline", "--db", str(tmp_path / "live.db"), *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = server.stdout.readline()
        assert banner.startswith("triage listening on "), banner
    finally:
        server.terminate()
        _, log = server.communicate(timeout=30)
    return log


def test_serve_sending_to_kakao_logs_the_missing_sender_key_at_start(tmp_path):
    log = started_serve_log(tmp_path, FIXTURES / "template_runtime", "--kakao-url", "https://bizmessage.example.com")

    warnings = [line for line in log.splitlines() if " WARNING " in line]
    assert len(warnings) == 1
    assert warnings[0].endswith(f'WARNING triage.serve: {FIXTURES / "template_runtime" / "triage.yaml"}:1: '
                                "channel.sender_key is missing, so the example key is used, which Kakao "
                                "refuses for a real channel: set your channel's own")


def test_serve_sending_to_a_simulator_on_this_machine_does_not_warn_about_the_example_key(tmp_path):
    log = started_serve_log(tmp_path, FIXTURES / "template_runtime", "--kakao-url", "http://localhost:18291")

    assert "sender_key" not in log


def test_serve_with_its_own_sender_key_does_not_warn(tmp_path):
    log = started_serve_log(tmp_path, FIXTURES / "real_channel")

    assert "sender_key" not in log
