"""Shared fixtures: a copy of the example site to edit, and the server with the simulator in-process."""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from triage.app import ServeOptions, make_app
from triage.kakao.sim_client import SimUser
from triage.kakao.simulator import SimChannel, SimConfig, make_sim_app
from triage.settings import load_settings

REPO = Path(__file__).parents[1]


def merge(base: dict, changes: dict) -> dict:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


@pytest.fixture
def site(tmp_path: Path) -> Callable[..., Path]:
    """``site(settings_changes)``: the example site copied to tmp, with triage.yaml changed."""

    def make(changes: dict | None = None) -> Path:
        root = tmp_path / "site"
        for name in ("flows", "faq"):
            shutil.copytree(REPO / name, root / name)
        settings = yaml.safe_load((REPO / "triage.yaml").read_text(encoding="utf-8"))
        (root / "triage.yaml").write_text(yaml.safe_dump(merge(settings, changes or {}), allow_unicode=True),
                                          encoding="utf-8")
        return root

    return make


@pytest.fixture
def open_site(site: Callable[..., Path]) -> Callable[..., Path]:
    """Like ``site``, with every example queue open around the clock, so tests never depend on the hour."""
    open_all = {"hours": {"daily": "00:00-24:00"}, "holidays": "none", "closed_days": []}

    def make(changes: dict | None = None) -> Path:
        queues = {"queues": {name: dict(open_all) for name in ("general", "claims", "vip")}}
        return site(merge(queues, changes or {}))

    return make


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Live:
    server: web.Application
    sim: web.Application
    server_url: str
    sim_url: str
    http: aiohttp.ClientSession

    def user(self, user_key: str) -> SimUser:
        return SimUser(self.http, self.sim_url, user_key)


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Live]]]:
    """``await live(root, **ServeOptions fields)``: server and simulator on loopback, in this process."""
    servers: list[TestServer] = []
    http = aiohttp.ClientSession()

    async def start(root: Path, **options: Any) -> Live:
        server_port, sim_port = _free_port(), _free_port()
        server_url, sim_url = f"http://127.0.0.1:{server_port}", f"http://127.0.0.1:{sim_port}"
        settings, _ = load_settings(root)
        options.setdefault("db", str(tmp_path / "triage.db"))
        server = make_app(ServeOptions(root=root, kakao_url=sim_url, **options))
        channel = SimChannel(settings.channel.sender_key, settings.channel.name, server_url)
        sim = make_sim_app(SimConfig(channels=(channel,), paths=dict(settings.kakao.paths)))
        for app, port in ((server, server_port), (sim, sim_port)):
            test_server = TestServer(app, host="127.0.0.1", port=port)
            await test_server.start_server()
            servers.append(test_server)
        return Live(server, sim, server_url, sim_url, http)

    yield start
    for test_server in reversed(servers):
        await test_server.close()
    await http.close()
