"""The 상담톡 simulator against a tiny fake partner on loopback."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from triage.app import DISPATCHER, STORE, ServeOptions, make_app
from triage.flows.engine import UNREADABLE_TEXT
from triage.flows.session import SendButtons, SendImage, SendText
from triage.kakao.client import KakaoClient
from triage.kakao.protocol import RESULT_CODES, parse_expired, parse_message, parse_reference
from triage.kakao.render import media_hosts_for, render_actions
from triage.kakao.serials import SerialNumbers
from triage.kakao.simulator import PHOTO, SimChannel, SimConfig, make_sim_app
from triage.settings import KAKAO_PATHS, KakaoSettings, load_settings

SENDER = "0123456789abcdef0123456789abcdef01234567"
USER = "Ab3dEf6hIj9k"
ROOT = Path(__file__).parents[2]


@dataclass
class FakePartner:
    """Records every webhook call; ``status`` and ``delay`` make it misbehave per path."""

    calls: list[tuple[str, dict]] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    """Per path, how many next calls answer 500 (after they are recorded)."""
    delay: float = 0.0
    url: str = ""

    def paths(self) -> list[str]:
        return [path for path, _ in self.calls]

    def bodies(self, path: str) -> list[dict]:
        return [body for p, body in self.calls if p == path]


@pytest.fixture
async def partner(aiohttp_server) -> FakePartner:
    fake = FakePartner()

    async def hook(request: web.Request) -> web.Response:
        fake.calls.append((request.path, await request.json()))
        await asyncio.sleep(fake.delay)
        if fake.failures.get(request.path, 0) > 0:
            fake.failures[request.path] -= 1
            return web.json_response({"code": "-500"}, status=500)
        return web.json_response({"code": "0"}, status=fake.status.get(request.path, 200))

    app = web.Application()
    app.router.add_post("/{hook}", hook)
    fake.url = str((await aiohttp_server(app)).make_url(""))
    return fake


@pytest.fixture
def make_sim(aiohttp_client, partner):
    async def make(**config):
        channel = SimChannel(SENDER, "테스트 채널", partner.url)
        return await aiohttp_client(make_sim_app(SimConfig(channels=(channel,), **config)))
    return make


@pytest.fixture
async def sim(make_sim):
    return await make_sim()


def write(serial: str = "p-1", **fields) -> dict:
    return {"user_key": USER, "sender_key": SENDER, "serial_number": serial, "message_type": "TX",
            "message": "안녕하세요", **fields}


async def post(client, path: str, body: dict | None = None, status: int = 200) -> dict:
    response = await client.post(path, json=body if body is not None else {})
    assert response.status == status, await response.text()
    return await response.json()


async def consult(client, user: str = USER, **meta) -> dict:
    return await post(client, f"/sim/users/{user}/consult", meta)


async def seen(client, user: str = USER, **query) -> list[dict]:
    response = await client.get(f"/sim/users/{user}/seen", params=query)
    return (await response.json())["seen"]


# ---- starting sessions ---------------------------------------------------------------------


async def test_tapping_consult_posts_reference_with_the_meta_and_opens_a_session(sim, partner):
    answer = await consult(sim, extra="order-77", bot="false", event="")
    assert answer["opened"] and answer["session"]["state"] == "ACTIVE"
    assert partner.paths() == ["/reference"]
    reference = parse_reference(partner.bodies("/reference")[0])
    assert (reference.user_key, reference.sender_key, reference.extra, reference.bot) == (
        USER, SENDER, "order-77", "false")
    assert reference.session_id == answer["session"]["session_id"]
    assert abs(reference.time_ms - time.time() * 1000) < 5000


async def test_tapping_consult_again_keeps_the_running_session(sim, partner):
    first = await consult(sim, extra="a")
    again = await consult(sim, extra="b")
    assert not again["opened"] and again["session"]["session_id"] == first["session"]["session_id"]
    assert partner.paths() == ["/reference"]


@pytest.mark.parametrize("order, paths", [("before", ["/reference", "/message"]), ("after", ["/message", "/reference"])])
async def test_a_first_message_starts_a_session_in_the_configured_order(make_sim, partner, order, paths):
    sim = await make_sim(reference_order=order)
    answer = await post(sim, f"/sim/users/{USER}/messages", {"text": "배송 문의"})
    assert answer["opened"] and partner.paths() == paths
    message = parse_message(partner.bodies("/message")[0])
    assert (message.type, message.text, message.session_id) == ("text", "배송 문의", answer["session"]["session_id"])
    assert len(message.serial_number) == 19 and message.serial_number.isdigit()
    assert parse_reference(partner.bodies("/reference")[0]).extra == ""


async def test_a_typed_session_carries_the_last_consult_meta_as_last_reference(sim, partner):
    await consult(sim, extra="page-faq", bot="true", event="refund")
    await post(sim, f"/sim/users/{USER}/leave")
    await post(sim, f"/sim/users/{USER}/messages", {"text": "다시 왔어요"})
    reference = parse_reference(partner.bodies("/reference")[-1])
    assert (reference.extra, reference.bot, reference.bot_event) == ("page-faq", "true", "refund")
    assert partner.bodies("/reference")[-1]["reference"]["extra"] == ""


async def test_messages_in_a_session_go_to_message_with_fresh_serials_and_photos_have_urls(sim, partner):
    await consult(sim)
    await post(sim, f"/sim/users/{USER}/messages", {"text": "하나"})
    await post(sim, f"/sim/users/{USER}/messages", {"type": "photo"})
    text, photo = (parse_message(b) for b in partner.bodies("/message"))
    assert text.serial_number != photo.serial_number
    assert photo.type == "photo" and photo.media_url
    picture = await sim.get(URL(photo.media_url).path)
    assert await picture.read() == PHOTO


async def test_a_kind_beyond_the_known_ones_is_sent_with_the_content_given(sim, partner):
    await post(sim, f"/sim/users/{USER}/messages", {"type": "emoticon", "content": {"id": "e1"}})
    sent = partner.bodies("/message")[0]
    assert (sent["type"], sent["content"]) == ("emoticon", {"id": "e1"})


async def test_an_unknown_kind_travels_end_to_end_and_the_session_goes_on(live, site):
    stack = await live(site())
    customer = stack.user("e2e-emoticon")

    async with stack.http.post(f"{stack.sim_url}/sim/users/e2e-emoticon/messages",
                               json={"type": "emoticon", "content": {"id": "4412207.emot_001"}}) as response:
        opened = await response.json()
    await customer.wait_for(lambda got: any(m["text"] == UNREADABLE_TEXT for m in got))
    await customer.say("배송 언제 와요?")
    await customer.wait_for(lambda got: any("1~2일 안에 출고" in (m["text"] or "") for m in got))

    store = stack.server[STORE]
    transcript = store.transcript(store.current_session("e2e-emoticon").id)
    assert opened["opened"]
    assert [(e.kind, e.text) for e in transcript if e.direction == "in"] == [
        ("emoticon", "[emoticon]"), ("text", "배송 언제 와요?")]


async def test_a_site_with_a_secret_path_is_called_under_it(live, site):
    stack = await live(site({"server": {"path_prefix": "/hooks/9f2c4e1a"}}))
    customer = stack.user("e2e-secret-path")

    await customer.consult("topic=order&order=77")

    await customer.wait_for(lambda got: any("주문·배송 문의" in (m["text"] or "") for m in got))


@pytest.mark.parametrize("status", [500, 404])
async def test_a_failing_partner_means_no_session(sim, partner, status):
    partner.status["/message"] = status
    answer = await post(sim, f"/sim/users/{USER}/messages", {"text": "여보세요"}, status=502)
    assert f"HTTP {status}" in answer["error"]
    assert (await (await sim.get(f"/sim/users/{USER}/session")).json())["session"] is None
    assert (await post(sim, "/v1/chat/write", write(), status=400))["code"] == "-803"


async def test_a_failed_webhook_is_resent_identically_when_retries_are_on(make_sim, partner):
    sim = await make_sim(partner_retries=2)
    partner.failures["/message"] = 2

    answer = await post(sim, f"/sim/users/{USER}/messages", {"text": "여보세요"})

    assert answer["opened"]
    first, *again = partner.bodies("/message")
    assert len(again) == 2 and all(body == first for body in again)


async def test_retries_give_up_after_the_configured_number(make_sim, partner):
    sim = await make_sim(partner_retries=1)
    partner.failures["/reference"] = 2

    answer = await post(sim, f"/sim/users/{USER}/consult", {}, status=502)

    assert "HTTP 500" in answer["error"] and partner.paths() == ["/reference", "/reference"]


async def test_a_retried_message_is_stored_once_by_the_server(aiohttp_server, aiohttp_client, tmp_path):
    """The answer to the first try is lost on the way back (a proxy turns it into a 502): the
    server stored the message, and the identical resend must not make it a second one."""
    server = await aiohttp_server(make_app(ServeOptions(root=ROOT, db=str(tmp_path / "t.db"),
                                                        kakao_url="http://127.0.0.1:9", reference_grace=0.05)))
    lost = {"/message": 1}

    async def lossy(request: web.Request) -> web.Response:
        async with aiohttp.ClientSession() as http:
            async with http.post(server.make_url(request.path), data=await request.read(),
                                 headers={"Content-Type": "application/json"}) as answer:
                status = answer.status
        if lost.get(request.path, 0) > 0:
            lost[request.path] -= 1
            status = 502
        return web.json_response({"code": "0"}, status=status)

    proxy = web.Application()
    proxy.router.add_post("/{hook}", lossy)
    proxy_url = str((await aiohttp_server(proxy)).make_url("")).rstrip("/")
    settings, _ = load_settings(ROOT)
    sim = await aiohttp_client(make_sim_app(SimConfig.for_site(settings, proxy_url, partner_retries=3)))

    answer = await post(sim, f"/sim/users/{USER}/messages", {"text": "배송 조회"})
    await server.app[DISPATCHER].idle(5)

    assert answer["opened"] and lost == {"/message": 0}
    store = server.app[STORE]
    assert [item.kind for item in store.inbox_of(USER)] == ["reference", "message"]
    transcript = store.transcript(store.current_session(USER).id)
    assert [e.text for e in transcript if e.direction == "in"] == ["배송 조회"]


async def test_a_partner_that_does_not_answer_in_time_means_no_session(make_sim, partner):
    sim = await make_sim(partner_timeout=0.1)
    partner.delay = 0.5
    answer = await post(sim, f"/sim/users/{USER}/consult", {}, status=502)
    assert "did not answer within 0.1s" in answer["error"]


async def test_an_unreachable_partner_is_reported(aiohttp_client, unused_tcp_port):
    channel = SimChannel(SENDER, "x", f"http://127.0.0.1:{unused_tcp_port}")
    sim = await aiohttp_client(make_sim_app(SimConfig(channels=(channel,))))
    assert "cannot reach the partner" in (await post(sim, f"/sim/users/{USER}/consult", {}, status=502))["error"]


# ---- the partner's writes ------------------------------------------------------------------


async def test_a_valid_write_is_recorded_as_seen(sim):
    await consult(sim)
    body = write(message_type="LI", message="골라 주세요", links=[
        {"name": "배송조회", "type": "WL", "url_mobile": "https://shop.example/t", "url_pc": "https://shop.example/t"}],
        supplement={"quick_reply": [{"name": "배송", "type": "BK"}]})
    assert await post(sim, "/v1/chat/write", body) == {"code": "0"}
    (entry,) = await seen(sim)
    assert entry["kind"] == "message" and entry["index"] == 0
    assert (entry["type"], entry["text"], entry["quick_replies"]) == ("LI", "골라 주세요", ["배송"])
    assert entry["links"] == [{"name": "배송조회", "type": "WL", "url": "https://shop.example/t"}]


@pytest.mark.parametrize("body, code, detail", [
    (write(sender_key="f" * 40), "-501", "InvalidSenderException"),
    (write(user_key="nobody"), "-803", "NoActiveSessionException"),
    (write(message=None), "-804", "message: is required"),
    (write(message="가" * 1001), "-804", "message: is 1001 characters long"),
    (write(serial_number="s" * 31), "-804", "serial_number"),
    (write(message_type="LI", links=[{"name": "a", "type": "WL", "url_mobile": "https://a.example"}] * 6),
     "-804", "links: has 6 items"),
    (write(message_type="LI", supplement={"quick_reply": [{"name": "a", "type": "BK"}] * 11}), "-804", "quick_reply"),
    (write(message_type="IM", message=None, image_url="https://elsewhere.example/a.jpg"), "-805", "not uploaded"),
    (write(message_type="IM", message=None), "-804", "image_url: is required"),
    (["not", "an", "object"], "-804", "body: must be a JSON object"),
])
async def test_writes_kakao_would_refuse(sim, body, code, detail):
    await consult(sim)
    answer = await post(sim, "/v1/chat/write", body, status=400)
    assert answer["code"] == code and detail in answer["message"]
    assert await seen(sim) == []


async def test_a_write_body_that_is_not_json(sim):
    response = await sim.post("/v1/chat/write", data=b"{oops")
    assert response.status == 400 and (await response.json())["code"] == "-804"


async def test_serials_are_unique_per_channel(sim):
    await consult(sim)
    await post(sim, "/v1/chat/write", write("p-1"))
    answer = await post(sim, "/v1/chat/write", write("p-1", message="다시"), status=400)
    assert answer["code"] == RESULT_CODES.duplicate_serial.code
    assert [e["text"] for e in await seen(sim)] == ["안녕하세요"]


async def test_configured_credentials_are_required(make_sim):
    sim = await make_sim(required_headers={"HT-Client-Id": "id", "HT-Client-Secret": "secret"})
    await consult(sim)
    denied = await sim.post("/v1/chat/write", json=write(), headers={"HT-Client-Id": "id"})
    assert denied.status == 401 and (await denied.json())["code"] == "-401"
    allowed = await sim.post("/v1/chat/write", json=write(), headers={"HT-Client-Id": "id", "HT-Client-Secret": "secret"})
    assert allowed.status == 200


async def test_agent_messages_do_not_extend_the_session(make_sim, partner):
    sim = await make_sim(expiry_seconds=60)
    await consult(sim)
    await post(sim, "/sim/clock", {"advance": 50})
    await post(sim, "/v1/chat/write", write())
    clock = await post(sim, "/sim/clock", {"advance": 10})
    assert len(clock["expired"]) == 1


# ---- ending ----------------------------------------------------------------------------------


async def test_end_closes_the_session_and_is_harmless_twice(sim):
    session_id = (await consult(sim))["session"]["session_id"]
    body = {"user_key": USER, "sender_key": SENDER}
    assert await post(sim, "/v1/chat/end", body) == {"code": 0, "sessionId": session_id}
    assert await post(sim, "/v1/chat/end", body) == {"code": 0}
    assert (await post(sim, "/v1/chat/write", write(), status=400))["code"] == "-803"
    last = (await seen(sim))[-1]
    assert (last["kind"], last["reason"]) == ("system", "partner_end")


async def test_end_with_bot_records_the_bot_event(sim):
    session_id = (await consult(sim))["session"]["session_id"]
    answer = await post(sim, KAKAO_PATHS["end_with_bot"], {"user_key": USER, "sender_key": SENDER, "bot_event": "웰컴"})
    assert answer == {"code": 0, "session_id": session_id}
    state = await (await sim.get("/sim/state")).json()
    assert [(e["bot_event"], e["session_id"]) for e in state["channels"][0]["bot_log"]] == [("웰컴", session_id)]


async def test_end_with_a_bad_sender_key(sim):
    answer = await post(sim, "/v1/chat/end", {"user_key": USER, "sender_key": "nope"}, status=400)
    assert answer["code"] == "-501" and answer["message"].startswith("InvalidSenderException")


async def test_a_blocked_user_cannot_come_back_until_unblocked(sim, partner):
    first = (await consult(sim))["session"]["session_id"]
    assert await post(sim, "/v1/profile/user/block", {"user_key": USER, "sender_key": SENDER}) == {"code": 0}
    assert "blocked" in (await post(sim, f"/sim/users/{USER}/consult", {}, status=403))["error"]
    assert (await post(sim, "/v1/chat/write", write(), status=400))["code"] == "-802"
    await post(sim, f"/sim/users/{USER}/unblock")
    again = (await consult(sim))["session"]["session_id"]
    assert int(again) > int(first)


@pytest.mark.parametrize("action, reason", [("leave", "user_left"), ("block", "user_blocked_channel")])
async def test_the_user_ending_calls_expired_session(sim, partner, action, reason):
    session_id = (await consult(sim))["session"]["session_id"]
    answer = await post(sim, f"/sim/users/{USER}/{action}")
    assert answer["ended"] and answer["session"]["reason"] == reason
    expired = parse_expired(partner.bodies("/expired_session")[0])
    assert (expired.session_id, expired.reason) == (session_id, reason)
    new = await post(sim, f"/sim/users/{USER}/messages", {"text": "다시"})
    assert new["opened"] and int(new["session"]["session_id"]) > int(session_id)


async def test_expiry_follows_the_virtual_clock_and_user_messages_extend_it(make_sim, partner):
    sim = await make_sim(expiry_seconds=60)
    await consult(sim)
    await post(sim, "/sim/clock", {"advance": 59})
    await post(sim, f"/sim/users/{USER}/messages", {"text": "아직 있어요"})
    assert (await post(sim, "/sim/clock", {"advance": 59}))["expired"] == []
    clock = await post(sim, "/sim/clock", {"advance": 1})
    assert len(clock["expired"]) == 1
    assert parse_expired(partner.bodies("/expired_session")[0]).reason == "expired"
    assert (await post(sim, "/v1/chat/write", write(), status=400))["code"] == "-803"


async def test_expiry_is_also_noticed_by_the_next_call_and_the_callback_can_be_off(make_sim, partner):
    sim = await make_sim(expiry_seconds=0.05, expired_callback=False)
    await consult(sim)
    await asyncio.sleep(0.06)
    assert (await post(sim, "/v1/chat/write", write(), status=400))["code"] == "-803"
    assert "/expired_session" not in partner.paths()


# ---- faults, uploads, long-poll, state ---------------------------------------------------------


async def test_faults_fail_the_next_calls_before_any_processing(sim):
    await consult(sim)
    await post(sim, "/sim/faults", {"path": "write", "status": 503, "count": 2})
    for serial in ("p-1", "p-1"):
        assert (await sim.post("/v1/chat/write", json=write(serial))).status == 503
    assert await post(sim, "/v1/chat/write", write("p-1")) == {"code": "0"}


@pytest.mark.parametrize("body", [{"path": "wirte"}, {"path": "write", "status": 200}, {"latency": -1}])
async def test_bad_fault_requests_are_refused(sim, body):
    assert "error" in await post(sim, "/sim/faults", body, status=400)


async def test_latency_slows_partner_calls(sim):
    await post(sim, "/sim/faults", {"latency": 0.1})
    started = time.monotonic()
    await sim.post("/v1/chat/end", json={"user_key": USER, "sender_key": SENDER})
    assert time.monotonic() - started >= 0.1


def upload(field: str, data: bytes, sender_key: str = SENDER, **extra: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("sender_key", sender_key)
    for key, value in extra.items():
        form.add_field(key, value)
    form.add_field(field, data, filename="a.png", content_type="image/png")
    return form


async def test_uploaded_images_can_be_sent_and_are_served(sim):
    await consult(sim)
    answer = await (await sim.post("/v1/image/upload", data=upload("image", PHOTO))).json()
    assert answer["code"] == "0000" and answer["image"].endswith("/img_l.jpg")
    assert await post(sim, "/v1/chat/write", write(message_type="IM", message=None, image_url=answer["image"]))
    assert (await seen(sim))[0]["image_url"] == answer["image"]


async def test_a_simulator_mounted_in_another_app_serves_its_uploads_under_its_prefix(aiohttp_client, partner):
    channel = SimChannel(SENDER, "테스트 채널", partner.url)
    parent = web.Application()
    parent.add_subapp("/preview/kakao", make_sim_app(SimConfig(channels=(channel,), mount="/preview/kakao")))
    client = await aiohttp_client(parent)
    await post(client, f"/preview/kakao/sim/users/{USER}/consult", {"extra": ""})

    answer = await (await client.post("/preview/kakao/v1/image/upload", data=upload("image", PHOTO))).json()

    assert "/preview/kakao/dn/" in answer["image"]
    assert await post(client, "/preview/kakao/v1/chat/write",
                      write(message_type="IM", message=None, image_url=answer["image"]))
    served = await client.get(URL(answer["image"]).path)
    assert served.status == 200 and await served.read() == PHOTO


@pytest.mark.parametrize("data, extra, message", [
    (b"plain text", {}, "FailedToUploadFileException"),
    (PHOTO + b"\0" * 600_000, {"image_type": "link"}, "InvalidImageSizeException"),
])
async def test_bad_images_are_refused_with_505(sim, data, extra, message):
    answer = await (await sim.post("/v1/image/upload", data=upload("image", data, **extra))).json()
    assert answer["code"] == "-505" and answer["message"].startswith(message)


async def test_uploads_need_a_known_sender_key(sim):
    answer = await (await sim.post("/v1/image/upload", data=upload("image", PHOTO, sender_key="x"))).json()
    assert answer["code"] == "-501"


async def test_file_upload_returns_url_name_and_size(sim):
    answer = await (await sim.post("/v1/file/upload", data=upload("file", b"%PDF-1.4 ..."))).json()
    assert (answer["code"], answer["name"], answer["size"]) == ("0000", "a.png", 12)
    too_big = await sim.post("/v1/file/upload", data=upload("file", b"x", file_type="hologram"))
    assert (await too_big.json())["code"] == "-505"


async def test_seen_long_polls_until_something_new_arrives(sim):
    await consult(sim)
    await post(sim, "/v1/chat/write", write("p-1"))
    waiter = asyncio.create_task(seen(sim, after="0", wait="5"))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    started = time.monotonic()
    await post(sim, "/v1/chat/write", write("p-2", message="두 번째"))
    entries = await asyncio.wait_for(waiter, 2)
    assert [(e["index"], e["text"]) for e in entries] == [(1, "두 번째")]
    assert time.monotonic() - started < 1


async def test_seen_returns_empty_after_the_wait(sim):
    started = time.monotonic()
    assert await seen(sim, after="-1", wait="0.1") == []
    assert time.monotonic() - started >= 0.1


async def test_seen_lists_user_messages_and_bubbles_in_order(sim):
    await post(sim, f"/sim/users/{USER}/messages", {"text": "안녕"})
    await post(sim, "/v1/chat/write", write())
    assert [(e["index"], e["kind"]) for e in await seen(sim)] == [(0, "user"), (1, "message")]


@pytest.mark.parametrize("path, body", [
    ("/sim/users/waytoolongtobeauserkey1/consult", {}),
    (f"/sim/users/{USER}/consult", {"extra": "x" * 51}),
    (f"/sim/users/{USER}/messages", {"text": ""}),
    (f"/sim/users/{USER}/messages", {"type": "hologram"}),
    ("/sim/clock", {"advance": "soon"}),
])
async def test_bad_user_actions_get_a_400_with_a_message(sim, path, body):
    assert "error" in await post(sim, path, body, status=400)


async def test_user_actions_need_a_known_channel(sim):
    response = await sim.post(f"/sim/users/{USER}/consult?sender_key=nope")
    assert response.status == 404


async def test_state_shows_channels_users_and_clock(sim):
    await consult(sim)
    state = await (await sim.get("/sim/state")).json()
    (channel,) = state["channels"]
    assert channel["sender_key"] == SENDER and channel["users"][0]["session"]["state"] == "ACTIVE"
    assert state["reference_order"] == "before" and state["paths"]["write"] == "/v1/chat/write"


def test_impossible_configuration_fails_at_construction():
    with pytest.raises(ValueError, match="reference_order"):
        SimConfig(reference_order="sometime")
    with pytest.raises(ValueError, match="write"):
        SimConfig(paths={"end": "/end"})
    with pytest.raises(ValueError, match="partner_retries"):
        SimConfig(partner_retries=-1)


# ---- the real client against the simulator ------------------------------------------------


async def test_rendered_actions_sent_by_the_client_are_accepted(sim):
    await consult(sim)
    settings = KakaoSettings(base_url=str(sim.make_url("")).rstrip("/"))
    async with aiohttp.ClientSession() as session:
        client = KakaoClient(settings, session, sender_key=SENDER)
        image = await client.upload_image(PHOTO, "a.png", "image/png")
        calls = render_actions([SendText("안녕하세요"), SendButtons("메뉴", tuple(f"b{i}" for i in range(12))),
                                SendImage(image)], USER, SENDER, SerialNumbers(), media_hosts_for(settings))
        deliveries = [await client.send(call) for call in calls]
        assert [d.outcome for d in deliveries] == ["ok"] * 4
        assert (await client.send(calls[0])).outcome == "ok"  # a retry of a delivered write
        await post(sim, f"/sim/users/{USER}/leave")
        assert (await client.send(render_actions([SendText("늦었어요")], USER, SENDER, SerialNumbers())[0])).outcome \
            == "no_session"
    assert [e["type"] for e in await seen(sim) if e["kind"] == "message"] == ["TX", "LI", "LI", "IM"]
