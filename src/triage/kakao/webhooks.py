"""The routes Kakao's 상담톡 relay calls: wiring only.

Each handler checks the caller, parses the body strictly, stores the event durably (with
the other webhooks of the same moment: ``intake.py``) and answers ``{"code":"0"}``; the
dialogue work happens after the answer, in the dispatcher.
A body that breaks the protocol gets a 4xx with a JSON error and a log line, and nothing
of it is stored.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from aiohttp import web

from triage.constant_time import same_secret
from triage.kakao.protocol import InboundMessage, ProtocolError, parse_expired, parse_message, parse_reference
from triage.settings import ServerSettings
from triage.store import Inbound, InboxItem, clean_text

log = logging.getLogger("triage.webhooks")

OK = {"code": "0"}
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
"""How a lone surrogate can enter: UTF-8 cannot carry one, only a ``\\udXXX`` escape can."""
SENDER_SHOWN = 8
"""Characters of a sender_key a refusal log shows: enough to tell keys apart, too few to use one."""


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _within(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


@dataclass(frozen=True)
class Guards:
    """The caller checks of one triage.yaml snapshot, its networks parsed once rather than per request."""

    networks: tuple[Network, ...]
    proxies: tuple[Network, ...]
    secret_header: str
    secret: str | None
    max_body: int


def guards(server: ServerSettings) -> Guards:
    return Guards(tuple(ipaddress.ip_network(ip, strict=False) for ip in server.allow_ips),
                  tuple(ipaddress.ip_network(ip, strict=False) for ip in server.trusted_proxies),
                  server.secret_header or "X-Triage-Secret", server.secret or None, server.max_body)


FIXED = ("host", "port", "path_prefix")
"""What a running server cannot follow: the socket is bound and the routes are mounted at start."""


def moved(started: ServerSettings, now: ServerSettings) -> list[str]:
    return [f"server.{key} ({getattr(started, key)!r} -> {getattr(now, key)!r})"
            for key in FIXED if getattr(started, key) != getattr(now, key)]


class WebhookError(Exception):
    """``message`` is the caller's answer; ``detail`` is for the operator's log only."""

    def __init__(self, status: int, code: str, message: str, detail: str = ""):
        self.status, self.code, self.message, self.detail = status, code, message, detail
        super().__init__(message)


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


def _parse_message(body: Any) -> InboundMessage:
    """Spec §8 #2: a kind beyond the five we know is accepted, and logged so that someone finds
    out what Kakao really sends; only the kind, since the content is the user's."""
    message = parse_message(body)
    if not message.known_type:
        log.warning("message %r has unknown type %r", message.serial_number, message.type)
    return message


class Webhooks:
    """Handlers bound to the app's runtime, dispatcher and live settings.

    ``server`` is called per request and must return the current snapshot's ``ServerSettings`` (the
    same object until a reload), so the guards follow triage.yaml while they are rebuilt only on a
    reload; ``started`` is what the routes and socket were made from."""

    def __init__(self, started: ServerSettings, server: Callable[[], ServerSettings], sender_key: Callable[[], str],
                 accept: Callable[[Inbound], Awaitable[InboxItem | None]]):
        self.started = started
        self.server = server
        self.sender_key = sender_key
        self.accept = accept
        self._seen = started
        self._guards = guards(started)

    def routes(self) -> list[web.RouteDef]:
        prefix = self.started.path_prefix
        return [web.post(f"{prefix}/message", self.message), web.post(f"{prefix}/reference", self.reference),
                web.post(f"{prefix}/expired_session", self.expired)]

    async def message(self, request: web.Request) -> web.Response:
        return await self._handle(request, "message", _parse_message, lambda m: f"msg:{m.serial_number}")

    async def reference(self, request: web.Request) -> web.Response:
        return await self._handle(request, "reference", parse_reference,
                                  lambda r: f"ref:{r.session_id or r.user_key + ':' + str(r.time_ms)}")

    async def expired(self, request: web.Request) -> web.Response:
        return await self._handle(request, "expired", parse_expired,
                                  lambda e: f"exp:{e.session_id or e.user_key + ':' + str(e.time_ms)}")

    def guards(self) -> Guards:
        """Rebuilt when a reload brings new settings; a change the server cannot follow is logged then."""
        server = self.server()
        if server is not self._seen:
            for change in moved(self._seen, server):
                log.warning("%s changed in triage.yaml: takes effect at the next restart", change)
            self._seen, self._guards = server, guards(server)
        return self._guards

    async def _handle(self, request: web.Request, kind: str, parse: Callable[[Any], Any],
                      dedupe: Callable[[Any], str]) -> web.Response:
        current = self.guards()
        try:
            self._check_caller(request, current)
            event = parse(await self._json(request, current.max_body))
            self._check_sender(event.sender_key)
        except WebhookError as exc:
            log.warning("rejected %s from %s: %s %s%s", request.path, request.remote, exc.status, exc.message,
                        exc.detail)
            return error_response(exc.status, exc.code, exc.message)
        except ProtocolError as exc:
            log.warning("rejected %s from %s: 400 %s", request.path, request.remote, exc.message)
            return error_response(400, "-400", exc.message)
        payload = {k: v for k, v in event.__dict__.items() if k not in ("raw", "sender_key")}
        if await self.accept(Inbound(event.user_key, kind, dedupe(event), payload)) is None:
            log.info("duplicate %s ignored (%s)", kind, dedupe(event))
        return web.json_response(OK)

    def _check_sender(self, given: str) -> None:
        """A wrong key is a misconfiguration far more often than an attack, and only the two keys side by
        side show which end is wrong; the caller learns nothing of ours."""
        expected = self.sender_key()
        if given != expected:
            raise WebhookError(403, "-501", "InvalidSenderException(unknown sender_key)",
                               f": got {given[:SENDER_SHOWN]}…, expected {expected[:SENDER_SHOWN]}… "
                               "(channel.sender_key in triage.yaml)")

    def _check_caller(self, request: web.Request, current: Guards) -> None:
        if current.networks:
            caller = self._caller(request, current.proxies)
            if caller is None or not _within(caller, current.networks):
                raise WebhookError(403, "-403", "caller address not allowed")
        if current.secret and not same_secret(request.headers.get(current.secret_header, ""), current.secret):
            raise WebhookError(401, "-401", f"missing or wrong {current.secret_header} header")

    def _caller(self, request: web.Request, proxies: tuple[Network, ...]) -> Address | None:
        """The peer; behind a trusted proxy, the right-most X-Forwarded-For hop that is not a trusted
        proxy itself, since every hop left of it was written by whoever sent the request. None when
        an address cannot be read, which the allow-list refuses."""
        hops = [request.remote or ""]
        if proxies:
            forwarded = ",".join(request.headers.getall("X-Forwarded-For", ()))
            hops += reversed([hop.strip() for hop in forwarded.split(",") if hop.strip()])
        for hop in hops:
            try:
                address = ipaddress.ip_address(hop)
            except ValueError:
                return None
            if not _within(address, proxies):
                return address
        return address

    async def _json(self, request: web.Request, limit: int) -> Any:
        """UTF-8, with or without a BOM: some encoders write one, and it means nothing here."""
        if request.content_length is not None and request.content_length > limit:
            raise WebhookError(413, "-413", f"body over {limit} bytes")
        try:
            raw = await _body(request, limit)
        except ValueError as exc:
            raise WebhookError(400, "-400", f"unreadable body: {exc}") from None
        try:
            body = json.loads(raw.decode("utf-8").removeprefix("\ufeff"))
            return _without_lone_surrogates(body) if SURROGATE_ESCAPE.search(raw) else body
        except UnicodeDecodeError:
            raise WebhookError(400, "-400", "body is not UTF-8") from None
        except json.JSONDecodeError as exc:
            raise WebhookError(400, "-400", f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        except RecursionError:
            raise WebhookError(400, "-400", "malformed JSON: nested too deeply") from None


async def _body(request: web.Request, limit: int) -> bytes:
    """Until EOF: one read returns only what has arrived, and a long or chunked body arrives in
    pieces. The cap is checked per piece, so a streamed body cannot grow past it in memory."""
    parts: list[bytes] = []
    size = 0
    while chunk := await request.content.read(limit + 1 - size):
        size += len(chunk)
        if size > limit:
            raise WebhookError(413, "-413", f"body over {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


def _without_lone_surrogates(value: Any) -> Any:
    """Lone surrogates become U+FFFD rather than a refusal: the customer's message still arrives with
    one unreadable character, where a 400 would lose all of it, and every later writer (the store,
    ``triage export``, reports) can encode what was kept."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(key): _without_lone_surrogates(item) for key, item in value.items()}
    return value
