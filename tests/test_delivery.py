"""`triage deliver`: one deliverer per database, the socket to its server, and the real process."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from loopback import REPO, copy_site
from triage.handoff import webhooks as agent_webhooks
from triage.cli import main
from triage.delivery import CLOSED, WAKE, Link, lock_path, record_no_session, sole_deliverer
from triage.delivery_process import deliver_command, restart_delay
from triage.settings import Settings
from triage.store import Commit, NewOutbox, open_store

TRIAGE = str(Path(sys.executable).with_name("triage"))
FIXTURES = Path(__file__).parent / "fixtures"
GONE = {"code": -803, "message": "NoActiveSessionException"}


def write(serial: str, user_key: str = "u1", session_id: str = "s1") -> NewOutbox:
    return NewOutbox(user_key, session_id, "write", serial, {"serial_number": serial, "message": serial}, 0.0)


def enqueue(db: Path, *rows: NewOutbox) -> None:
    with open_store(db) as store:
        store.commit(Commit(at=time.time(), outbox=list(rows)))


def statuses(db: Path) -> dict[str, str]:
    with open_store(db) as store:
        return {row.serial: row.status for row in store.outbox_of("u1")}


# ---- one deliverer per database ----------------------------------------------------------------


def test_a_second_deliverer_waits_until_the_first_is_done(tmp_path, caplog):
    db = str(tmp_path / "triage.db")
    taken = threading.Event()
    caplog.set_level(logging.INFO, "triage.delivery")

    with sole_deliverer(db):
        waiter = threading.Thread(target=_take, args=(db, taken))
        waiter.start()
        assert not taken.wait(0.3), "the second deliverer ran while the first held the lock"
        assert "another deliverer holds" in caplog.text
    assert taken.wait(2.0)
    waiter.join()
    assert lock_path(db).exists()


def test_a_deliverer_killed_outright_leaves_the_lock_free(tmp_path):
    db = str(tmp_path / "triage.db")
    script = f"import time\nfrom triage.delivery import sole_deliverer\nwith sole_deliverer({db!r}):\n" \
             "    print('held', flush=True)\n    time.sleep(60)\n"
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"

    holder.kill()
    holder.wait()

    taken = threading.Event()
    threading.Thread(target=lambda: _take(db, taken), daemon=True).start()
    assert taken.wait(2.0)


def _take(db: str, taken: threading.Event) -> None:
    with sole_deliverer(db):
        taken.set()


# ---- the pieces in between -------------------------------------------------------------------


def test_a_no_session_answer_is_recorded_once_as_a_closed_inbox_row(tmp_path):
    db = tmp_path / "triage.db"
    enqueue(db, write("a1"))
    with open_store(db) as store:
        row = store.outbox_of("u1")[0]
        first = record_no_session(store, row, 100.0)
        again = record_no_session(store, row, 101.0)
        pending = store.pending_inbound()
    assert again is None
    assert first is not None and pending == [first]
    assert (first.kind, first.user_key, first.payload) == ("closed", "u1", {"session_id": "s1", "reason": "no_session"})


async def test_a_burst_of_nudges_costs_one_byte():
    ours, theirs = socket.socketpair()
    link = Link(ours, WAKE, on_nudge=lambda: None, on_eof=lambda: None)
    for _ in range(100):
        link.nudge()
    await asyncio.sleep(0.01)
    theirs.setblocking(False)
    assert theirs.recv(100) == WAKE
    link.close()
    theirs.close()


async def test_a_link_hears_nudges_and_the_end_of_the_other_side():
    ours, theirs = socket.socketpair()
    heard, ended = asyncio.Event(), asyncio.Event()
    link = Link(ours, WAKE, on_nudge=heard.set, on_eof=ended.set)
    theirs.send(CLOSED)
    await asyncio.wait_for(heard.wait(), 1.0)
    theirs.close()
    await asyncio.wait_for(ended.wait(), 1.0)
    link.close()


def test_a_child_that_keeps_dying_waits_longer_each_time_up_to_a_ceiling():
    assert [restart_delay(n) for n in (0, 1, 2, 3)] == [0.5, 0.5, 1.0, 2.0]
    assert restart_delay(30) == 30.0


def test_the_child_is_told_the_servers_effective_database_and_kakao_url():
    settings = Settings(root=Path("site"), storage_path="/data/t.db")
    command = deliver_command(Path("site"), settings, "WARNING")
    assert command[:4] == [sys.executable, "-m", "triage.cli", "deliver"]
    assert command[4:] == ["--root", "site", "--db", "/data/t.db", "--kakao-url", settings.kakao.base_url,
                           "--log-level", "WARNING"]


# ---- the real process against a stub 상담톡 ------------------------------------------------------


@pytest.fixture
async def kakao() -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback 상담톡 that records each write's serial and has no session for serials starting with "gone";
    it also takes agent webhooks at /hook, recording each as (timestamp, signature, body)."""
    seen: list = []

    async def chat_write(request: web.Request) -> web.Response:
        serial = (await request.json())["serial_number"]
        seen.append(serial)
        return web.json_response(GONE if serial.startswith("gone") else {"code": "0"})

    async def hook(request: web.Request) -> web.Response:
        seen.append((*agent_webhooks.headers_of(request.headers), await request.read()))
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/v1/chat/write", chat_write)
    app.router.add_post("/hook", hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/"), seen
    await server.close()


@contextmanager
def spawned(root: Path, db: Path, kakao_url: str) -> Iterator[tuple[subprocess.Popen, socket.socket]]:
    """``triage deliver`` as the installed script, with the server's end of its socket."""
    ours, theirs = socket.socketpair()
    process = subprocess.Popen([TRIAGE, "deliver", "--root", str(root), "--db", str(db), "--kakao-url", kakao_url,
                                "--channel-fd", str(theirs.fileno())], pass_fds=(theirs.fileno(),),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    theirs.close()
    try:
        yield process, ours
    finally:
        ours.close()
        if process.poll() is None:
            process.kill()
        process.wait()


@pytest.fixture
def deliverer(tmp_path, kakao) -> Iterator[tuple[subprocess.Popen, socket.socket, Path]]:
    db = tmp_path / "triage.db"
    enqueue(db, *(write(f"m{i}") for i in range(5)))
    with spawned(REPO, db, kakao[0]) as (process, channel):
        yield process, channel, db


async def until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        await asyncio.sleep(0.05)


async def test_the_deliverer_sends_pending_rows_in_order_and_stops_at_eof(deliverer, kakao):
    process, channel, db = deliverer
    await until(lambda: len(kakao[1]) == 5)

    channel.close()

    assert process.wait(10) == 0
    assert kakao[1] == [f"m{i}" for i in range(5)]
    assert set(statuses(db).values()) == {"delivered"}
    assert "the server is gone" in process.stdout.read()


async def test_the_deliverer_stops_cleanly_on_sigterm(deliverer, kakao):
    process, _, db = deliverer
    await until(lambda: len(kakao[1]) == 5)

    process.send_signal(signal.SIGTERM)

    assert process.wait(10) == 0
    assert "SIGTERM" in process.stdout.read()


async def test_no_session_becomes_a_closed_row_and_a_byte_to_the_server(deliverer, kakao):
    process, channel, db = deliverer
    await until(lambda: len(kakao[1]) == 5)
    enqueue(db, write("gone1", user_key="u2", session_id="s9"))
    channel.setblocking(False)
    await asyncio.get_running_loop().sock_sendall(channel, WAKE)

    assert await asyncio.wait_for(asyncio.get_running_loop().sock_recv(channel, 10), 10) == CLOSED
    assert kakao[1][-1] == "gone1"
    with open_store(db) as store:
        [closed] = store.pending_inbound()
    assert (closed.user_key, closed.kind, closed.payload) == ("u2", "closed", {"session_id": "s9", "reason": "no_session"})


def test_deliver_refuses_a_broken_site_with_its_problems(tmp_path, capsys):
    code = main(["deliver", "--root", str(FIXTURES / "broken_site"), "--db", str(tmp_path / "t.db")])

    out = capsys.readouterr().out
    assert code == 1
    assert "the content has errors" in out and "flows/main.yaml:8:" in out


def test_deliver_needs_a_database_file(capsys):
    assert main(["deliver", "--root", str(REPO), "--db", ":memory:"]) == 2
    assert ":memory:" in capsys.readouterr().out


def test_deliver_says_so_when_its_channel_is_not_a_socket(tmp_path, capsys):
    assert main(["deliver", "--root", str(REPO), "--db", str(tmp_path / "t.db"), "--channel-fd", "999"]) == 2
    assert "--channel-fd 999 is not an open socket" in capsys.readouterr().out


async def test_a_new_webhook_secret_in_triage_yaml_reaches_the_running_deliverer(tmp_path, kakao):
    url, seen = kakao
    old, new = "the-old-secret-0123456789", "the-new-secret-0123456789"
    root = copy_site(tmp_path / "site", {"webhooks": {"urls": [f"{url}/hook"], "secret": old}})
    db = tmp_path / "triage.db"
    enqueue(db, hook_row(url, "first"))
    with spawned(root, db, url) as (_, channel):
        await until(lambda: len(seen) == 1)
        settings = root / "triage.yaml"
        settings.write_text(settings.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
        await asyncio.sleep(2.0)  # the deliverer polls its files once a second
        enqueue(db, hook_row(url, "second"))
        await until(lambda: len(seen) == 2)

    (stamp1, signature1, body1), (stamp2, signature2, body2) = seen
    assert agent_webhooks.verify_signature(old, stamp1, body1, signature1)
    assert agent_webhooks.verify_signature(new, stamp2, body2, signature2)
    assert not agent_webhooks.verify_signature(old, stamp2, body2, signature2)


def hook_row(url: str, session_id: str) -> NewOutbox:
    event = {"kind": "closed", "session_id": session_id, "user_key": "u1", "at": time.time(), "data": {}}
    return NewOutbox("~webhook:0", session_id, agent_webhooks.KIND, None, {"url": f"{url}/hook", "event": event}, 0.0)
