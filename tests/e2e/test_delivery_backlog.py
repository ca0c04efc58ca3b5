"""Replies 상담톡 keeps refusing: the operator hears of it in the server's output and in /healthz."""

from __future__ import annotations

import json
import urllib.request
from typing import Iterator

import pytest

from .conftest import Stack, make_stack, reply_stuck_in_retries, until


@pytest.fixture(params=["process", "inline"])
def refusing_stack(request, tmp_path) -> Iterator[Stack]:
    yield from make_stack(tmp_path, delivery=request.param)


def health(stack: Stack) -> dict:
    with urllib.request.urlopen(f"{stack.server_url}/healthz", timeout=2) as response:
        return json.load(response)


async def test_replies_being_retried_are_warned_about_once_and_shown_as_a_backlog_in_healthz(refusing_stack, http):
    await reply_stuck_in_retries(http, refusing_stack, "e2e-backlog")
    await until(lambda: health(refusing_stack)["outbox"]["oldest_seconds"] >= 1)

    shown = health(refusing_stack)
    refusing_stack.stop()
    output = refusing_stack.server.stdout.read()

    assert shown["ok"] is True and shown["outbox"]["pending"] >= 1
    warnings = [line for line in output.splitlines() if "calls are being retried" in line]
    assert len(warnings) == 1, output
    assert " WARNING triage.outbox: outbox: calls are being retried, 1 time(s) for 1 user(s) since the last such " \
           "line; last error (row " in warnings[0]
    assert warnings[0].endswith(" for 'e2e-backlog'): HTTP 503 code -500 InjectedFaultException(write)")
