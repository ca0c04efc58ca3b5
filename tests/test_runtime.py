"""Runtime.process_batch: many users' events in one store transaction, each still whole or not at all."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

import pytest

from triage.reload import ContentHolder
from triage.runtime import Runtime
from triage.store import SqliteStore, StoreError, open_store

ROOT = Path(__file__).parents[1]


class Listener:
    def __init__(self):
        self.heard = 0

    def __call__(self) -> None:
        self.heard += 1


class FailingCommit(SqliteStore):
    """A real store whose batches fail as a whole at the end, as a full disk would."""

    @contextmanager
    def batch(self):
        with super().batch():
            yield
            raise sqlite3.OperationalError("database or disk is full")


@pytest.fixture
def holder() -> ContentHolder:
    return ContentHolder(ROOT)


def runtime_on(store: SqliteStore, holder: ContentHolder, **listeners) -> Runtime:
    return Runtime(store, holder, **listeners)


def hello(runtime: Runtime, user: str, n: int = 0):
    return runtime.accept("message", user, f"{user}-{n}", {"session_id": f"k-{user}", "type": "text", "text": "배송 조회"})


def test_a_batch_answers_every_user_and_tells_listeners_once(tmp_path, holder):
    outbox, commits = Listener(), Listener()
    with open_store(tmp_path / "triage.db") as store:
        runtime = runtime_on(store, holder, on_outbox=outbox, on_commit=commits)
        runtime.process_batch([hello(runtime, f"user{n}") for n in range(5)])

        assert store.pending_inbound() == []
        assert all(store.outbox_of(f"user{n}") for n in range(5))
        assert (outbox.heard, commits.heard) == (1, 1)


def test_an_event_that_fails_stays_pending_while_the_rest_of_its_batch_is_saved(tmp_path, holder, caplog):
    with open_store(tmp_path / "triage.db") as store:
        runtime = runtime_on(store, holder)
        done = hello(runtime, "again")
        runtime.process_batch([done])
        answered = store.outbox_of("again")
        runtime.process_batch([hello(runtime, "first"), done, hello(runtime, "last")])

        assert store.pending_inbound() == []
        assert store.outbox_of("first") and store.outbox_of("last")
        assert store.outbox_of("again") == answered
        assert f"processing inbox item {done.id}" in caplog.text


def test_a_batch_that_fails_to_commit_keeps_its_events_pending_and_the_desk_reloads(tmp_path, holder, caplog):
    path = tmp_path / "triage.db"
    open_store(path).close()
    store = FailingCommit(sqlite3.connect(path, isolation_level=None))
    restored = Listener()
    runtime = runtime_on(store, holder, on_outbox=Listener())
    runtime.desk.restore = restored
    items = [hello(runtime, f"user{n}") for n in range(3)]
    runtime.process_batch(items)

    assert [item.id for item in store.pending_inbound()] == [item.id for item in items]
    assert store.outbox_of("user0") == []
    assert restored.heard == 1
    assert "a batch of inbox items failed to commit" in caplog.text
    with pytest.raises(StoreError):
        with store.batch():
            pass
    store.close()


DAY = 86400.0


def test_only_the_customers_own_messages_keep_the_session_from_expiring(tmp_path, holder):
    now = {"t": 1_790_000_000.0}
    started = now["t"]
    with open_store(tmp_path / "triage.db") as store:
        runtime = Runtime(store, holder, clock=lambda: now["t"])
        runtime.process_batch([hello(runtime, "silent"), hello(runtime, "talking")])
        silent = store.current_session("silent").id
        now["t"] += DAY
        runtime.process(runtime.accept("timer", "silent", "warned", {"session_id": silent, "stage": "warn"}))
        runtime.process(hello(runtime, "talking", 1))
        now["t"] += DAY
        runtime.process(runtime.accept("reference", "silent", "late", {"session_id": "k-silent", "extra": "vip"}))
        assert (store.current_session("silent").user_at, store.current_session("silent").updated_at) == (
            started, started + 2 * DAY)

        now["t"] = started + 30 * DAY + 1
        runtime.process_batch(runtime.due_timers())

        assert store.current_session("silent") is None
        assert store.sessions_of("silent")[0].end_reason == "expired"
        assert store.current_session("talking").user_at == started + DAY
        now["t"] = started + 31 * DAY + 1
        runtime.process_batch(runtime.due_timers())
        assert store.current_session("talking") is None
