"""The server's side of the deliverer socket: pending rows out, the deliverer's store calls in.

The server is the only process that writes the database. Two writers on one SQLite file
collide, and each collision puts a process's event loop to sleep in SQLite's busy handler;
one writer never waits. So the deliverer child holds rows in memory and this feed does its
bookkeeping: it sends each pending row once and records what the child reports, a whole
read's worth of reports in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

from triage.delivery import record_no_session
from triage.delivery_wire import Channel, Report, gone_line, parse_report, row_line
from triage.store import InboxItem, Store, StoreError

log = logging.getLogger("triage.delivery")


class OutboxFeed:
    """Feeds one deliverer at a time (``attach``) and records its reports (``receive``).

    ``interval`` is the safety net for a commit that queued rows without waking the feed, and
    how often the rows the child may still hold are checked against the database: a
    ``triage forget`` run beside the server deletes a user's rows, and the child must then drop
    them unsent.
    Reports are recorded at most once per ``window``: under load they gather and share a
    transaction (which costs about as much as the outcome it records), while a report after a
    quiet spell is recorded at once. Recording late costs nothing but a resend with the same
    serial number should the server die in between.
    """

    def __init__(self, store: Store, on_closed: Callable[[InboxItem], None],
                 clock: Callable[[], float] = time.time, *, interval: float = 1.0, window: float = 0.01,
                 limit: int = 1000):
        self._store = store
        self._on_closed = on_closed
        self._clock = clock
        self._interval = interval
        self._window = window
        self._limit = limit
        self._channel: Channel | None = None
        self._after = 0
        self._held: set[int] = set()
        """Ids sent to the child and not yet reported delivered or failed."""
        self._scheduled = False
        self._tick: asyncio.TimerHandle | None = None
        self._reports: list[bytes] = []
        self._recording: asyncio.TimerHandle | None = None
        self._recorded = -math.inf

    def attach(self, channel: Channel) -> None:
        """A new deliverer starts with nothing in memory, so it is given every pending row."""
        self.detach()
        self._channel, self._after = channel, 0
        self._held.clear()
        self._every_interval()

    def detach(self) -> None:
        """Records what the deliverer reported before it went."""
        self.flush()
        self._channel = None
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    def wake(self) -> None:
        """Commits that queued rows within one loop turn cost one query and one write together."""
        if not self._scheduled and self._channel is not None:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._send)

    def receive(self, lines: list[bytes]) -> None:
        if self._recording is None:
            wait = max(0.0, self._recorded + self._window - time.monotonic())
            self._recording = asyncio.get_running_loop().call_later(wait, self.flush)
        self._reports += lines

    def flush(self) -> None:
        """Record the reports gathered so far in one transaction; "no session" rows go to the
        dispatcher after it."""
        if self._recording is not None:
            self._recording.cancel()
            self._recording = None
        lines, self._reports = self._reports, []
        if not lines:
            return
        self._recorded = time.monotonic()
        closed: list[InboxItem] = []
        try:
            with self._store.batch():
                for line in lines:
                    try:
                        item = self._record(parse_report(line))
                    except ValueError as exc:
                        log.error("the deliverer sent a malformed message (%s); skipped", exc)
                    except StoreError:
                        log.exception("cannot record a delivery outcome; the row stays pending")
                    else:
                        if item is not None:
                            closed.append(item)
        except StoreError:
            log.exception("cannot record %d delivery outcomes; the deliverer is given its pending rows again",
                          len(lines))
            self._after = 0
            self.wake()
            return
        for item in closed:
            self._on_closed(item)

    def _record(self, report: Report) -> InboxItem | None:
        store, args = self._store, report.args
        if report.kind in ("delivered", "failed"):
            self._held.discard(args["item_id"])
        if report.kind == "delivered":
            store.outbox_delivered(**args)
        elif report.kind == "retry":
            store.outbox_retry(**args)
        elif report.kind == "failed":
            store.outbox_failed(**args)
        elif report.kind == "drop":
            store.drop_pending_outbox(**args)
        else:
            return record_no_session(store, args["user_key"], args["session_id"], args["item_id"], self._clock())
        return None

    def _send(self) -> None:
        self._scheduled = False
        channel = self._channel
        try:
            while channel is not None:
                rows = self._store.pending_outbox(self._after, self._limit)
                if rows:
                    channel.send(b"".join(map(row_line, rows)))
                    self._after = rows[-1].id
                    self._held.update(row.id for row in rows)
                if len(rows) < self._limit:
                    return
        except StoreError:
            log.exception("cannot read pending outbox rows; trying again shortly")

    def _every_interval(self) -> None:
        self.wake()
        self._drop_gone()
        self._tick = asyncio.get_running_loop().call_later(self._interval, self._every_interval)

    def _drop_gone(self) -> None:
        if not self._held or self._channel is None:
            return
        try:
            gone = self._held - self._store.pending_among(self._held)
        except StoreError:
            log.exception("cannot check the deliverer's rows against the database; trying again shortly")
            return
        if gone:
            self._channel.send(gone_line(gone))
            self._held -= gone
