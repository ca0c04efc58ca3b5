"""Where delivery runs: `triage serve` with its `triage deliver` child, or inline, against `triage sim`."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Iterator

import pytest

from triage.kakao.sim_client import inject_fault

from .conftest import Stack, has, make_stack, until, user


@pytest.fixture(params=["process", "inline"])
def quiet_stack(request, tmp_path) -> Iterator[Stack]:
    """A simulator that does not call /expired_session: the server learns of a left user only by writing."""
    yield from make_stack(tmp_path, "--no-expired-callback", delivery=request.param)


async def test_the_server_delivers_from_one_child_process(own_stack, http):
    customer = user(http, own_stack, "e2e-child")
    await customer.consult()

    await customer.wait_for(has("무엇을 도와드릴까요"))
    [child] = own_stack.deliverers()
    assert "delivering from a child process" in _banner(own_stack)

    own_stack.server.terminate()

    assert own_stack.server.wait(10) == 0
    assert not Path(f"/proc/{child}").exists(), "the server's shutdown ends its deliverer"


async def test_a_killed_deliverer_is_replaced_and_delivery_goes_on(own_stack, http):
    customer = user(http, own_stack, "e2e-respawn")
    await customer.consult()
    await customer.wait_for(has("무엇을 도와드릴까요"))
    [first] = own_stack.deliverers()

    os.kill(first, signal.SIGKILL)
    await until(lambda: own_stack.deliverers() not in ([], [first]), timeout=10)
    await customer.say("주문/배송")

    await customer.wait_for(has("주문·배송 문의를 도와드릴게요"), timeout=10)
    assert own_stack.server.poll() is None


async def test_no_session_from_kakao_closes_the_local_conversation(quiet_stack, http):
    customer = user(http, quiet_stack, "e2e-gone")
    await customer.consult()
    await customer.wait_for(has("무엇을 도와드릴까요"))
    await inject_fault(http, quiet_stack.sim_url, "write", 503, 10_000)
    await customer.say("주문/배송")
    await until(lambda: quiet_stack.query(
        "SELECT count(*) FROM outbox WHERE user_key = ? AND status = 'pending' AND attempts > 0", "e2e-gone")[0][0])

    await customer.leave()
    await inject_fault(http, quiet_stack.sim_url, "write", 503, 0)

    await until(lambda: quiet_stack.query(
        "SELECT status, end_reason FROM sessions WHERE user_key = ?", "e2e-gone") == [("ended", "no_session")],
        timeout=15)
    assert quiet_stack.query("SELECT kind, processed_at IS NOT NULL FROM inbox WHERE user_key = ? AND kind = 'closed'",
                             "e2e-gone") == [("closed", 1)]


def _banner(stack: Stack) -> str:
    """The first lines the server printed (read only after it is up, so they are there)."""
    deadline = time.monotonic() + 5
    lines = []
    while len(lines) < 3 and time.monotonic() < deadline:
        lines.append(stack.server.stdout.readline())
    return "".join(lines)
