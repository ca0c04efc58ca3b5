"""Delivering the outbox: the wiring both ``triage serve --delivery inline`` and ``triage deliver`` use.

Delivery can run in the server's own event loop or in a process of its own (``triage deliver``),
which puts the outbound HTTP work on the machine's other core. Either way the rows come from the
same SQLite file, so the database is the only hand-off that matters; the socket between the
server and its deliverer carries nothing but one-byte nudges, so losing one costs at most the
worker's poll interval.

Exactly one deliverer may work a database at a time: a second one sending the same rows would
not double them (serials are reused) but would break the order per user. The lock is an
``fcntl.flock`` on a file beside the database, which the kernel releases however its holder
dies, so a deliverer orphaned by a ``kill -9`` of its server finishes its calls in flight,
records them and exits before the next one starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import aiohttp

from triage.handoff import webhooks as agent_webhooks
from triage.kakao.client import Delivery, KakaoClient, client_session
from triage.kakao.render import OutboundCall
from triage.outbox import Deliver, OutboxWorker, RetryPolicy
from triage.reload import ContentHolder
from triage.settings import Settings
from triage.store import InboxItem, OutboxItem, Store, open_store

log = logging.getLogger("triage.delivery")

WAKE = b"w"
"""Server to deliverer: a commit queued outbox rows."""
CLOSED = b"c"
"""Deliverer to server: 상담톡 said "no session" and a "closed" inbox row is waiting."""


class Outbound(Protocol):
    """What the server drives, whether the worker is in its loop or in a child process."""

    def wake(self) -> None: ...
    async def run(self) -> None: ...
    async def stop(self) -> None: ...


class WebhookSettings:
    """The ``webhooks:`` section, parsed again only when the content (and so triage.yaml) reloads."""

    def __init__(self, holder: ContentHolder):
        self._holder = holder
        self._seen: Settings | None = None
        self._config = agent_webhooks.WebhookConfig()

    def current(self) -> agent_webhooks.WebhookConfig:
        settings = self._holder.current.settings
        if settings is not self._seen:
            self._seen, self._config = settings, agent_webhooks.parse_webhooks(settings)[0]
        return self._config


def outbox_deliver(http: aiohttp.ClientSession, client: KakaoClient,
                   webhooks: Callable[[], agent_webhooks.WebhookConfig]) -> Deliver:
    """One attempt at any outbox row: agent webhooks are signed POSTs, everything else goes to 상담톡."""

    async def deliver(item: OutboxItem) -> Delivery:
        if item.kind == agent_webhooks.KIND:
            return await agent_webhooks.deliver(http, webhooks(), item)
        return await client.send(OutboundCall(item.kind, item.body))

    return deliver


def record_no_session(store: Store, item: OutboxItem, now: float) -> InboxItem | None:
    """Turn 상담톡's "no session" into a durable inbox row the runtime handles in turn with the
    user's other events; ``None`` when this row's answer was already recorded.

    An inbox row rather than a direct call, so the deliverer needs no runtime and a crash between
    the answer and the local close cannot lose the close.
    """
    kind, dedupe_key = "closed", f"closed:{item.id}"
    payload = {"session_id": item.session_id, "reason": "no_session"}
    item_id = store.accept_inbound(item.user_key, kind, dedupe_key, payload, now)
    return None if item_id is None else InboxItem(item_id, item.user_key, kind, dedupe_key, payload, now)


def lock_path(db: str) -> Path:
    return Path(f"{db}.deliver.lock")


@contextlib.contextmanager
def sole_deliverer(db: str) -> Iterator[None]:
    """Hold the database's delivery lock for the block, waiting (and saying so) while another holds it."""
    path = lock_path(db)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("another deliverer holds %s; waiting for it to finish its calls in flight", path)
            fcntl.flock(fd, fcntl.LOCK_EX)
            log.info("took over delivery for %s", db)
        yield
    finally:
        os.close(fd)


class Link:
    """One end of the server-deliverer socket: coalesced one-byte nudges out, nudges and EOF in.

    Each direction carries a single kind of byte, so a send that finds the buffer full can be
    dropped: the other side has unread bytes of the same meaning and will wake anyway. Sending
    never blocks the event loop.
    """

    def __init__(self, sock: socket.socket, nudge_byte: bytes, on_nudge: Callable[[], None],
                 on_eof: Callable[[], None]):
        sock.setblocking(False)
        self._sock = sock
        self._byte = nudge_byte
        self._on_nudge = on_nudge
        self._on_eof = on_eof
        self._queued = False
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._readable)

    def nudge(self) -> None:
        """At most one send per loop iteration, however many commits asked for one."""
        if not self._queued:
            self._queued = True
            self._loop.call_soon(self._send)

    def close(self) -> None:
        if self._sock.fileno() >= 0:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()

    def _send(self) -> None:
        self._queued = False
        if self._sock.fileno() < 0:
            return
        with contextlib.suppress(BlockingIOError, OSError):  # full: awake anyway; gone: its exit tells
            self._sock.send(self._byte)

    def _readable(self) -> None:
        try:
            data = self._sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._on_nudge()
        else:
            self.close()
            self._on_eof()


async def deliver_until_stopped(holder: ContentHolder, settings: Settings, channel: socket.socket | None,
                                reload_interval: float = 1.0) -> None:
    """The ``triage deliver`` process: deliver due rows until EOF on ``channel``, SIGTERM or SIGINT.

    Stopping means taking no new rows and finishing the calls in flight, so every attempt made
    is recorded before the lock passes to the next deliverer.
    """
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    store = open_store(settings.storage_path)
    http = client_session()
    client = KakaoClient(settings.kakao, http, sender_key=settings.channel.sender_key)
    link: Link | None = None

    def stop(why: str) -> None:
        if not stopping.is_set():
            log.info("deliverer stopping (%s): finishing the calls in flight", why)
            stopping.set()

    def no_session(item: OutboxItem) -> None:
        if record_no_session(store, item, time.time()) is not None and link is not None:
            link.nudge()

    worker = OutboxWorker(store, outbox_deliver(http, client, WebhookSettings(holder).current),
                          on_no_session=no_session, policy=RetryPolicy(max_attempts=settings.kakao.max_attempts))
    if channel is not None:
        link = Link(channel, CLOSED, on_nudge=worker.wake, on_eof=lambda: stop("the server is gone"))
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signal.Signals(signum).name)
    delivering = asyncio.create_task(worker.run())
    watching = asyncio.create_task(holder.watch(reload_interval))
    stopped = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait((delivering, stopped), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watching.cancel()
        stopped.cancel()
        await worker.stop()
        await asyncio.gather(watching, stopped, return_exceptions=True)
        if link is not None:
            link.close()
        await http.close()
        store.close()
    await delivering  # a worker that broke makes the process fail, so its supervisor starts another
