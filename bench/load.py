"""Load: N simulated users against `triage serve`, with a stub Kakao on loopback.

Run: ``.venv/bin/python bench/load.py [--users 50] [--seconds 10] [--delivery process|inline]``.
Prints figures; it is not a test. Once the server is saturated (about 16 users here), more
users add no throughput, only time spent waiting in line: compare ``--users 16`` and ``--users 50``.

Each user is a closed loop: it sends a message to the server's webhook and waits until the
stub Kakao has received the bot's reply before sending the next one, so "messages/s" counts
messages answered end to end (webhook in, engine, SQLite, outbox, 상담톡 write out). Most
messages are menu presses and one in nine is a typed FAQ question, as in a real day.

After the load it waits for the server to drain and checks what the stub received against the
database: every write row delivered exactly once and, per user, in the order it was written.

In the same run the same load generator drives a bare aiohttp echo handler (parse JSON,
answer {"code":"0"}) on this machine, and our throughput is printed as a ratio of it. The
echo runs once the server has stopped, so neither measurement shares the cores with the
other (a server still checkpointing its WAL once cut the echo figure in half).
For scale it also drives a bare aiohttp relay, the same users and stub: each webhook answered,
then one aiohttp write sent to the stub, and nothing else. That is the least any 상담톡
partner in aiohttp does per message, so it bounds what storage and the engine may cost.
Targets on a 2-core machine: >= 1,500 messages/s, webhook p99 < 20 ms, >= 25% of echo.
The server runs in its own processes (CPU is reported for each: the server and its deliverer);
the generator and the stub share this one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import yaml

REPO = Path(__file__).parents[1]
TRIAGE = str(Path(sys.executable).with_name("triage"))
SENDER = "0123456789abcdef0123456789abcdef01234567"
SCRIPT = ["주문/배송", "배송 조회", "처음으로", "취소/환불", "처음으로", "회원/멤버십", "처음으로",
          "배송 언제 와요?", "처음으로"]
"""One round from the welcome menu back to it; repeated, every press finds its button."""

ECHO_SERVER = """
import sys
from aiohttp import web
async def echo(request):
    await request.json()
    return web.json_response({"code": "0"})
app = web.Application()
app.router.add_post("/message", echo)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

RELAY_SERVER = """
import asyncio, itertools, sys, time
from aiohttp import ClientSession, web
serials = itertools.count()
async def client(app):
    app["kakao"] = ClientSession(sys.argv[2])
    yield
    await app["kakao"].close()
async def write(app, user):
    serial = f"{int(time.time() * 1000)}-{next(serials)}"
    async with app["kakao"].post("/v1/chat/write", json={"user_key": user, "serial_number": serial}) as answer:
        await answer.read()
async def relay(request):
    body = await request.json()
    asyncio.get_running_loop().create_task(write(request.app, body["user_key"]))
    return web.json_response({"code": "0"})
app = web.Application()
app.cleanup_ctx.append(client)
app.router.add_post("/message", relay)
app.router.add_post("/reference", relay)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""
"""The plumbing alone, as a floor: answer the webhook, then one aiohttp write to the stub. No
storage, engine or rendering, one process, the stdlib loop (as the echo)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def content_length(head: bytes) -> int:
    return next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                 if line.lower().startswith(b"content-length:")), 0)


class Connection(asyncio.Protocol):
    """One simulated user's keep-alive HTTP/1.1 connection: a POST, then its answer's status.

    A bare protocol rather than aiohttp's client, for the stub's reason: the generator shares
    the two cores with the server it measures. aiohttp's client cost the generator about
    0.15 ms per request, a quarter of all the CPU a message took, and the echo figure was the
    generator's limit rather than the echo server's. Both drives use this client.
    """

    def __init__(self) -> None:
        self.buffer = b""
        self.answer: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head, sep, rest = self.buffer.partition(b"\r\n\r\n")
        length = content_length(head)
        if sep and len(rest) >= length and self.answer is not None:
            self.buffer = rest[length:]
            self.answer.set_result(int(head.split(b" ", 2)[1]))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError("the server closed the connection"))

    async def post(self, path: str, body: dict) -> int:
        data = json.dumps(body).encode()
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (path.encode(), len(data), data))
        return await self.answer


async def connect(port: int) -> Connection:
    _, connection = await asyncio.get_running_loop().create_connection(Connection, "127.0.0.1", port)
    return connection


class StubKakao(asyncio.Protocol):
    """Accepts every 상담톡 call at once and wakes the user a write answers.

    A bare asyncio protocol rather than an aiohttp app: it shares this process with the load
    generator, and must not be what limits the figures. A write wakes its user only when its
    serial number (which starts with the server's clock in ms) is no older than the user's
    latest message, so a late bubble of the previous reply cannot count as this one's answer.
    """

    arrived: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
    asked_at: dict[str, int] = {}
    seen: dict[str, list[str]] = defaultdict(list)
    """Each user's write serial numbers in the order they arrived, for the integrity check."""
    writes = 0
    OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"code\":\"0\"}"
    UPLOADED = json.dumps({"code": "0", "image": "http://127.0.0.1/dn/bench/img_l.jpg"}).encode()
    UPLOAD_OK = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 + str(len(UPLOADED)).encode() + b"\r\n\r\n" + UPLOADED)
    """The example flows show a picture, which the server uploads once before its first write."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            length = content_length(head)
            if len(rest) < length:
                return
            body, self.buffer = rest[:length], rest[length:]
            if head.startswith(b"POST /v1/chat/write"):
                StubKakao.writes += 1
                write = json.loads(body)
                user = write["user_key"]
                StubKakao.seen[user].append(write["serial_number"])
                if int(write["serial_number"].split("-", 1)[0]) >= StubKakao.asked_at.get(user, 0):
                    StubKakao.arrived[user].set()
            self.transport.write(self.UPLOAD_OK if head.startswith(b"POST /v1/image/upload") else self.OK)


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def server_cpu_seconds(pid: int) -> dict[int, float]:
    """User + system CPU time of the server and each of its child processes (the deliverer), from /proc."""
    tree = {pid}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == pid:
                    tree.add(int(entry.name))
            except (OSError, IndexError):
                continue
    seconds = {}
    for member in tree:
        with contextlib.suppress(OSError):
            fields = _stat(member)
            seconds[member] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


async def wait_up(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(url)
            await asyncio.sleep(0.1)


def message(user: str, serial: int, text: str) -> dict:
    return {"user_key": user, "sender_key": SENDER, "session_id": "9" + user[1:].zfill(8),
            "time": int(time.time() * 1000), "serial_number": str(serial), "type": "text", "content": text}


async def drive_triage(port: int, stub: type[StubKakao], users: int, seconds: float, pid: int) -> dict:
    webhook, end_to_end, refused = [], [], []
    done = 0
    serial = iter(range(10**12, 10**13))

    async def post(connection: Connection, path: str, body: dict) -> float:
        started = time.perf_counter()
        status = await connection.post(path, body)
        if status != 200:
            refused.append(status)
        return started

    async def user(n: int, stop_at: float) -> None:
        nonlocal done
        key = f"u{n:07d}"
        arrived = stub.arrived[key]
        connection = await connect(port)
        await post(connection, "/reference", {"user_key": key, "session_id": "9" + key[1:].zfill(8),
                                              "sender_key": SENDER, "time": int(time.time() * 1000),
                                              "reference": {"extra": ""}, "last_reference": {}})
        await asyncio.wait_for(arrived.wait(), 10)
        step = 0
        while time.perf_counter() < stop_at:
            arrived.clear()
            stub.asked_at[key] = int(time.time() * 1000)
            started = await post(connection, "/message", message(key, next(serial), SCRIPT[step % len(SCRIPT)]))
            webhook.append(time.perf_counter() - started)
            await asyncio.wait_for(arrived.wait(), 10)
            end_to_end.append(time.perf_counter() - started)
            done += 1
            step += 1
        connection.transport.close()

    warm_stop = time.perf_counter() + 2
    await asyncio.gather(*(user(n, warm_stop) for n in range(users)))
    webhook.clear(), end_to_end.clear()
    done = 0
    before = server_cpu_seconds(pid)
    generator = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(user(n + users, started + seconds) for n in range(users)))
    elapsed = time.perf_counter() - started
    after = server_cpu_seconds(pid)
    generator = time.process_time() - generator
    cpu = {member: after[member] - before.get(member, 0.0) for member in after}
    return {"rate": done / elapsed, "webhook": webhook, "end_to_end": end_to_end, "elapsed": elapsed,
            "cpu": [cpu.pop(pid)] + sorted(cpu.values(), reverse=True), "done": max(done, 1),
            "generator": generator, "refused": refused}


async def drive_echo(port: int, users: int, seconds: float) -> float:
    done = 0

    async def user(n: int, stop_at: float) -> None:
        nonlocal done
        connection = await connect(port)
        serial = 0
        while time.perf_counter() < stop_at:
            if await connection.post("/message", message(f"e{n:07d}", serial, "배송 조회")) != 200:
                raise RuntimeError("the echo handler refused a request")
            serial += 1
            done += 1
        connection.transport.close()

    await asyncio.gather(*(user(n, time.perf_counter() + 1) for n in range(users)))
    done = 0
    started = time.perf_counter()
    await asyncio.gather(*(user(n, started + seconds) for n in range(users)))
    return done / (time.perf_counter() - started)


def reset(stub: type[StubKakao]) -> None:
    """A drive's users start from a stub that has seen none of them."""
    stub.arrived.clear(), stub.asked_at.clear(), stub.seen.clear()
    stub.writes = 0


@contextlib.asynccontextmanager
async def bare_server(script: str, port: int, *args: str) -> AsyncIterator[subprocess.Popen]:
    """One of the bare servers above, up on ``port`` until the block ends."""
    server = subprocess.Popen([sys.executable, "-c", script, str(port), *args])
    try:
        await wait_up(f"http://127.0.0.1:{port}/")
        yield server
    finally:
        stop(server)


async def drained(db: Path, timeout: float = 30.0) -> None:
    """Wait until the server has nothing left to process or deliver."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(db)) as conn:
            left = conn.execute("SELECT (SELECT count(*) FROM inbox WHERE processed_at IS NULL) + "
                                "(SELECT count(*) FROM outbox WHERE status = 'pending')").fetchone()[0]
        if not left:
            return
        await asyncio.sleep(0.2)


def integrity(db: Path, seen: dict[str, list[str]], refused: int) -> str:
    """What 상담톡 received against what the database says was answered: per user, every write
    row delivered exactly once and in the order it was written; and every webhook answered 200."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        unprocessed = conn.execute("SELECT count(*) FROM inbox WHERE processed_at IS NULL").fetchone()[0]
        rows = conn.execute("SELECT user_key, serial, status FROM outbox WHERE kind = 'write' ORDER BY id").fetchall()
    written: dict[str, list[str]] = defaultdict(list)
    for user_key, serial, status in rows:
        if status == "delivered":
            written[user_key].append(serial)
    undelivered = sum(1 for row in rows if row[2] != "delivered")
    wrong = [user for user in set(written) | set(seen) if written[user] != seen.get(user, [])]
    doubled = sum(len(serials) - len(set(serials)) for serials in seen.values())
    if unprocessed or undelivered or wrong or doubled or refused:
        return (f"FAILED: {refused} webhooks refused, {unprocessed} inbox rows unprocessed, {undelivered} writes "
                f"not delivered, {doubled} writes received twice, {len(wrong)} users whose writes differ from "
                "the outbox order")
    return f"ok: {len(rows):,} writes for {len(written):,} users, each delivered once, in order"


def site(tmp: Path) -> Path:
    root = tmp / "site"
    for name in ("flows", "faq", "images"):
        shutil.copytree(REPO / name, root / name)
    settings = yaml.safe_load((REPO / "triage.yaml").read_text(encoding="utf-8"))
    for queue in settings.get("queues", {}).values():
        queue.update(hours={"daily": "00:00-24:00"}, holidays="none", closed_days=[])
    (root / "triage.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return root


async def main(users: int, seconds: float, delivery: str) -> None:
    stub = StubKakao
    stub_port, server_port, echo_port, relay_port = free_port(), free_port(), free_port(), free_port()
    listener = await asyncio.get_running_loop().create_server(StubKakao, "127.0.0.1", stub_port)
    with tempfile.TemporaryDirectory() as tmp:
        root = site(Path(tmp))
        server = subprocess.Popen([TRIAGE, "serve", "--root", str(root), "--port", str(server_port),
                                   "--db", str(Path(tmp) / "load.db"), "--kakao-url", f"http://127.0.0.1:{stub_port}",
                                   "--log-level", "WARNING", "--delivery", delivery], stdout=subprocess.DEVNULL)
        try:
            await wait_up(f"http://127.0.0.1:{server_port}/healthz")
            ours = await drive_triage(server_port, stub, users, seconds, server.pid)
            await drained(Path(tmp) / "load.db")
        finally:
            stop(server)
        checked = integrity(Path(tmp) / "load.db", stub.seen, len(ours["refused"]))
    written = stub.writes
    async with bare_server(ECHO_SERVER, echo_port):
        bare = await drive_echo(echo_port, users, seconds)
    reset(stub)
    async with bare_server(RELAY_SERVER, relay_port, f"http://127.0.0.1:{stub_port}") as relay_server:
        relay = await drive_triage(relay_port, stub, users, seconds, relay_server.pid)
    if relay["refused"]:
        raise RuntimeError("the relay refused a webhook")
    listener.close()
    ms = 1000
    print(f"users: {users}, measured {seconds:.0f} s after a 2 s warm-up, {os.cpu_count()} cores, delivery {delivery}")
    print(f"end to end:        {ours['rate']:>8,.0f} messages/s          (target >= 1,500)")
    print(f"webhook latency:   p50 {statistics.median(ours['webhook']) * ms:6.2f} ms   "
          f"p99 {percentile(ours['webhook'], 0.99) * ms:6.2f} ms   (target p99 < 20 ms)")
    print(f"webhook -> write:  p50 {statistics.median(ours['end_to_end']) * ms:6.2f} ms   "
          f"p99 {percentile(ours['end_to_end'], 0.99) * ms:6.2f} ms")
    for name, cpu in zip(("server", *(f"child {n}" for n in range(1, 9))), ours["cpu"]):
        print(f"{name + ' CPU:':<19}{cpu / ours['done'] * ms:6.2f} ms per message, "
              f"{cpu / ours['elapsed']:.0%} of one core busy")
    print(f"{'load generator:':<19}{ours['generator'] / ours['done'] * ms:6.2f} ms per message, "
          f"{ours['generator'] / ours['elapsed']:.0%} of one core busy (with the stub 상담톡)")
    print(f"bare aiohttp echo: {bare:>8,.0f} requests/s")
    print(f"ratio:             {ours['rate'] / bare:>8.1%} of bare echo         (target >= 25%)")
    print(f"bare aiohttp relay:{relay['rate']:>8,.0f} messages/s          "
          f"({relay['cpu'][0] / relay['done'] * ms:.2f} ms of CPU per message; webhook in, one write out, nothing else)")
    print(f"ratio:             {ours['rate'] / relay['rate']:>8.1%} of bare relay")
    print(f"stub Kakao writes: {written:,}")
    print(f"integrity:         {checked}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--delivery", choices=("process", "inline"), default="process",
                        help="where the server delivers its outbox (triage serve --delivery)")
    options = parser.parse_args()
    asyncio.run(main(options.users, options.seconds, options.delivery))
