"""What the 상담톡 simulator knows: channels, users, sessions, serials, media and a virtual clock.

No I/O and no asyncio here, so every rule of Kakao's side (spec §1.4 session states, §7
checklist) can be read and tested without a server. ``simulator.py`` is the HTTP shell that
calls these methods and the partner's webhooks.
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from triage.kakao.protocol import ErrorCode, ResultCodes, WriteRequest

ACTIVE, ENDED = "ACTIVE", "ENDED"
END_TEXT = "상담이 종료되었습니다."


@dataclass(frozen=True)
class Session:
    id: str
    state: str  # ACTIVE | ENDED; a user with no session at all is in spec §1.4's NONE
    started_at: float
    last_user_at: float
    extra: str = ""
    reason: str | None = None
    ended_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"session_id": self.id, "state": self.state, "started_at": _ms(self.started_at),
                "last_user_at": _ms(self.last_user_at), "extra": self.extra, "reason": self.reason,
                "ended_at": _ms(self.ended_at) if self.ended_at is not None else None}


@dataclass
class User:
    user_key: str
    session: Session | None = None
    blocked_by_partner: bool = False
    blocked_channel: bool = False
    last_reference: dict[str, str] = field(default_factory=dict)
    """The meta of the user's latest 상담하기 tap: Kakao sends it as ``last_reference``."""
    seen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def active(self) -> Session | None:
        return self.session if self.session and self.session.state == ACTIVE else None

    def to_json(self) -> dict[str, Any]:
        return {"user_key": self.user_key, "session": self.session.to_json() if self.session else None,
                "blocked_by_partner": self.blocked_by_partner, "blocked_channel": self.blocked_channel,
                "seen": len(self.seen)}


@dataclass
class Channel:
    sender_key: str
    name: str
    partner: str
    """The receive domain: the partner's base URL that /message and /reference go under."""
    users: dict[str, User] = field(default_factory=dict)
    serials: set[str] = field(default_factory=set)
    bot_log: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"sender_key": self.sender_key, "name": self.name, "partner": self.partner,
                "users": [u.to_json() for u in self.users.values()], "serials": len(self.serials),
                "bot_log": self.bot_log}


@dataclass(frozen=True)
class Media:
    id: str
    url: str
    data: bytes
    content_type: str
    name: str


class World:
    """The simulator's whole state; ``clock`` is real time, ``offset`` the advanced part."""

    def __init__(self, channels: Iterable[Channel], expiry_seconds: float,
                 clock: Callable[[], float] = time.time):
        self.channels = {c.sender_key: c for c in channels}
        self.expiry_seconds = expiry_seconds
        self.offset = 0.0
        self.media: dict[str, Media] = {}
        self._clock = clock
        self._sessions = itertools.count(1)
        self._serials = itertools.count(1)
        self._serial_base = int(clock() * 1000) * 1_000_000

    def now(self) -> float:
        return self._clock() + self.offset

    def now_ms(self) -> int:
        return _ms(self.now())

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def user(self, channel: Channel, user_key: str) -> User:
        return channel.users.setdefault(user_key, User(user_key))

    def next_session_id(self) -> str:
        """Monotonic digit strings like Kakao's ``"163755146"``."""
        return str(170_000_000 + next(self._sessions))

    def next_serial(self) -> str:
        """19 digits, like the inbound serials Kakao sends (spec §2.2)."""
        return str(self._serial_base + next(self._serials))

    # ---- sessions (spec §1.4) --------------------------------------------------------------

    def open(self, user: User, session_id: str, extra: str) -> Session:
        now = self.now()
        user.blocked_channel = False
        user.session = Session(session_id, ACTIVE, now, now, extra)
        return user.session

    def touch(self, user: User) -> None:
        """Only user messages extend the 30 days (spec §1.4)."""
        if user.active:
            user.session = replace(user.active, last_user_at=self.now())

    def end(self, user: User, reason: str) -> Session | None:
        session = user.active
        if session is None:
            return None
        user.session = replace(session, state=ENDED, reason=reason, ended_at=self.now())
        self.show(user, {"kind": "system", "text": END_TEXT, "reason": reason, "session_id": session.id})
        return user.session

    def expire(self) -> list[tuple[Channel, User, Session]]:
        """End every session whose user has been silent for ``expiry_seconds``."""
        now = self.now()
        ended = []
        for channel in self.channels.values():
            for user in channel.users.values():
                session = user.active
                if session and now - session.last_user_at >= self.expiry_seconds:
                    ended.append((channel, user, self.end(user, "expired") or session))
        return ended

    # ---- what users see ---------------------------------------------------------------------

    def show(self, user: User, entry: dict[str, Any]) -> dict[str, Any]:
        shown = {"index": len(user.seen), "at": self.now_ms(), **entry}
        user.seen.append(shown)
        return shown

    def deliver(self, channel: Channel, user: User, request: WriteRequest) -> dict[str, Any]:
        channel.serials.add(request.serial_number)
        session = user.active
        return self.show(user, {
            "kind": "message", "type": request.message_type, "text": request.message,
            "quick_replies": [b.name for b in request.quick_replies],
            "links": [{"name": b.name, "type": b.type, "url": b.url} for b in request.links],
            "image_url": request.image_url,
            "file": {"url": request.file_url, "name": request.file_name, "size": request.file_size}
            if request.file_url else None,
            "serial_number": request.serial_number, "session_id": session.id if session else None,
        })

    def write_error(self, request: WriteRequest, codes: ResultCodes) -> tuple[ErrorCode, str] | None:
        """Kakao's checks after the body itself is well formed (spec §7.6)."""
        channel = self.channels.get(request.sender_key)
        if channel is None:
            return codes.invalid_sender, f"senderKey: {request.sender_key}"
        user = channel.users.get(request.user_key)
        if user is not None and user.blocked_by_partner:
            return codes.blocked_user, f"user_key: {request.user_key}"
        if user is None or user.active is None:
            return codes.no_session, f"user_key: {request.user_key}"
        if request.serial_number in channel.serials:
            return codes.duplicate_serial, f"serial_number: {request.serial_number}"
        for url in request.media_urls:
            media = self.media_at(url)
            if media is None or media.url != url:
                return codes.invalid_media, f"{url} was not uploaded here"
        return None

    # ---- media ------------------------------------------------------------------------------

    def store_media(self, base_url: str, data: bytes, content_type: str, name: str, file_name: str) -> Media:
        """Kakao-shaped URLs (``/dn/<id>/img_l.jpg``) on the simulator's own host (spec §7.7)."""
        media_id = secrets.token_hex(8)
        media = Media(media_id, f"{base_url.rstrip('/')}/dn/{media_id}/{file_name}", data, content_type, name)
        self.media[media_id] = media
        return media

    def media_at(self, url_path: str) -> Media | None:
        """The upload behind ``.../dn/<id>/<name>``, wherever the simulator is mounted."""
        parts = urlsplit(url_path).path.strip("/").split("/")
        return self.media.get(parts[-2]) if len(parts) >= 3 and parts[-3] == "dn" else None

    def to_json(self) -> dict[str, Any]:
        return {"now": self.now_ms(), "offset": self.offset, "expiry_seconds": self.expiry_seconds,
                "channels": [c.to_json() for c in self.channels.values()], "media": len(self.media)}


def _ms(seconds: float) -> int:
    return int(seconds * 1000)
