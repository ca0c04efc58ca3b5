"""The partner -> Kakao client: one attempt per call, and a verdict the outbox can act on.

Retrying belongs to the durable outbox, not here: a retry loop in memory would lose its place
on restart. So ``send`` makes exactly one attempt, never raises for network trouble, and says
whether to try again (timeouts, 5xx, 429 with its Retry-After), give up, or close the local
conversation because Kakao has no session for the user any more. The outbox resends the same
body, so the serial number is reused and Kakao's de-duplication makes the retry safe; that
is also why "duplicate serial" counts as delivered.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from triage.json_encoding import dumps
from triage.kakao.protocol import RESULT_CODES, ResultCodes, is_error, normalize_code, same_code
from triage.kakao.render import OutboundCall
from triage.settings import DEMO_SENDER_KEY, KakaoSettings

OUTCOMES = ("ok", "retry", "no_session", "failed")


@dataclass(frozen=True)
class Delivery:
    outcome: str  # one of OUTCOMES
    status: int | None
    code: str | None
    message: str
    response: dict | None = None
    retry_after: float | None = None


class UploadError(Exception):
    """An upload Kakao refused or that never arrived; ``delivery`` says whether to try again."""

    def __init__(self, delivery: Delivery):
        self.delivery = delivery
        super().__init__(delivery.message)


def classify(status: int, payload: dict | None, retry_after: float | None = None,
             codes: ResultCodes = RESULT_CODES) -> Delivery:
    """Result codes first, HTTP status second: dealers answer errors with 200 and a negative code."""
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
    if status == 429 or status >= 500 or is_error(code, message, codes.system_error):
        return verdict("retry")
    if 200 <= status < 300 and code is None:
        return verdict("ok", "delivered")
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

    def url(self, kind: str) -> str:
        return self.settings.base_url.rstrip("/") + self.settings.paths[kind]

    async def send(self, call: OutboundCall) -> Delivery:
        if call.kind not in self.settings.paths:
            return Delivery("failed", None, None, f'no Kakao path configured for "{call.kind}"')
        return await self._post(call.kind, json=call.body)

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
        delivery = await self._post(kind, data=form)
        if delivery.outcome != "ok":
            raise UploadError(delivery)
        if delivery.response is None:
            raise UploadError(Delivery("failed", delivery.status, None, "the upload answer was not JSON"))
        return delivery.response

    async def _post(self, kind: str, **body: Any) -> Delivery:
        try:
            async with self._session.post(self.url(kind), headers=self.settings.headers,
                                          timeout=self._timeout, **body) as response:
                payload = _json_object(await response.read())
                retry_after = parse_retry_after(response.headers.get("Retry-After"), time.time())
                return classify(response.status, payload, retry_after, self.codes)
        except TimeoutError:
            return Delivery("retry", None, None, f"no answer within {self.settings.timeout:g}s")
        except aiohttp.ClientError as exc:
            return Delivery("retry", None, None, f"connection failed: {exc or type(exc).__name__}")


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
