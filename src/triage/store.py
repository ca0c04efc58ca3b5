"""Durable state: users, sessions, transcripts, the inbox, the outbox and the events log.

This is the only module that speaks SQL. Everything above it sees frozen records and the
small ``Store`` protocol, so another engine could replace SQLite without touching callers.

One connection is the one writer: the runtime and the outbox worker share it on the event
loop, and every write is a short ``BEGIN IMMEDIATE`` transaction. WAL with
``synchronous=NORMAL`` keeps a commit cheap (no fsync per transaction) while still
surviving a crash of the process; a power loss may lose the last few commits, never
corrupt the file. sqlite-utils creates and migrates the schema; hot paths use plain
parameterised SQL, which sqlite3 prepares once and caches.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from triage.json_encoding import dumps, loads_ours

SCHEMA_VERSION = 3

PAGE_SIZE = 2048
"""For a new database; an existing one keeps the page size it was created with.

Each commit writes every page it changed to the WAL whole, and a processed message changes a
few rows in many places (index leaves keyed by user, session and serial): half-size pages
halve most of those writes. The load bench measured 11 % more messages per second than at
SQLite's default of 4 KB (median of six alternating pairs, each pair won by 2 KB). A session's
state may now spill into an overflow page; that costs less than it saves.
"""

log = logging.getLogger("triage.store")


class StoreError(Exception):
    """The store cannot do what was asked; the message is meant for an operator."""


# ---- records: what the store holds ---------------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    """An inbound event as the webhook parsed it, before it has an inbox id."""

    user_key: str
    kind: str
    dedupe_key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class InboxItem:
    id: int
    user_key: str
    kind: str  # message | reference | expired | agent | timer ...
    dedupe_key: str
    payload: dict[str, Any]
    received_at: float


@dataclass(frozen=True)
class UserRecord:
    user_key: str
    first_seen: float
    last_seen: float
    sessions: int = 0
    last_category: str | None = None
    blocked: bool = False


@dataclass(frozen=True)
class SessionRecord:
    id: str
    user_key: str
    kakao_session_id: str | None
    status: str  # new | bot | queue | agent | ended
    state: dict[str, Any]
    reference: dict[str, Any]
    category: str | None
    started_at: float
    updated_at: float
    ended_at: float | None = None
    end_reason: str | None = None
    user_at: float | None = None
    """When the customer last wrote (or tapped to start): 상담톡 keeps a session 30 days from
    then, and nothing else extends it, while ``updated_at`` moves with every change (an agent's
    message, the bot's warning). None, on a record built by hand, is stored as ``started_at``:
    every session starts with something the customer did."""


@dataclass(frozen=True)
class SessionRef:
    """Which session is open, without its state: enough to tell whether a message opens a new one."""

    id: str
    kakao_session_id: str | None


@dataclass(frozen=True)
class OutboxItem:
    """One outbound call; ``status`` is pending (the only state ever sent), delivered, failed or dropped."""

    id: int
    user_key: str
    session_id: str | None
    kind: str
    serial: str | None
    body: dict[str, Any]
    attempts: int
    next_attempt_at: float
    status: str
    last_error: str | None
    created_at: float


@dataclass(frozen=True)
class TranscriptEntry:
    session_id: str
    direction: str  # in | out
    sender: str  # user | bot | agent | system
    kind: str
    text: str | None
    data: dict[str, Any]
    at: float


@dataclass(frozen=True)
class EventRecord:
    id: int
    kind: str
    session_id: str | None
    user_key: str | None
    data: dict[str, Any]
    at: float


@dataclass(frozen=True)
class TicketRow:
    """A handoff ticket as stored; ``ticket`` is ``queue.Ticket.to_dict()``, opaque to the store.

    ``user_at`` is the customer's last message while the ticket is open and ``stage`` the last
    inactivity stage sent since then: the handoff timers read both without loading sessions.
    """

    id: str
    session_id: str
    user_key: str
    queue: str
    status: str  # waiting | assigned | closed
    agent_id: str | None
    ticket: dict[str, Any]
    packet: dict[str, Any]
    notice: dict[str, Any]
    offline: bool
    user_at: float
    stage: str | None
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class AgentRow:
    """What an agent said about themselves (presence, capacity); the rest lives in triage.yaml."""

    id: str
    presence: str
    max_concurrent: int
    updated_at: float


@dataclass(frozen=True)
class NewOutbox:
    """An outbound call to make; ``serial`` is fixed here so every retry reuses it."""

    user_key: str
    session_id: str | None
    kind: str
    serial: str | None
    body: dict[str, Any]
    not_before: float


@dataclass(frozen=True)
class NewEvent:
    kind: str
    session_id: str | None
    user_key: str | None
    data: dict[str, Any]
    at: float


@dataclass
class Commit:
    """Everything one processed event changes, applied in one transaction.

    ``at`` is when the event was processed: the inbox row is stamped with it and new outbox
    rows are created at it, so the runtime's clock (not the store's) is the only clock.
    ``sessions`` holds any other session the event changed (one it closed, say), written
    before ``session`` so that closing one and opening the next is a single change too.
    """

    at: float
    inbox_id: int | None = None
    session: SessionRecord | None = None
    sessions: list[SessionRecord] = field(default_factory=list)
    user: UserRecord | None = None
    transcript: list[TranscriptEntry] = field(default_factory=list)
    outbox: list[NewOutbox] = field(default_factory=list)
    events: list[NewEvent] = field(default_factory=list)
    tickets: list[TicketRow] = field(default_factory=list)
    agents: list[AgentRow] = field(default_factory=list)


class Store(Protocol):
    """The whole storage interface the runtime, the worker and the reports rely on."""

    def accept_inbound(self, user_key: str, kind: str, dedupe_key: str, payload: dict[str, Any],
                       now: float) -> int | None: ...
    def accept_inbound_many(self, events: Sequence[Inbound], now: float) -> list[int | None]: ...
    def batch(self) -> AbstractContextManager[None]: ...
    def pending_inbound(self) -> list[InboxItem]: ...
    def get_user(self, user_key: str) -> UserRecord | None: ...
    def current_session(self, user_key: str) -> SessionRecord | None: ...
    def open_session_ref(self, user_key: str) -> SessionRef | None: ...
    def get_session(self, session_id: str) -> SessionRecord | None: ...
    def sessions_of(self, user_key: str) -> list[SessionRecord]: ...
    def idle_sessions(self, statuses: Sequence[str], before: float, limit: int = 500) -> list[SessionRecord]: ...
    def silent_sessions(self, before: float, limit: int = 500) -> list[SessionRecord]: ...
    def commit(self, commit: Commit) -> list[int]: ...
    def due_outbox(self, now: float, limit: int = 100) -> list[OutboxItem]: ...
    def pending_outbox(self, after_id: int = 0, limit: int = 1000) -> list[OutboxItem]: ...
    def pending_among(self, ids: Collection[int]) -> set[int]: ...
    def get_outbox(self, item_id: int) -> OutboxItem | None: ...
    def outbox_of(self, user_key: str) -> list[OutboxItem]: ...
    def outbox_delivered(self, item_id: int, response: dict[str, Any] | None, now: float) -> None: ...
    def outbox_retry(self, item_id: int, next_attempt_at: float, error: str) -> None: ...
    def outbox_failed(self, item_id: int, error: str, now: float) -> None: ...
    def drop_pending_outbox(self, user_key: str, reason: str, now: float,
                            session_id: str | None = None) -> int: ...
    def transcript(self, session_id: str) -> list[TranscriptEntry]: ...
    def events(self, since: float | None = None, until: float | None = None,
               kinds: Sequence[str] | None = None) -> list[EventRecord]: ...
    def tickets(self, statuses: Sequence[str] = ("waiting", "assigned"),
                closed_since: float | None = None) -> list[TicketRow]: ...
    def get_ticket(self, ticket_id: str) -> TicketRow | None: ...
    def agent_rows(self) -> list[AgentRow]: ...
    def events_after(self, last_id: int, kinds: Sequence[str], limit: int = 500) -> list[EventRecord]: ...
    def close(self) -> None: ...

    # -- privacy: a user's data out, personal data erased (issue 6) ----------------------------
    def events_of(self, user_key: str) -> list[EventRecord]: ...
    def inbox_of(self, user_key: str) -> list[InboxItem]: ...
    def tickets_of(self, user_key: str) -> list[TicketRow]: ...
    def erase(self, what: Erasure, scrub: Scrubbers, now: float, dry_run: bool = False) -> Erased: ...


# ---- schema --------------------------------------------------------------------------------


def _create_v1(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key", not_null={"value"})
    db["inbox"].create(
        {"id": int, "user_key": str, "kind": str, "dedupe_key": str, "payload": str,
         "received_at": float, "processed_at": float},
        pk="id", not_null={"user_key", "kind", "dedupe_key", "payload", "received_at"})
    db["inbox"].create_index(["user_key", "kind", "dedupe_key"], "inbox_dedupe", unique=True)
    db.execute("CREATE INDEX inbox_pending ON inbox(id) WHERE processed_at IS NULL")
    db["users"].create(
        {"user_key": str, "first_seen": float, "last_seen": float, "sessions": int,
         "last_category": str, "blocked": int},
        pk="user_key", not_null={"first_seen", "last_seen", "sessions", "blocked"})
    db["sessions"].create(
        {"id": str, "user_key": str, "kakao_session_id": str, "status": str, "state": str,
         "reference": str, "category": str, "started_at": float, "updated_at": float,
         "ended_at": float, "end_reason": str},
        pk="id", not_null={"user_key", "status", "state", "reference", "started_at", "updated_at"})
    db["sessions"].create_index(["user_key", "started_at"], "sessions_by_user")
    db["sessions"].create_index(["status", "updated_at"], "sessions_idle")
    db["transcript"].create(
        {"id": int, "session_id": str, "direction": str, "sender": str, "kind": str, "text": str,
         "data": str, "at": float},
        pk="id", not_null={"session_id", "direction", "sender", "kind", "data", "at"})
    db["transcript"].create_index(["session_id", "id"], "transcript_by_session")
    db["outbox"].create(
        {"id": int, "user_key": str, "session_id": str, "kind": str, "serial": str, "body": str,
         "attempts": int, "next_attempt_at": float, "status": str, "last_error": str,
         "created_at": float, "done_at": float, "response": str},
        pk="id", not_null={"user_key", "kind", "body", "attempts", "next_attempt_at", "status",
                           "created_at"})
    db["outbox"].create_index(["user_key", "status", "id"], "outbox_by_user")
    db.execute("CREATE INDEX outbox_pending_by_due ON outbox(next_attempt_at, id) WHERE status = 'pending'")
    db["events"].create(
        {"id": int, "kind": str, "session_id": str, "user_key": str, "data": str, "at": float},
        pk="id", not_null={"kind", "data", "at"})
    db["events"].create_index(["at"], "events_by_at")
    db["events"].create_index(["kind", "at"], "events_by_kind")
    db["tickets"].create(
        {"id": str, "session_id": str, "user_key": str, "queue": str, "status": str, "agent_id": str,
         "ticket": str, "packet": str, "notice": str, "offline": int, "user_at": float, "stage": str,
         "created_at": float, "updated_at": float},
        pk="id", not_null={"session_id", "user_key", "queue", "status", "ticket", "packet", "notice", "offline",
                           "user_at", "created_at", "updated_at"})
    db["tickets"].create_index(["status", "user_at"], "tickets_open")
    db["tickets"].create_index(["user_key", "created_at"], "tickets_by_user")
    db["agents"].create({"id": str, "presence": str, "max_concurrent": int, "updated_at": float},
                        pk="id", not_null={"presence", "max_concurrent", "updated_at"})


def _never_reuse_ids_v2(db: sqlite_utils.Database) -> None:
    """Outbox ids from ``AUTOINCREMENT``: never handed out twice.

    A plain ``INTEGER PRIMARY KEY`` hands out the largest id plus one, so deleting the newest
    rows (a ``triage forget`` of the last customer to write) makes their ids come back. The
    deliverer holds rows by id and the delivery feed resumes after the last id it sent, so a
    new reply would be taken for an erased one, and a "no session" for it would be dropped as a
    duplicate (``closed:<outbox id>``). SQLite cannot add ``AUTOINCREMENT`` to a table, so the
    table is built again with its rows and indexes; the copy keeps every id, and the counter
    starts from the largest.

    Inbox and event ids are left plain, which costs nothing on every insert: only processed
    inbox rows are ever deleted, and nothing holds their ids; a forget strips events instead of
    deleting them, and a purge deletes only events older than the retention period.
    """
    conn = db.conn
    [sql] = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").fetchone()
    if '"id" INTEGER PRIMARY KEY,' not in sql:
        raise StoreError(f"the outbox table does not have the id column this step expects: {sql}")
    indexes = [row[0] for row in conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox' AND sql IS NOT NULL")]
    conn.execute('ALTER TABLE "outbox" RENAME TO "outbox_v1"')
    conn.execute(sql.replace('"id" INTEGER PRIMARY KEY,', '"id" INTEGER PRIMARY KEY AUTOINCREMENT,', 1))
    conn.execute('INSERT INTO "outbox" SELECT * FROM "outbox_v1"')
    conn.execute('DROP TABLE "outbox_v1"')
    for index in indexes:
        conn.execute(index)


def _customer_time_v3(db: sqlite_utils.Database) -> None:
    """Sessions keep when their customer last wrote (``user_at``), and open ones are indexed by it.

    상담톡 ends a session 30 days after the customer's last message; agents' messages do not
    extend it. The local expiry used ``updated_at``, which every change moves, so a conversation
    an agent kept writing to stayed open here (queue, desk, reports) after 상담톡 had closed it.
    A session written before this step gets its customer's last message in the transcript, or
    its start when the transcript holds none (erased, or never written). The index leaves ended
    sessions out: the expiry never looks at them, and most sessions are ended.
    """
    conn = db.conn
    conn.execute('ALTER TABLE "sessions" ADD COLUMN "user_at" REAL')
    conn.execute('UPDATE "sessions" SET "user_at" = COALESCE((SELECT MAX(at) FROM transcript '
                 "WHERE session_id = sessions.id AND direction = 'in' AND sender = 'user'), started_at)")
    conn.execute("CREATE INDEX sessions_silent ON sessions(user_at) WHERE status != 'ended'")


MIGRATIONS: dict[int, Callable[[sqlite_utils.Database], None]] = {
    1: _create_v1, 2: _never_reuse_ids_v2, 3: _customer_time_v3}
"""Version -> the step that brings a database from the version before up to it."""


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` takes the write lock up front, so a transaction never fails halfway
    for lack of it; anything that goes wrong (the COMMIT included) rolls everything back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


@contextmanager
def _savepoint(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A nested transaction inside a batch: on any error only its own changes are undone."""
    conn.execute("SAVEPOINT write")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK TO write")
        raise
    finally:
        conn.execute("RELEASE write")


def _schema_version(conn: sqlite3.Connection) -> int:
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row and str(row[0]).isdigit() else 0


def _migrate(conn: sqlite3.Connection, where: str) -> None:
    """All steps in one transaction that first takes the write lock: two processes starting on a
    fresh file migrate it once, and a failed step leaves the file as it was."""
    db = sqlite_utils.Database(conn)
    with _transaction(conn):
        found = _schema_version(conn)
        if found > SCHEMA_VERSION:
            raise StoreError(f"{where}: the database has schema version {found}, but this triage knows "
                             f"only up to {SCHEMA_VERSION}; upgrade triage or choose another storage path")
        for version in range(found + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version](db)
        if found < SCHEMA_VERSION:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                         (str(SCHEMA_VERSION),))


def open_store(path: str | Path) -> SqliteStore:
    """Open (creating on first run, migrating when older) the database at ``path``.

    ``":memory:"`` gives a private throwaway database for tests and ``triage chat``.
    """
    where = str(path)
    try:
        conn = sqlite3.connect(where, isolation_level=None, timeout=5.0)
    except sqlite3.Error as exc:
        raise StoreError(f"{where}: cannot open the database ({exc}); "
                         "does its folder exist and is it writable?") from exc
    try:
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        _migrate(conn, where)
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"{where}: not a usable triage database: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return SqliteStore(conn)


# ---- rows <-> records ----------------------------------------------------------------------


def _dump(value: dict[str, Any]) -> str:
    return dumps(value) if value else "{}"


_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(text: str | None) -> str | None:
    """Free text as SQLite can store it: invalid Unicode (lone surrogates) becomes U+FFFD."""
    if text is None or text.isascii():
        return text
    return _SURROGATES.sub("\ufffd", text)


_INBOX = "id, user_key, kind, dedupe_key, payload, received_at"
_USER = "user_key, first_seen, last_seen, sessions, last_category, blocked"
_SESSION = ("id, user_key, kakao_session_id, status, state, reference, category, started_at, "
            "updated_at, ended_at, end_reason, user_at")
_OUTBOX = ("id, user_key, session_id, kind, serial, body, attempts, next_attempt_at, status, "
           "last_error, created_at")
_TRANSCRIPT = "session_id, direction, sender, kind, text, data, at"
_EVENT = "id, kind, session_id, user_key, data, at"
_TICKET = ("id, session_id, user_key, queue, status, agent_id, ticket, packet, notice, offline, user_at, stage, "
           "created_at, updated_at")


def _inbox(row: tuple) -> InboxItem:
    return InboxItem(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5])


def _user(row: tuple) -> UserRecord:
    return UserRecord(row[0], row[1], row[2], row[3], row[4], bool(row[5]))


def _session(row: tuple) -> SessionRecord:
    return SessionRecord(row[0], row[1], row[2], row[3], json.loads(row[4]), json.loads(row[5]), *row[6:])


def _outbox(row: tuple) -> OutboxItem:
    return OutboxItem(*row[:5], loads_ours(row[5]), *row[6:])


def _transcript(row: tuple) -> TranscriptEntry:
    return TranscriptEntry(*row[:5], json.loads(row[5]), row[6])


def _event(row: tuple) -> EventRecord:
    return EventRecord(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5])


def _ticket(row: tuple) -> TicketRow:
    return TicketRow(*row[:6], json.loads(row[6]), json.loads(row[7]), json.loads(row[8]), bool(row[9]), *row[10:])


_UPSERT_USER = (
    f"INSERT INTO users({_USER}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(user_key) DO UPDATE SET "
    "first_seen = excluded.first_seen, last_seen = excluded.last_seen, sessions = excluded.sessions, "
    "last_category = excluded.last_category, blocked = excluded.blocked")
_UPSERT_SESSION = (
    f"INSERT INTO sessions({_SESSION}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
    "user_key = excluded.user_key, kakao_session_id = excluded.kakao_session_id, status = excluded.status, "
    "state = excluded.state, reference = excluded.reference, category = excluded.category, "
    "started_at = excluded.started_at, updated_at = excluded.updated_at, ended_at = excluded.ended_at, "
    "end_reason = excluded.end_reason, user_at = excluded.user_at")
_INSERT_INBOX = "INSERT OR IGNORE INTO inbox(user_key, kind, dedupe_key, payload, received_at) VALUES (?, ?, ?, ?, ?)"
_INSERT_TRANSCRIPT = f"INSERT INTO transcript({_TRANSCRIPT}) VALUES (?, ?, ?, ?, ?, ?, ?)"
_INSERT_OUTBOX = ("INSERT INTO outbox(user_key, session_id, kind, serial, body, attempts, next_attempt_at, "
                  "status, created_at) VALUES (?, ?, ?, ?, ?, 0, ?, 'pending', ?)")
_INSERT_EVENT = "INSERT INTO events(kind, session_id, user_key, data, at) VALUES (?, ?, ?, ?, ?)"
_UPSERT_TICKET = (
    f"INSERT INTO tickets({_TICKET}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
    "queue = excluded.queue, status = excluded.status, agent_id = excluded.agent_id, ticket = excluded.ticket, "
    "packet = excluded.packet, notice = excluded.notice, offline = excluded.offline, user_at = excluded.user_at, "
    "stage = excluded.stage, updated_at = excluded.updated_at")
_UPSERT_AGENT = (
    "INSERT INTO agents(id, presence, max_concurrent, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
    "presence = excluded.presence, max_concurrent = excluded.max_concurrent, updated_at = excluded.updated_at")
_CURRENT = ("SELECT {} FROM sessions WHERE user_key = ? AND status != 'ended' "
            "ORDER BY started_at DESC, rowid DESC LIMIT 1")
_SILENT = f"SELECT {_SESSION} FROM sessions WHERE status != 'ended' AND user_at < ? ORDER BY user_at LIMIT ?"
"""Served by the partial index ``sessions_silent``, whose condition it repeats word for word."""
_FINISH = ("UPDATE outbox SET attempts = attempts + 1, status = ?, last_error = ?, done_at = ?, response = ? "
           "WHERE id = ? AND status = 'pending'")
_DUE_HEADS = (
    f"SELECT {_OUTBOX} FROM outbox AS o WHERE status = 'pending' AND next_attempt_at <= ? "
    "AND NOT EXISTS (SELECT 1 FROM outbox AS p WHERE p.status = 'pending' AND p.user_key = o.user_key "
    "AND p.id < o.id) ORDER BY next_attempt_at, id LIMIT ?")


def _write_rows(conn: sqlite3.Connection, sql: str, rows: list[tuple]) -> None:
    """Most commits leave most tables alone; an empty ``executemany`` still costs a statement."""
    if rows:
        conn.executemany(sql, rows)


_UNKNOWN: Any = object()


class _Recent:
    """Each user's row and open session as this connection last wrote or read them.

    The runtime reads both for every event, right after writing them for the one before; this
    saves the two queries and the decoding of the state. It trusts itself only while no other
    connection has committed (``PRAGMA data_version``, checked on every read: a ``triage forget``
    run beside the server must not have its erasure written back from memory).
    """

    LIMIT = 20_000

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn
        self._version: int | None = None
        self.locked = False
        self.users: dict[str, UserRecord | None] = {}
        self.sessions: dict[str, SessionRecord | None] = {}

    def fresh(self) -> _Recent:
        if self.locked:
            return self
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version or len(self.sessions) > self.LIMIT or len(self.users) > self.LIMIT:
            self.forget()
            self._version = version
        return self

    @contextmanager
    def holding_the_write_lock(self) -> Iterator[None]:
        """Inside a batch this connection holds the write lock, so nobody else can commit: one
        check at its start serves every read in it."""
        self.fresh()
        self.locked = True
        try:
            yield
        finally:
            self.locked = False

    def forget(self) -> None:
        self.users.clear()
        self.sessions.clear()

    def wrote(self, commit: Commit) -> None:
        if commit.user is not None:
            self.users[commit.user.user_key] = commit.user
        for session in commit.sessions:
            self.sessions.pop(session.user_key, None)
        current = commit.session
        if current is not None and current.status != "ended":
            self.sessions[current.user_key] = current
        elif current is not None:
            self.sessions.pop(current.user_key, None)  # an older session may still be open


class SqliteStore:
    """``Store`` on one SQLite connection; use it from one thread (the event loop's)."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn
        self._batched = False
        self._recent = _Recent(conn)

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _write(self, one_statement: bool = False) -> Iterator[sqlite3.Connection]:
        """A transaction whose failures reach callers as ``StoreError``, whatever the engine.

        Inside ``batch()`` it is a savepoint instead: it still succeeds or fails whole, but
        becomes durable with the batch. A write of one statement needs no savepoint there:
        SQLite undoes a failed statement by itself.
        """
        enclose = _transaction if not self._batched else nullcontext if one_statement else _savepoint
        try:
            with enclose(self._conn) as conn:
                yield conn
        except (sqlite3.Error, TypeError, ValueError) as exc:
            raise StoreError(f"write failed, nothing was saved: {exc}") from exc

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for many writes: under load, one COMMIT (and one copy of each touched
        page into the WAL) serves a whole batch of events instead of each one. A failing write
        inside rolls back only itself; a failing COMMIT loses the whole batch (``StoreError``)."""
        if self._batched:
            yield
            return
        try:
            with _transaction(self._conn), self._recent.holding_the_write_lock():
                self._batched = True
                try:
                    yield
                finally:
                    self._batched = False
        except BaseException as exc:
            self._recent.forget()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"batch failed, nothing of it was saved: {exc}") from exc
            raise

    # -- inbox ---------------------------------------------------------------------------------

    def accept_inbound(self, user_key: str, kind: str, dedupe_key: str, payload: dict[str, Any],
                       now: float) -> int | None:
        """Record an inbound event durably before it is acknowledged; None for a duplicate."""
        return self.accept_inbound_many([Inbound(user_key, kind, dedupe_key, payload)], now)[0]

    def accept_inbound_many(self, events: Sequence[Inbound], now: float) -> list[int | None]:
        """Record several inbound events in one transaction (a group commit of acknowledgements);
        each gets its new inbox id, or None for a duplicate of one received before or in this call."""
        with self._write() as conn:
            cursors = [conn.execute(_INSERT_INBOX, (e.user_key, e.kind, e.dedupe_key, _dump(e.payload), now))
                       for e in events]
            return [cursor.lastrowid if cursor.rowcount == 1 else None for cursor in cursors]

    def pending_inbound(self) -> list[InboxItem]:
        """Acknowledged but not yet processed, oldest first: what a restart must finish."""
        rows = self._conn.execute(f"SELECT {_INBOX} FROM inbox WHERE processed_at IS NULL ORDER BY id")
        return [_inbox(row) for row in rows]

    # -- users and sessions --------------------------------------------------------------------

    def get_user(self, user_key: str) -> UserRecord | None:
        users = self._recent.fresh().users
        user = users.get(user_key, _UNKNOWN)
        if user is _UNKNOWN:
            row = self._conn.execute(f"SELECT {_USER} FROM users WHERE user_key = ?", (user_key,)).fetchone()
            user = users[user_key] = _user(row) if row else None
        return user

    def current_session(self, user_key: str) -> SessionRecord | None:
        sessions = self._recent.fresh().sessions
        session = sessions.get(user_key, _UNKNOWN)
        if session is _UNKNOWN:
            row = self._conn.execute(_CURRENT.format(_SESSION), (user_key,)).fetchone()
            session = sessions[user_key] = _session(row) if row else None
        return session

    def open_session_ref(self, user_key: str) -> SessionRef | None:
        """Which session is open: the dispatcher asks it per message."""
        session = self.current_session(user_key)
        return SessionRef(session.id, session.kakao_session_id) if session else None

    def get_session(self, session_id: str) -> SessionRecord | None:
        row = self._conn.execute(f"SELECT {_SESSION} FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return _session(row) if row else None

    def sessions_of(self, user_key: str) -> list[SessionRecord]:
        rows = self._conn.execute(
            f"SELECT {_SESSION} FROM sessions WHERE user_key = ? ORDER BY started_at, rowid", (user_key,))
        return [_session(row) for row in rows]

    def idle_sessions(self, statuses: Sequence[str], before: float, limit: int = 500) -> list[SessionRecord]:
        """Open sessions in ``statuses`` untouched since ``before``, oldest first (inactivity timers)."""
        marks = ", ".join("?" for _ in statuses)
        rows = self._conn.execute(
            f"SELECT {_SESSION} FROM sessions WHERE status IN ({marks}) AND updated_at < ? "
            "ORDER BY updated_at LIMIT ?", (*statuses, before, limit))
        return [_session(row) for row in rows]

    def silent_sessions(self, before: float, limit: int = 500) -> list[SessionRecord]:
        """Open sessions whose customer has not written since ``before``, longest silent first
        (the local expiry: 상담톡 has closed them)."""
        return [_session(row) for row in self._conn.execute(_SILENT, (before, limit))]

    # -- the one write per processed event -----------------------------------------------------

    def commit(self, commit: Commit) -> list[int]:
        """Apply one processed event; returns the new outbox ids in the order given.

        Marking the inbox row processed is part of the same transaction, and a row that is
        already processed aborts it: processing an event twice would send its replies twice.
        """
        with self._write() as conn:
            if commit.inbox_id is not None:
                marked = conn.execute("UPDATE inbox SET processed_at = ? WHERE id = ? AND processed_at IS NULL",
                                      (commit.at, commit.inbox_id))
                if marked.rowcount != 1:
                    raise sqlite3.IntegrityError(f"inbox item {commit.inbox_id} is unknown or already processed")
            if commit.user is not None:
                u = commit.user
                conn.execute(_UPSERT_USER, (u.user_key, u.first_seen, u.last_seen, u.sessions,
                                            u.last_category, int(u.blocked)))
            sessions = [*commit.sessions, *([commit.session] if commit.session else [])]
            _write_rows(conn, _UPSERT_SESSION, [
                (s.id, s.user_key, s.kakao_session_id, s.status, _dump(s.state), _dump(s.reference), s.category,
                 s.started_at, s.updated_at, s.ended_at, s.end_reason,
                 s.started_at if s.user_at is None else s.user_at) for s in sessions])
            _write_rows(conn, _INSERT_TRANSCRIPT, [
                (t.session_id, t.direction, t.sender, t.kind, clean_text(t.text), _dump(t.data), t.at)
                for t in commit.transcript])
            _write_rows(conn, _INSERT_EVENT, [
                (e.kind, e.session_id, e.user_key, _dump(e.data), e.at) for e in commit.events])
            _write_rows(conn, _UPSERT_TICKET, [
                (t.id, t.session_id, t.user_key, t.queue, t.status, t.agent_id, _dump(t.ticket), _dump(t.packet),
                 _dump(t.notice), int(t.offline), t.user_at, t.stage, t.created_at, t.updated_at)
                for t in commit.tickets])
            _write_rows(conn, _UPSERT_AGENT, [(a.id, a.presence, a.max_concurrent, a.updated_at)
                                              for a in commit.agents])
            sent = [conn.execute(_INSERT_OUTBOX, (o.user_key, o.session_id, o.kind, o.serial, _dump(o.body),
                                                  o.not_before, commit.at)).lastrowid
                    for o in commit.outbox]
        self._recent.wrote(commit)
        return sent

    # -- outbox --------------------------------------------------------------------------------

    def due_outbox(self, now: float, limit: int = 100) -> list[OutboxItem]:
        """The first pending row of each user that is due by ``now``, soonest first.

        Only heads are returned so a user's messages go out strictly in order; pass
        ``math.inf`` to see every head with its due time.
        """
        return [_outbox(row) for row in self._conn.execute(_DUE_HEADS, (now, limit))]

    def pending_outbox(self, after_id: int = 0, limit: int = 1000) -> list[OutboxItem]:
        """Pending rows newer than ``after_id``, oldest first: what a deliverer that keeps its own
        queue has not been given yet (all of them, from 0, when it starts)."""
        rows = self._conn.execute(f"SELECT {_OUTBOX} FROM outbox WHERE status = 'pending' AND id > ? "
                                  "ORDER BY id LIMIT ?", (after_id, limit))
        return [_outbox(row) for row in rows]

    def pending_among(self, ids: Collection[int]) -> set[int]:
        """Which of these outbox rows are still pending: a ``triage forget`` run beside the server
        deletes a user's rows, and a deliverer holding them in memory must hear of it."""
        found: set[int] = set()
        wanted = list(ids)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            found.update(row[0] for row in self._conn.execute(
                f"SELECT id FROM outbox WHERE status = 'pending' AND id IN ({marks})", chunk))
        return found

    def outbox_backlog(self) -> tuple[int, float | None]:
        """Pending rows and when the oldest of them was written. /healthz asks this every few seconds,
        so the count and the oldest id (ids grow with time) come from the pending-only index, and
        only that one row is read."""
        count, oldest = self._conn.execute("SELECT count(*), min(id) FROM outbox INDEXED BY outbox_pending_by_due "
                                             "WHERE status = 'pending'").fetchone()
        if oldest is None:
            return 0, None
        return count, self._conn.execute("SELECT created_at FROM outbox WHERE id = ?", (oldest,)).fetchone()[0]

    def get_outbox(self, item_id: int) -> OutboxItem | None:
        row = self._conn.execute(f"SELECT {_OUTBOX} FROM outbox WHERE id = ?", (item_id,)).fetchone()
        return _outbox(row) if row else None

    def outbox_of(self, user_key: str) -> list[OutboxItem]:
        """Every outbox row of one user in creation order, whatever its state (tests, support)."""
        rows = self._conn.execute(f"SELECT {_OUTBOX} FROM outbox WHERE user_key = ? ORDER BY id", (user_key,))
        return [_outbox(row) for row in rows]

    def outbox_delivered(self, item_id: int, response: dict[str, Any] | None, now: float) -> None:
        with self._write(one_statement=True) as conn:
            conn.execute(_FINISH, ("delivered", None, now, None if response is None else _dump(response), item_id))

    def outbox_retry(self, item_id: int, next_attempt_at: float, error: str) -> None:
        with self._write(one_statement=True) as conn:
            conn.execute("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
                         "WHERE id = ? AND status = 'pending'", (next_attempt_at, clean_text(error), item_id))

    def outbox_failed(self, item_id: int, error: str, now: float) -> None:
        with self._write(one_statement=True) as conn:
            conn.execute(_FINISH, ("failed", clean_text(error), now, None, item_id))

    def drop_pending_outbox(self, user_key: str, reason: str, now: float,
                            session_id: str | None = None) -> int:
        """Give up on a user's unsent rows (of one session, when given), keeping them and why."""
        scope, params = ("AND session_id = ?", (session_id,)) if session_id is not None else ("", ())
        with self._write(one_statement=True) as conn:
            cursor = conn.execute(
                f"UPDATE outbox SET status = 'dropped', last_error = ?, done_at = ? "
                f"WHERE user_key = ? AND status = 'pending' {scope}", (clean_text(reason), now, user_key, *params))
        return cursor.rowcount

    # -- handoff: tickets, agents and the event feed ------------------------------------------

    def tickets(self, statuses: Sequence[str] = ("waiting", "assigned"), closed_since: float | None = None
                ) -> list[TicketRow]:
        """Open tickets (and those closed since ``closed_since``, for handle times), oldest first."""
        marks = ", ".join("?" for _ in statuses)
        rows = self._conn.execute(
            f"SELECT {_TICKET} FROM tickets WHERE status IN ({marks}) OR (status = 'closed' AND updated_at >= ?) "
            "ORDER BY created_at, id", (*statuses, math.inf if closed_since is None else closed_since))
        return [_ticket(row) for row in rows]

    def get_ticket(self, ticket_id: str) -> TicketRow | None:
        row = self._conn.execute(f"SELECT {_TICKET} FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        return _ticket(row) if row else None

    def agent_rows(self) -> list[AgentRow]:
        rows = self._conn.execute("SELECT id, presence, max_concurrent, updated_at FROM agents ORDER BY id")
        return [AgentRow(*row) for row in rows]

    def events_after(self, last_id: int, kinds: Sequence[str], limit: int = 500) -> list[EventRecord]:
        """The feed an SSE client resumes from: ids only grow, so ``Last-Event-ID`` is exact."""
        marks = ", ".join("?" for _ in kinds)
        rows = self._conn.execute(f"SELECT {_EVENT} FROM events WHERE id > ? AND kind IN ({marks}) ORDER BY id "
                                  "LIMIT ?", (last_id, *kinds, limit))
        return [_event(row) for row in rows]

    # -- reading back --------------------------------------------------------------------------

    def transcript(self, session_id: str) -> list[TranscriptEntry]:
        rows = self._conn.execute(
            f"SELECT {_TRANSCRIPT} FROM transcript WHERE session_id = ? ORDER BY id", (session_id,))
        return [_transcript(row) for row in rows]

    def events(self, since: float | None = None, until: float | None = None,
               kinds: Sequence[str] | None = None) -> list[EventRecord]:
        """Events with ``since <= at < until`` of the given kinds, in the order they happened."""
        where, params = ["1 = 1"], []
        if since is not None:
            where.append("at >= ?")
            params.append(since)
        if until is not None:
            where.append("at < ?")
            params.append(until)
        if kinds is not None:
            where.append(f"kind IN ({', '.join('?' * len(kinds))})")
            params.extend(kinds)
        rows = self._conn.execute(f"SELECT {_EVENT} FROM events WHERE {' AND '.join(where)} ORDER BY at, id",
                                  params)
        return [_event(row) for row in rows]

    def checkpoint_in_background(self, interval: float = 0.25) -> Callable[[], None]:
        """Copy the WAL back into the database on a thread of its own; returns how to stop it.

        Left to the writer, that copy happens inside whichever commit fills the WAL, and stalls
        the event loop for milliseconds. SQLite releases the GIL while it copies, so a thread
        does it on another core. The writer keeps checkpointing itself once the WAL holds
        ``_WRITER_CHECKPOINT_BYTES``: usually those pages are already copied, so that is cheap,
        and it bounds the file should the thread fall behind or stop. Every quarter second rather
        than continuously: the pages every batch rewrites (the users' and sessions' index leaves)
        are then copied once per interval, not once per batch, and the WAL stays far below that
        threshold.
        """
        path = self._conn.execute("PRAGMA database_list").fetchone()[2]
        if not path:
            return lambda: None
        page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
        self._conn.execute(f"PRAGMA wal_autocheckpoint = {_WRITER_CHECKPOINT_BYTES // page_size}")
        stop = threading.Event()
        thread = threading.Thread(target=_checkpoint_until, args=(path, interval, stop), name="triage-checkpoint",
                                  daemon=True)
        thread.start()

        def stopper() -> None:
            stop.set()
            thread.join()

        return stopper

    def close(self) -> None:
        self._conn.close()

    # -- privacy: a user's data out, personal data erased (issue 6) ----------------------------

    def events_of(self, user_key: str) -> list[EventRecord]:
        rows = self._conn.execute(f"SELECT {_EVENT} FROM events WHERE user_key = ? ORDER BY at, id", (user_key,))
        return [_event(row) for row in rows]

    def inbox_of(self, user_key: str) -> list[InboxItem]:
        rows = self._conn.execute(f"SELECT {_INBOX} FROM inbox WHERE user_key = ? ORDER BY id", (user_key,))
        return [_inbox(row) for row in rows]

    def tickets_of(self, user_key: str) -> list[TicketRow]:
        rows = self._conn.execute(f"SELECT {_TICKET} FROM tickets WHERE user_key = ? ORDER BY created_at, id",
                                  (user_key,))
        return [_ticket(row) for row in rows]

    def erase(self, what: Erasure, scrub: Scrubbers, now: float, dry_run: bool = False) -> Erased:
        """Delete what only serves one person (transcripts, inbox payloads, sent outbox rows, the
        user row) and strip the person from what feeds reports (sessions, events), in one
        transaction. Stripped rows lose their user key (events: NULL, sessions: '', which no
        webhook can carry), so they are never selected again: running it twice changes nothing.
        ``dry_run`` counts the same rows and writes nothing.
        """
        scopes = _erasure_scopes(what)
        if dry_run:
            return Erased(**{table: self._conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}",
                                                       params).fetchone()[0]
                             for table, (where, params) in scopes.items()})
        with self._write() as conn:
            deleted = {table: conn.execute(f"DELETE FROM {table} WHERE {where}", params).rowcount
                       for table, (where, params) in scopes.items() if table in _ERASED_TABLES}
            sessions = [_session(row) for row in conn.execute(
                f"SELECT {_SESSION} FROM sessions WHERE {scopes['sessions'][0]}", scopes["sessions"][1])]
            conn.executemany(
                "UPDATE sessions SET user_key = '', state = ?, reference = ?, status = 'ended', "
                "ended_at = COALESCE(ended_at, ?), end_reason = COALESCE(end_reason, 'forgotten') WHERE id = ?",
                [(_dump(scrub.state(s.state)), _dump(scrub.reference(s.reference)), now, s.id) for s in sessions])
            events = [_event(row) for row in conn.execute(
                f"SELECT {_EVENT} FROM events WHERE {scopes['events'][0]}", scopes["events"][1])]
            conn.executemany("UPDATE events SET user_key = NULL, data = ? WHERE id = ?",
                             [(_dump(scrub.event(e.kind, e.data)), e.id) for e in events])
        self._recent.forget()
        return Erased(**deleted, sessions=len(sessions), events=len(events))


_WRITER_CHECKPOINT_BYTES = 16 * 1024 * 1024
"""SQLite's default (1,000 pages) would have the writer copy most pages itself."""


def _checkpoint_until(path: str, interval: float, stop: threading.Event) -> None:
    """A ``PASSIVE`` checkpoint never waits for or blocks the writer. On an error the thread
    ends with a log line: the writer's own checkpoints carry on without it."""
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error:
        log.exception("%s: cannot open a connection for background checkpoints", path)
        return
    try:
        while not stop.wait(interval):
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:
        log.exception("%s: background checkpoints stopped; the writer checkpoints alone", path)
    finally:
        conn.close()


# ---- privacy: what to erase, how to strip it, what was done (issue 6) ----------------------


@dataclass(frozen=True)
class Erasure:
    """Whose personal data to erase: everything older than ``before`` (the retention purge),
    or everything of one ``user_key`` (a deletion request). Build it with the class methods."""

    before: float | None = None
    user_key: str | None = None

    @classmethod
    def older_than(cls, cutoff: float) -> Erasure:
        return cls(before=cutoff)

    @classmethod
    def of_user(cls, user_key: str) -> Erasure:
        """An empty key would select every row already stripped of its user, so it is refused."""
        if not user_key:
            raise ValueError("a user key is needed")
        return cls(user_key=user_key)


@dataclass(frozen=True)
class Scrubbers:
    """The privacy rules the store applies to rows it keeps: it knows the columns, the caller
    knows which values are personal."""

    state: Callable[[dict[str, Any]], dict[str, Any]]
    reference: Callable[[dict[str, Any]], dict[str, Any]]
    event: Callable[[str, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Erased:
    """Rows deleted (transcript, inbox, outbox, tickets, users) and rows stripped of personal
    data (sessions, events) by one ``erase``, or that a dry run would touch."""

    transcript: int = 0
    inbox: int = 0
    outbox: int = 0
    tickets: int = 0
    users: int = 0
    sessions: int = 0
    events: int = 0

    @property
    def total(self) -> int:
        return sum(vars(self).values())


_ERASED_TABLES = ("transcript", "inbox", "outbox", "tickets", "users")
"""Rows that only serve one person and are deleted; sessions and events are kept, stripped."""


def _erasure_scopes(what: Erasure) -> dict[str, tuple[str, tuple[Any, ...]]]:
    """Table -> the WHERE clause (and its parameters) selecting what ``what`` erases there.

    Deletion comes first and sessions last, so a user's transcript is still found through
    the sessions that carry their key. Unprocessed inbox rows, unsent outbox rows and open
    tickets are work in progress, never old enough for the retention purge; a deletion request
    removes them too (handoff tickets hold the agent packet: summary, variables, reference).
    """
    if what.user_key is not None:
        key = (what.user_key,)
        return {"transcript": ("session_id IN (SELECT id FROM sessions WHERE user_key = ?)", key),
                "inbox": ("user_key = ? AND processed_at IS NOT NULL", key),
                "outbox": ("user_key = ?", key),
                "tickets": ("user_key = ?", key),
                "users": ("user_key = ?", key),
                "sessions": ("user_key = ?", key),
                "events": ("user_key = ?", key)}
    if what.before is None:
        raise ValueError("an erasure needs a cutoff or a user key")
    cutoff = (what.before,)
    return {"transcript": ("at < ?", cutoff),
            "inbox": ("received_at < ? AND processed_at IS NOT NULL", cutoff),
            "outbox": ("created_at < ? AND status != 'pending'", cutoff),
            "tickets": ("updated_at < ? AND status = 'closed'", cutoff),
            "users": ("last_seen < ?", cutoff),
            "sessions": ("status = 'ended' AND ended_at < ? AND user_key != ''", cutoff),
            "events": ("at < ? AND user_key IS NOT NULL", cutoff)}
