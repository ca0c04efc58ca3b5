"""``triage sim`` through the real CLI: settings wiring, bad input, and the installed script."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from loopback import free_port
from triage.cli import build_parser, main
from triage.commands.sim import sim_config
from triage.settings import load_settings

FIXTURES = Path(__file__).parent.parent / "fixtures" / "kakao"
SITE, BROKEN = FIXTURES / "site", FIXTURES / "broken_site"
SCRIPT = Path(sys.executable).parent / "triage"


def test_the_site_settings_shape_the_simulated_channel():
    settings, problems = load_settings(SITE)
    assert problems == []
    config = sim_config(settings, build_parser().parse_args(["sim", "--root", str(SITE)]))
    (channel,) = config.channels
    assert (channel.sender_key, channel.name, channel.partner) == (
        "fedcba9876543210fedcba9876543210fedcba98", "한빛쇼핑 고객센터", "http://127.0.0.1:8181")
    assert config.paths["write"] == "/v3/write" and config.paths["end"] == "/v1/chat/end"
    assert config.required_headers == {"HT-Client-Id": "hanbit", "HT-Client-Secret": "not-a-real-secret"}
    assert (config.reference_order, config.expired_callback) == ("before", True)


def test_flags_override_the_settings():
    settings, _ = load_settings(SITE)
    args = build_parser().parse_args(["sim", "--partner", "http://127.0.0.1:9000/", "--sender-key", "k1",
                                      "--no-expired-callback", "--reference-order", "after", "--expiry-seconds", "60",
                                      "--partner-retries", "3"])
    config = sim_config(settings, args)
    assert (config.channels[0].partner, config.channels[0].sender_key) == ("http://127.0.0.1:9000", "k1")
    assert (config.reference_order, config.expired_callback, config.expiry_seconds) == ("after", False, 60.0)
    assert config.partner_retries == 3
    assert sim_config(settings, build_parser().parse_args(["sim"])).partner_retries == 0


@pytest.mark.parametrize("argv, message", [
    (["--partner", "localhost:8080"], "is not an http(s) URL"),
    (["--sender-key", "k" * 41], "sender_key has 1-40 characters"),
    (["--reference-order", "later"], "invalid choice"),
    (["--partner-retries", "-1"], "is not a number of retries from 0 to 100"),
    (["--partner-retries", "many"], "is not a number of retries from 0 to 100"),
])
def test_bad_flags_are_explained(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        main(["sim", *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_settings_errors_stop_it_with_file_and_line(capsys):
    assert main(["sim", "--root", str(BROKEN)]) == 1
    assert f"{BROKEN / 'triage.yaml'}:4:" in capsys.readouterr().err


def test_a_busy_port_is_a_message_not_a_traceback(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["sim", "--root", str(SITE), "--port", str(port)]) == 1
    out = capsys.readouterr()
    assert f"listening on http://127.0.0.1:{port}" in out.out
    assert f"cannot listen on 127.0.0.1:{port}" in out.err


def test_a_site_with_a_secret_path_is_called_under_it_and_the_banner_keeps_it_secret(tmp_path, capsys):
    (tmp_path / "triage.yaml").write_text((SITE / "triage.yaml").read_text(encoding="utf-8").replace(
        "  port: 8181\n", "  port: 8181\n  path_prefix: /hooks/9f2c4e1a\n"), encoding="utf-8")
    settings, _ = load_settings(tmp_path)
    assert sim_config(settings, build_parser().parse_args(["sim"])).channels[0].partner == (
        "http://127.0.0.1:8181/hooks/9f2c4e1a")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        main(["sim", "--root", str(tmp_path), "--port", str(busy.getsockname()[1])])
    banner = capsys.readouterr().out
    assert "calling the partner at http://127.0.0.1:8181/… " in banner and "9f2c4e1a" not in banner


def test_the_installed_script_serves_the_simulator():
    port, partner = free_port(), free_port()
    process = subprocess.Popen([str(SCRIPT), "sim", "--root", str(SITE), "--port", str(port),
                                "--partner", f"http://127.0.0.1:{partner}"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline() + process.stdout.readline()
        assert f"listening on http://127.0.0.1:{port}" in banner and f"127.0.0.1:{partner}" in banner
        state = json.loads(_request(f"http://127.0.0.1:{port}/sim/state"))
        assert state["channels"][0]["name"] == "한빛쇼핑 고객센터"
        with pytest.raises(urllib.error.HTTPError) as refused:
            _request(f"http://127.0.0.1:{port}/sim/users/u1/consult", b"{}")
        assert refused.value.code == 502 and "cannot reach the partner" in refused.value.read().decode()
    finally:
        process.terminate()
        process.wait(timeout=10)


def _request(url: str, data: bytes | None = None) -> str:
    """The server may still be binding when the banner prints; retry briefly."""
    for _ in range(50):
        try:
            with urllib.request.urlopen(url, data=data, timeout=5) as response:
                return response.read().decode()
        except urllib.error.URLError as exc:
            if isinstance(exc, urllib.error.HTTPError):
                raise
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")
