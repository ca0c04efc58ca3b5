"""The deliverer's rows in memory: the database's ordering rules, and every write forwarded to the server."""

from __future__ import annotations

import asyncio
import math

from triage.delivery_wire import Report, parse_report
from triage.kakao.client import Delivery
from triage.memory_outbox import MemoryOutbox
from triage.outbox import OutboxWorker
from triage.store import OutboxItem


def row(item_id: int, user_key: str = "u1", session_id: str = "s1", due: float = 0.0) -> OutboxItem:
    return OutboxItem(item_id, user_key, session_id, "write", f"sn-{item_id}", {"serial_number": f"sn-{item_id}"},
                      0, due, "pending", None, 0.0)


def held(*rows: OutboxItem) -> tuple[MemoryOutbox, list[Report]]:
    reports: list[Report] = []
    memory = MemoryOutbox(lambda line: reports.append(parse_report(line)))
    for item in rows:
        memory.add(item)
    return memory, reports


def heads(memory: MemoryOutbox, now: float = math.inf, limit: int = 100) -> list[int]:
    return [item.id for item in memory.due_outbox(now, limit)]


def test_a_user_s_rows_go_in_id_order_whatever_order_they_arrived_in():
    memory, _ = held(row(3), row(1), row(2))

    assert heads(memory) == [1]
    memory.outbox_delivered(1, None, 5.0)
    assert heads(memory) == [2]
    memory.outbox_failed(2, "HTTP 400", 6.0)
    assert heads(memory) == [3]
    memory.outbox_delivered(3, {"code": "0"}, 7.0)
    assert heads(memory) == [] and len(memory) == 0


def test_heads_come_soonest_first_and_only_when_due():
    memory, _ = held(row(1, "late", due=30.0), row(2, "soon", due=10.0), row(3, "tie", due=10.0),
                     row(4, "soon", due=0.0))

    assert heads(memory) == [2, 3, 1]
    assert heads(memory, now=20.0) == [2, 3]
    assert heads(memory, now=5.0) == []
    assert heads(memory, limit=1) == [2]


def test_a_retry_counts_the_attempt_and_waits_until_its_time():
    memory, reports = held(row(1), row(2, "u2"))

    memory.outbox_retry(1, 50.0, "HTTP 503")

    [again] = [item for item in memory.due_outbox(math.inf) if item.id == 1]
    assert (again.attempts, again.next_attempt_at, again.last_error) == (1, 50.0, "HTTP 503")
    assert heads(memory, now=10.0) == [2]
    assert reports == [Report("retry", {"item_id": 1, "next_attempt_at": 50.0, "error": "HTTP 503"})]


def test_a_row_already_held_keeps_the_attempts_made_here():
    memory, _ = held(row(1))
    memory.outbox_retry(1, 50.0, "HTTP 503")

    memory.add(row(1))

    assert memory.due_outbox(math.inf)[0].attempts == 1 and len(memory) == 1


def test_dropping_a_session_keeps_the_user_s_rows_of_other_sessions():
    memory, reports = held(row(1, session_id="old"), row(2, session_id="old"), row(3, session_id="new"),
                           row(4, "u2", session_id="old"))

    assert memory.drop_pending_outbox("u1", "no session", 9.0, session_id="old") == 2

    assert heads(memory) == [3, 4]
    assert reports == [Report("drop", {"user_key": "u1", "reason": "no session", "now": 9.0, "session_id": "old"})]


def test_dropping_without_a_session_drops_all_the_user_s_rows():
    memory, _ = held(row(1, session_id="old"), row(2, session_id="new"), row(3, "u2"))

    assert memory.drop_pending_outbox("u1", "blocked", 9.0) == 2
    assert memory.drop_pending_outbox("nobody", "blocked", 9.0) == 0

    assert heads(memory) == [3] and len(memory) == 1


def test_every_write_is_forwarded_in_the_order_it_was_made():
    memory, reports = held(row(1), row(2), row(3, "u2"))

    memory.outbox_delivered(1, {"code": "0"}, 1.0)
    memory.outbox_failed(2, "no session", 2.0)
    memory.outbox_delivered(3, None, 3.0)

    assert reports == [Report("delivered", {"item_id": 1, "response": {"code": "0"}, "now": 1.0}),
                       Report("failed", {"item_id": 2, "error": "no session", "now": 2.0}),
                       Report("delivered", {"item_id": 3, "response": None, "now": 3.0})]


async def test_the_unchanged_outbox_worker_delivers_from_memory_in_order_per_user():
    memory, reports = held(*(row(i, f"u{i % 3}") for i in range(1, 10)))
    sent: list[int] = []

    async def deliver(item: OutboxItem) -> Delivery:
        sent.append(item.id)
        await asyncio.sleep(0.001 * (item.id % 4))
        return Delivery("ok", 200, "0", "", response={"code": "0"})

    worker = OutboxWorker(memory, deliver, on_no_session=lambda item: None)  # type: ignore[arg-type]
    running = asyncio.create_task(worker.run())
    assert await worker.drain(2.0)
    await worker.stop()
    await running

    assert sorted(sent) == list(range(1, 10)) and len(memory) == 0
    for user in range(3):
        assert [i for i in sent if i % 3 == user] == sorted(i for i in sent if i % 3 == user)
    assert [r.kind for r in reports] == ["delivered"] * 9


def test_rows_the_database_no_longer_has_are_discarded_without_a_word_and_the_next_goes():
    memory, reports = held(row(1, "forgotten"), row(2, "forgotten"), row(3, "kept"))

    memory.discard([1, 2, 99])

    assert heads(memory) == [3] and len(memory) == 1
    assert reports == []
