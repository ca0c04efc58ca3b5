"""The webhook server as Kakao's relay sees it: acknowledgements, de-duplication, rejections."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage.app import DISPATCHER, STORE, ServeOptions, make_app

ROOT = Path(__file__).parents[2]
SENDER = "0123456789abcdef0123456789abcdef01234567"
TABLES = ("inbox", "users", "sessions", "transcript", "outbox", "events")


def message(serial: str = "2900000000000000001", text: str = "안녕하세요", **changes) -> dict:
    body = {"user_key": "Ab3dEf6hIj9k", "sender_key": SENDER, "session_id": "170000123",
            "time": 1700000000123, "serial_number": serial, "type": "text", "content": text}
    body.update(changes)
    return body


def reference(extra: str = "topic=order&order=77", **changes) -> dict:
    body = {"user_key": "Ab3dEf6hIj9k", "session_id": "170000123", "sender_key": SENDER, "app_user_id": None,
            "time": 1700000000050, "reference": {"extra": extra, "text": "", "lastText": ""},
            "last_reference": {"extra": "", "bot": "false", "bot_event": "", "created_at": "2026-11-25T10:00:00.000"}}
    body.update(changes)
    return body


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "triage.db"


@pytest.fixture
async def server(aiohttp_client, db: Path):
    # Port 9 (discard) refuses connections: replies stay pending in the outbox, as in a Kakao outage.
    app = make_app(ServeOptions(root=ROOT, db=str(db), kakao_url="http://127.0.0.1:9", reference_grace=0.05))
    return await aiohttp_client(app)


async def settle(server) -> None:
    await server.app[DISPATCHER].idle(5)


async def test_a_message_is_acknowledged_then_answered_into_the_outbox(server):
    response = await server.post("/message", json=message(text="배송 조회"))

    assert response.status == 200
    assert await response.json() == {"code": "0"}
    await settle(server)
    store = server.app[STORE]
    session = store.current_session("Ab3dEf6hIj9k")
    assert session.kakao_session_id == "170000123"
    transcript = store.transcript(session.id)
    assert [(e.direction, e.sender) for e in transcript][:2] == [("out", "bot"), ("in", "user")]
    pending = store.outbox_of("Ab3dEf6hIj9k")
    assert pending and all(item.status == "pending" for item in pending)
    assert "1년간 보관" in pending[0].body["message"]


async def test_a_duplicate_serial_is_acknowledged_but_processed_once(server, db):
    first = await server.post("/message", json=message())
    await settle(server)
    before = counts(db)
    again = await server.post("/message", json=message())
    await settle(server)

    assert first.status == again.status == 200
    assert counts(db) == before


async def test_a_reference_before_the_first_message_routes_by_extra(server):
    await server.post("/reference", json=reference("topic=order&order=77"))
    await server.post("/message", json=message(text="배송 조회"))
    await settle(server)

    session = server.app[STORE].current_session("Ab3dEf6hIj9k")
    assert session.category == "주문"
    assert session.reference["extra"] == "topic=order&order=77"


async def test_a_reference_just_after_the_first_message_still_routes_it(server):
    await server.post("/message", json=message(text="배송 조회"))
    await server.post("/reference", json=reference("topic=order&order=77"))
    await settle(server)

    session = server.app[STORE].current_session("Ab3dEf6hIj9k")
    assert session.category == "주문"


async def test_a_repeated_reference_for_the_same_session_is_ignored(server, db):
    await server.post("/reference", json=reference())
    await settle(server)
    before = counts(db)
    await server.post("/reference", json=reference())
    await settle(server)
    assert counts(db) == before


async def test_expired_session_closes_the_local_conversation(server):
    await server.post("/message", json=message())
    await settle(server)
    response = await server.post("/expired_session", json={
        "user_key": "Ab3dEf6hIj9k", "sender_key": SENDER, "session_id": "170000123", "time": 1700000009000,
        "reason": "expired"})
    await settle(server)

    assert response.status == 200
    store = server.app[STORE]
    assert store.current_session("Ab3dEf6hIj9k") is None
    assert store.sessions_of("Ab3dEf6hIj9k")[0].end_reason == "expired"


@pytest.mark.parametrize("kind, content", [("emoticon", {"id": "4412207.emot_001"}),
                                           ("location", {"lat": 37.5665, "lng": 126.978})])
async def test_an_unknown_kind_is_accepted_and_logged_by_kind_only(server, caplog, kind, content):
    response = await server.post("/message", json=message(type=kind, content=content))
    await settle(server)

    assert response.status == 200
    store = server.app[STORE]
    transcript = store.transcript(store.current_session("Ab3dEf6hIj9k").id)
    assert [(e.kind, e.text) for e in transcript if e.direction == "in"] == [(kind, f"[{kind}]")]
    warnings = [r.getMessage() for r in caplog.records if r.name == "triage.webhooks" and r.levelname == "WARNING"]
    assert warnings == [f"message '2900000000000000001' has unknown type '{kind}'"]
    assert not any(str(value) in warnings[0] for value in content.values())


async def test_a_numeric_serial_is_the_same_message_as_its_digit_string(server, db):
    first = await server.post("/message", data=json.dumps(message()).replace(
        '"2900000000000000001"', "2900000000000000001"), headers={"Content-Type": "application/json"})
    await settle(server)
    before = counts(db)
    again = await server.post("/message", json=message())
    await settle(server)

    assert first.status == again.status == 200
    assert counts(db) == before
    assert server.app[STORE].inbox_of("Ab3dEf6hIj9k")[0].payload["serial_number"] == "2900000000000000001"


async def test_a_body_starting_with_a_utf8_bom_is_accepted(server):
    body = "\ufeff".encode() + json.dumps(message(text="배송 조회"), ensure_ascii=False).encode()
    response = await server.post("/message", data=body, headers={"Content-Type": "application/json"})
    await settle(server)

    assert response.status == 200
    assert server.app[STORE].current_session("Ab3dEf6hIj9k") is not None


MALFORMED: list[tuple[str, bytes]] = [
    ("empty body", b""),
    ("not json", b"hello"),
    ("truncated json", b'{"user_key": "a"'),
    ("json null", b"null"),
    ("json list", b"[]"),
    ("json string", b'"text"'),
    ("json number", b"42"),
    ("json true", b"true"),
    ("latin-1 bytes", "{\"user_key\": \"é\"}".encode("latin-1")),
    ("binary", bytes(range(256))),
    ("a bom and nothing else", "\ufeff".encode()),
    ("a utf-16 bom", "\ufeff{}".encode("utf-16")),
    ("nan time", json.dumps(message()).replace("1700000000123", "NaN").encode()),
    ("over the size cap", json.dumps(message(text="가" * 70_000)).encode()),
]
for field in ("user_key", "sender_key", "serial_number", "type", "time"):
    body = message()
    del body[field]
    MALFORMED.append((f"missing {field}", json.dumps(body).encode()))
    for bad in (None, 12, 1.5, True, [], {}, ""):
        if field in ("time", "serial_number") and isinstance(bad, int) and not isinstance(bad, bool):
            continue
        MALFORMED.append((f"{field}={bad!r}", json.dumps(message(**{field: bad})).encode()))
MALFORMED += [
    ("user_key too long", json.dumps(message(user_key="u" * 21)).encode()),
    ("serial too long", json.dumps(message(serial="9" * 31)).encode()),
    ("negative time", json.dumps(message(time=-5)).encode()),
    ("time not digits", json.dumps(message(time="soon")).encode()),
    ("text content missing", json.dumps({k: v for k, v in message().items() if k != "content"}).encode()),
    ("content a list", json.dumps(message(content=["a"])).encode()),
    ("photo without url", json.dumps(message(type="photo", content={})).encode()),
    ("session_id not digits", json.dumps(message(session_id="abc")).encode()),
    ("unknown sender_key", json.dumps(message(sender_key="f" * 40)).encode()),
    ("nested 30,000 lists deep", b"[" * 30_000 + b"]" * 30_000),
    ("content nested 30,000 lists deep", json.dumps(message(text="X")).replace('"X"', "[" * 30_000 + "]" * 30_000)
     .encode()),
]
FORGED_IDS = [("user_key", "u\nFAKE ERROR"), ("user_key", "u\u0000\u202e1"), ("user_key", "u\u2028x"),
              ("user_key", "u\u200bx"), ("serial_number", "29\r\n00"), ("sender_key", SENDER[:39] + "\x1b")]
MALFORMED += [(f"{field}={value!r}", json.dumps(message(**{field: value})).encode()) for field, value in FORGED_IDS]


def test_there_are_at_least_fifty_kinds_of_malformed_body():
    assert len(MALFORMED) >= 50


@pytest.mark.parametrize("name,body", MALFORMED, ids=[name for name, _ in MALFORMED])
async def test_a_malformed_message_gets_a_4xx_json_error_and_stores_nothing(server, db, name, body):
    before = counts(db)
    response = await server.post("/message", data=body, headers={"Content-Type": "application/json"})

    assert 400 <= response.status < 500, name
    error = await response.json()
    assert error["code"].startswith("-") and error["message"]
    assert counts(db) == before
    healthy = await server.post("/message", json=message(serial="2900000000000000999"))
    assert healthy.status == 200


async def test_a_deeply_nested_body_is_refused_in_one_log_line_without_a_traceback(server, caplog):
    response = await server.post("/message", data=b"[" * 30_000 + b"]" * 30_000,
                                 headers={"Content-Type": "application/json"})

    assert (response.status, await response.json()) == (400, {"code": "-400",
                                                              "message": "malformed JSON: nested too deeply"})
    logged = [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    assert [r.getMessage() for r in logged] == [
        "rejected /message from 127.0.0.1: 400 malformed JSON: nested too deeply"]
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize("path,body", [("/message", message(user_key="u\nFAKE ERROR")),
                                       ("/reference", reference(user_key="u\u0000\u202e1")),
                                       ("/expired_session", reference(user_key="u\u202e"))])
async def test_ids_that_could_forge_a_log_line_are_refused_by_every_webhook(server, db, caplog, path, body):
    before = counts(db)
    response = await server.post(path, json=body)

    assert response.status == 400
    assert (await response.json())["message"] == \
        "user_key: must not contain control, format or line-separator characters"
    assert counts(db) == before
    assert not any("\n" in r.getMessage() or "\u202e" in r.getMessage() for r in caplog.records)


async def test_a_lone_surrogate_in_the_text_arrives_as_a_replacement_character(server):
    body = json.dumps(message(text="hi \ud800 there")).encode()
    assert b"\\ud800" in body

    response = await server.post("/message", data=body, headers={"Content-Type": "application/json"})
    await settle(server)

    assert response.status == 200
    store = server.app[STORE]
    said = [e.text for e in store.transcript(store.current_session("Ab3dEf6hIj9k").id) if e.direction == "in"]
    assert said == ["hi \ufffd there"]


async def test_a_surrogate_pair_written_as_escapes_stays_the_character_it_spells(server):
    body = json.dumps(message(text="웃음 😀")).encode()
    assert b"\\ud83d\\ude00" in body

    assert (await server.post("/message", data=body, headers={"Content-Type": "application/json"})).status == 200
    await settle(server)

    store = server.app[STORE]
    said = [e.text for e in store.transcript(store.current_session("Ab3dEf6hIj9k").id) if e.direction == "in"]
    assert said == ["웃음 😀"]


async def test_a_wrong_sender_key_is_logged_beside_the_expected_one_but_answered_without_it(server, caplog):
    response = await server.post("/message", json=message(sender_key="ffffbbbb" + "0" * 32))

    answer = await response.json()
    assert (response.status, answer) == (403, {"code": "-501", "message": "InvalidSenderException(unknown sender_key)"})
    assert SENDER[:8] not in json.dumps(answer)
    assert [r.getMessage() for r in caplog.records if r.name == "triage.webhooks"] == [
        "rejected /message from 127.0.0.1: 403 InvalidSenderException(unknown sender_key): got ffffbbbb…, "
        f"expected {SENDER[:8]}… (channel.sender_key in triage.yaml)"]


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
                           max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.dictionaries(st.sampled_from(sorted(message())), json_values, max_size=8))
async def test_random_bodies_never_break_the_server(server, db, garbage):
    before = counts(db)
    for path in ("/message", "/reference", "/expired_session"):
        response = await server.post(path, json=garbage)
        assert response.status in (200, 400, 403), await response.text()
        if response.status != 200:
            assert counts(db) == before
    assert (await server.get("/healthz")).status == 200


async def test_a_shared_secret_is_required_when_configured(aiohttp_client, tmp_path):
    root = tmp_path / "site"
    _copy_site(root, extra="server:\n  secret_header: X-Relay-Secret\n  secret: s3cret\n")
    client = await aiohttp_client(make_app(ServeOptions(root=root, db=str(tmp_path / "t.db"),
                                                        kakao_url="http://127.0.0.1:9")))
    refused = await client.post("/message", json=message())
    accepted = await client.post("/message", json=message(), headers={"X-Relay-Secret": "s3cret"})
    assert refused.status == 401
    assert accepted.status == 200


async def test_an_ip_allow_list_refuses_other_callers(aiohttp_client, tmp_path):
    root = tmp_path / "site"
    _copy_site(root, extra="server:\n  allow_ips: [10.1.2.0/24]\n")
    client = await aiohttp_client(make_app(ServeOptions(root=root, db=str(tmp_path / "t.db"),
                                                        kakao_url="http://127.0.0.1:9")))
    response = await client.post("/message", json=message())
    assert response.status == 403


async def raw_post(server, path: str, head: dict[str, str], parts: list[bytes], pause: float = 0.05) -> int:
    """POST through a real loopback socket, each part its own write with a pause between, as a
    long body crosses the network in several TCP segments; returns the status code."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    headers = {"Host": f"{server.host}:{server.port}", "Content-Type": "application/json", "Connection": "close",
               **head}
    writer.write(f"POST {path} HTTP/1.1\r\n".encode() + "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
                 + b"\r\n")
    for part in parts:
        writer.write(part)
        await writer.drain()
        await asyncio.sleep(pause)
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


def chunked(*parts: bytes) -> list[bytes]:
    return [b"%x\r\n%s\r\n" % (len(part), part) for part in parts] + [b"0\r\n\r\n"]


LONG = "주문한 상품이 아직 도착하지 않았어요. " * 120
"""About 6 KB of UTF-8: more than one TCP segment, split mid-character below on purpose."""


async def test_a_body_arriving_in_two_parts_is_read_whole(server):
    body = json.dumps(message(text=LONG), ensure_ascii=False).encode()
    half = len(body) // 2 + 1
    status = await raw_post(server, "/message", {"Content-Length": str(len(body))}, [body[:half], body[half:]])
    await settle(server)

    assert status == 200
    store = server.app[STORE]
    transcript = store.transcript(store.current_session("Ab3dEf6hIj9k").id)
    assert [e.text for e in transcript if e.direction == "in"] == [LONG]


async def test_a_chunked_upload_is_read_whole(server):
    body = json.dumps(message(text=LONG), ensure_ascii=False).encode()
    status = await raw_post(server, "/message", {"Transfer-Encoding": "chunked"},
                            chunked(body[:1001], body[1001:4001], body[4001:]))
    await settle(server)

    assert status == 200
    store = server.app[STORE]
    transcript = store.transcript(store.current_session("Ab3dEf6hIj9k").id)
    assert [e.text for e in transcript if e.direction == "in"] == [LONG]


async def test_a_streamed_body_over_the_cap_gets_413_and_stores_nothing(server, db):
    before = counts(db)
    piece = b" " * 40_000
    status = await raw_post(server, "/message", {"Transfer-Encoding": "chunked"}, chunked(b"{", piece, piece, b"}"))

    assert status == 413
    assert counts(db) == before


async def _client(aiohttp_client, tmp_path: Path, server_yaml: str):
    root = tmp_path / "site"
    _copy_site(root, extra=f"server:\n{server_yaml}")
    return await aiohttp_client(make_app(ServeOptions(root=root, db=str(tmp_path / "t.db"),
                                                      kakao_url="http://127.0.0.1:9")))


async def test_the_webhooks_live_under_the_secret_path_prefix_only(aiohttp_client, tmp_path):
    client = await _client(aiohttp_client, tmp_path, "  path_prefix: /hooks/9f2c4e1a\n")

    assert (await client.post("/message", json=message())).status == 404
    assert (await client.post("/hooks/9f2c4e1a/message", json=message())).status == 200
    assert (await client.post("/hooks/9f2c4e1a/reference", json=reference())).status == 200
    expired = {"user_key": "Ab3dEf6hIj9k", "sender_key": SENDER, "session_id": "170000123", "time": 1700000009000}
    assert (await client.post("/hooks/9f2c4e1a/expired_session", json=expired)).status == 200


PROXIED = "  allow_ips: [203.0.113.0/24]\n  trusted_proxies: [127.0.0.1]\n"


@pytest.mark.parametrize("forwarded, status", [
    ("203.0.113.7", 200),
    ("198.51.100.9, 203.0.113.7", 200),
    ("203.0.113.7, 198.51.100.9", 403),
    ("203.0.113.7, 127.0.0.1", 200),
    ("not-an-address", 403),
    (None, 403),
], ids=["the client", "a spoofed left part", "a stranger behind the proxy", "two proxies", "garbage", "none"])
async def test_behind_a_trusted_proxy_the_allow_list_judges_the_forwarded_client(aiohttp_client, tmp_path,
                                                                                forwarded, status):
    client = await _client(aiohttp_client, tmp_path, PROXIED)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}

    assert (await client.post("/message", json=message(), headers=headers)).status == status


async def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(aiohttp_client, tmp_path):
    client = await _client(aiohttp_client, tmp_path, "  allow_ips: [203.0.113.0/24]\n")

    response = await client.post("/message", json=message(), headers={"X-Forwarded-For": "203.0.113.7"})

    assert response.status == 403


def _copy_site(root: Path, extra: str = "") -> None:
    for name in ("flows", "faq", "images"):
        shutil.copytree(ROOT / name, root / name)
    root.joinpath("triage.yaml").write_text((ROOT / "triage.yaml").read_text(encoding="utf-8") + extra,
                                             encoding="utf-8")
