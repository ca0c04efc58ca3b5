"""The server-deliverer socket: its messages survive the trip, garbage is refused, lines arrive whole."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import replace

import pytest

from triage.delivery_wire import (MAX_LINE, Channel, Gone, Report, gone_line, parse_from_server, parse_report,
                                  report_line, row_line)
from triage.store import OutboxItem

ROW = OutboxItem(7, "u1", "s1", "write", "sn-7", {"message": "배송 조회 \ud800", "serial_number": "sn-7"},
                 2, 1700000000.5, "pending", None, 1699999999.0)


def test_a_row_arrives_as_the_pending_row_it_was():
    line = row_line(ROW)

    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert parse_from_server(line) == ROW


def test_a_row_the_child_holds_has_no_last_error_whatever_the_server_knew():
    assert parse_from_server(row_line(replace(ROW, last_error="HTTP 500"))) == ROW


@pytest.mark.parametrize("kind, args", [
    ("delivered", {"item_id": 7, "response": {"code": "0"}, "now": 1.5}),
    ("delivered", {"item_id": 7, "response": None, "now": 2}),
    ("retry", {"item_id": 7, "next_attempt_at": 9.25, "error": "HTTP 503"}),
    ("failed", {"item_id": 7, "error": "no session: code -803", "now": 3.0}),
    ("drop", {"user_key": "u1", "reason": "dropped after row 7", "now": 3.0, "session_id": "s1"}),
    ("drop", {"user_key": "u1", "reason": "gone", "now": 3.0, "session_id": None}),
    ("closed", {"user_key": "u1", "session_id": "s1", "item_id": 7}),
])
def test_each_report_arrives_with_the_arguments_of_its_store_call(kind, args):
    assert parse_report(report_line(kind, **args)) == Report(kind, args)


@pytest.mark.parametrize("line, problem", [
    (b"not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
    (b'["delivered"]', "one key"),
    (b'{"delivered": {}, "failed": {}}', "one key"),
    (b'{"explode": {}}', 'unknown message "explode"'),
    (b'{"row": {"id": 1}}', 'unknown message "row"'),
    (b'{"delivered": {"item_id": 1, "response": null}}', "expected the fields"),
    (b'{"delivered": {"item_id": 1, "response": null, "now": 1, "more": 2}}', "expected the fields"),
    (b'{"delivered": {"item_id": "1", "response": null, "now": 1}}', "item_id is not int"),
    (b'{"delivered": {"item_id": true, "response": null, "now": 1}}', "item_id is not int"),
    (b'{"retry": {"item_id": 1, "next_attempt_at": NaN, "error": "x"}}', "next_attempt_at is not"),
    (b'{"retry": {"item_id": 1, "next_attempt_at": Infinity, "error": "x"}}', "next_attempt_at is not"),
    (b'{"drop": {"user_key": ["u1"], "reason": "x", "now": 1, "session_id": null}}', "user_key is not str"),
    (b'{"delivered": []}', "expected the fields"),
])
def test_a_malformed_report_is_a_value_error_that_says_what_is_wrong(line, problem):
    with pytest.raises(ValueError, match=problem.replace("[", r"\[")):
        parse_report(line)


def test_a_malformed_row_is_a_value_error():
    with pytest.raises(ValueError, match="body is not dict"):
        parse_from_server(json.dumps({"row": {**json.loads(row_line(ROW))["row"], "body": ["x"]}}).encode())
    with pytest.raises(ValueError, match='unknown message "delivered"'):
        parse_from_server(report_line("delivered", item_id=1, response=None, now=1))


def test_the_rows_a_forget_erased_arrive_as_their_ids():
    line = gone_line({9, 3, 7})

    assert line == b'{"gone":{"ids":[3,7,9]}}\n'
    assert parse_from_server(line) == Gone((3, 7, 9))


@pytest.mark.parametrize("line", [b'{"gone": {"ids": ["3"]}}', b'{"gone": {"ids": [true]}}', b'{"gone": {"ids": 3}}',
                                  b'{"gone": {}}', b'{"gone": {"ids": [], "more": 1}}', b'{"gone": [3]}'])
def test_a_malformed_gone_is_a_value_error(line):
    with pytest.raises(ValueError, match="gone: expected the field ids"):
        parse_from_server(line)


class Heard:
    def __init__(self) -> None:
        self.reads: list[list[bytes]] = []
        self.ended = asyncio.Event()

    def channel(self) -> Channel:
        return Channel(self.reads.append, on_end=self.ended.set)


async def pair() -> tuple[Channel, Heard, Channel, Heard]:
    ours, theirs = socket.socketpair()
    left, right = Heard(), Heard()
    a, b = left.channel(), right.channel()
    await a.connect(ours)
    await b.connect(theirs)
    return a, left, b, right


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0.01)


async def test_every_complete_line_of_one_read_is_handed_over_at_once_and_a_split_line_when_whole():
    a, _, b, heard = await pair()

    a.send(b"one\ntwo\nthr")
    await settle()
    a.send(b"ee\n")
    await settle()

    assert heard.reads == [[b"one", b"two"], [b"three"]]
    await a.close()
    await b.close()


async def test_what_is_sent_in_one_loop_turn_goes_in_one_write():
    a, _, b, heard = await pair()

    for report in (b"delivered 1\n", b"delivered 2\n", b"retry 3\n"):
        a.send(report)
    await settle()

    assert heard.reads == [[b"delivered 1", b"delivered 2", b"retry 3"]]
    await a.close()
    await b.close()


async def test_a_line_too_long_is_dropped_and_the_next_one_still_arrives():
    a, _, b, heard = await pair()

    a.send(b"x" * (MAX_LINE + 10))
    await settle()
    a.send(b"x" * 100 + b"\nnext\n")
    await asyncio.wait_for(_until(lambda: heard.reads), 5)

    assert heard.reads == [[b"next"]]
    await a.close()
    await b.close()


async def test_finishing_ends_the_other_sides_input_but_it_can_still_answer():
    a, left, b, right = await pair()

    a.finish()
    await asyncio.wait_for(right.ended.wait(), 1)
    b.send(b"last report\n")
    await b.end_of_input(1)
    await b.close()
    await a.end_of_input(1)

    assert left.reads == [[b"last report"]] and left.ended.is_set()
    a.send(b"to nobody\n")  # the other side is gone: dropped, not raised
    await a.close()


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.01)
