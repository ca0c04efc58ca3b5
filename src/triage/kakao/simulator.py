"""A local 상담톡 relay (Kakao's side) for ``triage sim``, the demo and end-to-end tests.

It plays both roles Kakao plays: it calls the partner's webhooks when a simulated user taps
상담하기, types, leaves or blocks, and it answers the partner's outbound calls with the same
checks and result codes we expect from Kakao (spec §7), so a bug that Kakao would reject is
rejected here first. The rules live in ``sim_state`` (no I/O); this module is the HTTP shell.

HTTP API for tests and clients (JSON everywhere; ``?sender_key=`` picks a channel, default the
first):

- ``POST /sim/users/{user_key}/consult`` ``{"extra", "bot", "event"}``: tap 상담하기
- ``POST /sim/users/{user_key}/messages`` ``{"text"}`` or ``{"type": "photo", "url"?}``, or any other
  kind with its ``content`` as Kakao might send it: ``{"type": "emoticon", "content": {"id": "e1"}}``
- ``POST /sim/users/{user_key}/leave`` ``{"reason"?}``, ``.../block``, ``.../unblock`` (admin)
- ``GET /sim/users/{user_key}/seen?after=N&wait=S``: entries after index N, long-polling S seconds
- ``GET /sim/users/{user_key}/session``, ``GET /sim/state``
- ``POST /sim/clock`` ``{"advance": seconds}``
- ``POST /sim/faults`` ``{"path": "write", "status": 500, "count": 3}`` and/or ``{"latency": 0.2}``

A user action the partner fails to accept (non-2xx, timeout), after ``partner_retries`` resends,
answers 502 and, when it was meant to start a session, leaves no session behind (spec §2.5).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping

import aiohttp
from aiohttp import web

from triage.kakao.protocol import (EVENT_MAX, EXTRA_MAX, INBOUND_TEXT_MAX, MESSAGE_TYPES, REASON_MAX,
                                   RESULT_CODES, TYPE_MAX, URL_MAX, ErrorCode, Fields, ProtocolError, ResultCodes,
                                   parse_end, parse_write)
from triage.kakao.sim_state import Channel, Session, User, World
from triage.problems import did_you_mean
from triage.settings import DEMO_SENDER_KEY, KAKAO_PATHS, Settings

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MB = 1024 * 1024
USER_KEY = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
IMAGE_MAGIC = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"GIF87a": "image/gif",
               b"GIF89a": "image/gif"}
PHOTO = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                      "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
"""A 1x1 PNG, the picture a simulated user sends when a test asks for a photo."""


@dataclass(frozen=True)
class SimChannel:
    sender_key: str = DEMO_SENDER_KEY
    name: str = "고객센터"
    partner: str = "http://127.0.0.1:8080"
    """The receive domain: where this channel's /message, /reference, /expired_session go."""


@dataclass(frozen=True)
class SimConfig:
    """How the simulated Kakao behaves; everything the spec marks as an assumption is here.

    ``paths`` and ``required_headers`` mirror the partner's ``kakao`` settings, so the partner's
    client and the simulator agree on the wire. ``expiry_seconds`` is 30 days as on Kakao; tests
    shrink it and advance the clock instead of waiting.
    """

    channels: tuple[SimChannel, ...] = (SimChannel(),)
    paths: Mapping[str, str] = field(default_factory=lambda: dict(KAKAO_PATHS))
    required_headers: Mapping[str, str] = field(default_factory=dict)
    reference_order: str = "before"
    expired_callback: bool = True
    expiry_seconds: float = 30 * 86400
    partner_timeout: float = 3.0
    partner_retries: int = 0
    """Spec §2.5: Kakao's retry policy is unknown, so a call the partner fails (non-2xx, timeout,
    unreachable) may be sent again this many times, the identical body with the same serial."""
    codes: ResultCodes = RESULT_CODES
    max_image_bytes: int = 5 * MB
    max_link_image_bytes: int = MB // 2
    max_file_bytes: Mapping[str, int] = field(default_factory=lambda: {"file": 300 * MB, "video": 300 * MB,
                                                                    "audio": 10 * MB})
    max_wait: float = 60.0
    mount: str = ""
    """The path this app is mounted under in a parent app (``/preview/kakao``), so media URLs point back here."""

    @classmethod
    def for_site(cls, settings: Settings, partner: str, **changes: Any) -> "SimConfig":
        """The simulator a site's server expects: its channel, its 상담톡 paths and auth headers, and
        its webhooks under the secret ``server.path_prefix`` of the server at ``partner``."""
        channel = SimChannel(changes.pop("sender_key", None) or settings.channel.sender_key, settings.channel.name,
                             partner.rstrip("/") + settings.server.path_prefix)
        return cls(channels=(channel,), paths=dict(settings.kakao.paths),
                   required_headers=dict(settings.kakao.headers), **changes)

    def __post_init__(self) -> None:
        if self.reference_order not in ("before", "after"):
            raise ValueError('reference_order must be "before" or "after"')
        if self.partner_retries < 0:
            raise ValueError("partner_retries must be 0 or more")
        if not self.channels:
            raise ValueError("the simulator needs at least one channel")
        missing = set(_PARTNER_HANDLERS) - set(self.paths)
        if missing:
            raise ValueError(f"no path configured for {', '.join(sorted(missing))}")


@dataclass
class Faults:
    """Injected failures: the next ``count`` calls to a path answer ``status`` before any check."""

    pending: dict[str, list[int]] = field(default_factory=dict)
    latency: float = 0.0

    def take(self, kind: str) -> int | None:
        status, count = self.pending.get(kind, (0, 0))
        if count <= 0:
            return None
        self.pending[kind] = [status, count - 1]
        return status


class Refused(Exception):
    """A partner call Kakao turns down with one of its result codes."""

    def __init__(self, error: ErrorCode, detail: str, status: int = 400):
        self.error, self.detail, self.status = error, detail, status
        super().__init__(detail)


class SimError(Exception):
    """A refused user action: answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


WORLD = web.AppKey("world", World)
CONFIG = web.AppKey("config", SimConfig)
FAULTS = web.AppKey("faults", Faults)
HTTP = web.AppKey("http", aiohttp.ClientSession)
CHANGED = web.AppKey("changed", asyncio.Condition)


def make_sim_app(config: SimConfig | None = None) -> web.Application:
    config = config or SimConfig()
    app = web.Application(middlewares=[_errors, _expire_first],
                          client_max_size=max(config.max_file_bytes.values(), default=0) + MB)
    app[CONFIG] = config
    app[FAULTS] = Faults()
    app[WORLD] = World((Channel(c.sender_key, c.name, c.partner) for c in config.channels), config.expiry_seconds)
    app.cleanup_ctx.append(_resources)
    for kind, handler in _PARTNER_HANDLERS.items():
        app.router.add_post(config.paths[kind], _partner_endpoint(kind, handler))
    app.router.add_get("/dn/{media_id}/{name}", _media)
    users = "/sim/users/{user_key}"
    app.router.add_post(f"{users}/consult", _consult)
    app.router.add_post(f"{users}/messages", _user_message)
    app.router.add_post(f"{users}/leave", _leave)
    app.router.add_post(f"{users}/block", _user_block)
    app.router.add_post(f"{users}/unblock", _unblock)
    app.router.add_get(f"{users}/seen", _seen)
    app.router.add_get(f"{users}/session", _session)
    app.router.add_post("/sim/clock", _clock)
    app.router.add_post("/sim/faults", _faults)
    app.router.add_get("/sim/state", _state)
    return app


async def _resources(app: web.Application) -> AsyncIterator[None]:
    app[CHANGED] = asyncio.Condition()
    async with aiohttp.ClientSession() as session:
        app[HTTP] = session
        yield


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except SimError as exc:
        return web.json_response({"error": str(exc)}, status=exc.status)
    except ProtocolError as exc:
        return web.json_response({"error": exc.message}, status=400)


@web.middleware
async def _expire_first(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Expiry is judged on every call against the virtual clock, as if time had really passed."""
    await _expire(request.app)
    return await handler(request)


async def _expire(app: web.Application) -> list[Session]:
    ended = app[WORLD].expire()
    for channel, user, session in ended:
        await _user_ended(app, channel, user, session)
    return [session for _, _, session in ended]


# ---- the partner's calls to Kakao ----------------------------------------------------------


def _partner_endpoint(kind: str, handler: Handler) -> Handler:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        app = request.app
        codes = app[CONFIG].codes
        if app[FAULTS].latency:
            await asyncio.sleep(app[FAULTS].latency)
        status = app[FAULTS].take(kind)
        if status:
            return _refuse(codes.injected_fault, kind, status)
        if any(request.headers.get(k) != v for k, v in app[CONFIG].required_headers.items()):
            return _refuse(codes.unauthorized, "missing or wrong credentials", 401)
        try:
            return await handler(request)
        except ProtocolError as exc:
            return _refuse(codes.invalid_parameter, exc.message)
        except Refused as exc:
            return _refuse(exc.error, exc.detail, exc.status)
    return endpoint


def _refuse(error: ErrorCode, detail: str, status: int = 400) -> web.Response:
    return web.json_response(error.body(detail), status=status)


async def _json(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except ValueError:
        raise ProtocolError("body", "is not JSON") from None


async def _write(request: web.Request) -> web.StreamResponse:
    world, codes = request.app[WORLD], request.app[CONFIG].codes
    write = parse_write(await _json(request))
    error = world.write_error(write, codes)
    if error:
        raise Refused(*error)
    channel = world.channels[write.sender_key]
    world.deliver(channel, channel.users[write.user_key], write)
    await _changed(request.app)
    return web.json_response({"code": "0"})


async def _end(request: web.Request) -> web.StreamResponse:
    session = await _partner_ends(request, "partner_end")
    return web.json_response({"code": 0, **({"sessionId": session.id} if session else {})})


async def _end_with_bot(request: web.Request) -> web.StreamResponse:
    """The session ends even when the bot event is unknown (spec §4.6); the bot log shows it."""
    session = await _partner_ends(request, "end_with_bot")
    return web.json_response({"code": 0, **({"session_id": session.id} if session else {})})


async def _block(request: web.Request) -> web.StreamResponse:
    await _partner_ends(request, "partner_block")
    return web.json_response({"code": 0})


async def _partner_ends(request: web.Request, reason: str) -> Session | None:
    """Ending twice is harmless, so a retried end after a lost answer still succeeds."""
    world, codes = request.app[WORLD], request.app[CONFIG].codes
    end = parse_end(await _json(request))
    channel = world.channels.get(end.sender_key)
    if channel is None:
        raise Refused(codes.invalid_sender, f"senderKey: {end.sender_key}")
    user = world.user(channel, end.user_key)
    session = world.end(user, reason)
    if reason == "partner_block":
        user.blocked_by_partner = True
    if reason == "end_with_bot":
        channel.bot_log.append({"user_key": end.user_key, "bot_event": end.bot_event, "at": world.now_ms(),
                                "session_id": session.id if session else None})
    await _changed(request.app)
    return session


async def _image_upload(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    form = await _upload_form(request)
    data, name = _file_field(form, "image")
    limit = config.max_link_image_bytes if form.get("image_type") == "link" else config.max_image_bytes
    if len(data) > limit:
        return _refuse(config.codes.image_size, f"{len(data)} bytes, the limit is {limit}")
    content_type = next((t for magic, t in IMAGE_MAGIC.items() if data.startswith(magic)), None)
    if content_type is None:
        return _refuse(config.codes.upload_failed, "not a jpg, png or gif image")
    media = request.app[WORLD].store_media(_base_url(request), data, content_type, name, "img_l.jpg")
    return web.json_response({"code": "0000", "image": media.url})


async def _file_upload(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    form = await _upload_form(request)
    data, name = _file_field(form, "file")
    kind = str(form.get("file_type") or "file")
    limit = config.max_file_bytes.get(kind)
    if limit is None:
        return _refuse(config.codes.upload_failed, f'file_type "{kind}" is not one of {", ".join(config.max_file_bytes)}')
    if len(data) > limit:
        return _refuse(config.codes.upload_failed, f"{len(data)} bytes, the limit for {kind} is {limit}")
    media = request.app[WORLD].store_media(_base_url(request), data, "application/octet-stream", name, "file")
    return web.json_response({"code": "0000", "file": media.url, "name": name, "size": len(data)})


async def _upload_form(request: web.Request) -> Mapping[str, Any]:
    try:
        form = await request.post()
    except ValueError as exc:
        raise ProtocolError("body", f"is not a multipart form ({exc})") from None
    if form.get("sender_key") not in request.app[WORLD].channels:
        raise Refused(request.app[CONFIG].codes.invalid_sender, f"senderKey: {form.get('sender_key')}")
    return form


def _file_field(form: Mapping[str, Any], key: str) -> tuple[bytes, str]:
    value = form.get(key)
    if not isinstance(value, web.FileField):
        raise ProtocolError(key, "must be an uploaded file")
    return value.file.read(), (value.filename or key)[:URL_MAX]


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}{request.app[CONFIG].mount}"


async def _media(request: web.Request) -> web.StreamResponse:
    media = request.app[WORLD].media.get(request.match_info["media_id"])
    if media is None:
        raise web.HTTPNotFound()
    return web.Response(body=media.data, content_type=media.content_type)


_PARTNER_HANDLERS: dict[str, Handler] = {
    "write": _write, "end": _end, "end_with_bot": _end_with_bot, "block": _block,
    "image_upload": _image_upload, "file_upload": _file_upload,
}


# ---- the user's side: calls to the partner's webhooks -----------------------------------


async def _post_partner(app: web.Application, channel: Channel, path: str, body: dict) -> str | None:
    """None when the partner accepted; otherwise why the last try failed, for the caller of the user action."""
    error = None
    for _ in range(1 + app[CONFIG].partner_retries):
        error = await _post_partner_once(app, channel, path, body)
        if error is None:
            break
    return error


async def _post_partner_once(app: web.Application, channel: Channel, path: str, body: dict) -> str | None:
    url = channel.partner.rstrip("/") + path
    timeout = app[CONFIG].partner_timeout
    try:
        async with app[HTTP].post(url, json=body, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            await response.read()
            return None if 200 <= response.status < 300 else f"partner {path} answered HTTP {response.status}"
    except TimeoutError:
        return f"partner {path} did not answer within {timeout:g}s"
    except aiohttp.ClientError as exc:
        return f"cannot reach the partner at {url} ({exc or type(exc).__name__})"


def _reference_body(world: World, channel: Channel, user: User, session: Session) -> dict[str, Any]:
    """``reference`` is this entry's meta (empty when the user just typed), ``last_reference`` the latest."""
    stamp = datetime.fromtimestamp(world.now(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000")
    return {"user_key": user.user_key, "session_id": session.id, "sender_key": channel.sender_key,
            "app_user_id": None, "time": world.now_ms(),
            "reference": {"extra": session.extra, "text": "", "lastText": "", "lastTextDate": stamp,
                          "appUserId": None},
            "last_reference": {"extra": "", "bot": "false", "bot_event": "", "created_at": stamp,
                               **user.last_reference}}


def _message_body(world: World, channel: Channel, user: User, session: Session, kind: str,
                  content: Any) -> dict[str, Any]:
    body = {"user_key": user.user_key, "sender_key": channel.sender_key, "session_id": session.id,
            "time": world.now_ms(), "serial_number": world.next_serial(), "type": kind, "content": content}
    return {**body, "extra": session.extra} if session.extra else body


async def _start_session(app: web.Application, channel: Channel, user: User, extra: str,
                         message: tuple[str, Any] | None) -> Session:
    """Open first, so partner writes racing our own request find the session; undo on failure."""
    world = app[WORLD]
    previous = user.session
    session = world.open(user, world.next_session_id(), extra)
    calls = [("/reference", _reference_body(world, channel, user, session))]
    if message:
        calls.append(("/message", _message_body(world, channel, user, session, *message)))
    if app[CONFIG].reference_order == "after":
        calls.reverse()
    for path, body in calls:
        error = await _post_partner(app, channel, path, body)
        if error:
            user.session = previous
            raise SimError(502, f"no session was opened: {error}")
    return session


async def _user_ended(app: web.Application, channel: Channel, user: User, session: Session) -> None:
    """Spec §2.4: the callback is an assumption, so it can be switched off and its failure only logs."""
    await _changed(app)
    if not app[CONFIG].expired_callback:
        return
    body = {"user_key": user.user_key, "sender_key": channel.sender_key, "session_id": session.id,
            "time": app[WORLD].now_ms(), "reason": session.reason}
    error = await _post_partner(app, channel, "/expired_session", body)
    if error:
        log.warning("expired_session callback for %s failed: %s", user.user_key, error)


async def _changed(app: web.Application) -> None:
    async with app[CHANGED]:
        app[CHANGED].notify_all()


# ---- user-action API ------------------------------------------------------------------------


async def _action_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = json.loads(await request.read())
    except ValueError:
        raise SimError(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise SimError(400, "the body must be a JSON object")
    return body


def _text(body: Mapping[str, Any], key: str, limit: int, default: str = "") -> str:
    return Fields(body).text(key, limit, required=False, empty=True) or default


def _channel(request: web.Request) -> Channel:
    channels = request.app[WORLD].channels
    key = request.query.get("sender_key") or next(iter(channels))
    if key not in channels:
        raise SimError(404, f'no channel with sender_key "{key}"{did_you_mean(key, channels)}')
    return channels[key]


def _user(request: web.Request) -> tuple[Channel, User]:
    """Users exist from their first mention, as any KakaoTalk user may open the channel's chat."""
    key = request.match_info["user_key"]
    if not USER_KEY.match(key):
        raise SimError(400, "user_key must be 1-20 letters, digits, - or _")
    channel = _channel(request)
    return channel, request.app[WORLD].user(channel, key)


def _may_talk(user: User) -> None:
    if user.blocked_by_partner:
        raise SimError(403, f"{user.user_key} was blocked by the channel")


async def _consult(request: web.Request) -> web.StreamResponse:
    body = await _action_body(request)
    extra = _text(body, "extra", EXTRA_MAX)
    meta = {"extra": extra, "bot": _text(body, "bot", 10, "false"), "bot_event": _text(body, "event", EVENT_MAX)}
    channel, user = _user(request)
    _may_talk(user)
    if user.active:
        return web.json_response({"opened": False, **user.to_json()})
    user.last_reference = meta
    await _start_session(request.app, channel, user, extra, None)
    return web.json_response({"opened": True, **user.to_json()})


async def _user_message(request: web.Request) -> web.StreamResponse:
    body = await _action_body(request)
    kind = _text(body, "type", TYPE_MAX, "text")
    if kind not in MESSAGE_TYPES and "content" not in body:
        raise SimError(400, f'"type" must be one of {", ".join(MESSAGE_TYPES)}, or come with "content" '
                            f'to send a kind Kakao may have beyond those')
    channel, user = _user(request)
    _may_talk(user)
    content = _user_content(request, body, kind)
    opened = user.active is None
    if opened:
        await _start_session(request.app, channel, user, "", (kind, content))
    else:
        await _send_to_partner(request.app, channel, user, kind, content)
    world = request.app[WORLD]
    world.show(user, {"kind": "user", "type": kind, "text": content if isinstance(content, str) else None,
                      "url": content.get("url") if isinstance(content, dict) else None})
    await _changed(request.app)
    return web.json_response({"opened": opened, **user.to_json()})


def _user_content(request: web.Request, body: Mapping[str, Any], kind: str) -> Any:
    """An unknown kind's ``content`` goes out as given: what Kakao would send for it is unknown."""
    if kind not in MESSAGE_TYPES:
        return body["content"]
    if kind == "text":
        text = _text(body, "text", INBOUND_TEXT_MAX)
        if not text:
            raise SimError(400, '"text" is required')
        return text
    url = _text(body, "url", URL_MAX)
    if not url:
        url = request.app[WORLD].store_media(_base_url(request), PHOTO, "image/png", "photo.png", "img_l.jpg").url
    return {"url": url}


async def _send_to_partner(app: web.Application, channel: Channel, user: User, kind: str,
                           content: Any) -> None:
    world = app[WORLD]
    session = user.active
    assert session is not None
    error = await _post_partner(app, channel, "/message", _message_body(world, channel, user, session, kind, content))
    if error:
        raise SimError(502, error)
    world.touch(user)


async def _leave(request: web.Request) -> web.StreamResponse:
    reason = _text(await _action_body(request), "reason", REASON_MAX, "user_left") or "user_left"
    channel, user = _user(request)
    return await _user_ends(request, channel, user, reason)


async def _user_block(request: web.Request) -> web.StreamResponse:
    channel, user = _user(request)
    user.blocked_channel = True
    return await _user_ends(request, channel, user, "user_blocked_channel")


async def _user_ends(request: web.Request, channel: Channel, user: User, reason: str) -> web.StreamResponse:
    session = request.app[WORLD].end(user, reason)
    if session:
        await _user_ended(request.app, channel, user, session)
    return web.json_response({"ended": session is not None, **user.to_json()})


async def _unblock(request: web.Request) -> web.StreamResponse:
    _, user = _user(request)
    user.blocked_by_partner = False
    return web.json_response(user.to_json())


async def _session(request: web.Request) -> web.StreamResponse:
    return web.json_response(_user(request)[1].to_json())


async def _seen(request: web.Request) -> web.StreamResponse:
    """Long-poll: answers as soon as something after ``after`` exists, or empty after ``wait``."""
    after = _number(request.query.get("after", "-1"), "after", int)
    wait = min(_number(request.query.get("wait", "0"), "wait", float), request.app[CONFIG].max_wait)
    _, user = _user(request)

    def fresh() -> list[dict[str, Any]]:
        return user.seen[max(after + 1, 0):]

    if not fresh() and wait > 0:
        async with request.app[CHANGED]:
            try:
                await asyncio.wait_for(request.app[CHANGED].wait_for(lambda: bool(fresh())), wait)
            except TimeoutError:
                pass
    return web.json_response({"user_key": user.user_key, "seen": fresh(), "last": len(user.seen) - 1})


def _number(raw: str, name: str, kind: type) -> Any:
    try:
        value = kind(raw)
    except ValueError:
        raise SimError(400, f'"{name}" must be a number') from None
    if kind is float and not 0 <= value < float("inf"):
        raise SimError(400, f'"{name}" must be a non-negative number')
    return value


async def _clock(request: web.Request) -> web.StreamResponse:
    advance = (await _action_body(request)).get("advance", 0)
    if isinstance(advance, bool) or not isinstance(advance, (int, float)) or not 0 <= advance <= 10 * 365 * 86400:
        raise SimError(400, '"advance" must be a number of seconds between 0 and ten years')
    request.app[WORLD].advance(advance)
    expired = await _expire(request.app)
    return web.json_response({"now": request.app[WORLD].now_ms(), "offset": request.app[WORLD].offset,
                              "expired": [s.id for s in expired]})


async def _faults(request: web.Request) -> web.StreamResponse:
    body = await _action_body(request)
    faults, paths = request.app[FAULTS], request.app[CONFIG].paths
    if "path" in body:
        kind, status, count = body.get("path"), body.get("status", 500), body.get("count", 1)
        if not isinstance(kind, str) or kind not in paths:
            raise SimError(400, f'"path" must be one of {", ".join(paths)}{did_you_mean(str(kind), paths)}')
        if not _whole(status, 400, 599) or not _whole(count, 0, 10_000):
            raise SimError(400, '"status" must be 400-599 and "count" 0-10000')
        faults.pending[kind] = [status, count]
    if "latency" in body:
        latency = body["latency"]
        if isinstance(latency, bool) or not isinstance(latency, (int, float)) or not 0 <= latency <= 30:
            raise SimError(400, '"latency" must be 0-30 seconds')
        faults.latency = float(latency)
    return web.json_response({"pending": faults.pending, "latency": faults.latency})


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


async def _state(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    return web.json_response({**request.app[WORLD].to_json(), "reference_order": config.reference_order,
                              "expired_callback": config.expired_callback, "paths": dict(config.paths)})
