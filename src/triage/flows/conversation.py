"""One conversation with the engine, held in memory, and how to show it as a chat.

``triage chat`` and ``triage test`` both talk to the flows through this, so what an editor
pins in a conversation test is exactly what a customer would see, printed the same way.
A conversation is a value: every message gives a new one, so a test can keep any point of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from triage.content import Content
from triage.flows import engine
from triage.flows.session import (Action, EndSession, Event, HandoffAction, LinkOut, Reference, SendButtons,
                                  SendImage, SendLinks, SendText, SessionState, Start, UserInfo, UserMedia,
                                  UserText)

RETURNING_USER = UserInfo("returning-user", returning=True, sessions=3, last_category="주문")
NEW_USER = UserInfo("new-user")
PHOTO_URL = "https://shop.example.com/uploads/photo.jpg"
PHOTO_SAID = "[사진]"


@dataclass(frozen=True)
class Turn:
    """What the user said (``None`` for the session's opening) and everything the bot did next."""

    said: str | None
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class Conversation:
    content: Content
    state: SessionState
    turns: tuple[Turn, ...] = ()

    @property
    def replies(self) -> tuple[Action, ...]:
        """What the bot did since the user's last message: what a test step looks at."""
        return self.turns[-1].actions if self.turns else ()

    def bubbles(self) -> list[str]:
        """The text of each bubble sent since the last message."""
        return [a.text.strip() for a in self.replies if isinstance(a, (SendText, SendButtons, SendLinks))]

    def seen_text(self) -> str:
        """Every word the user could read since the last message, button and link labels included."""
        words = [*self.bubbles(), *self.menu(), *(link.label for link in self.links())]
        return "\n".join(words)

    def menu(self) -> tuple[str, ...]:
        """The labels of the last menu sent since the last message; none if no menu was sent."""
        menus = [a.labels for a in self.replies if isinstance(a, SendButtons)]
        return menus[-1] if menus else ()

    def links(self) -> tuple[LinkOut, ...]:
        return tuple(link for a in self.replies if isinstance(a, SendLinks) for link in a.links)

    @property
    def queue(self) -> str | None:
        """The queue the session waits in, once a handoff has taken it from the bot."""
        handoff = self.state.handoff
        return handoff.queue if handoff and self.state.owner in ("queue", "agent") else None

    @property
    def ended(self) -> bool:
        return self.state.owner == "ended"


def on_site_clock(moment: datetime, zone: tzinfo) -> datetime:
    """A time an editor wrote: wall-clock time on the site, unless it carries its own offset."""
    return moment.astimezone(zone) if moment.tzinfo else moment.replace(tzinfo=zone)


def begin(content: Content, now: datetime, extra: str = "", returning: bool = False,
          session_id: str = "chat") -> Conversation:
    """Open a session as the 상담하기 button does, with its ``extra``."""
    user = RETURNING_USER if returning else NEW_USER
    opened = Conversation(content, engine.new_state(session_id, user, now))
    return _step(opened, Start(Reference(extra=extra)), None, now)


def send_text(conversation: Conversation, text: str, now: datetime) -> Conversation:
    return _step(conversation, UserText(text), text, now)


def send_photo(conversation: Conversation, now: datetime) -> Conversation:
    return _step(conversation, UserMedia("photo", PHOTO_URL), PHOTO_SAID, now)


def _step(conversation: Conversation, event: Event, said: str | None, now: datetime) -> Conversation:
    state, actions = engine.step(conversation.content, conversation.state, event, now)
    turn = Turn(said, tuple(actions))
    return Conversation(conversation.content, state, conversation.turns + (turn,))


# ---- showing a conversation as a chat ------------------------------------------------------

USER = "사용자: "
BOT = "봇: "
_INDENT = "    "


def show_turn(turn: Turn) -> list[str]:
    """A turn as chat lines: the user's message, then each bubble, menu, link and handoff."""
    lines = [USER + turn.said] if turn.said is not None else []
    for action in turn.actions:
        lines.extend(show_action(action))
    return lines


def show_action(action: Action) -> list[str]:
    if isinstance(action, (SendText, SendButtons, SendLinks)):
        lines = show_bubble(action.text)
        if isinstance(action, SendButtons):
            lines.append(_INDENT + show_menu(action.labels))
        if isinstance(action, SendLinks):
            lines.extend(f"{_INDENT}🔗 {link.label}: {link.url}" for link in action.links)
        return lines
    if isinstance(action, SendImage):
        return [f"{BOT}[이미지] {action.url}"]
    if isinstance(action, HandoffAction):
        skills = ", ".join(action.skills) or "-"
        return [f"(상담원 연결 대기: {action.queue} · 우선순위 {action.priority} · 스킬 {skills})",
                f"(상담원에게 전달된 요약: {action.summary})"]
    if isinstance(action, EndSession):
        return ["(상담이 종료되었어요)"]
    return []


def show_bubble(text: str) -> list[str]:
    if not text.strip():
        return []
    first, *rest = text.rstrip().split("\n")
    return [BOT + first, *((_INDENT + line).rstrip() for line in rest)]


def show_menu(labels: tuple[str, ...]) -> str:
    return "  ".join(f"[{i}] {label}" for i, label in enumerate(labels, 1))


def transcript(conversation: Conversation) -> list[str]:
    return [line for turn in conversation.turns for line in show_turn(turn)]


def status_line(state: SessionState) -> str:
    """Where the session is, for editors watching a flow run."""
    return f"— node: {state.node or '-'} · category: {state.category or '-'} · owner: {state.owner}"
