"""The server's side of the deliverer socket, against a real store: rows out once, reports recorded in one batch."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from triage.delivery_wire import Gone, parse_from_server, report_line
from triage.outbox_feed import OutboxFeed
from triage.privacy.requests import forget_user
from triage.store import Commit, InboxItem, NewOutbox, SqliteStore, StoreError, open_store


class Wire:
    """Stands in for the ``Channel`` to a child: what the feed sent, one entry per write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def send(self, data: bytes) -> None:
        self.writes.append(data)

    def ids(self) -> list[list[int]]:
        """The ids of the rows sent, per write that sent rows."""
        sent = [[m.id for m in map(parse_from_server, data.splitlines()) if not isinstance(m, Gone)]
                for data in self.writes]
        return [ids for ids in sent if ids]

    def gone(self) -> list[tuple[int, ...]]:
        return [m.ids for data in self.writes for m in map(parse_from_server, data.splitlines()) if isinstance(m, Gone)]


class Batches:
    """The real store, with each call noted and whether it ran inside ``batch()``."""

    def __init__(self, store: SqliteStore):
        self._store = store
        self.calls: list[str] = []

    @contextmanager
    def batch(self) -> Iterator[None]:
        self.calls.append("batch")
        with self._store.batch():
            yield
        self.calls.append("commit")

    def __getattr__(self, name: str):
        method = getattr(self._store, name)

        def noted(*args, **kwargs):
            self.calls.append(name)
            return method(*args, **kwargs)
        return noted


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with open_store(tmp_path / "triage.db") as store:
        yield store


def queue(store: SqliteStore, *serials: str, user_key: str = "u1") -> list[int]:
    rows = [NewOutbox(user_key, "s1", "write", serial, {"serial_number": serial}, 0.0) for serial in serials]
    return store.commit(Commit(at=1.0, outbox=rows))


def feed_of(store, closed: list[InboxItem] | None = None, interval: float = 60.0) -> OutboxFeed:
    return OutboxFeed(store, on_closed=(closed if closed is not None else []).append, clock=lambda: 100.0,
                      interval=interval)


async def turn() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_a_new_deliverer_is_given_every_pending_row_in_one_write(store):
    ids = queue(store, "a", "b", "c")
    wire = Wire()
    feed = feed_of(store)

    feed.attach(wire)  # type: ignore[arg-type]
    await turn()

    assert wire.ids() == [ids]
    feed.detach()


async def test_each_row_is_sent_once_and_wakes_in_one_loop_turn_cost_one_write(store):
    first = queue(store, "a")
    wire, feed = Wire(), feed_of(store)
    feed.attach(wire)  # type: ignore[arg-type]
    await turn()

    second = queue(store, "b") + queue(store, "c", user_key="u2")
    feed.wake()
    feed.wake()
    await turn()
    feed.wake()
    await turn()

    assert wire.ids() == [first, second]
    feed.detach()


async def test_a_restarted_deliverer_is_given_the_pending_rows_again(store):
    ids = queue(store, "a", "b", "c")
    old, new = Wire(), Wire()
    feed = feed_of(store)
    feed.attach(old)  # type: ignore[arg-type]
    await turn()
    store.outbox_delivered(ids[0], None, 2.0)

    feed.detach()
    feed.attach(new)  # type: ignore[arg-type]
    await turn()

    assert old.ids() == [ids] and new.ids() == [ids[1:]]
    feed.detach()


async def test_rows_queued_without_a_wake_are_sent_within_the_interval(store):
    wire, feed = Wire(), feed_of(store, interval=0.05)
    feed.attach(wire)  # type: ignore[arg-type]
    await turn()

    ids = queue(store, "a")
    await asyncio.sleep(0.2)

    assert wire.ids() == [ids]
    feed.detach()


async def test_rows_a_forget_erased_while_the_deliverer_held_them_are_named_to_it_once(store, tmp_path):
    alice, bob = queue(store, "a1", "a2", user_key="alice"), queue(store, "b1", user_key="bob")
    wire, feed = Wire(), feed_of(store, interval=0.05)
    feed.attach(wire)  # type: ignore[arg-type]
    await turn()
    feed.receive([report_line("delivered", item_id=alice[0], response=None, now=2.0)])
    feed.flush()

    with open_store(tmp_path / "triage.db") as beside:  # triage forget is another process's connection
        forget_user(beside, "alice", 3.0)
    await asyncio.sleep(0.2)

    assert wire.ids() == [alice + bob]
    assert wire.gone() == [(alice[1],)], "the delivered row is no longer held; bob's is still pending"
    feed.detach()


async def test_many_pending_rows_go_in_pages(store):
    ids = queue(store, *(f"m{i}" for i in range(25)))
    wire = Wire()
    feed = OutboxFeed(store, on_closed=lambda item: None, limit=10)

    feed.attach(wire)  # type: ignore[arg-type]
    await turn()

    assert wire.ids() == [ids[:10], ids[10:20], ids[20:]]
    feed.detach()


async def test_a_report_after_a_quiet_spell_is_recorded_at_once_and_a_busy_window_s_reports_together(store):
    ids = queue(store, "a", "b", "c", "d")
    spy = Batches(store)
    feed = OutboxFeed(spy, on_closed=lambda item: None, window=0.1)  # type: ignore[arg-type]

    feed.receive([report_line("delivered", item_id=ids[0], response={"code": "0"}, now=2.0)])
    await turn()
    assert spy.calls == ["batch", "outbox_delivered", "commit"]

    feed.receive([report_line("retry", item_id=ids[1], next_attempt_at=9.0, error="HTTP 503")])
    await asyncio.sleep(0.02)
    feed.receive([report_line("failed", item_id=ids[2], error="HTTP 400", now=3.0),
                  report_line("drop", user_key="u1", reason="dropped after row 3", now=3.0, session_id="s1")])
    await asyncio.sleep(0.02)
    assert len(spy.calls) == 3
    await asyncio.sleep(0.15)

    assert spy.calls[3:] == ["batch", "outbox_retry", "outbox_failed", "drop_pending_outbox", "commit"]
    rows = store.outbox_of("u1")
    assert [(r.status, r.attempts) for r in rows] == [("delivered", 1), ("dropped", 1), ("failed", 1),
                                                      ("dropped", 0)]
    assert rows[1].last_error == "dropped after row 3" and store.pending_outbox() == []


async def test_a_detached_deliverer_s_last_reports_are_recorded_at_once(store):
    [item_id] = queue(store, "a")
    feed = feed_of(store)
    feed.attach(Wire())  # type: ignore[arg-type]

    feed.receive([report_line("delivered", item_id=item_id, response=None, now=2.0)])
    feed.detach()

    assert store.get_outbox(item_id).status == "delivered"


async def test_a_closed_report_becomes_a_durable_inbox_row_submitted_once(store):
    [item_id] = queue(store, "gone")
    closed: list[InboxItem] = []
    feed = feed_of(store, closed)
    line = report_line("closed", user_key="u1", session_id="s1", item_id=item_id)

    feed.receive([line])
    feed.flush()
    feed.receive([line])
    feed.flush()

    assert store.pending_inbound() == closed
    [item] = closed
    assert (item.user_key, item.kind, item.payload, item.received_at) == (
        "u1", "closed", {"session_id": "s1", "reason": "no_session"}, 100.0)


async def test_garbage_from_the_deliverer_is_logged_and_skipped(store, caplog):
    ids = queue(store, "a", "b")
    caplog.set_level(logging.ERROR, "triage.delivery")
    feed = feed_of(store)

    feed.receive([b"\x00garbage", b'{"delivered": {"item_id": "1"}}', b"",
                  report_line("delivered", item_id=ids[1], response=None, now=2.0),
                  b'{"delivered": {"item_id": 1, "response": null, "now": 1, "rm -rf": 1}}'])
    feed.flush()

    assert [r.status for r in store.outbox_of("u1")] == ["pending", "delivered"]
    assert caplog.text.count("the deliverer sent a malformed message") == 4


class LostCommits(Batches):
    """The real store, but every batch is rolled back at its end, as when its COMMIT fails."""

    @contextmanager
    def batch(self) -> Iterator[None]:
        try:
            with self._store.batch():
                yield
                raise OSError("disk I/O error")
        except OSError as exc:
            raise StoreError(f"batch failed, nothing of it was saved: {exc}") from exc


async def test_reports_lost_with_their_batch_give_the_deliverer_its_rows_again(store, caplog):
    ids = queue(store, "a", "b")
    wire, feed = Wire(), feed_of(LostCommits(store))
    feed.attach(wire)  # type: ignore[arg-type]
    await turn()

    feed.receive([report_line("delivered", item_id=ids[0], response=None, now=2.0)])
    feed.flush()
    await turn()

    assert [r.status for r in store.outbox_of("u1")] == ["pending", "pending"]
    assert wire.ids() == [ids, ids]
    assert "cannot record 1 delivery outcomes" in caplog.text
    feed.detach()
