"""``GET /api/v1/events``: the handoff events as Server-Sent Events, read from the events table.

The table's autoincrement id is the SSE ``id:``, so a desk that reconnects with
``Last-Event-ID`` gets exactly the events it missed, even across a server restart. Nothing
is kept in memory but a wake-up signal: the runtime pulses ``Feed`` after every commit.
A comment line every ``heartbeat`` seconds keeps proxies from closing an idle stream.
A desk closing its tab is the normal way a stream ends, so a write to a closed connection
ends the stream quietly instead of reaching aiohttp as an error. The token is asked about again
on every pass, so a stream opened with a token since removed from triage.yaml ends at its next
event or heartbeat instead of outliving the agent.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Callable

from aiohttp import web

from triage.handoff.webhooks import EVENT_KINDS
from triage.store import EventRecord, Store

log = logging.getLogger("triage.handoff.events")


class Feed:
    """Wakes every open stream when something was committed."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()
        self.closed = False

    def notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def close(self) -> None:
        """Server shutdown waits for every open request, and a stream would only notice at its
        next heartbeat; closing ends them all at once."""
        self.closed = True
        self.notify()

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            pass


def frame(event: EventRecord) -> bytes:
    data = {"id": event.id, "kind": event.kind, "session_id": event.session_id, "user_key": event.user_key,
            "at": event.at, "data": event.data}
    return f"id: {event.id}\nevent: {event.kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def last_event_id(request: web.Request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.query.get("after") or "0"
    return int(raw) if raw.isdigit() else 0


def wanted(request: web.Request) -> tuple[tuple[str, ...], str | None]:
    """``?kinds=assigned,closed`` and ``?queue=general`` narrow the stream; unknown kinds are ignored."""
    asked = [k for k in request.query.get("kinds", "").split(",") if k in EVENT_KINDS]
    return tuple(asked) or EVENT_KINDS, request.query.get("queue") or None


async def stream(request: web.Request, store: Store, feed: Feed, heartbeat: Callable[[], float],
                 still_valid: Callable[[], bool]) -> web.StreamResponse:
    kinds, queue = wanted(request)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    try:
        await _send(response, store, feed, heartbeat, still_valid, kinds, queue, last_event_id(request))
    except ConnectionResetError:
        log.debug("event stream client went away (%s)", request.remote)
    if not feed.closed and not still_valid():
        log.info("event stream to %s ended: its token is no longer in triage.yaml", request.remote)
    return response


async def _send(response: web.StreamResponse, store: Store, feed: Feed, heartbeat: Callable[[], float],
                still_valid: Callable[[], bool], kinds: tuple[str, ...], queue: str | None, last: int) -> None:
    await response.write(b": triage events\n\n")
    while not feed.closed and still_valid():
        events = store.events_after(last, kinds)
        for event in events:
            last = event.id
            if queue is None or event.data.get("queue") == queue:
                await response.write(frame(event))
        if not events:
            await feed.wait(heartbeat())
            if not feed.closed and not store.events_after(last, kinds, limit=1):
                await response.write(b": heartbeat\n\n")
