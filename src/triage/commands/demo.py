"""``triage demo``: the server, the 상담톡 simulator and you as a KakaoTalk user, in one command.

Everything goes over real HTTP on loopback: your lines go to the simulator's user API, the
simulator calls the server's webhooks, the server answers through the simulator's write
API, and what 상담톡 delivered to you is printed. It is the product's real path, not a shortcut.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from aiohttp import web

from triage import eventloop
from triage.app import SETTINGS, ServeOptions, make_app
from triage.commands.serve import banner, print_content_errors
from triage.flows.conversation import show_bubble, show_menu
from triage.kakao.sim_client import SimRefused, SimUser
from triage.kakao.simulator import SimConfig, make_sim_app
from triage.privacy.logging import configure_logging
from triage.problems import ContentError

HELP = ("명령: 번호 = 버튼 누르기 · /extra topic=order = 그 extra로 상담하기 버튼 누르기 · /photo 사진 · "
        "/leave 나가기 · /quit 끝")
QUIET = 0.4
"""Seconds without a new bubble after which a reply counts as complete (for piped input)."""


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("demo", parents=[common],
                            help="run the server and the 상담톡 simulator, and chat as a KakaoTalk user")
    parser.add_argument("--port", type=int, default=8080, help="server port (default 8080)")
    parser.add_argument("--sim-port", type=int, default=8090, help="simulator port (default 8090)")
    parser.add_argument("--db", help="SQLite file (default: storage.path under the root, triage.db)")
    parser.add_argument("--extra", default="", help="extra of the first 상담하기 tap, e.g. 'topic=order&order=77'")
    parser.add_argument("--user", default="demo-user", help="your user_key")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    configure_logging("WARNING")
    try:
        with asyncio.Runner(loop_factory=eventloop.new_event_loop) as runner:
            return runner.run(_demo(args, sys.stdin, sys.stdout))
    except ContentError as exc:
        print_content_errors(exc)
        return 1


async def _demo(args: argparse.Namespace, stdin: TextIO, out: TextIO) -> int:
    sim_url = f"http://127.0.0.1:{args.sim_port}"
    server = make_app(ServeOptions(root=Path(args.root), host="127.0.0.1", port=args.port, db=args.db,
                                   kakao_url=sim_url))
    settings = server[SETTINGS]
    sim = make_sim_app(SimConfig.for_site(settings, f"http://127.0.0.1:{args.port}"))
    runners = []
    try:
        for app, port in ((server, args.port), (sim, args.sim_port)):
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            runners.append(runner)
        print(banner(server, asyncio.get_running_loop()), file=out)
        print(f"상담톡 simulator on {sim_url} (you are user {args.user})\n{HELP}", file=out, flush=True)
        async with aiohttp.ClientSession() as http:
            await _Terminal(SimUser(http, sim_url, args.user), out).run(stdin, args.extra)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
    return 0


class _Terminal:
    """Prints what 상담톡 delivers while reading what you type."""

    def __init__(self, user: SimUser, out: TextIO):
        self.user = user
        self.out = out
        self.menu: list[str] = []
        self.last_print = 0.0

    async def run(self, stdin: TextIO, extra: str) -> None:
        printer = asyncio.create_task(self._print_forever())
        try:
            await self._act(self.user.consult(extra))
            await self._settle()
            loop = asyncio.get_running_loop()
            while True:
                line = await loop.run_in_executor(None, stdin.readline)
                if not line or not await self.handle(line.strip()):
                    break
                await self._settle()
        finally:
            printer.cancel()

    async def handle(self, line: str) -> bool:
        command, _, rest = line.partition(" ")
        if command == "/quit":
            return False
        if command == "/extra":
            await self._act(self.user.leave())
            await self._act(self.user.consult(rest.strip()))
        elif command == "/leave":
            await self._act(self.user.leave())
            self.echo("(채팅방을 나갔어요. 아무 말이나 입력하면 새 상담이 시작돼요)")
        elif command == "/photo":
            await self._act(self.user.photo())
        elif command.startswith("/"):
            self.echo(HELP)
        elif line:
            await self._act(self.user.say(self._pick(line)))
        return True

    def _pick(self, line: str) -> str:
        """A bare number taps that quick reply, which sends its label (BK buttons do this)."""
        if line.isdigit() and 1 <= int(line) <= len(self.menu):
            return self.menu[int(line) - 1]
        return line

    async def _act(self, action: Any) -> None:
        try:
            await action
        except SimRefused as exc:
            self.echo(f"(상담톡이 거절했어요: {exc})")

    async def _print_forever(self) -> None:
        while True:
            for message in await self.user.new_messages(wait=10):
                self.show(message)

    async def _settle(self) -> None:
        """Wait until replies stop arriving, so piped input reads like a conversation."""
        loop = asyncio.get_running_loop()
        self.last_print = loop.time()
        await asyncio.sleep(QUIET)
        while loop.time() - self.last_print < QUIET:
            await asyncio.sleep(QUIET / 4)

    def show(self, message: dict[str, Any]) -> None:
        lines = show_bubble(message.get("text") or "")
        for link in message.get("links") or ():
            lines.append(f"    🔗 {link['name']}: {link.get('url') or ''}")
        if message.get("image_url"):
            lines.append(f"봇: [이미지] {message['image_url']}")
        replies = message.get("quick_replies") or []
        if replies:
            self.menu = list(replies)
            lines.append("    " + show_menu(tuple(replies)))
        for line in lines:
            self.echo(line)
        self.last_print = asyncio.get_running_loop().time()

    def echo(self, line: str) -> None:
        print(line, file=self.out, flush=True)
