"""Real processes on loopback: ``triage serve`` and ``triage sim``, real HTTP both ways, real SQLite."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import aiohttp
import pytest

from loopback import copy_site, free_port
from triage.kakao.sim_client import SimUser, inject_fault

TRIAGE = str(Path(sys.executable).with_name("triage"))


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up in {timeout}s")


@dataclass
class Stack:
    """A server and a simulator that know each other's ports; the server can be killed and restarted."""

    root: Path
    db: Path
    server_port: int = field(default_factory=free_port)
    sim_port: int = field(default_factory=free_port)
    server: subprocess.Popen | None = None
    sim: subprocess.Popen | None = None
    delivery: str = "process"

    @property
    def server_url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    def _spawn(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([TRIAGE, *args, "--root", str(self.root)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def start_sim(self, *flags: str) -> None:
        self.sim = self._spawn("sim", "--port", str(self.sim_port), "--partner", self.server_url, *flags)
        wait_until_up(f"{self.sim_url}/sim/state", self.sim)

    def start_server(self) -> None:
        self.server = self._spawn("serve", "--port", str(self.server_port), "--db", str(self.db),
                                  "--kakao-url", self.sim_url, "--delivery", self.delivery)
        wait_until_up(f"{self.server_url}/healthz", self.server)

    def kill_server(self) -> None:
        """``kill -9``: no shutdown hook runs, exactly like a crash."""
        self.server.send_signal(signal.SIGKILL)
        self.server.wait()

    def deliverers(self) -> list[int]:
        """Pids of the server's children: its ``triage deliver`` in process mode."""
        children = Path(f"/proc/{self.server.pid}/task/{self.server.pid}/children").read_text()
        return [int(pid) for pid in children.split()]

    def stop(self) -> None:
        for process in (self.server, self.sim):
            if process and process.poll() is None:
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def query(self, sql: str, *params) -> list[tuple]:
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as conn:
            return conn.execute(sql, params).fetchall()


def make_stack(tmp: Path, *sim_flags: str, delivery: str = "process") -> Iterator[Stack]:
    stack = Stack(copy_site(tmp / "site", always_open=True), tmp / "triage.db", delivery=delivery)
    try:
        stack.start_sim(*sim_flags)
        stack.start_server()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """One shared pair for tests that each use their own user_key."""
    yield from make_stack(tmp_path_factory.mktemp("e2e"))


@pytest.fixture
def own_stack(tmp_path) -> Iterator[Stack]:
    """A private pair for tests that kill the server or edit the content."""
    yield from make_stack(tmp_path)


@pytest.fixture
async def http() -> aiohttp.ClientSession:
    async with aiohttp.ClientSession() as session:
        yield session


def user(http: aiohttp.ClientSession, stack: Stack, key: str) -> SimUser:
    return SimUser(http, stack.sim_url, key)


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def has(fragment: str):
    """A wait_for predicate: some delivered bubble contains ``fragment``."""
    return lambda messages: fragment in texts(messages)


async def until(condition, timeout: float = 10.0) -> None:
    """Poll ``condition`` (e.g. a query on the server's database) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.1)


async def greeted(http: aiohttp.ClientSession, stack: Stack, key: str) -> SimUser:
    """A customer who tapped 상담하기 (no ``extra``) and has seen the bot's welcome menu."""
    customer = user(http, stack, key)
    await customer.consult()
    await customer.wait_for(has("무엇을 도와드릴까요"))
    return customer


async def reply_stuck_in_retries(http: aiohttp.ClientSession, stack: Stack, key: str) -> SimUser:
    """A greeted customer whose next reply 상담톡 keeps refusing (503): it waits in the outbox, retried."""
    customer = await greeted(http, stack, key)
    await inject_fault(http, stack.sim_url, "write", 503, 10_000)
    await customer.say("주문/배송")
    await until(lambda: stack.query(
        "SELECT count(*) FROM outbox WHERE user_key = ? AND status = 'pending' AND attempts > 0", key)[0][0])
    return customer
