"""The dispatcher's promises: per-user order, users batched together, a reference before its session."""

from __future__ import annotations

import asyncio
import time

import pytest

from triage.dispatcher import Dispatcher
from triage.store import InboxItem


class Recorder:
    """A processor that remembers each batch; a user 'has a session' once a reference or message went by."""

    def __init__(self, fail_on: int | None = None):
        self.batches: list[list[tuple[str, str, int]]] = []
        self.open: set[str] = set()
        self.fail_on = fail_on

    def opens_session(self, item: InboxItem) -> bool:
        return item.kind == "message" and item.user_key not in self.open

    def process_batch(self, items) -> None:
        items = list(items)
        self.batches.append([(i.user_key, i.kind, i.id) for i in items])
        self.open.update(i.user_key for i in items)
        if self.fail_on in (i.id for i in items):
            raise RuntimeError("boom")

    def order_of(self, user_key: str) -> list[int]:
        return [item_id for batch in self.batches for user, _, item_id in batch if user == user_key]


def item(item_id: int, user_key: str, kind: str = "message", session: str = "s1") -> InboxItem:
    return InboxItem(item_id, user_key, kind, f"{kind}:{item_id}", {"session_id": session}, 0.0)


async def test_each_users_events_go_in_order_one_per_batch_while_users_share_batches():
    recorder = Recorder()
    recorder.open.update({"a", "b"})
    dispatcher = Dispatcher(recorder, reference_grace=0)
    for n in range(1, 4):
        dispatcher.submit(item(n, "a"))
        dispatcher.submit(item(10 + n, "b"))
    await dispatcher.idle(2)

    assert recorder.order_of("a") == [1, 2, 3]
    assert recorder.order_of("b") == [11, 12, 13]
    assert all(sorted(user for user, _, _ in batch) == ["a", "b"] for batch in recorder.batches)


async def test_a_batch_holds_at_most_max_batch_users():
    recorder = Recorder()
    dispatcher = Dispatcher(recorder, reference_grace=0, max_batch=4)
    for n in range(10):
        dispatcher.submit(item(n, f"user{n}"))
    await dispatcher.idle(2)

    assert [len(batch) for batch in recorder.batches] == [4, 4, 2]


async def test_the_same_inbox_row_submitted_twice_is_processed_once():
    recorder = Recorder()
    dispatcher = Dispatcher(recorder, reference_grace=0)
    dispatcher.submit(item(1, "a"))
    dispatcher.submit(item(1, "a"))
    await dispatcher.idle(2)

    assert recorder.order_of("a") == [1]


@pytest.mark.parametrize("reference_after", [0.05, 0.0], ids=["arriving-during-the-wait", "already-queued"])
async def test_a_first_message_waits_for_its_reference_which_goes_first(reference_after):
    recorder = Recorder()
    dispatcher = Dispatcher(recorder, reference_grace=1.0)
    dispatcher.submit(item(1, "a"))
    if reference_after:
        await asyncio.sleep(reference_after)
        assert recorder.batches == []
    dispatcher.submit(item(2, "a", "reference"))
    await dispatcher.idle(0.5)

    assert recorder.order_of("a") == [2, 1]


async def test_a_reference_of_another_session_does_not_end_the_wait():
    recorder = Recorder()
    dispatcher = Dispatcher(recorder, reference_grace=0.2)
    dispatcher.submit(item(1, "a", session="s1"))
    dispatcher.submit(item(2, "a", "reference", session="s0"))
    await dispatcher.idle(1)

    assert recorder.order_of("a") == [1, 2]


async def test_without_a_reference_the_message_goes_after_the_grace_and_nobody_else_waits():
    recorder = Recorder()
    recorder.open.add("b")
    dispatcher = Dispatcher(recorder, reference_grace=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    dispatcher.submit(item(1, "a"))
    dispatcher.submit(item(2, "b"))
    await asyncio.sleep(0.05)
    assert recorder.order_of("b") == [2]
    await dispatcher.idle(1)

    assert recorder.order_of("a") == [1]
    assert loop.time() - started >= 0.3


async def test_a_failing_batch_is_logged_and_later_events_still_go(caplog):
    recorder = Recorder(fail_on=1)
    recorder.open.add("a")
    dispatcher = Dispatcher(recorder, reference_grace=0)
    dispatcher.submit(item(1, "a"))
    dispatcher.submit(item(2, "a"))
    await dispatcher.idle(2)

    assert recorder.order_of("a") == [1, 2]
    assert "stay pending" in caplog.text


async def test_after_close_nothing_more_is_processed():
    recorder = Recorder()
    dispatcher = Dispatcher(recorder, reference_grace=0.2)
    dispatcher.submit(item(1, "a"))
    await dispatcher.close()
    dispatcher.submit(item(2, "b"))
    await asyncio.sleep(0.3)

    assert recorder.batches == []
    with pytest.raises(asyncio.TimeoutError):
        await dispatcher.idle(0.05)


async def test_a_batch_stops_when_its_time_is_up_and_the_rest_go_next_turn():
    class Slow(Recorder):
        def process_batch(self, items) -> None:
            super().process_batch(item for item in items if time.sleep(0.004) is None)

    recorder = Slow()
    dispatcher = Dispatcher(recorder, reference_grace=0, batch_seconds=0.01)
    for n in range(6):
        dispatcher.submit(item(n, f"user{n}"))
    await dispatcher.idle(2)

    sizes = [len(batch) for batch in recorder.batches]
    assert sum(sizes) == 6 and max(sizes) <= 3  # each item takes at least 4 ms of the batch's 10
