"""``triage serve``'s banner: what an operator reads on start."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from loopback import free_port

from triage.cli import build_parser
from triage.commands.serve import banner, build

REPO = Path(__file__).parents[2]
TRIAGE = str(Path(sys.executable).with_name("triage"))


def serve_banner(root: Path) -> str:
    loop = asyncio.new_event_loop()
    try:
        app = build(build_parser().parse_args(["serve", "--root", str(root), "--db", str(root / "t.db")]))
        return banner(app, loop)
    finally:
        loop.close()


def copy_site(tmp_path: Path) -> Path:
    """The shipped example site, so the banner is the one `triage serve` prints in the README."""
    for name in ("flows", "faq", "images"):
        shutil.copytree(REPO / name, tmp_path / name)
    shutil.copy(REPO / "triage.yaml", tmp_path)
    return tmp_path


def test_the_banner_shows_the_webhooks_at_the_root(tmp_path):
    site = copy_site(tmp_path)

    assert "(POST /message /reference /expired_session)" in serve_banner(site)


def test_the_banner_shows_that_the_webhooks_live_under_a_secret_path_without_showing_it(tmp_path):
    site = copy_site(tmp_path)
    settings = site / "triage.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + "server:\n  path_prefix: /hooks/9f2c4e1a\n",
                        encoding="utf-8")

    shown = serve_banner(site)

    assert "(POST /…/message /…/reference /…/expired_session)" in shown and "9f2c4e1a" not in shown


def serve(site: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TRIAGE, "serve", "--root", str(site), *args], capture_output=True, text=True, timeout=30)


def test_a_taken_port_stops_the_start_in_one_line_before_the_database_is_touched(tmp_path):
    site = copy_site(tmp_path)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        started = serve(site, "--port", str(port), "--db", str(tmp_path / "live.db"))

    assert started.returncode == 1
    assert started.stdout == f"triage: not starting: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    assert "listening" not in started.stdout and "Traceback" not in started.stdout + started.stderr
    assert not (tmp_path / "live.db").exists() and not (tmp_path / "live.db.deliver.lock").exists()


def test_a_database_in_a_missing_folder_stops_the_start_in_one_line_without_a_banner(tmp_path):
    started = serve(copy_site(tmp_path), "--port", str(free_port()), "--db", "/nonexistent/dir/x.db",
                    "--delivery", "inline")

    assert started.returncode == 1
    assert started.stdout.splitlines() == [
        "triage: not starting: /nonexistent/dir/x.db: cannot open the database (unable to open database file); "
        "does its folder exist and is it writable?"]
    assert "Traceback" not in started.stderr


def test_a_port_out_of_range_is_a_usage_error_not_another_port(tmp_path):
    started = serve(copy_site(tmp_path), "--port", "70000")

    assert started.returncode == 2
    assert "argument --port: 70000 is not a port (1-65535)" in started.stderr and started.stdout == ""
