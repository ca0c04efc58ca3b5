"""The 상담톡 wire protocol: limits, result codes, inbound parsing and outbound bodies.

Both sides of the wire live here so the partner code and the simulator cannot drift apart:
the webhook server parses what Kakao sends with ``parse_message``/``parse_reference``/
``parse_expired``, the renderer builds write bodies with ``tx``/``li``/``im``/``fi``, and the
simulator checks those bodies with ``parse_write``/``parse_end`` exactly as strictly as we
believe Kakao does. Every body is hostile input: wrong types, missing fields and over-long
values raise ``ProtocolError`` naming the field, never ``KeyError``/``TypeError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit

USER_KEY_MAX = 20
SENDER_KEY_MAX = 40
SERIAL_MAX = 30
SESSION_ID_MAX = 30
TEXT_MAX = 1000
"""Longest ``message`` a partner may send (spec §5)."""
INBOUND_TEXT_MAX = 10_000
"""Users can type more than partners may send; this only bounds hostile bodies."""
URL_MAX = 1000
EXTRA_MAX = 50
EVENT_MAX = 100
TYPE_MAX = 20
REASON_MAX = 100
BUTTON_NAME_MAX = 14
"""Spec §4.4: 상담톡 gives no label limit, so the brand-message 14-char (vertical) rule is the safe
proxy; the one limit flows, FAQ, the agent API and the simulator all enforce."""
AUTO_ANSWER_MAX = 2
LINKS_MAX = 5
QUICK_REPLIES_MAX = 10
TIME_MAX = 10**15
"""Milliseconds; anything larger is not a time Kakao sent."""

MESSAGE_TYPES = ("text", "photo", "video", "audio", "file")
"""Inbound kinds we know (spec §2.2); others are accepted and kept for the server to log."""
MEDIA_TYPES = frozenset(MESSAGE_TYPES) - {"text"}
WRITE_TYPES = ("TX", "LI", "IM", "FI")
BUTTON_TYPES = ("WL", "AL", "BK", "MD", "BT")


class ProtocolError(ValueError):
    """A body that breaks the protocol; the webhook server answers 400 with ``message``."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = f"{field}: {message}"
        super().__init__(self.message)


# ---- result codes ------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorCode:
    code: str
    name: str
    """Kakao puts exception-style names in ``message``; they are steadier than numbers."""

    def body(self, detail: str = "") -> dict[str, str]:
        return {"code": self.code, "message": f"{self.name}({detail})" if detail else self.name}


@dataclass(frozen=True)
class ResultCodes:
    """Only -501 and -505 are documented (spec §4.10); the rest are assumptions, so they are data.

    The client and the simulator read the same table, and a deployment that learns Kakao's real
    numbers passes its own table to both.
    """

    success: tuple[str, ...] = ("0", "200")
    invalid_sender: ErrorCode = ErrorCode("-501", "InvalidSenderException")
    upload_failed: ErrorCode = ErrorCode("-505", "FailedToUploadFileException")
    image_size: ErrorCode = ErrorCode("-505", "InvalidImageSizeException")
    duplicate_serial: ErrorCode = ErrorCode("-801", "DuplicateSerialNumberException")
    blocked_user: ErrorCode = ErrorCode("-802", "BlockedUserException")
    no_session: ErrorCode = ErrorCode("-803", "NoActiveSessionException")
    invalid_parameter: ErrorCode = ErrorCode("-804", "InvalidParameterException")
    invalid_media: ErrorCode = ErrorCode("-805", "InvalidMediaUrlException")
    unauthorized: ErrorCode = ErrorCode("-401", "UnauthorizedException")
    system_error: ErrorCode = ErrorCode("9999", "SystemException")
    injected_fault: ErrorCode = ErrorCode("-500", "InjectedFaultException")


RESULT_CODES = ResultCodes()


def normalize_code(value: Any) -> str | None:
    """Codes arrive as ``0``, ``"0"`` or ``"0000"`` depending on the call; keep them as text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def same_code(code: str | None, expected: str) -> bool:
    """Numeric when both sides are numbers, so ``"0000"`` matches ``"0"`` (spec §8 #17)."""
    if code is None:
        return False
    try:
        return int(code) == int(expected)
    except ValueError:
        return code == expected


def is_error(code: str | None, message: str, error: ErrorCode) -> bool:
    return same_code(code, error.code) or message.startswith(error.name)


# ---- reading hostile JSON ----------------------------------------------------------------


@dataclass(frozen=True)
class Fields:
    """One hostile JSON object being read; ``prefix`` makes nested errors name ``reference.extra``."""

    data: Mapping[str, Any]
    prefix: str = ""

    @classmethod
    def of(cls, body: Any, name: str = "body", prefix: str = "") -> "Fields":
        if not isinstance(body, dict):
            raise ProtocolError(name, f"must be a JSON object, got {_kind(body)}")
        return cls(body, prefix)

    def name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def text(self, key: str, limit: int, required: bool = True, empty: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise ProtocolError(self.name(key), "is required")
            return None
        if not isinstance(value, str):
            raise ProtocolError(self.name(key), f"must be text, got {_kind(value)}")
        if not value and not empty:
            raise ProtocolError(self.name(key), "must not be empty")
        return _limited(self.name(key), value, limit)

    def required(self, key: str, limit: int) -> str:
        value = self.text(key, limit)
        assert value is not None
        return value

    def identifier(self, key: str, limit: int) -> str:
        """Required text without control, format (bidi, zero-width) or separator characters: ids are
        logged and shown to agents, and a newline or a U+202E in one would let any caller forge or
        disguise a log line. Kakao's ids are short plain tokens (spec §1.2), so nothing real is refused."""
        value = self.required(key, limit)
        if not value.isprintable():
            raise ProtocolError(self.name(key), "must not contain control, format or line-separator characters")
        return value

    def serial(self, key: str, limit: int) -> str:
        """Text, or a whole number kept as its exact decimal string: Kakao's serials are 19-digit
        strings (spec §2.2), and an encoder that sends the number must still de-duplicate with them."""
        value = self.data.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return _limited(self.name(key), str(value), limit)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ProtocolError(self.name(key), "must be text or a whole number of at least 0")
        return self.identifier(key, limit)

    def digits(self, key: str, limit: int, required: bool = True) -> str | None:
        """Ids Kakao writes as digit strings; numbers are tolerated because JSON encoders differ."""
        value = self.data.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            value = str(value)
        if value is None:
            if required:
                raise ProtocolError(self.name(key), "is required")
            return None
        if not isinstance(value, str) or not (value.isascii() and value.isdigit()):
            raise ProtocolError(self.name(key), "must be a string of digits")
        return _limited(self.name(key), value, limit)

    def time_ms(self, key: str = "time") -> int:
        """Number in S2/S3, digit string in S7 (spec §8 #6): accept both."""
        value = self.data.get(key)
        if value is None:
            raise ProtocolError(self.name(key), "is required")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 16:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProtocolError(self.name(key), f"must be milliseconds as a number or digit string, got {_kind(value)}")
        if not 0 <= value < TIME_MAX:
            raise ProtocolError(self.name(key), f"{value} is not a time in milliseconds")
        return value

    def optional_int(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProtocolError(self.name(key), f"must be a whole number or null, got {_kind(value)}")
        return value

    def nested(self, key: str) -> "Fields":
        value = self.data.get(key)
        return Fields.of({} if value is None else value, self.name(key), f"{self.name(key)}.")

    def array(self, key: str, limit: int) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ProtocolError(self.name(key), f"must be a list, got {_kind(value)}")
        if len(value) > limit:
            raise ProtocolError(self.name(key), f"has {len(value)} items, the limit is {limit}")
        return value


def _limited(name: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise ProtocolError(name, f"is {len(value)} characters long, the limit is {limit}")
    return value


def _kind(value: Any) -> str:
    names = {type(None): "null", bool: "true/false", int: "a number", float: "a number",
             str: "text", list: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)


# ---- inbound: Kakao -> partner (spec §2) -------------------------------------------------


@dataclass(frozen=True)
class InboundMessage:
    user_key: str
    sender_key: str
    session_id: str | None
    time_ms: int
    serial_number: str
    type: str
    text: str | None
    media_url: str | None
    extra: str | None
    raw: dict = field(compare=False, repr=False)

    @property
    def known_type(self) -> bool:
        return self.type in MESSAGE_TYPES


@dataclass(frozen=True)
class InboundReference:
    user_key: str
    sender_key: str
    session_id: str
    app_user_id: int | None
    time_ms: int
    extra: str
    bot: str
    bot_event: str
    raw: dict = field(compare=False, repr=False)


@dataclass(frozen=True)
class InboundExpired:
    user_key: str
    sender_key: str
    session_id: str | None
    time_ms: int
    reason: str | None
    raw: dict = field(compare=False, repr=False)


def parse_message(body: Any) -> InboundMessage:
    f = Fields.of(body)
    kind = f.required("type", TYPE_MAX)
    text, media_url = _content(f, kind)
    return InboundMessage(
        user_key=f.identifier("user_key", USER_KEY_MAX),
        sender_key=f.identifier("sender_key", SENDER_KEY_MAX),
        session_id=f.digits("session_id", SESSION_ID_MAX, required=False),
        time_ms=f.time_ms(),
        serial_number=f.serial("serial_number", SERIAL_MAX),
        type=kind,
        text=text,
        media_url=media_url,
        extra=f.text("extra", EXTRA_MAX, required=False, empty=True),
        raw=body,
    )


def _content(f: Fields, kind: str) -> tuple[str | None, str | None]:
    """Text for ``text``; for media a URL, as a string or ``{"url": ...}`` (spec §2.2, S7)."""
    use_attachment = f.data.get("content") is None and f.data.get("attachment") is not None
    source = "attachment" if use_attachment and kind != "text" else "content"
    if kind == "text":
        return f.text(source, INBOUND_TEXT_MAX, empty=True), None
    if kind not in MEDIA_TYPES:
        return _other_content(f, source)
    if isinstance(f.data.get(source), dict):
        return None, f.nested(source).required("url", URL_MAX)
    return None, f.text(source, URL_MAX)


def _other_content(f: Fields, source: str) -> tuple[str | None, str | None]:
    """Kinds no source shows (emoticon, location, ...) must be tolerated (spec §2.2): they need no
    content, and keep text or a URL only when it comes in the shape text and media use."""
    value = f.data.get(source)
    if isinstance(value, dict) and isinstance(value.get("url"), str):
        return None, f.nested(source).text("url", URL_MAX, empty=True) or None
    if isinstance(value, str):
        return f.text(source, INBOUND_TEXT_MAX, empty=True), None
    return None, None


def parse_reference(body: Any) -> InboundReference:
    """``reference.extra`` is this entry's meta; ``last_reference`` fills in when it is empty."""
    f = Fields.of(body)
    reference = f.nested("reference")
    last = f.nested("last_reference")
    extra = reference.text("extra", EXTRA_MAX, required=False, empty=True)
    fallback = last.text("extra", EXTRA_MAX, required=False, empty=True)
    return InboundReference(
        user_key=f.identifier("user_key", USER_KEY_MAX),
        sender_key=f.identifier("sender_key", SENDER_KEY_MAX),
        session_id=f.digits("session_id", SESSION_ID_MAX) or "",
        app_user_id=f.optional_int("app_user_id"),
        time_ms=f.time_ms(),
        extra=extra or fallback or "",
        bot=last.text("bot", TYPE_MAX, required=False, empty=True) or "",
        bot_event=last.text("bot_event", EVENT_MAX, required=False, empty=True) or "",
        raw=body,
    )


def parse_expired(body: Any) -> InboundExpired:
    f = Fields.of(body)
    return InboundExpired(
        user_key=f.identifier("user_key", USER_KEY_MAX),
        sender_key=f.identifier("sender_key", SENDER_KEY_MAX),
        session_id=f.digits("session_id", SESSION_ID_MAX, required=False),
        time_ms=f.time_ms(),
        reason=f.text("reason", REASON_MAX, required=False, empty=True),
        raw=body,
    )


# ---- outbound: partner -> Kakao (spec §4) ------------------------------------------------


def quick_reply(name: str) -> dict[str, str]:
    """A BK button: tapping it sends ``name`` back as the user's message."""
    return {"name": name, "type": "BK"}


def web_link(name: str, url: str) -> dict[str, str]:
    return {"name": name, "type": "WL", "url_mobile": url, "url_pc": url}


def tx(message: str) -> dict[str, Any]:
    return {"message_type": "TX", "message": message}


def li(message: str, links: list[dict] | tuple[dict, ...] = (),
       quick_replies: list[dict] | tuple[dict, ...] = ()) -> dict[str, Any]:
    bubble: dict[str, Any] = {"message_type": "LI", "message": message}
    if links:
        bubble["links"] = list(links)
    if quick_replies:
        bubble["supplement"] = {"quick_reply": list(quick_replies)}
    return bubble


def im(image_url: str) -> dict[str, Any]:
    return {"message_type": "IM", "image_url": image_url}


def fi(file_url: str, file_name: str, file_size: int) -> dict[str, Any]:
    return {"message_type": "FI", "file_url": file_url, "file_name": file_name, "file_size": file_size}


def write_body(user_key: str, sender_key: str, serial_number: str, bubble: Mapping[str, Any]) -> dict[str, Any]:
    return {"user_key": user_key, "sender_key": sender_key, "serial_number": serial_number, **bubble}


def end_body(user_key: str, sender_key: str) -> dict[str, str]:
    return {"user_key": user_key, "sender_key": sender_key}


def end_with_bot_body(user_key: str, sender_key: str, bot_event: str = "") -> dict[str, str]:
    body = end_body(user_key, sender_key)
    return {**body, "bot_event": bot_event} if bot_event else body


# ---- outbound, as Kakao reads it (the simulator's side) ----------------------------------


@dataclass(frozen=True)
class Button:
    name: str
    type: str
    url: str | None = None


@dataclass(frozen=True)
class WriteRequest:
    user_key: str
    sender_key: str
    serial_number: str
    message_type: str
    message: str | None = None
    image_url: str | None = None
    file_url: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    links: tuple[Button, ...] = ()
    quick_replies: tuple[Button, ...] = ()
    auto_answer: str | None = None

    @property
    def media_urls(self) -> tuple[str, ...]:
        return tuple(u for u in (self.image_url, self.file_url) if u)


@dataclass(frozen=True)
class EndRequest:
    user_key: str
    sender_key: str
    bot_event: str = ""


def parse_end(body: Any) -> EndRequest:
    f = Fields.of(body)
    return EndRequest(f.required("user_key", USER_KEY_MAX), f.required("sender_key", SENDER_KEY_MAX),
                      f.text("bot_event", EVENT_MAX, required=False, empty=True) or "")


def parse_write(body: Any) -> WriteRequest:
    """The §4.1 rules: which fields each ``message_type`` needs and which it may carry."""
    f = Fields.of(body)
    kind = f.required("message_type", 2)
    if kind not in WRITE_TYPES:
        raise ProtocolError("message_type", f'"{kind}" is not one of {", ".join(WRITE_TYPES)}')
    _only_with_li(f, kind)
    return WriteRequest(
        user_key=f.required("user_key", USER_KEY_MAX),
        sender_key=f.required("sender_key", SENDER_KEY_MAX),
        serial_number=f.required("serial_number", SERIAL_MAX),
        message_type=kind,
        message=f.text("message", TEXT_MAX, required=kind in ("TX", "LI")),
        image_url=_url(f, "image_url", required=kind == "IM"),
        file_url=_url(f, "file_url", required=kind == "FI"),
        file_name=f.text("file_name", URL_MAX, required=kind == "FI"),
        file_size=_file_size(f, required=kind == "FI"),
        links=tuple(_button(b, f"links[{i}]") for i, b in enumerate(f.array("links", LINKS_MAX))),
        quick_replies=tuple(_button(b, f"supplement.quick_reply[{i}]")
                            for i, b in enumerate(_quick_replies(f))),
        auto_answer=f.text("auto_answer", AUTO_ANSWER_MAX, required=False),
    )


def _only_with_li(f: Fields, kind: str) -> None:
    for key in ("links", "supplement", "auto_answer"):
        if kind != "LI" and f.data.get(key) is not None:
            raise ProtocolError(key, f"is only allowed with message_type LI, not {kind}")


def _quick_replies(f: Fields) -> list[Any]:
    """Spec §8 #7: ``{"quick_reply": [...]}`` is what we send; a bare list is tolerated."""
    value = f.data.get("supplement")
    if isinstance(value, list):
        return f.array("supplement", QUICK_REPLIES_MAX)
    return f.nested("supplement").array("quick_reply", QUICK_REPLIES_MAX)


def _button(value: Any, name: str) -> Button:
    f = Fields.of(value, name, f"{name}.")
    kind = f.required("type", 2)
    if kind not in BUTTON_TYPES:
        raise ProtocolError(f.name("type"), f'"{kind}" is not one of {", ".join(BUTTON_TYPES)}')
    if kind == "AL":
        schemes = [f.text(key, URL_MAX, required=False) for key in ("scheme_android", "scheme_ios")]
        if not any(schemes):
            raise ProtocolError(f.name("scheme_android"), "an app link (AL) needs scheme_android or scheme_ios")
    return Button(f.required("name", BUTTON_NAME_MAX), kind,
                  _url(f, "url_mobile", required=kind == "WL"))


def label_problem(label: str) -> str | None:
    """Why 상담톡 would refuse a button label; shared by flows, the FAQ and the agent API so all
    three hold labels to the one limit the simulator enforces."""
    if len(label) <= BUTTON_NAME_MAX:
        return None
    return f'button label "{label}" has {len(label)} characters; keep it to {BUTTON_NAME_MAX} so it is not cut off'


def url_problem(url: str) -> str | None:
    """Why 상담톡 could not open a link or image URL (spec §4.1, §5): only absolute http(s) URLs of
    at most URL_MAX characters, so a relative path or a typo fails here and not in a customer's chat."""
    if len(url) > URL_MAX:
        return f"the URL has {len(url)} characters; 상담톡 takes at most {URL_MAX}"
    if not _absolute_http(url):
        return f'"{url}" is not an absolute http(s) URL such as https://shop.example.com/track'
    return None


def _absolute_http(url: str) -> bool:
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _url(f: Fields, key: str, required: bool) -> str | None:
    value = f.text(key, URL_MAX, required=required)
    if value is not None and urlsplit(value).scheme not in ("http", "https"):
        raise ProtocolError(f.name(key), "must be an http(s) URL")
    return value


def _file_size(f: Fields, required: bool) -> int | None:
    value = f.optional_int("file_size")
    if value is None and required:
        raise ProtocolError("file_size", "is required")
    if value is not None and value < 0:
        raise ProtocolError("file_size", "must not be negative")
    return value
