"""How fast the store and the outbox worker go on this machine.

The server's target is 1,500 messages/s end to end on 2 cores; each message costs the store an
``accept_inbound`` (acknowledge), one ``commit`` (state, transcript, outbox, events) and one
outcome write per outbound call. This measures exactly those paths on a real WAL file.

    .venv/bin/python bench/store_bench.py [--messages 20000] [--users 500]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from triage.kakao.client import Delivery
from triage.outbox import OutboxWorker
from triage.store import (
    Commit, NewEvent, NewOutbox, OutboxItem, SessionRecord, SqliteStore, TranscriptEntry, UserRecord, open_store,
)

STATE = {"node": "order.ask_number", "vars": {"주문번호": "A-20231114-77"}, "path": ["main.welcome", "order.menu"]}
OK = Delivery("ok", 200, "0", "delivered", {"code": 0})


def one_message(store: SqliteStore, n: int, users: int) -> None:
    """Acknowledge then process one user message the way the runtime will."""
    user_key, now = f"user{n % users:07d}", time.time()
    inbox_id = store.accept_inbound(user_key, "message", f"serial{n}", {"type": "text", "content": "배송 언제 와요?"}, now)
    session = SessionRecord(f"s-{user_key}", user_key, "170000123", "bot", STATE, {"extra": "order-77"}, "주문",
                            now, now)
    store.commit(Commit(
        at=now, inbox_id=inbox_id, session=session, user=UserRecord(user_key, now, now, 1, "주문"),
        transcript=[TranscriptEntry(session.id, "in", "user", "text", "배송 언제 와요?", {}, now),
                    TranscriptEntry(session.id, "out", "bot", "text", "주문번호를 알려주세요.", {}, now)],
        outbox=[NewOutbox(user_key, session.id, "write", f"x{n}",
                          {"message_type": "TX", "message": "주문번호를 알려주세요.", "serial_number": f"x{n}"}, now)],
        events=[NewEvent("node", session.id, user_key, {"node": "order.ask_number"}, now)]))


def bench_commits(store: SqliteStore, messages: int, users: int) -> float:
    started = time.perf_counter()
    for n in range(messages):
        one_message(store, n, users)
    return messages / (time.perf_counter() - started)


def bench_reads(store: SqliteStore, users: int) -> float:
    """The lookups the runtime makes before processing a message: microseconds per pair."""
    started = time.perf_counter()
    for n in range(users * 10):
        user_key = f"user{n % users:07d}"
        store.get_user(user_key)
        store.current_session(user_key)
    return (time.perf_counter() - started) / (users * 10) * 1e6


async def bench_worker(store: SqliteStore, rows: int) -> float:
    async def deliver(item: OutboxItem) -> Delivery:
        await asyncio.sleep(0)
        return OK

    worker = OutboxWorker(store, deliver, on_no_session=lambda item: None)
    started = time.perf_counter()
    task = asyncio.create_task(worker.run())
    drained = await worker.drain(600.0)
    elapsed = time.perf_counter() - started
    await worker.stop()
    await task
    assert drained, "the worker did not finish"
    return rows / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder) / "bench.db") as store:
        per_second = bench_commits(store, args.messages, args.users)
        print(f"accept + commit per message: {per_second:,.0f} messages/s "
              f"({args.messages:,} messages, {args.users:,} users, WAL file)")
        print(f"get_user + current_session: {bench_reads(store, args.users):.1f} µs")
        sent = asyncio.run(bench_worker(store, args.messages))
        print(f"outbox worker, instant transport: {sent:,.0f} rows/s ({args.users:,} users queued)")


if __name__ == "__main__":
    main()
