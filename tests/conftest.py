"""Shared fixtures: a copy of the example site to edit, and the server with the simulator in-process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from loopback import copy_site, free_port
from triage.app import ServeOptions, make_app
from triage.kakao.sim_client import SimUser
from triage.kakao.simulator import SimConfig, make_sim_app
from triage.settings import load_settings


@pytest.fixture
def site(tmp_path: Path) -> Callable[..., Path]:
    """``site(settings_changes)``: the example site copied to tmp, with triage.yaml changed."""
    return lambda changes=None: copy_site(tmp_path / "site", changes)


@pytest.fixture
def open_site(tmp_path: Path) -> Callable[..., Path]:
    """Like ``site``, with every example queue open around the clock."""
    return lambda changes=None: copy_site(tmp_path / "site", changes, always_open=True)


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
        server_port, sim_port = free_port(), free_port()
        server_url, sim_url = f"http://127.0.0.1:{server_port}", f"http://127.0.0.1:{sim_port}"
        settings, _ = load_settings(root)
        options.setdefault("db", str(tmp_path / "triage.db"))
        server = make_app(ServeOptions(root=root, kakao_url=sim_url, **options))
        sim = make_sim_app(SimConfig.for_site(settings, server_url))
        for app, port in ((server, server_port), (sim, sim_port)):
            test_server = TestServer(app, host="127.0.0.1", port=port)
            await test_server.start_server()
            servers.append(test_server)
        return Live(server, sim, server_url, sim_url, http)

    yield start
    for test_server in reversed(servers):
        await test_server.close()
    await http.close()
