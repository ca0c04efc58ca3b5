"""Where delivery runs: `triage serve` with its `triage deliver` child, or inline, against `triage sim`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from triage.kakao.sim_client import inject_fault

from .conftest import TRIAGE, Stack, greeted, has, make_stack, reply_stuck_in_retries, texts, until, user


@pytest.fixture(params=["process", "inline"])
def quiet_stack(request, tmp_path) -> Iterator[Stack]:
    """A simulator that does not call /expired_session: the server learns of a left user only by writing."""
    yield from make_stack(tmp_path, "--no-expired-callback", delivery=request.param)


async def test_the_server_delivers_from_one_child_process(own_stack, http):
    customer = user(http, own_stack, "e2e-child")
    await customer.consult()

    await customer.wait_for(has("무엇을 도와드릴까요"))
    [child] = own_stack.deliverers()
    assert "delivering from a child process (triage deliver)  ·  event loop uvloop" in _banner(own_stack)
    assert "uvloop/loop." in Path(f"/proc/{child}/maps").read_text(), "the deliverer runs on uvloop too"
    database = {f"{own_stack.db}{suffix}" for suffix in ("", "-wal", "-shm")}
    assert not database & set(_open_files(child)), "the deliverer never opens the database"

    own_stack.server.terminate()

    assert own_stack.server.wait(10) == 0
    assert not Path(f"/proc/{child}").exists(), "the server's shutdown ends its deliverer"


async def test_a_killed_deliverer_is_replaced_and_delivery_goes_on(own_stack, http):
    customer = await greeted(http, own_stack, "e2e-respawn")
    [first] = own_stack.deliverers()

    os.kill(first, signal.SIGKILL)
    await until(lambda: own_stack.deliverers() not in ([], [first]), timeout=10)
    await customer.say("주문/배송")

    await customer.wait_for(has("주문·배송 문의를 도와드릴게요"), timeout=10)
    assert own_stack.server.poll() is None


async def test_an_orphaned_deliverer_ends_before_the_new_one_resends_its_call_once(own_stack, http):
    customer = await greeted(http, own_stack, "e2e-orphan")
    [orphan] = own_stack.deliverers()
    await _latency(http, own_stack, 4.0)  # under the call timeout (5 s): the orphan outlives the restart
    await customer.say("주문/배송")
    await asyncio.sleep(0.5)  # the reply is on its way to 상담톡, in the deliverer's hands only

    own_stack.kill_server()
    await _latency(http, own_stack, 0.0)
    own_stack.start_server()

    got = await customer.wait_for(has("주문·배송 문의"), timeout=15)
    await until(lambda: not _alive(orphan), timeout=10)
    await asyncio.sleep(1.0)
    got += await customer.new_messages()
    assert texts(got).count("주문·배송 문의") == 1
    assert own_stack.query("SELECT count(*) FROM outbox WHERE status != 'delivered'") == [(0,)]
    own_stack.server.terminate()
    assert "another deliverer holds" in own_stack.server.stdout.read(), "the new deliverer waited for the orphan"


async def test_no_session_from_kakao_closes_the_local_conversation(quiet_stack, http):
    customer = await reply_stuck_in_retries(http, quiet_stack, "e2e-gone")

    await customer.leave()
    await inject_fault(http, quiet_stack.sim_url, "write", 503, 0)

    await until(lambda: quiet_stack.query(
        "SELECT status, end_reason FROM sessions WHERE user_key = ?", "e2e-gone") == [("ended", "no_session")],
        timeout=15)
    assert quiet_stack.query("SELECT kind, processed_at IS NOT NULL FROM inbox WHERE user_key = ? AND kind = 'closed'",
                             "e2e-gone") == [("closed", 1)]


async def test_a_reply_the_deliverer_holds_is_never_sent_once_its_customer_is_forgotten(own_stack, http):
    customer = await reply_stuck_in_retries(http, own_stack, "e2e-forgotten")

    forget = subprocess.run([TRIAGE, "forget", "--root", str(own_stack.root), "--db", str(own_stack.db),
                             "--user-key", "e2e-forgotten"], capture_output=True, text=True, timeout=60)
    assert forget.returncode == 0, forget.stderr
    await asyncio.sleep(2.5)  # the server checks the rows its deliverer holds once a second
    await inject_fault(http, own_stack.sim_url, "write", 503, 0)
    await customer.say("안녕하세요")  # still in 상담톡's session, but a stranger to the server now

    got = await customer.wait_for(has("무엇을 도와드릴까요"), timeout=15)
    await asyncio.sleep(1.0)
    got += await customer.new_messages()
    assert "주문·배송 문의" not in texts(got), "the erased reply would have gone out before the new welcome"


def _banner(stack: Stack) -> str:
    """The first lines the server printed (read only after it is up, so they are there)."""
    deadline = time.monotonic() + 5
    lines = []
    while len(lines) < 3 and time.monotonic() < deadline:
        lines.append(stack.server.stdout.readline())
    return "".join(lines)


def _open_files(pid: int) -> list[str]:
    fds = Path(f"/proc/{pid}/fd")
    return [os.readlink(fd) for fd in fds.iterdir()]


def _alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for init to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def _latency(http, stack: Stack, seconds: float) -> None:
    async with http.post(f"{stack.sim_url}/sim/faults", json={"latency": seconds}) as response:
        response.raise_for_status()
