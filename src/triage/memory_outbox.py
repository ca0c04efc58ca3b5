"""The deliverer's outbox: the rows its server handed over, held in memory.

``OutboxWorker`` runs unchanged over this object; it implements exactly the store methods the
worker calls. Each write changes memory at once (so the user's next row may go) and is
forwarded to the server, the database's only writer, as one line. Nothing here needs to
survive the process: the server resends every pending row to the next deliverer.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from triage.delivery_wire import report_line
from triage.store import OutboxItem


def _due(item: OutboxItem) -> tuple[float, int]:
    return item.next_attempt_at, item.id


def _id(item: OutboxItem) -> int:
    return item.id


class MemoryOutbox:
    """Pending rows per user in id order; only a user's first row is ever due, as in the database."""

    def __init__(self, forward: Callable[[bytes], None]):
        self._forward = forward
        self._rows: dict[str, list[OutboxItem]] = {}
        self._user_of: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._user_of)

    def add(self, item: OutboxItem) -> None:
        """A row already held is kept as it is: its attempts here are newer than the server's copy."""
        if item.id in self._user_of:
            return
        bisect.insort(self._rows.setdefault(item.user_key, []), item, key=_id)
        self._user_of[item.id] = item.user_key

    def due_outbox(self, now: float, limit: int = 100) -> list[OutboxItem]:
        heads = (rows[0] for rows in self._rows.values() if rows[0].next_attempt_at <= now)
        return heapq.nsmallest(limit, heads, key=_due)

    def outbox_delivered(self, item_id: int, response: dict[str, Any] | None, now: float) -> None:
        self._remove(item_id)
        self._forward(report_line("delivered", item_id=item_id, response=response, now=now))

    def outbox_retry(self, item_id: int, next_attempt_at: float, error: str) -> None:
        rows = self._rows.get(self._user_of.get(item_id, ""), [])
        for i, row in enumerate(rows):
            if row.id == item_id:
                rows[i] = replace(row, attempts=row.attempts + 1, next_attempt_at=next_attempt_at, last_error=error)
        self._forward(report_line("retry", item_id=item_id, next_attempt_at=next_attempt_at, error=error))

    def outbox_failed(self, item_id: int, error: str, now: float) -> None:
        self._remove(item_id)
        self._forward(report_line("failed", item_id=item_id, error=error, now=now))

    def drop_pending_outbox(self, user_key: str, reason: str, now: float, session_id: str | None = None) -> int:
        kept: list[OutboxItem] = []
        held = len(self._user_of)
        for row in self._rows.pop(user_key, []):
            if session_id is None or row.session_id == session_id:
                del self._user_of[row.id]
            else:
                kept.append(row)
        if kept:
            self._rows[user_key] = kept
        self._forward(report_line("drop", user_key=user_key, reason=reason, now=now, session_id=session_id))
        return held - len(self._user_of)

    def discard(self, ids: Iterable[int]) -> None:
        """Forget rows the database no longer has (a ``triage forget``), telling nobody: the server
        already knows. A row whose call is in flight still reports its outcome, which then matches
        no row."""
        for item_id in ids:
            self._remove(item_id)

    def _remove(self, item_id: int) -> None:
        user_key = self._user_of.pop(item_id, None)
        if user_key is None:
            return
        rows = [row for row in self._rows[user_key] if row.id != item_id]
        if rows:
            self._rows[user_key] = rows
        else:
            del self._rows[user_key]
