"""Group commit for acknowledgements: webhooks that arrive together are stored together.

Kakao waits for each webhook's answer, and the answer may only go once the event is durable.
Under load many webhooks are parsed in the same turn of the event loop; storing each in its own
transaction would spend most of that turn on COMMITs. Each handler instead leaves its event
here and awaits it; at the end of the turn one transaction stores them all, the new ones go to
the dispatcher, and every handler gets its answer. A quiet server still stores each event at
once: the flush runs as soon as the loop has nothing else ready.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Sequence

from triage.store import Inbound, InboxItem

AcceptMany = Callable[[Sequence[Inbound]], list[InboxItem | None]]


class Intake:
    def __init__(self, accept_many: AcceptMany, submit: Callable[[InboxItem], None]):
        self._accept_many = accept_many
        self._submit = submit
        self._pending: list[tuple[Inbound, asyncio.Future[InboxItem | None]]] = []

    async def accept(self, event: Inbound) -> InboxItem | None:
        """The stored item, or None for a duplicate; raises what storing raised."""
        future: asyncio.Future[InboxItem | None] = asyncio.get_running_loop().create_future()
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self._pending.append((event, future))
        return await future

    def flush(self) -> None:
        """Store what is waiting now. The dispatcher calls this before each batch, so under load
        an acknowledgement never waits behind a batch of processing."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            items = self._accept_many([event for event, _ in pending])
        except Exception as exc:  # each waiting webhook answers with the failure; nothing was stored
            for _, future in pending:
                if not future.done():
                    future.set_exception(exc)
            return
        for item, (_, future) in zip(items, pending):
            if not future.done():
                future.set_result(item)
        for item in items:
            if item is not None:
                self._submit(item)  # after the answers: the webhooks go out before the work they started
