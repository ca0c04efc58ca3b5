"""Feeds acknowledged inbound events to the runtime: in order per user, users independent.

Kakao may deliver a session's ``/reference`` just before or just after its first
``/message``. A message that would open a session therefore waits a short grace period for
its reference, so a user who tapped "주문 문의" is routed by that button's ``extra`` rather
than greeted generically.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Protocol

from triage.store import InboxItem

log = logging.getLogger("triage.dispatcher")


class Processor(Protocol):
    def opens_session(self, item: InboxItem) -> bool: ...
    def process(self, item: InboxItem) -> None: ...


class Dispatcher:
    def __init__(self, runtime: Processor, reference_grace: float = 0.3):
        self.runtime = runtime
        self.grace = reference_grace
        self._queues: dict[str, deque[InboxItem]] = {}
        self._tasks: dict[str, asyncio.Task] = {}
        self._arrivals: dict[str, asyncio.Event] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, item: InboxItem) -> None:
        self._queues.setdefault(item.user_key, deque()).append(item)
        self._idle.clear()
        arrival = self._arrivals.get(item.user_key)
        if arrival is not None:
            arrival.set()
        if item.user_key not in self._tasks:
            self._tasks[item.user_key] = asyncio.get_running_loop().create_task(self._drain(item.user_key))

    async def _drain(self, user_key: str) -> None:
        queue = self._queues[user_key]
        try:
            while queue:
                if self.grace > 0 and self.runtime.opens_session(queue[0]):
                    await self._await_reference(user_key, queue)
                item = queue.popleft()
                try:
                    self.runtime.process(item)
                except Exception:  # one bad event must not stop this user's later ones
                    log.exception("processing inbox item %s (%s) failed; it stays pending for the next start",
                                  item.id, item.kind)
                await asyncio.sleep(0)
        finally:
            del self._tasks[user_key]
            if not queue:
                del self._queues[user_key]
            if not self._tasks:
                self._idle.set()

    async def _await_reference(self, user_key: str, queue: deque[InboxItem]) -> None:
        """Move this session's reference ahead of its first message if it comes in time."""
        message = queue[0]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.grace
        while True:
            reference = next((i for i in queue if i.kind == "reference"
                              and _same_session(i, message)), None)
            if reference is not None:
                queue.remove(reference)
                queue.appendleft(reference)
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            arrival = self._arrivals.setdefault(user_key, asyncio.Event())
            arrival.clear()
            try:
                await asyncio.wait_for(arrival.wait(), remaining)
            except asyncio.TimeoutError:
                return
            finally:
                self._arrivals.pop(user_key, None)

    async def idle(self, timeout: float | None = None) -> None:
        """Wait until every submitted event has been processed (tests, shutdown)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)


def _same_session(reference: InboxItem, message: InboxItem) -> bool:
    wanted = message.payload.get("session_id")
    return not wanted or reference.payload.get("session_id") in (None, wanted)
