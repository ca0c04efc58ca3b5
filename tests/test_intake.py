"""Group commit: webhooks of the same moment are stored in one transaction, each answered after it."""

from __future__ import annotations

import asyncio

import pytest

from triage.dispatcher import Dispatcher
from triage.intake import Intake
from triage.store import Inbound, InboxItem, StoreError, open_store


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "triage.db") as store:
        yield store


class Spy:
    """``accept_many`` on a real store, counting transactions; ``submit`` collects what was handed on."""

    def __init__(self, store):
        self.store = store
        self.calls: list[int] = []
        self.submitted: list[InboxItem] = []

    def accept_many(self, events):
        self.calls.append(len(events))
        ids = self.store.accept_inbound_many(events, 1.0)
        return [None if i is None else InboxItem(i, e.user_key, e.kind, e.dedupe_key, e.payload, 1.0)
                for i, e in zip(ids, events)]


def event(n: int) -> Inbound:
    return Inbound(f"user{n % 3}", "message", f"msg:{n}", {"text": f"안녕 {n}"})


async def test_webhooks_of_one_loop_turn_share_one_transaction_and_each_gets_its_row(store):
    spy = Spy(store)
    intake = Intake(spy.accept_many, spy.submitted.append)

    items = await asyncio.gather(*(intake.accept(event(n)) for n in range(20)))

    assert spy.calls == [20]
    assert [item.dedupe_key for item in items] == [f"msg:{n}" for n in range(20)]
    assert spy.submitted == items
    assert len(store.pending_inbound()) == 20


async def test_a_duplicate_is_answered_none_and_not_handed_on(store):
    spy = Spy(store)
    intake = Intake(spy.accept_many, spy.submitted.append)
    first = await intake.accept(event(1))

    again, twin_a, twin_b = await asyncio.gather(intake.accept(event(1)), intake.accept(event(2)),
                                                 intake.accept(event(2)))

    assert again is None and twin_b is None
    assert spy.submitted == [first, twin_a]


async def test_a_quiet_server_stores_each_webhook_at_once(store):
    spy = Spy(store)
    intake = Intake(spy.accept_many, spy.submitted.append)
    for n in range(3):
        await intake.accept(event(n))

    assert spy.calls == [1, 1, 1]


async def test_a_storage_failure_reaches_every_waiting_webhook_and_nothing_is_handed_on(store):
    submitted = []

    def broken(events):
        raise StoreError("disk full")

    intake = Intake(broken, submitted.append)
    results = await asyncio.gather(intake.accept(event(1)), intake.accept(event(2)), return_exceptions=True)

    assert [type(r) for r in results] == [StoreError, StoreError]
    assert submitted == []


async def test_webhooks_waiting_for_their_answer_are_stored_before_the_next_batch_and_join_it(store):
    """Under load the acknowledgements go first: a batch due in the same turn waits for them."""
    happened: list[tuple[str, list]] = []

    class Processor:
        def opens_session(self, item):
            return False

        def process_batch(self, items):
            happened.append(("batch", [item.dedupe_key for item in items]))

    def accept_many(events):
        happened.append(("stored", [e.dedupe_key for e in events]))
        return Spy(store).accept_many(events)

    dispatcher = Dispatcher(Processor(), reference_grace=0)
    intake = Intake(accept_many, dispatcher.submit)
    dispatcher.before_batch = intake.flush
    answers = [asyncio.create_task(intake.accept(event(n))) for n in range(3)]
    dispatcher.submit(InboxItem(99, "earlier", "message", "msg:earlier", {}, 0.0))  # its batch is due first

    await asyncio.gather(*answers)
    await dispatcher.idle(2)

    assert happened == [("stored", ["msg:0", "msg:1", "msg:2"]),
                        ("batch", ["msg:earlier", "msg:0", "msg:1", "msg:2"])]
