"""The outbound client against aioresponses: exact requests, and the verdict for every answer."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import aiohttp
import pytest

from triage.delivery import outbox_deliver
from triage.flows.session import EndSession, SendButtons, SendText
from triage.handoff.webhooks import WebhookConfig
from triage.kakao.client import Alarm, Delivery, KakaoClient, UploadError, classify, parse_retry_after
from triage.kakao.protocol import RESULT_CODES
from triage.kakao.render import OutboundCall, block_call, end_with_bot_call, render_actions
from triage.outbox import OutboxWorker, RetryPolicy
from triage.settings import KAKAO_PATHS, KakaoSettings
from triage.store import Commit, NewOutbox, open_store

BASE = "https://relay.example.test"
HEADERS = {"HT-Client-Id": "client-1", "HT-Client-Secret": "s3cret"}
USER, SENDER = "Ab3dEf6hIj9k", "0123456789abcdef0123456789abcdef01234567"
SETTINGS = KakaoSettings(base_url=BASE + "/", headers=HEADERS, timeout=0.5)


@pytest.fixture
async def client():
    async with aiohttp.ClientSession() as session:
        yield KakaoClient(SETTINGS, session, sender_key=SENDER)


def calls():
    serials = iter(["s-1", "s-2"])
    return render_actions([SendText("안녕하세요"), SendButtons("골라 주세요", ("배송",)), EndSession()],
                          USER, SENDER, lambda: next(serials))


def sent(relay, path: str) -> list:
    return relay.requests[("POST", aiohttp.client.URL(BASE + path))]


async def test_each_call_kind_posts_its_exact_json_with_the_configured_headers(client, relay):
    for path in (KAKAO_PATHS["write"], KAKAO_PATHS["end"], KAKAO_PATHS["end_with_bot"], KAKAO_PATHS["block"]):
        relay.post(BASE + path, payload={"code": 0}, repeat=True)
    text, menu, end = calls()
    for call in (text, menu, end, end_with_bot_call(USER, SENDER, "welcome"), block_call(USER, SENDER)):
        assert (await client.send(call)).outcome == "ok"
    writes = sent(relay, "/v1/chat/write")
    assert [w.kwargs["json"] for w in writes] == [
        {"user_key": USER, "sender_key": SENDER, "serial_number": "s-1", "message_type": "TX", "message": "안녕하세요"},
        {"user_key": USER, "sender_key": SENDER, "serial_number": "s-2", "message_type": "LI", "message": "골라 주세요",
         "supplement": {"quick_reply": [{"name": "배송", "type": "BK"}]}},
    ]
    assert sent(relay, "/v1/chat/end")[0].kwargs["json"] == {"user_key": USER, "sender_key": SENDER}
    assert sent(relay, "/kakaoWebhook/v3/bzc/chat/endWithBot")[0].kwargs["json"] == {
        "user_key": USER, "sender_key": SENDER, "bot_event": "welcome"}
    assert sent(relay, "/v1/profile/user/block")[0].kwargs["json"] == {"user_key": USER, "sender_key": SENDER}
    assert all(r.kwargs["headers"] == HEADERS for r in writes)


async def test_paths_are_configurable(relay):
    settings = KakaoSettings(base_url=BASE, paths={**KAKAO_PATHS, "write": "/custom/write"})
    relay.post(BASE + "/custom/write", payload={"code": "0"})
    async with aiohttp.ClientSession() as session:
        assert (await KakaoClient(settings, session).send(calls()[0])).outcome == "ok"


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_transient(client, relay, status):
    relay.post(BASE + "/v1/chat/write", status=status, body="upstream trouble")
    delivery = await client.send(calls()[0])
    assert (delivery.outcome, delivery.status, delivery.code) == ("retry", status, None)


async def test_429_is_transient_and_honours_retry_after(client, relay):
    relay.post(BASE + "/v1/chat/write", status=429, headers={"Retry-After": "7"}, payload={"code": "-429"})
    delivery = await client.send(calls()[0])
    assert (delivery.outcome, delivery.retry_after) == ("retry", 7.0)


async def test_a_timeout_is_transient(client, relay):
    relay.post(BASE + "/v1/chat/write", exception=asyncio.TimeoutError())
    delivery = await client.send(calls()[0])
    assert (delivery.outcome, delivery.status) == ("retry", None)
    assert "0.5s" in delivery.message


async def test_a_connection_error_is_transient(client, relay):
    relay.post(BASE + "/v1/chat/write", exception=aiohttp.ClientConnectionError("refused"))
    delivery = await client.send(calls()[0])
    assert delivery.outcome == "retry" and "refused" in delivery.message


async def test_a_retry_resends_the_same_serial_and_a_duplicate_answer_counts_as_delivered(client, relay):
    relay.post(BASE + "/v1/chat/write", exception=asyncio.TimeoutError())
    relay.post(BASE + "/v1/chat/write", payload=RESULT_CODES.duplicate_serial.body("s-1"))
    call = calls()[0]
    assert (await client.send(call)).outcome == "retry"
    assert (await client.send(call)).outcome == "ok"
    assert [r.kwargs["json"]["serial_number"] for r in sent(relay, "/v1/chat/write")] == ["s-1", "s-1"]


@pytest.mark.parametrize("status, payload", [
    (200, {"code": "-803", "message": "NoActiveSessionException(user_key: Ab3dEf6hIj9k)"}),
    (400, {"code": -803, "message": "NoActiveSessionException"}),
    (400, {"code": "-999", "message": "NoActiveSessionException(renumbered)"}),
    (200, {"code": "-802", "message": "BlockedUserException"}),
])
async def test_no_session_is_recognised_by_code_or_exception_name(client, relay, status, payload):
    relay.post(BASE + "/v1/chat/write", status=status, payload=payload)
    delivery = await client.send(calls()[0])
    assert delivery.outcome == "no_session"
    assert delivery.response == payload and delivery.message == payload["message"]


async def test_invalid_sender_fails_for_good(client, relay):
    relay.post(BASE + "/v1/chat/write", status=200, payload={"code": -501, "message": "InvalidSenderException(x)"})
    delivery = await client.send(calls()[0])
    assert (delivery.outcome, delivery.code, delivery.message) == ("failed", "-501", "InvalidSenderException(x)")


async def test_a_client_error_without_a_body_fails(client, relay):
    relay.post(BASE + "/v1/chat/write", status=404, body="nope")
    delivery = await client.send(calls()[0])
    assert (delivery.outcome, delivery.status, delivery.message) == ("failed", 404, "HTTP 404")


async def test_a_request_timeout_is_transient(client, relay):
    relay.post(BASE + "/v1/chat/write", status=408, body="Request Timeout")
    delivery = await client.send(calls()[0])
    assert (delivery.outcome, delivery.status) == ("retry", 408)


@pytest.mark.parametrize("status", [200, 400])
async def test_kakao_unreachable_behind_the_relay_is_transient(client, relay, status):
    """Nexus result code "400": the relay is up but could not reach the Kakao server (spec §4.10)."""
    answer = {"code": "400", "message": "could not reach Kakao server"}
    relay.post(BASE + "/v1/chat/write", status=status, payload=answer)
    delivery = await client.send(calls()[0])
    assert (delivery.outcome, delivery.code, delivery.message) == ("retry", "400", "could not reach Kakao server")


@pytest.mark.parametrize("status, answer, why", [
    (401, {"body": "Unauthorized"}, "credentials refused: HTTP 401"),
    (403, {"body": "Forbidden"}, "credentials refused: HTTP 403"),
    (200, {"payload": RESULT_CODES.unauthorized.body("missing or wrong credentials")},
     "credentials refused: UnauthorizedException(missing or wrong credentials)"),
])
async def test_refused_credentials_are_retried_and_logged_as_an_error_naming_the_cause(
        client, relay, caplog, status, answer, why):
    relay.post(BASE + "/v1/chat/write", status=status, **answer)
    with caplog.at_level(logging.ERROR, "triage.kakao.client"):
        delivery = await client.send(calls()[0])
    assert (delivery.outcome, delivery.status, delivery.message) == ("retry", status, why)
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "refused our credentials for write" in record.getMessage() and "kakao.headers" in record.getMessage()


async def test_refused_credentials_raise_the_alarm_once_a_minute_however_many_replies_wait(client, relay, caplog):
    for _ in range(3):
        relay.post(BASE + "/v1/chat/write", status=401, body="Unauthorized")
    with caplog.at_level(logging.ERROR, "triage.kakao.client"):
        outcomes = [(await client.send(call)).outcome for call in calls()]
    assert outcomes == ["retry"] * 3
    [record] = caplog.records
    assert "1 time(s) since the last such error" in record.getMessage()


async def test_a_blocked_user_answered_with_403_still_closes_the_conversation(client, relay, caplog):
    relay.post(BASE + "/v1/chat/write", status=403, payload=RESULT_CODES.blocked_user.body("Ab3dEf6hIj9k"))
    delivery = await client.send(calls()[0])
    assert delivery.outcome == "no_session" and not caplog.records


@pytest.mark.parametrize("kind", ["write", "end", "end_with_bot", "block"])
@pytest.mark.parametrize("answer", [
    {"body": "<html><body>Welcome to nginx!</body></html>", "content_type": "text/html"},
    {"payload": {"result": "ok"}},
    {"payload": ["0"]},
    {"status": 204},
], ids=["html", "json-without-code", "not-an-object", "no-content"])
async def test_a_success_status_without_a_result_code_is_not_taken_for_delivered(client, relay, kind, answer):
    """Every 상담톡 call answers with a code (spec §4.1, §4.5-4.7); a misrouted base_url may answer 200 without."""
    relay.post(BASE + KAKAO_PATHS[kind], **{"status": 200, **answer})
    delivery = await client.send(OutboundCall(kind, {"user_key": USER, "sender_key": SENDER}))
    assert (delivery.outcome, delivery.code) == ("retry", None)
    assert delivery.response is None or "code" not in delivery.response


async def test_a_write_retried_after_an_answer_without_a_code_counts_once_delivered_as_a_duplicate(client, relay):
    relay.post(BASE + "/v1/chat/write", status=200, body="<html>maintenance</html>")
    relay.post(BASE + "/v1/chat/write", payload=RESULT_CODES.duplicate_serial.body("s-1"))
    call = calls()[0]
    assert (await client.send(call)).outcome == "retry"
    assert (await client.send(call)).outcome == "ok"
    assert [r.kwargs["json"]["serial_number"] for r in sent(relay, "/v1/chat/write")] == ["s-1", "s-1"]


async def test_an_unconfigured_kind_fails_without_a_request(client, relay):
    delivery = await client.send(OutboundCall("teleport", {}))
    assert delivery.outcome == "failed" and "teleport" in delivery.message
    assert relay.requests == {}


@pytest.mark.parametrize("status, payload, outcome", [
    (200, {"code": "0000"}, "ok"), (200, {"code": 200}, "ok"), (204, None, "retry"), (200, {}, "retry"),
    (200, {"code": "9999", "message": "SystemException"}, "retry"), (400, {"code": "-804"}, "failed"),
    (500, {"code": "0"}, "ok"), (408, None, "retry"), (200, {"code": 400}, "retry"), (403, None, "retry"),
])
def test_classify(status, payload, outcome):
    assert classify(status, payload).outcome == outcome


def test_an_answer_without_a_code_is_judged_by_the_caller_when_it_does_not_need_one():
    assert classify(200, {"file": "https://dn-m.talk.kakao.com/f/1"}, needs_code=False).outcome == "ok"
    assert classify(200, None, needs_code=False).outcome == "ok"


def test_retry_after_as_seconds_or_http_date():
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now.timestamp()) == 30.0
    assert parse_retry_after("-3", 0) == 0.0
    assert parse_retry_after("soon", 0) is None and parse_retry_after(None, 0) is None


# ---- through the outbox ---------------------------------------------------------------------


async def test_a_relay_down_far_longer_than_25_seconds_delays_the_replies_and_each_is_delivered_once(relay):
    """The old policy gave up after 8 attempts, about 25 s; here the relay is down for 20 minutes."""
    text, menu, _ = calls()
    relay.post(BASE + "/v1/chat/write", status=503, body="relay restarting", repeat=20)
    relay.post(BASE + "/v1/chat/write", payload={"code": "0"}, repeat=2)
    minutes = itertools.count(1_000_000, 60).__next__  # each reading a minute on: every backoff is over at once
    with open_store(":memory:") as store:
        written = minutes()
        store.commit(Commit(at=written, outbox=[NewOutbox(USER, "s1", c.kind, c.body["serial_number"], c.body, 0.0)
                                                 for c in (text, menu)]))
        async with aiohttp.ClientSession() as http:
            deliver = outbox_deliver(http, KakaoClient(SETTINGS, http, sender_key=SENDER), WebhookConfig)
            worker = OutboxWorker(store, deliver, on_no_session=lambda item: None, clock=minutes,
                                  policy=RetryPolicy())
            task = asyncio.create_task(worker.run())
            assert await worker.drain(5.0)
            await worker.stop()
            await task
        rows = store.outbox_of(USER)

    assert [r.kwargs["json"]["serial_number"] for r in sent(relay, "/v1/chat/write")] == ["s-1"] * 21 + ["s-2"]
    assert [(r.status, r.attempts) for r in rows] == [("delivered", 21), ("delivered", 1)]
    assert minutes() - written > 20 * 60


# ---- uploads ----------------------------------------------------------------------------


async def test_image_upload_posts_multipart_and_returns_the_kakao_url(client, relay):
    url = "http://api1-kage.kakao.com/dn/abc/img_l.jpg"
    relay.post(BASE + "/v1/image/upload", payload={"code": "0000", "image": url})
    assert await client.upload_image(b"\x89PNG...", "a.png", "image/png") == url
    request = sent(relay, "/v1/image/upload")[0]
    form = request.kwargs["data"]
    assert isinstance(form, aiohttp.FormData)
    fields = {f[0]["name"]: f for f in form._fields}
    assert fields["sender_key"][2] == SENDER
    assert fields["image"][0]["filename"] == "a.png" and fields["image"][2] == b"\x89PNG..."
    assert request.kwargs["headers"] == HEADERS


async def test_image_upload_refused_with_505_raises_a_clear_error(client, relay):
    relay.post(BASE + "/v1/image/upload", payload={"code": -505, "message": "InvalidImageSizeException"})
    with pytest.raises(UploadError, match="InvalidImageSizeException") as caught:
        await client.upload_image(b"x" * 10, "big.jpg", "image/jpeg")
    assert caught.value.delivery.code == "-505" and caught.value.delivery.outcome == "failed"


async def test_an_upload_answer_without_a_url_is_an_error(client, relay):
    relay.post(BASE + "/v1/image/upload", payload={"code": "0000"})
    with pytest.raises(UploadError, match="no URL"):
        await client.upload_image(b"x", "a.jpg", "image/jpeg")


async def test_an_upload_that_never_arrives_says_it_may_be_retried(client, relay):
    relay.post(BASE + "/v1/file/upload", exception=aiohttp.ClientConnectionError("reset"))
    with pytest.raises(UploadError) as caught:
        await client.upload_file(b"data", "a.pdf")
    assert caught.value.delivery.outcome == "retry"


async def test_a_v1_file_upload_answer_without_a_code_is_accepted_for_its_url(client, relay):
    """Spec §4.8 documents no code for the v1 file upload; the URL is what proves the upload."""
    url = "https://dn-m.talk.kakao.com/f/2"
    relay.post(BASE + "/v1/file/upload", payload={"file": url, "name": "a.pdf", "size": 4})
    assert (await client.upload_file(b"data", "a.pdf"))["url"] == url


async def test_an_upload_answered_with_an_html_page_is_an_error(client, relay):
    relay.post(BASE + "/v1/image/upload", status=200, body="<html>welcome</html>", content_type="text/html")
    with pytest.raises(UploadError, match="not JSON"):
        await client.upload_image(b"x", "a.jpg", "image/jpeg")


async def test_file_upload_returns_url_name_and_size(client, relay):
    relay.post(BASE + "/v1/file/upload",
               payload={"code": "0000", "file": "https://dn-m.talk.kakao.com/f/1", "name": "견적서.xlsx", "size": 9513})
    assert await client.upload_file(b"x" * 9513, "견적서.xlsx") == {
        "url": "https://dn-m.talk.kakao.com/f/1", "name": "견적서.xlsx", "size": 9513}


async def test_delivery_is_plain_data():
    delivery = Delivery("ok", 200, "0", "delivered", {"code": "0"})
    assert json.loads(json.dumps(delivery.__dict__))["outcome"] == "ok"


def test_an_alarm_rings_at_once_then_at_most_once_a_minute_with_what_happened_to_whom_meanwhile():
    now = [1000.0]
    alarm = Alarm(clock=lambda: now[0])

    first = alarm.ring("u1")
    quiet = [alarm.ring(user) for user in ("u1", "u2", "u2", "u3")]
    now[0] += 60
    after_a_minute = alarm.ring("u1")

    assert (first, quiet, after_a_minute) == ((1, 1), [None] * 4, (5, 3))
