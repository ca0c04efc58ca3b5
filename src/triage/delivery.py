"""Delivering the outbox: the wiring both ``triage serve --delivery inline`` and ``triage deliver`` use.

Delivery can run in the server's own event loop or in a process of its own (``triage deliver``),
which puts the outbound HTTP work on the machine's other core. The child never opens the
database: two processes writing one SQLite file wait on each other's locks, so the server stays
the only writer. It sends the child each pending row over a socket (``delivery_wire``), the
child keeps them in memory (``memory_outbox``) and reports every outcome back for the server to
record (``outbox_feed``).

Exactly one deliverer may work a database at a time: a second one sending the same rows would
not double them (serials are reused) but would break the order per user. The lock is an
``fcntl.flock`` on a file beside the database, which the kernel releases however its holder
dies, so a deliverer orphaned by a ``kill -9`` of its server ends its calls in flight and exits
before the next one starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import aiohttp

from triage.handoff import webhooks as agent_webhooks
from triage.kakao.client import Delivery, KakaoClient, client_session
from triage.kakao.media import ImageUploads
from triage.kakao.render import OutboundCall
from triage.delivery_wire import Channel, Gone, parse_from_server, report_line
from triage.memory_outbox import MemoryOutbox
from triage.outbox import Deliver, OutboxWorker, RetryPolicy
from triage.reload import ContentHolder
from triage.settings import Settings
from triage.store import InboxItem, OutboxItem, Store

log = logging.getLogger("triage.delivery")


class Outbound(Protocol):
    """What the server drives, whether the worker is in its loop or in a child process."""

    def wake(self) -> None: ...
    async def run(self) -> None: ...
    async def stop(self) -> None: ...


class Sender(Protocol):
    """One attempt at one 상담톡 call: ``KakaoClient``, or ``ImageUploads`` in front of it."""

    async def send(self, call: OutboundCall) -> Delivery: ...


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


def outbox_deliver(http: aiohttp.ClientSession, client: Sender,
                   webhooks: Callable[[], agent_webhooks.WebhookConfig]) -> Deliver:
    """One attempt at any outbox row: agent webhooks are signed POSTs, everything else goes to 상담톡
    (through ``ImageUploads`` in both delivery modes, so content images reach Kakao as uploads)."""

    async def deliver(item: OutboxItem) -> Delivery:
        if item.kind == agent_webhooks.KIND:
            return await agent_webhooks.deliver(http, webhooks(), item)
        return await client.send(OutboundCall(item.kind, item.body))

    return deliver


def retry_policy(settings: Settings) -> RetryPolicy:
    """One policy for both delivery modes, so a reply's fate does not depend on ``--delivery``."""
    return RetryPolicy(retry_for=settings.kakao.retry_for)


def record_no_session(store: Store, user_key: str, session_id: str | None, outbox_id: int,
                      now: float) -> InboxItem | None:
    """Turn 상담톡's "no session" for outbox row ``outbox_id`` into a durable inbox row the runtime
    handles in turn with the user's other events; ``None`` when this row's answer was already recorded.

    An inbox row rather than a direct call, so delivery needs no runtime and a crash between
    the answer and the local close cannot lose the close.
    """
    kind, dedupe_key = "closed", f"closed:{outbox_id}"
    payload = {"session_id": session_id, "reason": "no_session"}
    item_id = store.accept_inbound(user_key, kind, dedupe_key, payload, now)
    return None if item_id is None else InboxItem(item_id, user_key, kind, dedupe_key, payload, now)


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


async def deliver_until_stopped(holder: ContentHolder, settings: Settings, channel: socket.socket,
                                reload_interval: float = 1.0) -> None:
    """The ``triage deliver`` process: deliver the rows the server sends until EOF, SIGTERM or SIGINT.

    Stopping means taking no new rows and giving the calls in flight one call's timeout to
    finish and be reported. A call cut short is harmless: its row is still pending in the
    database, and the next deliverer sends it again with the same serial number.
    """
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    http = client_session()
    client = KakaoClient(settings.kakao, http, sender_key=settings.channel.sender_key)

    def stop(why: str) -> None:
        if not stopping.is_set():
            log.info("deliverer stopping (%s): finishing the calls in flight", why)
            stopping.set()

    def take(lines: list[bytes]) -> None:
        if stopping.is_set():
            return
        for line in lines:
            try:
                message = parse_from_server(line)
            except ValueError as exc:
                log.error("the server sent a malformed line (%s); skipped", exc)
            else:
                if isinstance(message, Gone):
                    rows.discard(message.ids)
                else:
                    rows.add(message)
        worker.wake()

    def no_session(item: OutboxItem) -> None:
        link.send(report_line("closed", user_key=item.user_key, session_id=item.session_id, item_id=item.id))

    link = Channel(take, on_end=lambda: stop("the server is gone"))
    rows = MemoryOutbox(link.send)
    # the worker calls only the store methods MemoryOutbox has
    worker = OutboxWorker(rows, outbox_deliver(http, ImageUploads(client, holder.root),  # type: ignore[arg-type]
                                               WebhookSettings(holder).current),
                          on_no_session=no_session, policy=retry_policy(settings))
    await link.connect(channel)
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
        finishing = asyncio.create_task(worker.stop())
        if not (await asyncio.wait((finishing,), timeout=settings.kakao.timeout))[0]:
            log.warning("deliverer: calls still in flight after %.0fs; cancelling them", settings.kakao.timeout)
            delivering.cancel()
        await asyncio.gather(finishing, watching, stopped, return_exceptions=True)
        await link.close()
        await http.close()
    if not delivering.cancelled():
        await delivering  # a worker that broke makes the process fail, so its supervisor starts another
