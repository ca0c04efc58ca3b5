"""The server's side of ``--delivery process``: run ``triage deliver`` as a child and keep it running.

The server's event loop is busy with webhooks and the runtime; outbound HTTP is a fifth of its
work. A child process does that on the other core. The child is a direct child of the server
(no shell in between), so a CPU figure summed over the server and its children includes it.

Each child gets its own socket to an ``OutboxFeed``: rows out, outcomes in. If the child dies
it is started again after a short backoff and given every pending row; the lock in
``delivery`` keeps an old child that is still finishing its calls and a new one from ever
working at the same time.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from triage.delivery_wire import Channel
from triage.outbox_feed import OutboxFeed
from triage.settings import Settings

log = logging.getLogger("triage.delivery")

STEADY = 60.0
"""Seconds a child must live before its exit counts as news rather than as another quick failure."""
FINISH_MARGIN = 5.0
"""Seconds beyond one call's timeout that a stopping child gets to report its calls in flight."""


def restart_delay(quick_exits: int, base: float = 0.5, ceiling: float = 30.0) -> float:
    """Doubling waits for a child that keeps dying at once (a broken install, a full disk)."""
    return min(ceiling, base * 2.0 ** max(quick_exits - 1, 0))


def deliver_command(root: Path, settings: Settings, log_level: str) -> list[str]:
    """The child's command line: the server's effective settings, so both see the same database and Kakao."""
    return [sys.executable, "-m", "triage.cli", "deliver", "--root", str(root), "--db", settings.storage_path,
            "--kakao-url", settings.kakao.base_url, "--log-level", log_level]


class DeliveryProcess:
    """Supervises one ``triage deliver`` child at a time; same ``wake/run/stop`` as an ``OutboxWorker``."""

    def __init__(self, command: Sequence[str], feed: OutboxFeed, grace: float):
        self._command = list(command)
        self._feed = feed
        self._grace = grace
        self._process: asyncio.subprocess.Process | None = None
        self._channel: Channel | None = None
        self._stopping = asyncio.Event()
        self._done = asyncio.Event()
        self._running = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.returncode is None else None

    def wake(self) -> None:
        """A child being restarted misses nothing: it is given every pending row when it starts."""
        self._feed.wake()

    async def run(self) -> None:
        """Keep a child running until ``stop()``."""
        self._running = True
        loop = asyncio.get_running_loop()
        quick_exits = 0
        try:
            while not self._stopping.is_set():
                started = loop.time()
                try:
                    code = await self._one_child()
                except OSError as exc:
                    code = f"failed to start ({exc})"
                if self._stopping.is_set():
                    return
                quick_exits = 0 if loop.time() - started > STEADY else quick_exits + 1
                delay = restart_delay(quick_exits)
                log.error("the deliverer exited (%s); starting another in %.1fs", code, delay)
                try:
                    await asyncio.wait_for(self._stopping.wait(), delay)
                except TimeoutError:
                    pass
        finally:
            self._running = False
            self._done.set()

    async def stop(self) -> None:
        """End the rows (the child's signal to finish its calls in flight), record its last reports and
        wait for it to exit."""
        self._stopping.set()
        if self._channel is not None:
            self._channel.finish()
        if not self._running:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._done.wait()), self._grace)
        except TimeoutError:
            if self.pid is not None:
                log.warning("the deliverer (pid %d) did not finish within %.0fs; killing it", self.pid, self._grace)
                self._process.kill()
            await self._done.wait()

    async def _one_child(self) -> int:
        ours, theirs = socket.socketpair()
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self._command, "--channel-fd", str(theirs.fileno()), pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._channel = Channel(self._feed.receive, on_end=lambda: None)
        try:
            await self._channel.connect(ours)
            log.info("delivering from a child process (triage deliver, pid %d)", self._process.pid)
            self._feed.attach(self._channel)
            if self._stopping.is_set():
                self._channel.finish()
            code = await self._process.wait()
            await self._channel.end_of_input(1.0)  # the reports it wrote just before it exited
            return code
        finally:
            self._feed.detach()
            await self._channel.close()
            self._channel = None
