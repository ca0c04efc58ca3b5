"""The event stream over a real socket: a desk that goes away is a normal end, not a server error."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import AsyncIterator

import pytest
from aiohttp import web

from loopback import free_port
from triage.app import ServeOptions, make_app
from handoff.desk_support import AGENTS, TOKENS


@pytest.fixture
async def served(open_site, tmp_path: Path) -> AsyncIterator[int]:
    """The app behind an ``AppRunner`` as ``triage serve`` runs it: handlers are not cancelled when a client
    leaves (aiohttp's test server cancels them, which would hide what production does)."""
    port = free_port()
    app = make_app(ServeOptions(root=open_site(AGENTS), db=str(tmp_path / "triage.db"), heartbeat=0.05))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield port
    await runner.cleanup()


async def get(port: int, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw HTTP/1.1 request, so the test can drop the connection the way a closed browser tab does."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKENS['kim']}\r\n"
                 "Connection: close\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


async def test_a_desk_closing_its_event_stream_logs_no_error_and_the_server_keeps_serving(served, caplog):
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        reader, writer = await get(served, "/api/v1/events")
        await reader.readuntil(b": triage events")
        writer.transport.abort()
        await asyncio.sleep(0.3)

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "event stream client went away" in caplog.text
    reader, writer = await get(served, "/api/v1/agents")
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    writer.close()
