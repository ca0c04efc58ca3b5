"""The partner -> Kakao client: one attempt per call, and a verdict the outbox can act on.

Retrying belongs to the durable outbox, not here: a retry loop in memory would lose its place
on restart. So ``send`` makes exactly one attempt, never raises for network trouble, and says
whether to try again (timeouts, 408, 429 with its Retry-After, 5xx, refused credentials, Kakao
unreachable behind the relay, an answer without a result code), give up, or close the local
conversation because Kakao has no session for the user any more. The outbox resends the same
body, so the serial number is reused and Kakao's de-duplication makes the retry safe; that
is also why "duplicate serial" counts as delivered.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from triage.json_encoding import dumps
from triage.kakao.protocol import RESULT_CODES, ResultCodes, is_error, normalize_code, same_code
from triage.kakao.render import OutboundCall
from triage.settings import DEMO_SENDER_KEY, KakaoSettings

log = logging.getLogger(__name__)

OUTCOMES = ("ok", "retry", "no_session", "failed")
TRANSIENT_STATUSES = frozenset({408, 429})
"""Below 500, the HTTP answers that say "not now" rather than "never"."""
CREDENTIAL_STATUSES = frozenset({401, 403})
REFUSED_CREDENTIALS = "credentials refused"
"""How a verdict's message starts when Kakao refused ``kakao.headers``, so the shell can raise the alarm."""
ALARM_EVERY = 60.0
"""Seconds between two lines of one alarm (refused credentials, replies being retried): every waiting
customer's head row retries about once a minute, and one line a minute says as much as a thousand."""
KAKAO_UNREACHABLE = "400"
"""The Nexus center API's result code for "could not reach Kakao server" (spec §4.10): the relay
is up, Kakao behind it is not."""


@dataclass(frozen=True)
class Delivery:
    outcome: str  # one of OUTCOMES
    status: int | None
    code: str | None
    message: str
    response: dict | None = None
    retry_after: float | None = None


class Alarm:
    """A trouble that repeats for every waiting customer, said at most once per ``every`` seconds: the
    first time at once, then with how often it happened, and to how many, since the last line."""

    def __init__(self, every: float = ALARM_EVERY, clock: Callable[[], float] = time.monotonic):
        self._every = every
        self._clock = clock
        self._times = 0
        self._who: set[str] = set()
        self._rang_at = -math.inf

    def ring(self, who: str = "") -> tuple[int, int] | None:
        """Count one more; ``(times, distinct whos)`` since the last line when it is time for one."""
        self._times += 1
        self._who.add(who)
        now = self._clock()
        if now - self._rang_at < self._every:
            return None
        tally = self._times, len(self._who)
        self._times, self._who, self._rang_at = 0, set(), now
        return tally


class UploadError(Exception):
    """An upload Kakao refused or that never arrived; ``delivery`` says whether to try again."""

    def __init__(self, delivery: Delivery):
        self.delivery = delivery
        super().__init__(delivery.message)


def classify(status: int, payload: dict | None, retry_after: float | None = None,
             codes: ResultCodes = RESULT_CODES, *, needs_code: bool = True) -> Delivery:
    """Result codes first, HTTP status second: dealers answer errors with 200 and a negative code.

    Every 상담톡 call answers with a result code (spec §4.1, §4.5-4.7), so a 2xx without one proves
    nothing: a misrouted ``base_url`` answering an HTML page with 200 would otherwise swallow every
    reply. It is retried instead. Uploads pass ``needs_code=False``: the v1 file upload's answer is
    undocumented, and an upload is judged by the URL it returns.

    Refused credentials are retried rather than failed: they are usually being rotated, and a
    failure would drop every reply until they are fixed.
    """
    code = normalize_code(payload.get("code")) if payload else None
    message = str(payload.get("message") or "") if payload else ""

    def verdict(outcome: str, why: str = "") -> Delivery:
        return Delivery(outcome, status, code, message or why or f"HTTP {status}", payload, retry_after)

    if any(same_code(code, ok) for ok in codes.success):
        return verdict("ok", "delivered")
    if is_error(code, message, codes.duplicate_serial):
        return verdict("ok", "already delivered")
    if is_error(code, message, codes.no_session) or is_error(code, message, codes.blocked_user):
        return verdict("no_session")
    if status in CREDENTIAL_STATUSES or is_error(code, message, codes.unauthorized):
        refused = f"{REFUSED_CREDENTIALS}: {message or f'HTTP {status}'}"
        return Delivery("retry", status, code, refused, payload, retry_after)
    if (status in TRANSIENT_STATUSES or status >= 500 or is_error(code, message, codes.system_error)
            or same_code(code, KAKAO_UNREACHABLE)):
        return verdict("retry")
    if 200 <= status < 300 and code is None:
        return verdict("retry", "an answer without a result code") if needs_code else verdict("ok", "delivered")
    return verdict("failed")


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds or an HTTP date (RFC 9110); nonsense is ignored rather than trusted."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


def client_session() -> aiohttp.ClientSession:
    """The one HTTP session for calls out of the server.

    No cookie jar: the 상담톡 API authenticates by header and sets no cookies we must return,
    and a jar filters and updates cookies on every request. Connections are kept alive and
    reused (aiohttp's default), which is what makes one call per outbound message affordable.
    """
    return aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(), json_serialize=dumps)


class KakaoClient:
    """The one user of the shared ``aiohttp.ClientSession`` for calls to Kakao (or the simulator).

    ``sender_key`` is the channel uploads are filed under (``Settings.channel.sender_key``).
    """

    def __init__(self, settings: KakaoSettings, session: aiohttp.ClientSession, *,
                 sender_key: str = DEMO_SENDER_KEY, codes: ResultCodes = RESULT_CODES):
        self.settings = settings
        self.sender_key = sender_key
        self.codes = codes
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout)
        self._refused = Alarm()

    def url(self, kind: str) -> str:
        return self.settings.base_url.rstrip("/") + self.settings.paths[kind]

    async def send(self, call: OutboundCall) -> Delivery:
        if call.kind not in self.settings.paths:
            return Delivery("failed", None, None, f'no Kakao path configured for "{call.kind}"')
        return await self._post(call.kind, needs_code=True, json=call.body)

    async def upload_image(self, data: bytes, filename: str, content_type: str) -> str:
        form = self._form()
        form.add_field("image", data, filename=filename, content_type=content_type)
        payload = await self._upload("image_upload", form)
        return _url_in(payload, ("image", "image_url", "url"))

    async def upload_file(self, data: bytes, filename: str) -> dict:
        form = self._form()
        form.add_field("file", data, filename=filename, content_type="application/octet-stream")
        payload = await self._upload("file_upload", form)
        size = payload.get("size")
        return {"url": _url_in(payload, ("file", "file_url", "url")),
                "name": str(payload.get("name") or filename),
                "size": size if isinstance(size, int) and not isinstance(size, bool) else len(data)}

    def _form(self) -> aiohttp.FormData:
        form = aiohttp.FormData()
        form.add_field("sender_key", self.sender_key)
        return form

    async def _upload(self, kind: str, form: aiohttp.FormData) -> dict:
        delivery = await self._post(kind, needs_code=False, data=form)
        if delivery.outcome != "ok":
            raise UploadError(delivery)
        if delivery.response is None:
            raise UploadError(Delivery("failed", delivery.status, None, "the upload answer was not JSON"))
        return delivery.response

    async def _post(self, kind: str, *, needs_code: bool, **body: Any) -> Delivery:
        try:
            async with self._session.post(self.url(kind), headers=self.settings.headers,
                                          timeout=self._timeout, **body) as response:
                payload = _json_object(await response.read())
                retry_after = parse_retry_after(response.headers.get("Retry-After"), time.time())
                delivery = classify(response.status, payload, retry_after, self.codes, needs_code=needs_code)
        except TimeoutError:
            return Delivery("retry", None, None, f"no answer within {self.settings.timeout:g}s")
        except aiohttp.ClientError as exc:
            return Delivery("retry", None, None, f"connection failed: {exc or type(exc).__name__}")
        if delivery.outcome == "retry" and delivery.message.startswith(REFUSED_CREDENTIALS):
            self._credentials_refused(kind, delivery.message)
        return delivery

    def _credentials_refused(self, kind: str, message: str) -> None:
        tally = self._refused.ring()
        if tally is not None:
            log.error("Kakao refused our credentials for %s (%s), %d time(s) since the last such error: check "
                      "kakao.headers in triage.yaml; replies wait and are retried until it accepts them",
                      kind, message, tally[0])


def _json_object(raw: bytes) -> dict | None:
    try:
        payload = json.loads(raw)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _url_in(payload: dict, keys: tuple[str, ...]) -> str:
    """v1 and v3 name the uploaded URL differently (spec §4.8)."""
    for key in keys:
        if isinstance(payload.get(key), str) and payload[key]:
            return payload[key]
    raise UploadError(Delivery("failed", None, normalize_code(payload.get("code")),
                               "the upload answer has no URL", payload))
