"""Content-root images on their way out: read and checked, uploaded once, swapped in for the file name."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import shutil
from pathlib import Path

import aiohttp
import pytest

from triage.delivery import outbox_deliver
from triage.flows.session import SendImage
from triage.handoff.webhooks import WebhookConfig
from triage.kakao.client import KakaoClient
from triage.kakao.media import ImageUploads
from triage.kakao.render import OutboundCall, render_actions
from triage.outbox import OutboxWorker, RetryPolicy
from triage.settings import KakaoSettings
from triage.store import Commit, NewOutbox, open_store

FIXTURE = Path(__file__).parents[1] / "fixtures" / "broken_images"
BASE = "https://relay.example.test"
UPLOAD, WRITE = BASE + "/v1/image/upload", BASE + "/v1/chat/write"
SENDER = "0123456789abcdef0123456789abcdef01234567"
FIRST, SECOND = "http://dn-m.talk.kakao.com/dn/1/img_l.png", "http://dn-m.talk.kakao.com/dn/2/img_l.png"


@pytest.fixture
def root(tmp_path) -> Path:
    shutil.copytree(FIXTURE / "images", tmp_path / "images")
    return tmp_path


@pytest.fixture
async def uploads(root):
    async with aiohttp.ClientSession() as session:
        yield ImageUploads(KakaoClient(KakaoSettings(base_url=BASE, timeout=0.5), session, sender_key=SENDER), root)


def image_write(user: str, name: str = "images/size-guide.png") -> OutboundCall:
    return render_actions([SendImage(name)], user, SENDER, lambda: f"serial-{user}")[0]


def posted(relay, url: str) -> list:
    return relay.requests.get(("POST", aiohttp.client.URL(url)), [])


async def test_the_image_is_uploaded_once_and_every_customer_gets_its_kakao_url(uploads, relay):
    relay.post(UPLOAD, payload={"code": "0000", "image": FIRST})
    relay.post(WRITE, payload={"code": 0}, repeat=True)

    verdicts = [await uploads.send(image_write(user)) for user in ("alice", "bob")]

    assert [v.outcome for v in verdicts] == ["ok", "ok"]
    assert len(posted(relay, UPLOAD)) == 1
    upload = {f[0]["name"]: f for f in posted(relay, UPLOAD)[0].kwargs["data"]._fields}
    assert upload["image"][0]["filename"] == "size-guide.png"
    assert upload["image"][2] == (FIXTURE / "images" / "size-guide.png").read_bytes()
    assert [w.kwargs["json"] for w in posted(relay, WRITE)] == [
        {"user_key": user, "sender_key": SENDER, "serial_number": f"serial-{user}", "message_type": "IM",
         "image_url": FIRST} for user in ("alice", "bob")]


async def test_a_file_edited_on_disk_is_uploaded_again(uploads, relay, root):
    relay.post(UPLOAD, payload={"code": "0000", "image": FIRST})
    relay.post(UPLOAD, payload={"code": "0000", "image": SECOND})
    relay.post(WRITE, payload={"code": 0}, repeat=True)
    await uploads.send(image_write("alice"))

    picture = root / "images" / "size-guide.png"
    picture.write_bytes(picture.read_bytes() + b"edited")
    await uploads.send(image_write("bob"))

    assert len(posted(relay, UPLOAD)) == 2
    assert posted(relay, WRITE)[-1].kwargs["json"]["image_url"] == SECOND


async def test_an_unchanged_file_is_not_read_again_on_later_sends(uploads, relay, monkeypatch):
    relay.post(UPLOAD, payload={"code": "0000", "image": FIRST})
    relay.post(WRITE, payload={"code": 0}, repeat=True)
    await uploads.send(image_write("alice"))
    reads: list[Path] = []
    read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda path: reads.append(path) or read_bytes(path))

    verdicts = [await uploads.send(image_write(user)) for user in ("bob", "carol")]

    assert [v.outcome for v in verdicts] == ["ok", "ok"]
    assert reads == []
    assert [w.kwargs["json"]["image_url"] for w in posted(relay, WRITE)] == [FIRST, FIRST, FIRST]


async def test_a_file_rewritten_at_the_same_size_is_uploaded_again_once_its_time_moves(uploads, relay, root):
    relay.post(UPLOAD, payload={"code": "0000", "image": FIRST})
    relay.post(UPLOAD, payload={"code": "0000", "image": SECOND})
    relay.post(WRITE, payload={"code": 0}, repeat=True)
    await uploads.send(image_write("alice"))

    picture = root / "images" / "size-guide.png"
    before = picture.stat()
    data = picture.read_bytes()
    picture.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    os.utime(picture, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    await uploads.send(image_write("bob"))

    assert picture.stat().st_size == before.st_size
    assert len(posted(relay, UPLOAD)) == 2
    assert posted(relay, WRITE)[-1].kwargs["json"]["image_url"] == SECOND


@pytest.mark.parametrize("failure", [{"status": 503}, {"status": 429}, {"exception": aiohttp.ClientConnectionError("reset")},
                                     {"exception": TimeoutError()}])
async def test_an_upload_that_fails_for_now_is_retried_and_nothing_is_written(uploads, relay, failure):
    relay.post(UPLOAD, **failure)

    verdict = await uploads.send(image_write("alice"))

    assert verdict.outcome == "retry"
    assert 'uploading image "images/size-guide.png"' in verdict.message
    assert posted(relay, WRITE) == []


async def test_an_upload_kakao_refuses_fails_the_row_with_an_error_naming_the_file(uploads, relay, caplog):
    relay.post(UPLOAD, payload={"code": -505, "message": "InvalidImageSizeException"})

    with caplog.at_level(logging.ERROR, "triage.kakao.media"):
        verdict = await uploads.send(image_write("alice"))

    assert (verdict.outcome, verdict.code) == ("failed", "-505")
    assert 'image "images/size-guide.png"' in verdict.message and "InvalidImageSizeException" in verdict.message
    assert 'image "images/size-guide.png"' in caplog.text
    assert posted(relay, WRITE) == []


async def test_an_image_gone_from_disk_at_send_time_fails_the_row_without_calling_kakao(uploads, relay, root, caplog):
    (root / "images" / "size-guide.png").unlink()

    with caplog.at_level(logging.ERROR, "triage.kakao.media"):
        verdict = await uploads.send(image_write("alice"))

    assert verdict.outcome == "failed"
    assert verdict.message == ('image "images/size-guide.png" is not a file in the content root; '
                               "put it there, or give an address starting with https://")
    assert verdict.message in caplog.text
    assert posted(relay, UPLOAD) == [] and posted(relay, WRITE) == []


async def test_a_file_that_is_not_an_image_is_never_uploaded(uploads, relay):
    verdict = await uploads.send(image_write("alice", "images/fake.png"))

    assert verdict.outcome == "failed" and "not a jpg, png or gif" in verdict.message
    assert posted(relay, UPLOAD) == []


async def test_a_cached_url_kakao_forgot_is_dropped_and_uploaded_afresh_on_the_retry(uploads, relay):
    relay.post(UPLOAD, payload={"code": "0000", "image": FIRST})
    relay.post(UPLOAD, payload={"code": "0000", "image": SECOND})
    relay.post(WRITE, payload={"code": 0})
    relay.post(WRITE, payload={"code": -805, "message": "InvalidMediaUrlException"})
    relay.post(WRITE, payload={"code": 0})
    await uploads.send(image_write("alice"))

    forgotten = await uploads.send(image_write("bob"))
    again = await uploads.send(image_write("bob"))

    assert forgotten.outcome == "retry" and "goes up again" in forgotten.message
    assert again.outcome == "ok"
    assert [w.kwargs["json"]["image_url"] for w in posted(relay, WRITE)] == [FIRST, FIRST, SECOND]
    assert len(posted(relay, UPLOAD)) == 2


async def test_a_fresh_upload_refused_as_invalid_media_fails_instead_of_looping(uploads, relay):
    relay.post(UPLOAD, payload={"code": "0000", "image": FIRST})
    relay.post(WRITE, payload={"code": -805, "message": "InvalidMediaUrlException"})

    verdict = await uploads.send(image_write("alice"))

    assert verdict.outcome == "failed" and 'image "images/size-guide.png"' in verdict.message


async def test_calls_without_a_content_image_go_through_unchanged(uploads, relay):
    relay.post(WRITE, payload={"code": 0})
    url = "https://dn-m.talk.kakao.com/talkm/img_l.jpg"

    assert (await uploads.send(image_write("alice", url))).outcome == "ok"

    assert posted(relay, WRITE)[0].kwargs["json"]["image_url"] == url
    assert posted(relay, UPLOAD) == []


async def test_through_the_outbox_a_failed_upload_keeps_the_reply_waiting_with_its_serial_until_it_goes(relay, root):
    relay.post(UPLOAD, status=503, body="relay restarting", repeat=3)
    relay.post(UPLOAD, payload={"code": "0000", "image": FIRST})
    relay.post(WRITE, payload={"code": 0})
    call = image_write("alice")
    minutes = itertools.count(1_000_000, 60).__next__  # each reading a minute on: every backoff is over at once
    with open_store(":memory:") as store:
        store.commit(Commit(at=minutes(), outbox=[NewOutbox("alice", "s1", call.kind, call.body["serial_number"],
                                                            call.body, 0.0)]))
        async with aiohttp.ClientSession() as http:
            client = KakaoClient(KakaoSettings(base_url=BASE, timeout=0.5), http, sender_key=SENDER)
            worker = OutboxWorker(store, outbox_deliver(http, ImageUploads(client, root), WebhookConfig),
                                  on_no_session=lambda item: None, clock=minutes, policy=RetryPolicy())
            task = asyncio.create_task(worker.run())
            assert await worker.drain(5.0)
            await worker.stop()
            await task
        rows = store.outbox_of("alice")

    assert [(r.status, r.attempts, r.body) for r in rows] == [("delivered", 4, call.body)]
    assert [w.kwargs["json"]["serial_number"] for w in posted(relay, WRITE)] == ["serial-alice"]
