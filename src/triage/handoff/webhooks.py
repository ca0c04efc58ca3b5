"""Signed outbound webhooks: handoff events pushed to the desks a business already uses.

Deliveries are outbox rows of kind ``agent_webhook``, written in the same commit as the event,
so they survive restarts and are retried by the same worker as 상담톡 calls. Each configured
URL is its own ordering key: a slow desk delays only its own deliveries, never a customer's
replies, and each desk sees events in the order they happened.

Signature: ``X-Triage-Signature: sha256=<hex>``, HMAC-SHA256 with the shared secret over
``f"{timestamp}.{body}"``, where ``timestamp`` is ``X-Triage-Timestamp`` (Unix seconds) and
``body`` the raw request body. The timestamp is signed so a captured request cannot be replayed
later; receivers check it with ``verify_signature``.

::

    webhooks:
      secret: "a long random string shared with the desk"
      urls: [https://desk.example.com/hooks/triage]
      events: [handoff_created, user_message, closed]     # optional; default every handoff event
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence
from urllib.parse import urlsplit

import aiohttp

from triage.handoff.config import MIN_TOKEN_LENGTH
from triage.kakao.client import Delivery
from triage.problems import Problem, did_you_mean
from triage.settings import SECONDS, Settings, _Reader
from triage.store import NewEvent, NewOutbox, OutboxItem

KIND = "agent_webhook"
SIGNATURE_HEADER = "X-Triage-Signature"
TIMESTAMP_HEADER = "X-Triage-Timestamp"
EVENT_HEADER = "X-Triage-Event"
DELIVERY_HEADER = "X-Triage-Delivery"
TOLERANCE = 300
EVENT_KINDS = ("handoff_created", "user_message", "agent_message", "assigned", "transferred", "closed",
               "user_left", "agent_notice", "position", "overdue")
"""Every event a desk can subscribe to; the SSE stream carries the same kinds."""


@dataclass(frozen=True)
class WebhookConfig:
    urls: tuple[str, ...] = ()
    secret: str = field(default="", repr=False)
    events: tuple[str, ...] = EVENT_KINDS
    timeout: float = 5.0


def parse_webhooks(settings: Settings) -> tuple[WebhookConfig, list[Problem]]:
    r = _Reader(settings.file)
    data = settings.raw if isinstance(settings.raw, dict) else {}
    section = r.section(data, "webhooks", ("urls", "secret", "events", "timeout"))
    urls = tuple(str(u) for u in r.get(section, "urls", list, []))
    for i, url in enumerate(urls):
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            r.problem(section["urls"], i, f'webhook url "{url}" must start with https:// (or http://)')
    secret = str(r.get(section, "secret", (str, int), ""))
    if urls and len(secret) < MIN_TOKEN_LENGTH:
        r.problem(section or data, "secret" if section else "webhooks",
                  f'webhooks need a "secret" of at least {MIN_TOKEN_LENGTH} characters to sign with')
    events = tuple(str(e) for e in r.get(section, "events", list, list(EVENT_KINDS)))
    for i, kind in enumerate(events):
        if kind not in EVENT_KINDS:
            r.problem(section["events"], i, f'unknown event "{kind}"{did_you_mean(kind, EVENT_KINDS)}')
    valid = tuple(u for u in urls if urlsplit(u).scheme in ("http", "https") and urlsplit(u).hostname)
    return WebhookConfig(valid, secret, events, r.number(section, "timeout", float, 5.0, SECONDS)), r.problems


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, timestamp: str, body: bytes | str, signature: str, tolerance: float = TOLERANCE,
                     now: float | None = None) -> bool:
    """For receivers: the body is exactly what was signed, and was signed recently."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, sent, body), str(signature))


def webhook_rows(config: WebhookConfig, events: Sequence[NewEvent]) -> list[NewOutbox]:
    """One outbox row per (subscribed event, URL); the URL's index is its ordering key."""
    return [NewOutbox(f"~webhook:{index}", event.session_id, KIND, None, {"url": url, "event": payload(event)},
                      event.at)
            for event in events if event.kind in config.events
            for index, url in enumerate(config.urls)]


def payload(event: NewEvent) -> dict[str, Any]:
    return {"kind": event.kind, "session_id": event.session_id, "user_key": event.user_key, "at": event.at,
            "data": dict(event.data)}


async def deliver(http: aiohttp.ClientSession, config: WebhookConfig, item: OutboxItem,
                  now: float | None = None) -> Delivery:
    """One signed attempt; 2xx delivered, 429/5xx/network retried, other 4xx given up."""
    body = json.dumps(item.body.get("event") or {}, ensure_ascii=False, separators=(",", ":")).encode()
    stamp = int(time.time() if now is None else now)
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: str(stamp),
               SIGNATURE_HEADER: sign(config.secret, stamp, body), DELIVERY_HEADER: str(item.id),
               EVENT_HEADER: str((item.body.get("event") or {}).get("kind", ""))}
    try:
        async with http.post(str(item.body.get("url")), data=body, headers=headers,
                             timeout=aiohttp.ClientTimeout(total=config.timeout)) as response:
            status = response.status
    except TimeoutError:
        return Delivery("retry", None, None, f"no answer within {config.timeout:g}s")
    except aiohttp.ClientError as exc:
        return Delivery("retry", None, None, f"connection failed: {exc or type(exc).__name__}")
    if 200 <= status < 300:
        return Delivery("ok", status, None, "delivered")
    return Delivery("retry" if status == 429 or status >= 500 else "failed", status, None, f"HTTP {status}")


def headers_of(headers: Mapping[str, str]) -> tuple[str, str]:
    """Timestamp and signature from a received request's headers (for receivers and tests)."""
    return headers.get(TIMESTAMP_HEADER, ""), headers.get(SIGNATURE_HEADER, "")
