"""`triage deliver`: one deliverer per database, and the real process fed rows over its socket."""

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
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from loopback import REPO, copy_site
from triage.handoff import webhooks as agent_webhooks
from triage.cli import main
from triage.delivery import lock_path, record_no_session, sole_deliverer
from triage.delivery_process import deliver_command, restart_delay
from triage.delivery_wire import Channel, Report, parse_report, row_line
from triage.settings import Settings
from triage.store import OutboxItem, open_store

TRIAGE = str(Path(sys.executable).with_name("triage"))
FIXTURES = Path(__file__).parent / "fixtures"
GONE = {"code": -803, "message": "NoActiveSessionException"}


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
    with open_store(tmp_path / "triage.db") as store:
        first = record_no_session(store, "u1", "s1", 7, 100.0)
        again = record_no_session(store, "u1", "s1", 7, 101.0)
        pending = store.pending_inbound()
    assert again is None
    assert first is not None and pending == [first]
    assert (first.kind, first.user_key, first.payload) == ("closed", "u1", {"session_id": "s1", "reason": "no_session"})


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
async def kakao() -> AsyncIterator[tuple[str, list]]:
    """A loopback 상담톡 that records each write's serial; it has no session for serials starting with "gone",
    is unavailable (503) for serials starting with "down" and holds serials starting with "slow" for a minute.
    It also takes agent webhooks at /hook, recording each as (timestamp, signature, body)."""
    seen: list = []

    async def chat_write(request: web.Request) -> web.Response:
        serial = (await request.json())["serial_number"]
        seen.append(serial)
        if serial.startswith("slow"):
            await asyncio.sleep(60)
        if serial.startswith("down"):
            return web.json_response({"code": "9999", "message": "SystemException"}, status=503)
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


class Server:
    """The server's end of a deliverer's socket: rows out, the deliverer's reports in."""

    def __init__(self) -> None:
        self.reports: list[Report] = []
        self.ended = asyncio.Event()
        self.channel = Channel(lambda lines: self.reports.extend(map(parse_report, lines)), self.ended.set)

    def send(self, *items: OutboxItem) -> None:
        self.channel.send(b"".join(map(row_line, items)))

    def kinds(self) -> list[tuple[str, object]]:
        return [(r.kind, r.args.get("item_id", r.args.get("user_key"))) for r in self.reports]


@asynccontextmanager
async def spawned(root: Path, db: Path, kakao_url: str) -> AsyncIterator[tuple[subprocess.Popen, Server]]:
    """``triage deliver`` as the installed script, with the server's end of its socket."""
    ours, theirs = socket.socketpair()
    process = subprocess.Popen([TRIAGE, "deliver", "--root", str(root), "--db", str(db), "--kakao-url", kakao_url,
                                "--channel-fd", str(theirs.fileno())], pass_fds=(theirs.fileno(),),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    theirs.close()
    server = Server()
    await server.channel.connect(ours)
    try:
        yield process, server
    finally:
        await server.channel.close()
        if process.poll() is None:
            process.kill()
        process.wait()


def row(item_id: int, serial: str, user_key: str = "u1", session_id: str = "s1",
        created_at: float = 0.0) -> OutboxItem:
    body = {"serial_number": serial, "message": serial}
    return OutboxItem(item_id, user_key, session_id, "write", serial, body, 0, 0.0, "pending", None, created_at)


async def until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        await asyncio.sleep(0.02)


async def exited(process: subprocess.Popen, timeout: float = 10.0) -> int:
    await until(lambda: process.poll() is not None, timeout)
    return process.returncode


async def test_the_deliverer_sends_the_rows_it_is_given_in_order_and_reports_each(tmp_path, kakao):
    async with spawned(REPO, tmp_path / "triage.db", kakao[0]) as (process, server):
        server.send(*(row(i, f"m{i}") for i in range(1, 6)))
        await until(lambda: len(server.reports) == 5)

        server.channel.finish()
        assert await exited(process) == 0

    assert kakao[1] == [f"m{i}" for i in range(1, 6)]
    assert [(r.kind, r.args["item_id"], r.args["response"]) for r in server.reports] == [
        ("delivered", i, {"code": "0"}) for i in range(1, 6)]
    assert "the server is gone" in process.stdout.read()
    assert not (tmp_path / "triage.db").exists(), "the deliverer never opens the database"


async def test_the_deliverer_stops_cleanly_on_sigterm(tmp_path, kakao):
    async with spawned(REPO, tmp_path / "triage.db", kakao[0]) as (process, server):
        server.send(row(1, "m1"))
        await until(lambda: len(server.reports) == 1)

        process.send_signal(signal.SIGTERM)

        assert await exited(process) == 0
        assert "SIGTERM" in process.stdout.read()


async def test_no_session_is_reported_as_the_store_calls_and_then_closed(tmp_path, kakao):
    async with spawned(REPO, tmp_path / "triage.db", kakao[0]) as (_, server):
        server.send(row(1, "gone1", "u2", "s9"), row(2, "never", "u2", "s9"), row(3, "m3"))
        await until(lambda: len(server.reports) == 4)

    failed, drop, closed, delivered = sorted(server.reports, key=lambda r: r.kind == "delivered")
    assert (failed.kind, failed.args["item_id"]) == ("failed", 1) and "no session" in failed.args["error"]
    assert (drop.kind, drop.args["user_key"], drop.args["session_id"]) == ("drop", "u2", "s9")
    assert closed == Report("closed", {"user_key": "u2", "session_id": "s9", "item_id": 1})
    assert (delivered.kind, delivered.args["item_id"]) == ("delivered", 3)
    assert "never" not in kakao[1]


async def test_the_deliverer_retries_for_retry_for_from_triage_yaml_counted_from_when_each_row_was_written(
        tmp_path, kakao):
    root = copy_site(tmp_path / "site", {"kakao": {"retry_for": 3600}})
    async with spawned(root, tmp_path / "triage.db", kakao[0]) as (_, server):
        server.send(row(1, "down-old", "u1", created_at=time.time() - 3601),
                    row(2, "down-new", "u2", created_at=time.time()))
        await until(lambda: {r.args["item_id"] for r in server.reports} == {1, 2})

    reports = {r.args["item_id"]: r for r in server.reports}
    assert reports[1].kind == "failed" and reports[1].args["error"].startswith("gave up after 1 attempts in 36")
    assert reports[2].kind == "retry" and "SystemException" in reports[2].args["error"]


async def test_a_malformed_row_is_skipped_and_the_next_one_delivered(tmp_path, kakao):
    async with spawned(REPO, tmp_path / "triage.db", kakao[0]) as (process, server):
        server.channel.send(b'{"row": {"id": "one"}}\n\xff\n')
        server.send(row(2, "m2"))
        await until(lambda: len(server.reports) == 1)
        server.channel.finish()
        assert await exited(process) == 0

    assert server.kinds() == [("delivered", 2)]
    assert process.stdout.read().count("the server sent a malformed line") == 2


async def test_a_deliverer_whose_server_is_gone_ends_its_calls_in_flight_after_one_call_timeout(tmp_path, kakao):
    root = copy_site(tmp_path / "site", {"kakao": {"timeout": 0.5}})
    async with spawned(root, tmp_path / "triage.db", kakao[0]) as (process, server):
        server.send(row(1, "slow1"))
        await until(lambda: kakao[1] == ["slow1"])
        started = time.monotonic()

        await server.channel.close()

        assert await exited(process) == 0
        assert time.monotonic() - started < 5.0
    assert server.reports == []


def test_deliver_refuses_a_broken_site_with_its_problems(tmp_path, capsys):
    with socket_fd() as fd:
        code = main(["deliver", "--root", str(FIXTURES / "broken_site"), "--db", str(tmp_path / "t.db"),
                     "--channel-fd", fd])

    out = capsys.readouterr().out
    assert code == 1
    assert "the content has errors" in out and "flows/main.yaml:8:" in out


def test_deliver_refuses_a_triage_yaml_that_still_sets_max_attempts_and_names_retry_for(tmp_path, capsys):
    root = copy_site(tmp_path / "site", {"kakao": {"max_attempts": 8}})
    with socket_fd() as fd:
        code = main(["deliver", "--root", str(root), "--db", str(tmp_path / "t.db"), "--channel-fd", fd])

    out = capsys.readouterr().out
    assert code == 1
    assert '"max_attempts" is no longer a setting' in out and '"retry_for"' in out and "Traceback" not in out


def test_deliver_needs_a_database_file(capsys):
    with socket_fd() as fd:
        assert main(["deliver", "--root", str(REPO), "--db", ":memory:", "--channel-fd", fd]) == 2
    assert ":memory:" in capsys.readouterr().out


def test_deliver_says_so_when_its_channel_is_not_a_socket(tmp_path, capsys):
    assert main(["deliver", "--root", str(REPO), "--db", str(tmp_path / "t.db"), "--channel-fd", "999"]) == 2
    assert "--channel-fd 999 is not an open socket" in capsys.readouterr().out


def test_deliver_is_started_by_serve_and_says_so_without_a_channel(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["deliver", "--root", str(REPO), "--db", str(tmp_path / "t.db")])
    assert stop.value.code == 2
    assert "--channel-fd" in capsys.readouterr().err


@contextmanager
def socket_fd() -> Iterator[str]:
    """A socket's descriptor handed to ``triage deliver``, which takes it over (and closes it)."""
    ours, theirs = socket.socketpair()
    try:
        yield str(theirs.detach())
    finally:
        ours.close()


async def test_a_new_webhook_secret_in_triage_yaml_reaches_the_running_deliverer(tmp_path, kakao):
    url, seen = kakao
    old, new = "the-old-secret-0123456789", "the-new-secret-0123456789"
    root = copy_site(tmp_path / "site", {"webhooks": {"urls": [f"{url}/hook"], "secret": old}})
    async with spawned(root, tmp_path / "triage.db", url) as (_, server):
        server.send(hook_row(1, url, "first"))
        await until(lambda: len(seen) == 1)
        settings = root / "triage.yaml"
        settings.write_text(settings.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
        await asyncio.sleep(2.0)  # the deliverer polls its files once a second
        server.send(hook_row(2, url, "second"))
        await until(lambda: len(seen) == 2)

    (stamp1, signature1, body1), (stamp2, signature2, body2) = seen
    assert agent_webhooks.verify_signature(old, stamp1, body1, signature1)
    assert agent_webhooks.verify_signature(new, stamp2, body2, signature2)
    assert not agent_webhooks.verify_signature(old, stamp2, body2, signature2)


def hook_row(item_id: int, url: str, session_id: str) -> OutboxItem:
    event = {"kind": "closed", "session_id": session_id, "user_key": "u1", "at": time.time(), "data": {}}
    return OutboxItem(item_id, "~webhook:0", session_id, agent_webhooks.KIND, None,
                      {"url": f"{url}/hook", "event": event}, 0, 0.0, "pending", None, 0.0)
