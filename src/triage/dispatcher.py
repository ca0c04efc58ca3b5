"""Feeds acknowledged inbound events to the runtime: in order per user, users independent.

Work goes in batches: each turn of the event loop takes the next event of every user who has
one ready and processes them in one store transaction, so under load a COMMIT serves many
users while each user still sees strictly one event after another. A batch stops at
``max_batch`` events or ``batch_seconds``, whichever comes first, so the loop keeps answering
webhooks between batches.

Kakao may deliver a session's ``/reference`` just before or just after its first
``/message``. A message that would open a session therefore waits a short grace period for
its reference, so a user who tapped "주문 문의" is routed by that button's ``extra`` rather
than greeted generically. Only that user waits; everyone else's events go on.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from typing import Callable, Iterable, Iterator, Protocol

from triage.store import InboxItem

log = logging.getLogger("triage.dispatcher")


class Processor(Protocol):
    def opens_session(self, item: InboxItem) -> bool: ...
    def process_batch(self, items: Iterable[InboxItem]) -> None: ...


class Dispatcher:
    def __init__(self, runtime: Processor, reference_grace: float = 0.3, max_batch: int = 32,
                 batch_seconds: float = 0.005, before_batch: Callable[[], None] = lambda: None):
        self.runtime = runtime
        self.before_batch = before_batch
        """Runs first in each batch's turn: the intake's flush, so acknowledgements go first."""
        self.grace = reference_grace
        self.max_batch = max_batch
        self.batch_seconds = batch_seconds
        self._queues: dict[str, deque[InboxItem]] = {}
        self._known: set[int] = set()
        self._ready: deque[str] = deque()
        """Users whose next event may go in the next batch, oldest first; each at most once (its
        queue's head is either ready, waiting for a reference, or in a batch)."""
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
            self._ready.append(item.user_key)
            self._schedule()

    def _schedule(self) -> None:
        if not self._scheduled and self._ready and not self._closed:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._run)

    def _run(self) -> None:
        self._scheduled = False
        if self._closed or not self._ready:
            return
        self.before_batch()
        batch: list[InboxItem] = []
        items = self._fill(batch)
        first = next(items, None)
        try:
            if first is not None:  # everyone ready may have gone to wait for a reference
                self.runtime.process_batch(itertools.chain((first,), items))
        except Exception:  # the runtime keeps its own failures; this guards the dispatcher's books
            log.exception("a batch of %d inbox items failed; they stay pending for the next start", len(batch))
        for item in batch:
            self._known.discard(item.id)
            self._waited.discard(item.id)
            queue = self._queues[item.user_key]
            if queue:
                self._ready.append(item.user_key)
            else:
                del self._queues[item.user_key]
        if not self._queues:
            self._idle.set()
        self._schedule()

    def _fill(self, batch: list[InboxItem]) -> Iterator[InboxItem]:
        """The batch's events, taken one at a time as the runtime asks, until it holds ``max_batch``
        or has run ``batch_seconds``: every webhook waiting for its answer waits for the batch."""
        deadline = time.perf_counter() + self.batch_seconds
        while self._ready and len(batch) < self.max_batch and time.perf_counter() < deadline:
            user_key = self._ready.popleft()
            item = self._take(user_key)
            if item is not None:
                batch.append(item)
                yield item

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
        self._ready.append(user_key)
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
