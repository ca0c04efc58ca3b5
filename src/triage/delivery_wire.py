"""The socket between ``triage serve`` and its ``triage deliver`` child: newline-delimited JSON.

The server is the database's only writer. It hands the child each pending outbox row once
(``{"row": {...}}``), which the child keeps in memory, and names the rows a ``triage forget``
has erased since (``{"gone": {...}}``), which the child drops unsent. The child answers with the
store call the outbox worker made (``{"delivered": {...}}``, ``retry``, ``failed``, ``drop``) or
with ``closed`` when 상담톡 had no session, and the server performs those calls in its own
transactions.

Both ends treat what arrives as untrusted: a line that does not parse is a ``ValueError`` the
reader logs and skips, never a crash of the process that read it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import NoneType
from typing import Any, cast

from triage.json_encoding import dumps_bytes, loads_ours
from triage.store import OutboxItem

log = logging.getLogger("triage.delivery")

MAX_LINE = 1024 * 1024
"""Far longer than any row or answer we write; a longer line is dropped, not buffered without end."""

_NUMBER = (int, float)
_ROW = {"id": (int,), "user_key": (str,), "session_id": (str, NoneType), "kind": (str,),
        "serial": (str, NoneType), "body": (dict,), "attempts": (int,), "next_attempt_at": _NUMBER,
        "created_at": _NUMBER}
REPORTS: dict[str, dict[str, tuple[type, ...]]] = {
    "delivered": {"item_id": (int,), "response": (dict, NoneType), "now": _NUMBER},
    "retry": {"item_id": (int,), "next_attempt_at": _NUMBER, "error": (str,)},
    "failed": {"item_id": (int,), "error": (str,), "now": _NUMBER},
    "drop": {"user_key": (str,), "reason": (str,), "now": _NUMBER, "session_id": (str, NoneType)},
    "closed": {"user_key": (str,), "session_id": (str, NoneType), "item_id": (int,)},
}
"""Child to server: each report's arguments, named as the store call (or ``record_no_session``) takes them."""


@dataclass(frozen=True)
class Report:
    kind: str
    args: dict[str, Any]


def row_line(item: OutboxItem) -> bytes:
    row = {"id": item.id, "user_key": item.user_key, "session_id": item.session_id, "kind": item.kind,
           "serial": item.serial, "body": item.body, "attempts": item.attempts,
           "next_attempt_at": item.next_attempt_at, "created_at": item.created_at}
    return b'{"row":' + dumps_bytes(row) + b'}\n'


def report_line(kind: str, **args: Any) -> bytes:
    return dumps_bytes({kind: args}) + b"\n"


def gone_line(ids: Iterable[int]) -> bytes:
    return dumps_bytes({"gone": {"ids": sorted(ids)}}) + b"\n"


@dataclass(frozen=True)
class Gone:
    """Rows the child may hold that are no longer pending: a ``triage forget`` erased them."""

    ids: tuple[int, ...]


def parse_from_server(line: bytes) -> OutboxItem | Gone:
    """A row as the child holds it (pending by definition, since the server sends no other), or
    the rows it must no longer send."""
    kind, value = _message(line, ("row", "gone"))
    if kind == "gone":
        ids = value.get("ids") if isinstance(value, dict) and value.keys() == {"ids"} else None
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ValueError("gone: expected the field ids, a list of integers")
        return Gone(tuple(ids))
    fields = _checked(value, _ROW, "row")
    return OutboxItem(fields["id"], fields["user_key"], fields["session_id"], fields["kind"], fields["serial"],
                      fields["body"], fields["attempts"], fields["next_attempt_at"], "pending", None,
                      fields["created_at"])


def parse_report(line: bytes) -> Report:
    kind, args = _message(line, REPORTS)
    return Report(kind, _checked(args, REPORTS[kind], kind))


def _message(line: bytes, kinds: Mapping[str, object] | tuple[str, ...]) -> tuple[str, Any]:
    try:
        data = loads_ours(line)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"not JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError("not an object with one key")
    [(kind, value)] = data.items()
    if kind not in kinds:
        raise ValueError(f'unknown message "{kind[:40]}"')
    return kind, value


def _checked(value: Any, schema: Mapping[str, tuple[type, ...]], what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or value.keys() != schema.keys():
        raise ValueError(f"{what}: expected the fields {', '.join(schema)}")
    for name, types in schema.items():
        field = value[name]
        if isinstance(field, bool) or not isinstance(field, types) or (
                isinstance(field, float) and not math.isfinite(field)):
            raise ValueError(f"{what}: {name} is not {' or '.join(t.__name__ for t in types)}")
    return value


class Channel(asyncio.Protocol):
    """One end of the socket: lines out without blocking the loop, each read's complete lines in.

    Handing over every complete line of one read at once is what lets the server record a
    burst of outcomes in one transaction. The end of input (``on_end``) leaves our sending side
    open, so a stopping child can still report the calls it finishes.
    """

    def __init__(self, on_lines: Callable[[list[bytes]], None], on_end: Callable[[], None]):
        self._on_lines = on_lines
        self._on_end = on_end
        self._partial = b""
        self._overlong = False
        self._transport: asyncio.Transport | None = None
        self._finished = False
        self._outgoing: list[bytes] = []
        self._lost = asyncio.Event()
        self._ended = asyncio.Event()

    async def connect(self, sock: socket.socket) -> None:
        await asyncio.get_running_loop().connect_accepted_socket(lambda: self, sock)

    def send(self, data: bytes) -> None:
        """Written at the end of the loop turn with whatever else was sent in it: one system call on
        each side, and one transaction for the server, however many calls settled together.
        Dropped once the other side is gone: it will be given everything again when it restarts."""
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._write)
        self._outgoing.append(data)

    def finish(self) -> None:
        """Send no more, and keep reading: the other side's answer to this is its last reports."""
        self._write()
        if self._writable():
            self._finished = True
            self._transport.write_eof()

    async def end_of_input(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until everything the other side sent has been handed over."""
        try:
            await asyncio.wait_for(self._ended.wait(), timeout)
        except TimeoutError:
            log.warning("delivery channel: no end of input within %.1fs", timeout)

    async def close(self, flush: float = 1.0) -> None:
        """Close after what is buffered is written, for at most ``flush`` seconds."""
        if self._transport is None:
            return
        self._write()
        self._transport.close()
        try:
            await asyncio.wait_for(self._lost.wait(), flush)
        except TimeoutError:
            self._transport.abort()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        lines = data.split(b"\n")
        lines[0] = self._partial + lines[0]
        self._partial = lines.pop()
        if self._overlong and lines:
            self._overlong = False
            lines.pop(0)
        if lines and len(lines[0]) > MAX_LINE:
            self._too_long()
            lines.pop(0)
        if len(self._partial) > MAX_LINE:
            self._too_long()
            self._partial, self._overlong = b"", True
        if lines:
            self._on_lines(lines)

    def eof_received(self) -> bool:
        self._end()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost.set()
        self._end()

    def _write(self) -> None:
        if self._outgoing and self._writable():
            self._transport.write(b"".join(self._outgoing))
        self._outgoing.clear()

    def _too_long(self) -> None:
        log.error("delivery channel: a line over %d bytes; dropped", MAX_LINE)

    def _writable(self) -> bool:
        return self._transport is not None and not self._transport.is_closing() and not self._finished

    def _end(self) -> None:
        if not self._ended.is_set():
            self._ended.set()
            self._on_end()
