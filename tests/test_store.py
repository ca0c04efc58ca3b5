"""The store against real SQLite, both on disk and in memory."""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlite_utils
from hypothesis import given, settings, strategies as st

import triage.store as store_module
from triage.store import (
    PAGE_SIZE, SCHEMA_VERSION, Commit, EventRecord, NewEvent, NewOutbox, SessionRecord, SessionRef, SqliteStore, StoreError,
    TranscriptEntry, UserRecord, open_store,
)

TABLES = {"meta", "inbox", "users", "sessions", "transcript", "outbox", "events"}


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqliteStore]:
    with open_store(tmp_path / "triage.db" if request.param == "file" else ":memory:") as opened:
        yield opened


def session(id: str = "s1", user_key: str = "u1", status: str = "bot", started_at: float = 10.0,
            **changes: Any) -> SessionRecord:
    values: dict[str, Any] = dict(
        id=id, user_key=user_key, kakao_session_id="170000123", status=status,
        state={"node": "main.welcome", "vars": {"주문번호": "A-1"}}, reference={"extra": "order-77"},
        category="주문", started_at=started_at, updated_at=started_at, user_at=started_at)
    return SessionRecord(**{**values, **changes})


def said(text: str, at: float = 10.0, session_id: str = "s1", **data: Any) -> TranscriptEntry:
    return TranscriptEntry(session_id, "in", "user", "text", text, data, at)


def write(serial: str, user_key: str = "u1", not_before: float = 10.0, session_id: str | None = "s1") -> NewOutbox:
    return NewOutbox(user_key, session_id, "write", serial, {"serial_number": serial, "message": serial}, not_before)


def enqueue(store: SqliteStore, *rows: NewOutbox, at: float = 10.0) -> list[int]:
    return store.commit(Commit(at=at, outbox=list(rows)))


# ---- opening --------------------------------------------------------------------------------


def test_first_run_creates_every_table_in_wal_mode_with_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "triage.db"
    open_store(path).close()
    conn = sqlite3.connect(path)
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert TABLES <= tables
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)


def test_a_new_database_has_small_pages_and_an_existing_one_keeps_its_own(tmp_path: Path) -> None:
    open_store(tmp_path / "new.db").close()
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute("PRAGMA page_size = 4096")
        conn.execute("CREATE TABLE notes (text TEXT)")

    with open_store(tmp_path / "old.db") as store:
        store.accept_inbound("u1", "message", "m1", {}, 1.0)

    assert sqlite3.connect(tmp_path / "new.db").execute("PRAGMA page_size").fetchone() == (PAGE_SIZE,) == (2048,)
    assert sqlite3.connect(tmp_path / "old.db").execute("PRAGMA page_size").fetchone() == (4096,)


def test_outbox_ids_are_never_handed_out_twice_even_when_the_newest_rows_are_erased(store: SqliteStore) -> None:
    from triage.privacy.requests import forget_user

    enqueue(store, write("bob-1", user_key="bob"))
    alice = enqueue(store, write("alice-1", user_key="alice"), write("alice-2", user_key="alice"))

    forget_user(store, "alice", 12.0)

    assert enqueue(store, write("carol-1", user_key="carol"))[0] > max(alice)


def test_a_version_1_database_keeps_its_rows_and_ids_and_never_reuses_them(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as conn:
        db = sqlite_utils.Database(conn)
        store_module.MIGRATIONS[1](db)
        db["meta"].insert({"key": "schema_version", "value": "1"})
        conn.executemany("INSERT INTO outbox (id, user_key, kind, body, attempts, next_attempt_at, status, created_at) "
                         "VALUES (?, 'u1', 'write', '{}', 0, 1.0, 'pending', 1.0)", [(5,), (9,)])

    with open_store(path) as migrated:
        assert [row.id for row in migrated.outbox_of("u1")] == [5, 9]
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM outbox")
    with open_store(path) as reopened:
        assert enqueue(reopened, write("next"))[0] == 10

    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    assert {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                             "AND tbl_name = 'outbox' AND sql IS NOT NULL")} == {
        "outbox_by_user", "outbox_pending_by_due"}


def test_a_version_2_database_keeps_its_sessions_which_learn_when_their_customer_last_wrote(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    with sqlite3.connect(path) as conn:
        db = sqlite_utils.Database(conn)
        store_module.MIGRATIONS[1](db)
        store_module.MIGRATIONS[2](db)
        db["meta"].insert({"key": "schema_version", "value": "2"})
        for sid, status in (("talked", "agent"), ("tapped", "bot"), ("done", "ended")):
            conn.execute("INSERT INTO sessions (id, user_key, kakao_session_id, status, state, reference, category, "
                         "started_at, updated_at) VALUES (?, 'u1', '170000123', ?, '{}', '{}', '주문', 10.0, 90.0)",
                         (sid, status))
        conn.executemany("INSERT INTO transcript (session_id, direction, sender, kind, text, data, at) "
                         "VALUES (?, ?, ?, 'text', 'hi', '{}', ?)",
                         [("talked", "in", "user", 20.0), ("talked", "in", "user", 30.0),
                          ("talked", "out", "agent", 90.0), ("tapped", "out", "bot", 11.0)])

    with open_store(path) as migrated:
        sessions = {s.id: s for s in migrated.sessions_of("u1")}
        assert {sid: s.user_at for sid, s in sessions.items()} == {"talked": 30.0, "tapped": 10.0, "done": 10.0}
        assert sessions["talked"] == session("talked", status="agent", state={}, reference={}, updated_at=90.0,
                                             user_at=30.0)
        assert [s.id for s in migrated.silent_sessions(before=31.0)] == ["tapped", "talked"]
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)


def test_reopening_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "triage.db"
    with open_store(path) as first:
        inbox_id = first.accept_inbound("u1", "message", "m1", {"content": "배송 언제 와요?"}, 10.0)
        first.commit(Commit(at=11.0, inbox_id=inbox_id, session=session(), transcript=[said("배송 언제 와요?")],
                            outbox=[write("x1")]))
    with open_store(path) as again:
        assert again.get_session("s1") == session()
        assert [t.text for t in again.transcript("s1")] == ["배송 언제 와요?"]
        assert [o.serial for o in again.due_outbox(math.inf)] == ["x1"]
        assert again.pending_inbound() == []


def test_a_database_from_a_newer_triage_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "triage.db"
    open_store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(StoreError) as refused:
        open_store(path)
    assert str(path) in str(refused.value)
    assert f"schema version {SCHEMA_VERSION + 1}" in str(refused.value)


def test_an_empty_or_foreign_sqlite_file_is_brought_up_to_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    with open_store(path) as store:
        assert store.accept_inbound("u1", "message", "m1", {}, 1.0) == 1
    assert TABLES | {"notes"} <= {name for (name,) in sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_an_older_database_is_migrated_once_and_keeps_its_data(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "triage.db"
    with open_store(path) as v1:
        v1.commit(Commit(at=1.0, session=session()))
    steps: list[int] = []

    def add_channel(db: Any) -> None:
        steps.append(2)
        db["sessions"].add_column("channel", str)

    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(store_module.MIGRATIONS, SCHEMA_VERSION + 1, add_channel)
    open_store(path).close()
    with open_store(path) as migrated:
        assert migrated.get_session("s1") == session()
    assert steps == [2]
    columns = {row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(sessions)")}
    assert "channel" in columns


def text_file(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("this is not a database\n" * 100)
    return tmp_path / "notes.txt"


@pytest.mark.parametrize("where", [text_file, lambda tmp_path: tmp_path, lambda tmp_path: tmp_path / "no" / "x.db"],
                         ids=["text-file", "directory", "missing-folder"])
def test_a_path_that_cannot_hold_a_database_is_a_clear_error(tmp_path: Path, where: Any) -> None:
    path = where(tmp_path)
    with pytest.raises(StoreError, match=f"^{path}: "):
        open_store(path)


# ---- inbox ----------------------------------------------------------------------------------


def test_an_inbound_event_is_accepted_once_per_user_kind_and_key(store: SqliteStore) -> None:
    first = store.accept_inbound("u1", "message", "2900000000000000001", {"content": "안녕"}, 1.0)
    assert first is not None
    assert store.accept_inbound("u1", "message", "2900000000000000001", {"content": "안녕"}, 2.0) is None
    assert store.accept_inbound("u2", "message", "2900000000000000001", {}, 2.0) not in (None, first)
    assert store.accept_inbound("u1", "reference", "2900000000000000001", {}, 2.0) not in (None, first)
    assert len(store.pending_inbound()) == 3


def test_acknowledged_but_unprocessed_events_survive_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "triage.db"
    crashed = open_store(path)
    done = crashed.accept_inbound("u1", "message", "m1", {"content": "첫 메시지"}, 1.0)
    crashed.accept_inbound("u1", "message", "m2", {"content": "두 번째", "extra": None}, 2.0)
    crashed.accept_inbound("u2", "reference", "r1", {"reference": {"extra": "vip"}}, 3.0)
    crashed.commit(Commit(at=4.0, inbox_id=done))
    del crashed  # no close(): the process "dies" here

    with open_store(path) as restarted:
        pending = restarted.pending_inbound()
    assert [(p.user_key, p.kind, p.dedupe_key, p.payload, p.received_at) for p in pending] == [
        ("u1", "message", "m2", {"content": "두 번째", "extra": None}, 2.0),
        ("u2", "reference", "r1", {"reference": {"extra": "vip"}}, 3.0),
    ]


@settings(max_examples=60, deadline=None)
@given(payload=st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=12),
    user_key=st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=20))
def test_any_json_payload_comes_back_exactly_as_it_arrived(payload: Any, user_key: str) -> None:
    with open_store(":memory:") as store:
        store.accept_inbound(user_key, "message", "m1", {"body": payload, "lone": "\ud800"}, 1.0)
        assert store.pending_inbound()[0].payload == {"body": payload, "lone": "\ud800"}
        assert store.pending_inbound()[0].user_key == user_key


# ---- commit ---------------------------------------------------------------------------------


def test_a_commit_applies_everything_one_event_changed(store: SqliteStore) -> None:
    inbox_id = store.accept_inbound("u1", "message", "m1", {"content": "환불"}, 10.0)
    user = UserRecord("u1", first_seen=10.0, last_seen=10.0, sessions=1, last_category="환불")
    reply = TranscriptEntry("s1", "out", "bot", "buttons", "무엇을 도와드릴까요?", {"labels": ["환불", "교환"]}, 10.5)
    event = NewEvent("node", "s1", "u1", {"node": "refund.start"}, 10.5)
    ids = store.commit(Commit(at=10.5, inbox_id=inbox_id, session=session(), user=user,
                              transcript=[said("환불"), reply], outbox=[write("x1"), write("x2")], events=[event]))
    assert store.pending_inbound() == []
    assert store.get_user("u1") == user
    assert store.get_session("s1") == session()
    assert store.transcript("s1") == [said("환불"), reply]
    assert store.events() == [EventRecord(1, "node", "s1", "u1", {"node": "refund.start"}, 10.5)]
    assert [store.get_outbox(i).serial for i in ids] == ["x1", "x2"]
    assert store.get_outbox(ids[0]).created_at == 10.5


@pytest.mark.parametrize("bad_entry", [
    TranscriptEntry("s1", "out", "bot", "text", "ok", {"not json": object()}, 11.0),
    TranscriptEntry("s1", None, "bot", "text", "ok", {}, 11.0),  # type: ignore[arg-type]
], ids=["unserialisable-data", "missing-direction"])
def test_one_invalid_row_leaves_nothing_of_the_commit_behind(store: SqliteStore, bad_entry: TranscriptEntry) -> None:
    inbox_id = store.accept_inbound("u1", "message", "m1", {"content": "안녕"}, 10.0)
    with pytest.raises(StoreError, match="nothing was saved"):
        store.commit(Commit(at=11.0, inbox_id=inbox_id, session=session(), user=UserRecord("u1", 10.0, 10.0),
                            transcript=[said("안녕"), bad_entry], outbox=[write("x1")],
                            events=[NewEvent("node", "s1", "u1", {}, 11.0)]))
    assert [p.id for p in store.pending_inbound()] == [inbox_id]
    assert (store.get_session("s1"), store.get_user("u1")) == (None, None)
    assert (store.transcript("s1"), store.due_outbox(math.inf), store.events()) == ([], [], [])
    assert store.commit(Commit(at=12.0, inbox_id=inbox_id, session=session())) == []


def test_an_event_cannot_be_processed_twice(store: SqliteStore) -> None:
    inbox_id = store.accept_inbound("u1", "message", "m1", {}, 10.0)
    store.commit(Commit(at=11.0, inbox_id=inbox_id, outbox=[write("x1")]))
    with pytest.raises(StoreError, match="already processed"):
        store.commit(Commit(at=12.0, inbox_id=inbox_id, outbox=[write("x1-again")]))
    assert [o.serial for o in store.outbox_of("u1")] == ["x1"]


def test_the_current_session_is_the_latest_one_not_ended(store: SqliteStore) -> None:
    old = session("s1", started_at=1.0, status="ended", ended_at=5.0, end_reason="user_left")
    store.commit(Commit(at=1.0, session=old))
    assert store.current_session("u1") is None
    store.commit(Commit(at=6.0, session=session("s2", started_at=6.0)))
    store.commit(Commit(at=7.0, session=session("s2", started_at=6.0, status="agent", updated_at=7.0)))
    store.commit(Commit(at=6.0, session=session("other", user_key="u2", started_at=6.0)))
    assert store.current_session("u1") == session("s2", started_at=6.0, status="agent", updated_at=7.0)
    assert [s.id for s in store.sessions_of("u1")] == ["s1", "s2"]
    assert store.get_session("nope") is None and store.get_user("nobody") is None


def test_the_open_session_ref_names_the_current_session_without_its_state(store: SqliteStore) -> None:
    assert store.open_session_ref("u1") is None
    store.commit(Commit(at=1.0, session=session("s1", started_at=1.0)))
    store.commit(Commit(at=2.0, session=session("s2", started_at=2.0, kakao_session_id=None)))
    assert store.open_session_ref("u1") == SessionRef("s2", None)
    store.commit(Commit(at=3.0, session=session("s2", started_at=2.0, status="ended", ended_at=3.0)))
    assert store.open_session_ref("u1") == SessionRef("s1", "170000123") == SessionRef(
        store.current_session("u1").id, store.current_session("u1").kakao_session_id)


def test_closing_one_session_and_opening_the_next_is_one_change(store: SqliteStore) -> None:
    store.commit(Commit(at=1.0, session=session("s1", started_at=1.0)))
    closed = session("s1", started_at=1.0, status="ended", ended_at=5.0, end_reason="new_kakao_session")
    with pytest.raises(StoreError):
        store.commit(Commit(at=5.0, sessions=[closed], session=session("s2", started_at=5.0, state={"x": object()})))
    assert store.current_session("u1") == session("s1", started_at=1.0)
    store.commit(Commit(at=5.0, sessions=[closed], session=session("s2", started_at=5.0)))
    assert store.sessions_of("u1") == [closed, session("s2", started_at=5.0)]
    assert store.current_session("u1") == session("s2", started_at=5.0)


def test_silent_sessions_are_the_open_ones_whose_customer_last_wrote_before_the_cutoff(store: SqliteStore) -> None:
    store.commit(Commit(at=1.0, session=session("old", user_key="u1", user_at=5.0, updated_at=100.0)))
    store.commit(Commit(at=1.0, session=session("older", user_key="u2", status="queue", user_at=3.0)))
    store.commit(Commit(at=1.0, session=session("recent", user_key="u3", user_at=50.0)))
    store.commit(Commit(at=1.0, session=session("ended", user_key="u4", status="ended", user_at=1.0)))

    assert [s.id for s in store.silent_sessions(before=10.0)] == ["older", "old"]
    assert [s.id for s in store.silent_sessions(before=10.0, limit=1)] == ["older"]
    [plan] = store._conn.execute(f"EXPLAIN QUERY PLAN {store_module._SILENT}", (10.0, 500)).fetchall()
    assert "USING INDEX sessions_silent" in plan[3]


def test_a_session_built_without_the_customers_time_counts_from_its_start(store: SqliteStore) -> None:
    store.commit(Commit(at=1.0, session=session("s1", started_at=4.0, user_at=None)))
    assert store.get_session("s1").user_at == 4.0


def test_user_text_with_broken_unicode_is_kept_readable(store: SqliteStore) -> None:
    store.commit(Commit(at=1.0, transcript=[said("깨진\udc00글자")]))
    assert store.transcript("s1")[0].text == "깨진\ufffd글자"


def test_an_identifier_that_is_not_valid_unicode_is_refused_cleanly(store: SqliteStore) -> None:
    with pytest.raises(StoreError):
        store.accept_inbound("u\ud800", "message", "m1", {}, 1.0)
    assert store.pending_inbound() == []


# ---- outbox ---------------------------------------------------------------------------------


def test_only_the_head_of_each_users_queue_is_due(store: SqliteStore) -> None:
    a1, a2, a3 = enqueue(store, write("a1"), write("a2"), write("a3"))
    (b1,) = enqueue(store, write("b1", user_key="u2", not_before=20.0))
    assert [o.id for o in store.due_outbox(15.0)] == [a1]
    assert [o.id for o in store.due_outbox(20.0)] == [a1, b1]
    assert [o.id for o in store.due_outbox(20.0, limit=1)] == [a1]

    store.outbox_delivered(a1, {"code": 0}, 16.0)
    assert [o.id for o in store.due_outbox(16.0)] == [a2]
    store.outbox_retry(a2, next_attempt_at=30.0, error="503 Service Unavailable")
    assert store.due_outbox(25.0) == [store.get_outbox(b1)]  # a3 waits behind a2, though it is due
    assert [o.id for o in store.due_outbox(30.0)] == [b1, a2]


OUTBOX_STEPS = st.lists(st.tuples(
    st.sampled_from(["enqueue", "delivered", "retry", "failed", "drop"]),
    st.sampled_from(["u1", "u2", "u3"]),
    st.integers(0, 5)), max_size=30)


@settings(max_examples=80, deadline=None)
@given(steps=OUTBOX_STEPS, now=st.integers(0, 6))
def test_due_rows_are_always_each_users_oldest_pending_row_when_due(steps: list[tuple[str, str, int]],
                                                                    now: int) -> None:
    """Against a model: per user, the pending rows as (id, due) in creation order."""
    queues: dict[str, list[tuple[int, float]]] = {}
    with open_store(":memory:") as store:
        for action, user, when in steps:
            queue = queues.setdefault(user, [])
            if action == "enqueue":
                queue += [(row_id, when) for row_id in enqueue(store, write(f"{user}-{when}", user, when))]
            elif queue and action == "retry":
                store.outbox_retry(queue[0][0], when, "503 Service Unavailable")
                queue[0] = (queue[0][0], when)
            elif queue and action == "delivered":
                store.outbox_delivered(queue.pop(0)[0], {"code": 0}, when)
            elif queue and action == "failed":
                store.outbox_failed(queue.pop(0)[0], "-501 InvalidSenderException", when)
            elif action == "drop":
                store.drop_pending_outbox(user, "no session", when)
                queue.clear()
        heads = sorted((due, row_id) for row_id, due in (q[0] for q in queues.values() if q) if due <= now)
        assert [(o.next_attempt_at, o.id) for o in store.due_outbox(now)] == heads


def test_a_retry_keeps_the_same_serial_and_body(store: SqliteStore) -> None:
    (item_id,) = enqueue(store, write("serial-1"))
    before = store.get_outbox(item_id)
    store.outbox_retry(item_id, 12.0, "timeout")
    store.outbox_retry(item_id, 14.0, "429 Too Many Requests")
    after = store.get_outbox(item_id)
    assert (after.serial, after.body) == (before.serial, before.body)
    assert (after.attempts, after.next_attempt_at, after.last_error, after.status) == (
        2, 14.0, "429 Too Many Requests", "pending")


def test_finished_rows_keep_their_outcome(store: SqliteStore) -> None:
    sent, refused = enqueue(store, write("a1"), write("b1", user_key="u2"))
    store.outbox_delivered(sent, {"code": 0}, 11.0)
    store.outbox_failed(refused, "-501 InvalidSenderException", 11.0)
    store.outbox_retry(sent, 99.0, "late retry of a delivered row")
    store.outbox_failed(sent, "late failure of a delivered row", 12.0)
    assert (store.get_outbox(sent).status, store.get_outbox(sent).last_error, store.get_outbox(sent).attempts) == (
        "delivered", None, 1)
    assert (store.get_outbox(refused).status, store.get_outbox(refused).last_error) == (
        "failed", "-501 InvalidSenderException")
    assert store.due_outbox(math.inf) == []


def test_dropping_a_dead_sessions_rows_keeps_them_with_the_reason(store: SqliteStore) -> None:
    enqueue(store, write("old1", session_id="s1"), write("old2", session_id="s1"), write("new1", session_id="s2"),
            write("other", user_key="u2", session_id="s9"))
    assert store.drop_pending_outbox("u1", "no session: NoActiveSessionException", 20.0, session_id="s1") == 2
    rows = {o.serial: (o.status, o.last_error) for o in store.outbox_of("u1")}
    assert rows == {"old1": ("dropped", "no session: NoActiveSessionException"),
                    "old2": ("dropped", "no session: NoActiveSessionException"),
                    "new1": ("pending", None)}
    assert store.drop_pending_outbox("u1", "blocked", 21.0) == 1
    assert [o.serial for o in store.due_outbox(math.inf)] == ["other"]


# ---- reading back ---------------------------------------------------------------------------


def test_events_are_filtered_by_time_window_and_kind(store: SqliteStore) -> None:
    store.commit(Commit(at=5.0, events=[NewEvent("node", "s1", "u1", {"node": "a"}, 1.0),
                                        NewEvent("handoff", "s1", "u1", {"queue": "일반"}, 2.0),
                                        NewEvent("node", None, None, {"node": "b"}, 3.0)]))
    assert [e.data for e in store.events()] == [{"node": "a"}, {"queue": "일반"}, {"node": "b"}]
    assert [e.at for e in store.events(since=2.0)] == [2.0, 3.0]
    assert [e.at for e in store.events(until=2.0)] == [1.0]
    assert [e.at for e in store.events(kinds=["node"])] == [1.0, 3.0]
    assert [e.kind for e in store.events(since=1.5, until=3.5, kinds=["handoff", "faq"])] == ["handoff"]
    assert store.events(kinds=[]) == []


# ---- background checkpoints -----------------------------------------------------------------


def test_a_background_thread_copies_committed_pages_into_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "triage.db"
    with open_store(path) as opened:
        stop = opened.checkpoint_in_background(interval=0.01)
        size = path.stat().st_size
        enqueue(opened, *(write(f"x{n}") for n in range(200)))
        deadline = time.monotonic() + 5.0
        while path.stat().st_size == size and time.monotonic() < deadline:
            time.sleep(0.01)
        stop()
        assert path.stat().st_size > size
        assert opened._conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (16 * 1024 * 1024 // PAGE_SIZE,)
        assert not [t for t in threading.enumerate() if t.name == "triage-checkpoint"]
        assert len(opened.outbox_of("u1")) == 200


def test_an_in_memory_store_has_no_checkpoints_to_make() -> None:
    with open_store(":memory:") as opened:
        opened.checkpoint_in_background()()
        assert not [t for t in threading.enumerate() if t.name == "triage-checkpoint"]


# ---- batches and group accepts --------------------------------------------------------------


def test_many_inbound_events_are_accepted_in_one_call_with_duplicates_answered_none(store: SqliteStore) -> None:
    from triage.store import Inbound

    earlier = store.accept_inbound("u1", "message", "m1", {}, 1.0)
    ids = store.accept_inbound_many([Inbound("u1", "message", "m1", {}), Inbound("u1", "message", "m2", {}),
                                     Inbound("u2", "message", "m2", {}), Inbound("u1", "message", "m2", {})], 2.0)

    assert ids[0] is None and ids[3] is None
    assert earlier < ids[1] < ids[2]
    assert [item.id for item in store.pending_inbound()] == [earlier, ids[1], ids[2]]


def test_a_batch_saves_every_write_at_its_end(tmp_path: Path) -> None:
    path = tmp_path / "triage.db"
    with open_store(path) as store:
        with store.batch():
            store.commit(Commit(at=1.0, transcript=[said("첫째")]))
            store.commit(Commit(at=2.0, transcript=[said("둘째")]))
            with sqlite3.connect(path) as other:
                assert other.execute("SELECT count(*) FROM transcript").fetchone() == (0,)
        assert [e.text for e in store.transcript("s1")] == ["첫째", "둘째"]


def test_a_failing_write_in_a_batch_undoes_only_itself(store: SqliteStore) -> None:
    done = store.accept_inbound("u1", "message", "m1", {}, 1.0)
    with store.batch():
        store.commit(Commit(at=2.0, inbox_id=done, transcript=[said("처리됨")]))
        with pytest.raises(StoreError):
            store.commit(Commit(at=3.0, inbox_id=done, transcript=[said("두 번 처리")]))
        store.commit(Commit(at=4.0, transcript=[said("그다음")]))

    assert [e.text for e in store.transcript("s1")] == ["처리됨", "그다음"]
    assert store.pending_inbound() == []


def test_a_batch_that_fails_as_a_whole_saves_nothing_and_says_so(store: SqliteStore) -> None:
    with pytest.raises(StoreError, match="batch failed, nothing of it was saved: disk I/O error"):
        with store.batch():
            store.commit(Commit(at=1.0, transcript=[said("사라질 말")]))
            raise sqlite3.OperationalError("disk I/O error")

    assert store.transcript("s1") == []


def test_pending_outbox_after_an_id_gives_newer_pending_rows_oldest_first(store: SqliteStore) -> None:
    first, second, third = enqueue(store, write("a"), write("b", user_key="u2"), write("c"))
    store.outbox_delivered(second, None, 11.0)

    assert [row.serial for row in store.pending_outbox()] == ["a", "c"]
    assert [row.id for row in store.pending_outbox(after_id=first)] == [third]
    assert store.pending_outbox(after_id=third) == []


def test_pending_among_names_which_of_many_rows_are_still_pending(store: SqliteStore) -> None:
    ids = enqueue(store, *(write(f"s{n}") for n in range(1200)))
    store.outbox_delivered(ids[3], None, 11.0)
    store.outbox_failed(ids[700], "HTTP 400", 11.0)

    assert store.pending_among([*ids, 10**9]) == set(ids) - {ids[3], ids[700]}
    assert store.pending_among([]) == set()


# ---- what the store remembers of its own writes ---------------------------------------------


def test_the_current_session_read_back_is_the_one_just_written(store: SqliteStore) -> None:
    store.commit(Commit(at=10.0, session=session(), user=UserRecord("u1", 10.0, 10.0, sessions=1)))
    store.commit(Commit(at=11.0, session=session(status="agent", updated_at=11.0)))

    assert store.current_session("u1").status == "agent"
    assert store.open_session_ref("u1") == SessionRef("s1", "170000123")
    assert store.get_user("u1").sessions == 1
    store.commit(Commit(at=12.0, session=session(status="ended", ended_at=12.0)))
    assert store.current_session("u1") is None


def test_another_connections_erasure_is_seen_at_once(tmp_path: Path) -> None:
    path = tmp_path / "triage.db"
    with open_store(path) as server, open_store(path) as other:
        server.commit(Commit(at=10.0, session=session(), user=UserRecord("u1", 10.0, 10.0)))
        assert server.current_session("u1") is not None
        other._conn.execute("UPDATE sessions SET status = 'ended', user_key = ''")
        other._conn.execute("DELETE FROM users")

        assert server.current_session("u1") is None
        assert server.get_user("u1") is None


def test_a_failed_batch_leaves_nothing_remembered(store: SqliteStore) -> None:
    with pytest.raises(StoreError):
        with store.batch():
            store.commit(Commit(at=10.0, session=session(), user=UserRecord("u1", 10.0, 10.0)))
            raise sqlite3.OperationalError("disk I/O error")

    assert store.current_session("u1") is None
    assert store.get_user("u1") is None
