"""Feeds acknowledged inbound events to the runtime: in order per user, users independent.

Work goes in batches: each turn of the event loop takes the next event of every user who has
one ready (up to ``max_batch``) and processes them in one store transaction, so under load a
COMMIT serves many users while each user still sees strictly one event after another. A batch
is small enough to keep the loop answering webhooks between batches.

Kakao may deliver a session's ``/reference`` just before or just after its first
``/message``. A message that would open a session therefore waits a short grace period for
its reference, so a user who tapped "주문 문의" is routed by that button's ``extra`` rather
than greeted generically. Only that user waits; everyone else's events go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Protocol, Sequence

from triage.store import InboxItem

log = logging.getLogger("triage.dispatcher")


class Processor(Protocol):
    def opens_session(self, item: InboxItem) -> bool: ...
    def process_batch(self, items: Sequence[InboxItem]) -> None: ...


class Dispatcher:
    def __init__(self, runtime: Processor, reference_grace: float = 0.3, max_batch: int = 16):
        self.runtime = runtime
        self.grace = reference_grace
        self.max_batch = max_batch
        self._queues: dict[str, deque[InboxItem]] = {}
        self._known: set[int] = set()
        self._ready: dict[str, None] = {}
        """Users whose next event may go in the next batch, oldest first (an ordered set)."""
        self._waiting: dict[str, asyncio.TimerHandle] = {}
        self._waited: set[int] = set()
        """Messages whose reference grace is over: they go ahead with or without one."""
        self._scheduled = False
        self._closed = False
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, item: InboxItem) -> None:
        """Queue an acknowledged event; one already queued (the same inbox id) is ignored."""
        if item.id in self._known or self._closed:
            return
        self._known.add(item.id)
        queue = self._queues.setdefault(item.user_key, deque())
        queue.append(item)
        self._idle.clear()
        waiting = self._waiting.get(item.user_key)
        if waiting is not None:
            if item.kind == "reference" and _same_session(item, queue[0]):
                waiting.cancel()
                self._stop_waiting(item.user_key, expired=False)
        elif len(queue) == 1:
            self._ready[item.user_key] = None
            self._schedule()

    def _schedule(self) -> None:
        if not self._scheduled and self._ready and not self._closed:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._run)

    def _run(self) -> None:
        self._scheduled = False
        if self._closed:
            return
        batch = [item for item in map(self._take, self._next_users()) if item is not None]
        if batch:
            try:
                self.runtime.process_batch(batch)
            except Exception:  # the runtime keeps its own failures; this guards the dispatcher's books
                log.exception("a batch of %d inbox items failed; they stay pending for the next start", len(batch))
        for item in batch:
            self._known.discard(item.id)
            self._waited.discard(item.id)
            queue = self._queues[item.user_key]
            if queue:
                self._ready[item.user_key] = None
            else:
                del self._queues[item.user_key]
        if not self._queues:
            self._idle.set()
        self._schedule()

    def _next_users(self) -> list[str]:
        users = []
        for user_key in self._ready:
            users.append(user_key)
            if len(users) == self.max_batch:
                break
        for user_key in users:
            del self._ready[user_key]
        return users

    def _take(self, user_key: str) -> InboxItem | None:
        """The user's next event, or None when it must first wait for its session's reference."""
        queue = self._queues[user_key]
        head = queue[0]
        if self.grace > 0 and head.id not in self._waited and self.runtime.opens_session(head):
            reference = next((i for i in queue if i.kind == "reference" and _same_session(i, head)), None)
            if reference is None:
                self._waiting[user_key] = asyncio.get_running_loop().call_later(
                    self.grace, self._stop_waiting, user_key, True)
                return None
            queue.remove(reference)
            return reference
        return queue.popleft()

    def _stop_waiting(self, user_key: str, expired: bool) -> None:
        del self._waiting[user_key]
        if expired:
            self._waited.add(self._queues[user_key][0].id)
        self._ready[user_key] = None
        self._schedule()

    async def idle(self, timeout: float | None = None) -> None:
        """Wait until every submitted event has been processed (tests, shutdown)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def close(self) -> None:
        """Take no more work; what is queued stays pending in the inbox for the next start."""
        self._closed = True
        for handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()


def _same_session(reference: InboxItem, message: InboxItem) -> bool:
    wanted = message.payload.get("session_id")
    return not wanted or reference.payload.get("session_id") in (None, wanted)
