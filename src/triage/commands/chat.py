"""``triage chat``: talk to the site's flows in a terminal, the way a customer would.

Reads lines from stdin whether or not it is a terminal, so editors can pipe a script of
messages through it and tests can drive it like a person.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Iterator, TextIO

from triage.content import Content, load_content
from triage.flows.conversation import (USER, Conversation, begin, on_site_clock, send_photo, send_text, show_turn,
                                      status_line)

HELP = "명령: /quit 끝내기 · /restart 다시 시작 · /extra topic=order 다른 extra로 시작 · /photo 사진 보내기"
DIM, PLAIN = "\x1b[2m", "\x1b[0m"


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("chat", parents=[common], help="talk to the flows in the terminal")
    parser.add_argument("--extra", default="", help="the 상담하기 button's extra, e.g. 'topic=order&order=77'")
    parser.add_argument("--returning", action="store_true", help="be a customer who has talked to us before")
    parser.add_argument("--now", type=_local_time, default=None, metavar="2026-11-29T10:00",
                        help="pretend it is this local time (to try business hours); default: the real clock")
    parser.set_defaults(func=run)


def _local_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{text}" is not a date and time like 2026-11-29T10:00') from None


def load_site(root: Path) -> Content | None:
    """The site's content, or ``None`` after explaining on stderr what stops it from running."""
    content, problems = load_content(root)
    if content is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{root}: the content has errors; fix them first (triage validate lists them)", file=sys.stderr)
    return content


def run(args: argparse.Namespace) -> int:
    content = load_site(args.root)
    if content is None:
        return 1
    chat = _Chat(content, args.returning, args.now, sys.stdout, sys.stdin.isatty())
    print(HELP)
    chat.restart(args.extra)
    for line in _read_lines(sys.stdin, chat.interactive):
        if not chat.handle(line.strip()):
            break
    return 0


def _read_lines(stream: TextIO, interactive: bool) -> Iterator[str]:
    if hasattr(stream, "reconfigure"):
        stream.reconfigure(errors="replace")
    if not interactive:
        yield from stream
        return
    while True:
        try:
            yield input(USER)
        except EOFError:
            return


class _Chat:
    """The terminal side of one chat: which conversation is open, and printing it."""

    conversation: Conversation
    """Set by ``restart``, which ``run`` calls before the first line is handled."""

    def __init__(self, content: Content, returning: bool, now: datetime | None, out: TextIO, interactive: bool):
        self.content = content
        self.returning = returning
        self.fixed_now = now
        self.out = out
        self.interactive = interactive
        self.extra = ""

    def now(self) -> datetime:
        zone = self.content.settings.tz
        return datetime.now(zone) if self.fixed_now is None else on_site_clock(self.fixed_now, zone)

    def restart(self, extra: str) -> None:
        self.extra = extra
        self.print(f"(새 상담 시작{': extra ' + extra if extra else ''})")
        self.show(begin(self.content, self.now(), extra, self.returning), typed=None)

    def handle(self, line: str) -> bool:
        """One line the person typed; False when they want to stop."""
        command, _, rest = line.partition(" ")
        if command == "/quit":
            return False
        if command == "/restart":
            self.restart(self.extra)
        elif command == "/extra":
            self.restart(rest.strip())
        elif command == "/photo":
            self.show(send_photo(self.conversation, self.now()), typed=line)
        elif command.startswith("/"):
            self.print(HELP)
        elif line:
            self.show(send_text(self.conversation, pick(self.conversation, line), self.now()), typed=line)
        return True

    def show(self, conversation: Conversation, typed: str | None) -> None:
        self.conversation = conversation
        turn = conversation.turns[-1]
        lines = show_turn(turn)
        if self.interactive and turn.said == typed and lines:
            lines = lines[1:]
        for line in lines:
            self.print(line)
        status = visible(status_line(conversation.state))
        print(f"{DIM}{status}{PLAIN}" if self.interactive else status, file=self.out, flush=True)
        if conversation.state.owner in ("queue", "agent"):
            self.print("(상담원을 기다리는 중이라 봇은 답하지 않아요. /restart 로 새 상담을 시작하세요)")

    def print(self, line: str) -> None:
        print(visible(line), file=self.out, flush=True)


_CONTROLS = dict.fromkeys([*range(0x20), 0x7F, *range(0x80, 0xA0)], "\ufffd")
del _CONTROLS[ord("\t")]


def visible(text: str) -> str:
    """Customers' text reaches the terminal too, and must not be able to drive it with escape codes."""
    return text.translate(_CONTROLS)


def pick(conversation: Conversation, text: str) -> str:
    """A number picks that button of the last menu, as a 상담톡 quick reply sends its label."""
    menu = conversation.menu()
    if text.isdigit() and 1 <= int(text) <= len(menu):
        return menu[int(text) - 1]
    return text
