"""The durable outbox worker: sends committed outbox rows, in order per user, until each is settled.

Rows are written in the same transaction as the state change that caused them, so the worker
is the only place a call to Kakao starts. It never holds a row only in memory: each attempt's
outcome is written back before the user's next row may go, and a restart simply picks up the
pending rows again. A retry resends the stored body unchanged, so the serial number is reused
and the receiver's de-duplication makes an attempt that was cut short by a crash harmless.

The worker knows nothing about the transport: ``deliver`` takes a row and returns a verdict
(``Delivery`` from ``kakao/client.py``, or anything with the same attributes), so the same
outbox can carry 상담톡 calls and signed agent webhooks. ``user_key`` is the ordering key:
rows with the same key never overlap, rows with different keys go concurrently.

What to do after an attempt is decided by pure functions (``RetryPolicy``, ``next_step``); the
``OutboxWorker`` class only schedules, calls and records. A retryable row is retried for a span of
time since it was written, not a number of attempts: an outage of any length delays replies but
never drops them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from triage.kakao.client import Alarm, Delivery
from triage.settings import KakaoSettings
from triage.store import OutboxItem, Store, StoreError

log = logging.getLogger(__name__)

Deliver = Callable[[OutboxItem], Awaitable[Delivery]]
OnNoSession = Callable[[OutboxItem], Awaitable[None] | None]

MAX_ERROR_LENGTH = 500
"""Error text comes from the far side; keep what helps an operator, not whatever it sent."""


# ---- the functional core: what an attempt's outcome means ---------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    base_delay: float = 0.2
    max_delay: float = 60.0
    retry_for: float = KakaoSettings.retry_for
    """Seconds after a row was written that it is still worth sending (``kakao.retry_for``)."""

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Exponential backoff with full jitter, but never sooner than the server asked.

        Full jitter spreads the retries of many users hit by one outage instead of sending
        them back in waves. ``Retry-After`` is honoured only up to ``max_delay``, so a bogus
        header cannot park a user's conversation for days.
        """
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** min(attempt - 1, 62))
        return max(rng.uniform(0.0, ceiling), min(retry_after or 0.0, self.max_delay))


@dataclass(frozen=True)
class Delivered:
    response: dict[str, Any] | None


@dataclass(frozen=True)
class RetryAt:
    at: float
    error: str


@dataclass(frozen=True)
class GiveUp:
    error: str
    no_session: bool = False


Step = Delivered | RetryAt | GiveUp


def describe(delivery: Delivery) -> str:
    parts = [f"HTTP {delivery.status}" if delivery.status else "", f"code {delivery.code}" if delivery.code else "",
             delivery.message]
    return " ".join(part for part in parts if part)[:MAX_ERROR_LENGTH]


def retry_step(item: OutboxItem, error: str, retry_after: float | None, now: float,
               policy: RetryPolicy, rng: random.Random) -> Step:
    """However many attempts it takes until ``retry_for`` has passed since the row was written.

    A count of attempts would be spent by one relay restart; a span of time rides out an outage
    of any length. The last attempt falls on the deadline itself, so a long backoff cannot skip it.
    """
    attempt, deadline = item.attempts + 1, item.created_at + policy.retry_for
    if now >= deadline:
        return GiveUp(f"gave up after {attempt} attempts in {now - item.created_at:.0f}s: {error}"[:MAX_ERROR_LENGTH])
    return RetryAt(min(now + policy.delay(attempt, retry_after, rng), deadline), error)


def next_step(item: OutboxItem, delivery: Delivery, now: float, policy: RetryPolicy, rng: random.Random) -> Step:
    """An outcome the worker does not know is treated as final: guessing "retry" could resend forever."""
    if delivery.outcome == "ok":
        return Delivered(delivery.response)
    if delivery.outcome == "retry":
        return retry_step(item, describe(delivery), delivery.retry_after, now, policy, rng)
    if delivery.outcome == "no_session":
        return GiveUp(f"no session: {describe(delivery)}"[:MAX_ERROR_LENGTH], no_session=True)
    if delivery.outcome == "failed":
        return GiveUp(describe(delivery))
    return GiveUp(f'unknown outcome "{delivery.outcome}": {describe(delivery)}'[:MAX_ERROR_LENGTH])


# ---- the imperative shell ----------------------------------------------------------------------------


class OutboxWorker:
    """Delivers due rows until stopped: concurrently across users, one at a time per user.

    ``poll_interval`` is a safety net for rows committed without ``wake()`` (another
    process, a forgotten call); it costs one small query per interval when idle.
    """

    def __init__(self, store: Store, deliver: Deliver, *, on_no_session: OnNoSession,
                 clock: Callable[[], float] = time.time, policy: RetryPolicy = RetryPolicy(),
                 concurrency: int = 32, poll_interval: float = 1.0, rng: random.Random | None = None):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._store = store
        self._deliver = deliver
        self._on_no_session = on_no_session
        self._clock = clock
        self._policy = policy
        self._concurrency = concurrency
        self._poll_interval = poll_interval
        self._rng = rng or random.Random()
        self._retrying = Alarm(clock=clock)
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._settled = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._running = False

    def wake(self) -> None:
        """Look for due rows now; the runtime calls this after a commit that queued some."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until ``stop()``; a stop that came first (a shutdown racing the startup) wins."""
        if self._running:
            raise RuntimeError("this outbox worker is already running")
        self._running = True
        try:
            while not self._stopping:
                self._wake.clear()
                await self._idle(self._dispatch())
            await asyncio.gather(*self._in_flight.values())
        finally:
            tasks = list(self._in_flight.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._running = False
            self._stopped.set()

    async def stop(self) -> None:
        """Stop taking rows and wait for the calls in flight, so none is left half-recorded."""
        self._stopping = True
        self._wake.set()
        if self._running:
            await self._stopped.wait()

    async def drain(self, timeout: float) -> bool:
        """True once nothing is in flight and no pending row falls due within ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.wake()
        while True:
            remaining = deadline - loop.time()
            if not self._in_flight and not self._store.due_outbox(self._clock() + max(remaining, 0.0), 1):
                return True
            if remaining <= 0:
                return False
            self._settled.clear()
            await _wait(self._settled, remaining)

    def _dispatch(self) -> float | None:
        """Start every due head there is room for; seconds until the next head falls due."""
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            return None
        try:
            heads = self._store.due_outbox(math.inf, free + len(self._in_flight) + 1)
        except StoreError:
            log.exception("outbox: cannot read due rows; trying again shortly")
            return self._poll_interval
        now = self._clock()
        for item in heads:
            if item.user_key in self._in_flight:
                continue
            if item.next_attempt_at > now:
                return item.next_attempt_at - now
            if free == 0:
                return None
            self._in_flight[item.user_key] = asyncio.create_task(self._attempt(item))
            free -= 1
        return None

    async def _idle(self, delay: float | None) -> None:
        await _wait(self._wake, self._poll_interval if delay is None else min(delay, self._poll_interval))

    async def _attempt(self, item: OutboxItem) -> None:
        try:
            try:
                delivery = await self._deliver(item)
            except Exception as exc:  # a broken transport costs one attempt, not the worker
                log.exception("outbox: delivering row %s raised", item.id)
                step = retry_step(item, f"deliver raised {exc!r}"[:MAX_ERROR_LENGTH], None, self._clock(),
                                  self._policy, self._rng)
            else:
                step = next_step(item, delivery, self._clock(), self._policy, self._rng)
            await self._record(item, step)
        except StoreError:
            log.exception("outbox: cannot record the outcome of row %s; it stays pending", item.id)
        finally:
            del self._in_flight[item.user_key]
            self._wake.set()
            self._settled.set()

    async def _record(self, item: OutboxItem, step: Step) -> None:
        store, now = self._store, self._clock()
        if isinstance(step, Delivered):
            store.outbox_delivered(item.id, step.response, now)
        elif isinstance(step, RetryAt):
            store.outbox_retry(item.id, step.at, step.error)
            self._retried(item, step.error)
        else:
            store.outbox_failed(item.id, step.error, now)
            log.warning("outbox: row %s (%s for %r) failed: %s", item.id, item.kind, item.user_key, step.error)
            if step.no_session:
                store.drop_pending_outbox(item.user_key, f"dropped after row {item.id}: {step.error}", now,
                                          session_id=item.session_id)
                await self._closed(item)

    def _retried(self, item: OutboxItem, error: str) -> None:
        """Said in whichever process retries (the server, or its ``triage deliver`` child): a retried
        row is no failure yet, but an outage or a wrong ``kakao.base_url`` is otherwise silent."""
        tally = self._retrying.ring(item.user_key)
        if tally is not None:
            log.warning("outbox: calls are being retried, %d time(s) for %d user(s) since the last such line; "
                        "last error (row %s for %r): %s", *tally, item.id, item.user_key, error)

    async def _closed(self, item: OutboxItem) -> None:
        """The runtime closes the local conversation; its failure must not stop other users' mail."""
        try:
            result = self._on_no_session(item)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("outbox: on_no_session failed for %r", item.user_key)


async def _wait(event: asyncio.Event, timeout: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        pass
