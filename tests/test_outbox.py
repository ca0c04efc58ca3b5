"""The outbox worker against a real store and a scripted far side."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from triage.kakao.client import Delivery
from triage.outbox import Delivered, GiveUp, OutboxWorker, RetryAt, RetryPolicy, next_step
from triage.store import Commit, NewOutbox, OutboxItem, SqliteStore, open_store

OK = Delivery("ok", 200, "0", "delivered", {"code": 0})
UNAVAILABLE = Delivery("retry", 503, None, "Service Unavailable")
NO_SESSION = Delivery("no_session", 200, "-803", "NoActiveSessionException")
BAD_SENDER = Delivery("failed", 200, "-501", "InvalidSenderException(senderKey: x)")
FAST = RetryPolicy(base_delay=0.01, max_delay=0.2)


class Ceiling(random.Random):
    """Jitter that always picks the top of its range, so delays are predictable."""

    def uniform(self, a: float, b: float) -> float:
        return b


@dataclass
class Call:
    user_key: str
    serial: str | None
    body: dict[str, Any]
    at: float


@dataclass
class FarSide:
    """Stands in for Kakao: answers from a script per serial (else OK), records every attempt."""

    script: dict[str, list[Delivery]] = field(default_factory=dict)
    latency: dict[str, float] = field(default_factory=dict)  # seconds per user_key
    calls: list[Call] = field(default_factory=list)
    active: Counter[str] = field(default_factory=Counter)
    peak_per_user: int = 0
    peak: int = 0

    async def __call__(self, item: OutboxItem) -> Delivery:
        self.calls.append(Call(item.user_key, item.serial, item.body, time.time()))
        self.active[item.user_key] += 1
        self.peak_per_user = max(self.peak_per_user, self.active[item.user_key])
        self.peak = max(self.peak, sum(self.active.values()))
        try:
            await asyncio.sleep(self.latency.get(item.user_key, 0.0))
        finally:
            self.active[item.user_key] -= 1
        answers = self.script.get(item.serial or "")
        return answers.pop(0) if answers else OK

    def serials(self, user_key: str | None = None) -> list[str | None]:
        return [c.serial for c in self.calls if user_key in (None, c.user_key)]


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    with open_store(":memory:") as opened:
        yield opened


def write(serial: str, user_key: str = "u1", session_id: str | None = "s1", not_before: float = 0.0) -> NewOutbox:
    return NewOutbox(user_key, session_id, "write", serial, {"serial_number": serial, "message": f"{serial} 안내"},
                     not_before)


def enqueue(store: SqliteStore, *rows: NewOutbox, at: float | None = None) -> list[int]:
    return store.commit(Commit(at=time.time() if at is None else at, outbox=list(rows)))


def statuses(store: SqliteStore, user_key: str = "u1") -> dict[str | None, str]:
    return {o.serial: o.status for o in store.outbox_of(user_key)}


@asynccontextmanager
async def running(worker: OutboxWorker) -> AsyncIterator[OutboxWorker]:
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        await worker.stop()
        await task


def ignore(item: OutboxItem) -> None:
    return None


async def until(condition: Callable[[], object], timeout: float = 1.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.001)
    await asyncio.wait_for(poll(), timeout)


# ---- the policy -------------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap_and_jitter_stays_below_it() -> None:
    policy = RetryPolicy(base_delay=0.2, max_delay=5.0)
    assert [policy.delay(n, None, Ceiling()) for n in range(1, 8)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    rng = random.Random(7)
    assert all(0.0 <= policy.delay(n, None, rng) <= min(5.0, 0.2 * 2 ** (n - 1)) for n in range(1, 50))
    assert policy.delay(10_000, None, Ceiling()) == 5.0


def test_backoff_waits_at_least_what_the_server_asked_but_no_longer_than_the_cap() -> None:
    policy = RetryPolicy(base_delay=0.2, max_delay=60.0)
    assert policy.delay(1, 30.0, random.Random(1)) == 30.0
    assert policy.delay(1, 86_400.0, random.Random(1)) == 60.0


def item(attempts: int = 0, created_at: float = 0.0) -> OutboxItem:
    return OutboxItem(1, "u1", "s1", "write", "x1", {"serial_number": "x1"}, attempts, 0.0, "pending", None,
                      created_at)


@pytest.mark.parametrize("delivery, attempts, expected", [
    (OK, 0, Delivered({"code": 0})),
    (UNAVAILABLE, 0, RetryAt(100.2, "HTTP 503 Service Unavailable")),
    (UNAVAILABLE, 2, RetryAt(100.8, "HTTP 503 Service Unavailable")),
    (UNAVAILABLE, 7, RetryAt(125.6, "HTTP 503 Service Unavailable")),
    (NO_SESSION, 0, GiveUp("no session: HTTP 200 code -803 NoActiveSessionException", no_session=True)),
    (BAD_SENDER, 0, GiveUp("HTTP 200 code -501 InvalidSenderException(senderKey: x)")),
    (Delivery("maybe", None, None, "?"), 0, GiveUp('unknown outcome "maybe": ?')),
], ids=["ok", "retry", "third-retry", "eighth-retry", "no-session", "failed", "unknown"])
def test_each_outcome_leads_to_one_next_step(delivery: Delivery, attempts: int, expected: Any) -> None:
    assert next_step(item(attempts), delivery, 100.0, RetryPolicy(), Ceiling()) == expected


def test_by_default_a_row_is_retried_for_the_30_days_a_kakao_session_can_live() -> None:
    thirty_days = 30 * 86400.0
    assert RetryPolicy().retry_for == thirty_days
    assert isinstance(next_step(item(10_000), UNAVAILABLE, thirty_days - 1, RetryPolicy(), Ceiling()), RetryAt)
    assert isinstance(next_step(item(10_000), UNAVAILABLE, thirty_days, RetryPolicy(), Ceiling()), GiveUp)


def test_a_row_is_retried_however_many_attempts_it_takes_until_retry_for_has_passed_since_it_was_written() -> None:
    hour = RetryPolicy(max_delay=60.0, retry_for=3600.0)
    written = item(attempts=1000, created_at=5000.0)
    assert next_step(written, UNAVAILABLE, 8000.0, hour, Ceiling()) == RetryAt(8060.0, "HTTP 503 Service Unavailable")
    assert next_step(written, UNAVAILABLE, 8590.0, hour, Ceiling()) == RetryAt(8600.0, "HTTP 503 Service Unavailable")
    assert next_step(written, UNAVAILABLE, 8600.0, hour, Ceiling()) == GiveUp(
        "gave up after 1001 attempts in 3600s: HTTP 503 Service Unavailable")


def test_the_time_limit_does_not_touch_answers_that_are_final_anyway() -> None:
    expired = item(created_at=0.0)
    late, policy = 10 * 86400.0, RetryPolicy(retry_for=60.0)
    assert next_step(expired, OK, late, policy, Ceiling()) == Delivered({"code": 0})
    assert next_step(expired, NO_SESSION, late, policy, Ceiling()).no_session


def test_a_far_side_error_message_is_cut_to_a_readable_length() -> None:
    flood = Delivery("failed", 400, "-1", "x" * 100_000)
    step = next_step(item(), flood, 0.0, RetryPolicy(), Ceiling())
    assert isinstance(step, GiveUp) and len(step.error) == 500


# ---- the worker -------------------------------------------------------------------------------


async def test_each_user_gets_messages_in_order_while_users_are_served_concurrently(store: SqliteStore) -> None:
    latency = {"u1": 0.005, "u2": 0.01, "u3": 0.02, "u4": 0.04}
    users = list(latency)
    for n in range(3):
        enqueue(store, *(write(f"{u}-{n}", user_key=u) for u in users))
    far = FarSide(latency=latency)
    async with running(OutboxWorker(store, far, on_no_session=ignore)) as worker:
        assert await worker.drain(2.0)
    for u in users:
        assert far.serials(u) == [f"{u}-0", f"{u}-1", f"{u}-2"]
        assert set(statuses(store, u).values()) == {"delivered"}
    assert far.peak_per_user == 1
    assert far.peak == len(users)


async def test_a_row_committed_while_its_user_is_being_served_goes_next_in_order(store: SqliteStore) -> None:
    enqueue(store, write("x1"))
    far = FarSide(latency={"u1": 0.02})
    async with running(OutboxWorker(store, far, on_no_session=ignore, poll_interval=60.0)) as worker:
        await until(lambda: far.calls)
        enqueue(store, write("x2"))
        worker.wake()
        assert await worker.drain(1.0)
    assert far.serials() == ["x1", "x2"] and far.peak_per_user == 1
    assert statuses(store) == {"x1": "delivered", "x2": "delivered"}


async def test_concurrency_is_capped(store: SqliteStore) -> None:
    enqueue(store, *(write(f"x{n}", user_key=f"u{n}") for n in range(10)))
    far = FarSide(latency={f"u{n}": 0.01 for n in range(10)})
    async with running(OutboxWorker(store, far, on_no_session=ignore, concurrency=3)) as worker:
        assert await worker.drain(2.0)
    assert (len(far.calls), far.peak) == (10, 3)


async def test_transient_failures_are_retried_later_each_time_with_the_same_serial_and_body(
        store: SqliteStore) -> None:
    (row,) = enqueue(store, write("x1"))
    far = FarSide(script={"x1": [UNAVAILABLE, UNAVAILABLE, UNAVAILABLE]})
    async with running(OutboxWorker(store, far, on_no_session=ignore, policy=FAST, rng=Ceiling())) as worker:
        assert await worker.drain(2.0)
    gaps = [later.at - earlier.at for earlier, later in zip(far.calls, far.calls[1:])]
    assert all(gap >= delay for gap, delay in zip(gaps, [0.01, 0.02, 0.04]))
    assert {(c.serial, str(c.body)) for c in far.calls} == {("x1", str(write("x1").body))}
    done = store.get_outbox(row)
    assert (done.status, done.attempts) == ("delivered", 4)


async def test_retry_after_from_the_server_is_honoured(store: SqliteStore) -> None:
    enqueue(store, write("x1"))
    slow_down = Delivery("retry", 429, None, "Too Many Requests", retry_after=0.1)
    far = FarSide(script={"x1": [slow_down]})
    async with running(OutboxWorker(store, far, on_no_session=ignore, policy=FAST)) as worker:
        assert await worker.drain(2.0)
    assert far.calls[1].at - far.calls[0].at >= 0.1


async def test_a_user_whose_head_is_backing_off_waits_while_others_go_ahead(store: SqliteStore) -> None:
    enqueue(store, write("a1"), write("a2"), write("b1", user_key="u2"))
    far = FarSide(script={"a1": [UNAVAILABLE]})
    slow = RetryPolicy(base_delay=0.1, max_delay=0.1)
    async with running(OutboxWorker(store, far, on_no_session=ignore, policy=slow, rng=Ceiling())) as worker:
        assert await worker.drain(2.0)
    assert far.serials() == ["a1", "b1", "a1", "a2"]


async def test_a_permanent_failure_is_recorded_and_the_users_next_message_still_goes(store: SqliteStore) -> None:
    enqueue(store, write("x1"), write("x2"))
    far = FarSide(script={"x1": [BAD_SENDER]})
    async with running(OutboxWorker(store, far, on_no_session=ignore)) as worker:
        assert await worker.drain(2.0)
    assert far.serials() == ["x1", "x2"]
    assert statuses(store) == {"x1": "failed", "x2": "delivered"}
    assert "InvalidSenderException" in store.outbox_of("u1")[0].last_error


async def test_a_message_still_refused_once_retry_for_has_passed_fails_and_the_next_one_goes(
        store: SqliteStore) -> None:
    minutes = itertools.count(1_000_000, 60).__next__  # each reading a minute on: every backoff is over at once
    enqueue(store, write("x1"), write("x2"), at=minutes())
    far = FarSide(script={"x1": [UNAVAILABLE] * 1000})
    ten_minutes = RetryPolicy(base_delay=0.01, max_delay=60.0, retry_for=600.0)
    async with running(OutboxWorker(store, far, on_no_session=ignore, clock=minutes, policy=ten_minutes)) as worker:
        assert await worker.drain(2.0)
    tries = far.serials().count("x1")
    assert far.serials() == ["x1"] * tries + ["x2"] and tries > 1
    assert statuses(store) == {"x1": "failed", "x2": "delivered"}
    assert store.outbox_of("u1")[0].last_error.startswith(f"gave up after {tries} attempts in ")


async def test_an_outage_longer_than_any_count_of_quick_retries_only_delays_the_users_messages(
        store: SqliteStore) -> None:
    minutes = itertools.count(1_000_000, 60).__next__
    enqueue(store, write("x1"), write("x2"), at=minutes())
    far = FarSide(script={"x1": [UNAVAILABLE] * 100})
    async with running(OutboxWorker(store, far, on_no_session=ignore, clock=minutes, policy=FAST)) as worker:
        assert await worker.drain(2.0)
    assert far.serials() == ["x1"] * 101 + ["x2"]
    assert statuses(store) == {"x1": "delivered", "x2": "delivered"}


@pytest.mark.parametrize("asynchronous", [True, False], ids=["async-callback", "plain-callback"])
async def test_no_session_closes_the_conversation_and_drops_that_sessions_other_messages(
        store: SqliteStore, asynchronous: bool) -> None:
    enqueue(store, write("old1"), write("old2"), write("old3"), write("other", user_key="u2"))
    closed: list[OutboxItem] = []

    async def close_async(item: OutboxItem) -> None:
        closed.append(item)
        enqueue(store, write("new1", session_id="s2"))

    def close_plain(item: OutboxItem) -> None:
        closed.append(item)
        enqueue(store, write("new1", session_id="s2"))

    far = FarSide(script={"old1": [NO_SESSION]})
    worker = OutboxWorker(store, far, on_no_session=close_async if asynchronous else close_plain)
    async with running(worker):
        assert await worker.drain(2.0)
    assert [(i.serial, i.session_id) for i in closed] == [("old1", "s1")]
    assert sorted(far.serials()) == ["new1", "old1", "other"]
    assert statuses(store) == {"old1": "failed", "old2": "dropped", "old3": "dropped", "new1": "delivered"}
    assert store.outbox_of("u1")[1].last_error == (
        "dropped after row 1: no session: HTTP 200 code -803 NoActiveSessionException")


async def test_a_failing_callback_or_transport_does_not_stop_the_worker(store: SqliteStore) -> None:
    enqueue(store, write("a1"), write("b1", user_key="u2"), write("c1", user_key="u3"))
    far = FarSide(script={"a1": [NO_SESSION]})

    async def flaky(item: OutboxItem) -> Delivery:
        if item.serial == "b1" and item.attempts == 0:
            raise RuntimeError("transport bug")
        return await far(item)

    def broken(item: OutboxItem) -> None:
        raise RuntimeError("callback bug")

    async with running(OutboxWorker(store, flaky, on_no_session=broken, policy=FAST)) as worker:
        assert await worker.drain(2.0)
    assert (statuses(store, "u1"), statuses(store, "u2"), statuses(store, "u3")) == (
        {"a1": "failed"}, {"b1": "delivered"}, {"c1": "delivered"})
    assert store.outbox_of("u2")[0].attempts == 2


async def test_nothing_goes_before_its_time(store: SqliteStore) -> None:
    not_before = time.time() + 0.1
    enqueue(store, write("later", not_before=not_before))
    far = FarSide()
    async with running(OutboxWorker(store, far, on_no_session=ignore)) as worker:
        assert await worker.drain(2.0)
    assert far.calls[0].at >= not_before


async def test_wake_sends_newly_committed_rows_without_waiting_for_the_poll(store: SqliteStore) -> None:
    far = FarSide()
    async with running(OutboxWorker(store, far, on_no_session=ignore, poll_interval=60.0)) as worker:
        await asyncio.sleep(0.01)
        enqueue(store, write("x1"))
        started = time.time()
        worker.wake()
        await until(lambda: far.calls)
    assert far.calls[0].at - started < 0.5


async def test_stop_lets_the_call_in_flight_finish_and_records_it(store: SqliteStore) -> None:
    enqueue(store, write("x1"), write("x2"))
    far = FarSide(latency={"u1": 0.05})
    worker = OutboxWorker(store, far, on_no_session=ignore)
    task = asyncio.create_task(worker.run())
    await until(lambda: far.calls)
    await worker.stop()
    await task
    assert statuses(store) == {"x1": "delivered", "x2": "pending"}


async def test_a_restart_after_a_crash_finishes_without_resending_what_was_delivered(tmp_path: Path) -> None:
    path = tmp_path / "triage.db"
    crashed_store = open_store(path)
    enqueue(crashed_store, *(write(f"x{n}") for n in range(1, 5)))
    hang = asyncio.Event()

    async def dies_on_the_third(item: OutboxItem) -> Delivery:
        first_life.append(item.serial)
        if item.serial == "x3":
            await hang.wait()
        return OK

    first_life: list[str | None] = []
    crashed = asyncio.create_task(OutboxWorker(crashed_store, dies_on_the_third, on_no_session=ignore).run())
    await until(lambda: "x3" in first_life)
    crashed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await crashed
    crashed_store.close()

    with open_store(path) as restarted:
        far = FarSide()
        async with running(OutboxWorker(restarted, far, on_no_session=ignore)) as worker:
            assert await worker.drain(2.0)
        assert first_life == ["x1", "x2", "x3"]
        assert far.serials() == ["x3", "x4"]
        assert far.calls[0].body == write("x3").body
        assert statuses(restarted) == {f"x{n}": "delivered" for n in range(1, 5)}


async def test_drain_reports_false_when_rows_stay_due(store: SqliteStore) -> None:
    enqueue(store, write("x1"))
    worker = OutboxWorker(store, FarSide(), on_no_session=ignore)
    assert not await worker.drain(0.05)


async def test_a_worker_runs_once_at_a_time(store: SqliteStore) -> None:
    async with running(OutboxWorker(store, FarSide(), on_no_session=ignore)) as worker:
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="already running"):
            await worker.run()


async def test_a_stop_before_the_worker_started_still_stops_it(store: SqliteStore) -> None:
    enqueue(store, write("x1"))
    far = FarSide()
    worker = OutboxWorker(store, far, on_no_session=ignore)
    await worker.stop()
    await asyncio.wait_for(worker.run(), 1.0)
    assert far.calls == []
