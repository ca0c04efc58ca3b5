"""The webhook guards of a running server: they follow an edited triage.yaml, and no header breaks them."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from triage.app import ServeOptions, make_app
from kakao.test_webhooks import _copy_site, message

GUARDED = ("server:\n  path_prefix: /hooks/9f2c4e1a\n  allow_ips: [203.0.113.0/24]\n  trusted_proxies: [127.0.0.1]\n"
           "  secret_header: X-Relay-Secret\n  secret: old-secret\n")
MOVED = ("server:\n  path_prefix: /hooks/NEWSECRET\n  allow_ips: [198.51.100.0/24]\n  trusted_proxies: [127.0.0.1]\n"
         "  secret_header: X-Relay-Secret\n  secret: new-secret\n  max_body: 8192\n")
OLD_CALLER = {"X-Forwarded-For": "203.0.113.5", "X-Relay-Secret": "old-secret"}
NEW_CALLER = {"X-Forwarded-For": "198.51.100.9", "X-Relay-Secret": "new-secret"}


async def guarded(aiohttp_client, tmp_path: Path):
    root = tmp_path / "site"
    _copy_site(root, extra=GUARDED)
    client = await aiohttp_client(make_app(ServeOptions(root=root, db=str(tmp_path / "t.db"),
                                                        kakao_url="http://127.0.0.1:9", reload_interval=0.05)))
    return root, client


async def reloaded(client, root: Path, server_yaml: str) -> None:
    """What an operator does: edit triage.yaml under the running server, which polls for the change."""
    path = root / "triage.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(GUARDED, server_yaml), encoding="utf-8")
    for _ in range(100):
        if (await (await client.get("/healthz")).json())["content_version"] == 2:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the server never picked up the edited triage.yaml")


async def test_an_edited_allow_list_and_secret_guard_the_next_webhook(aiohttp_client, tmp_path):
    root, client = await guarded(aiohttp_client, tmp_path)
    assert (await client.post("/hooks/9f2c4e1a/message", json=message(), headers=OLD_CALLER)).status == 200

    await reloaded(client, root, MOVED)

    hook = "/hooks/9f2c4e1a/message"
    assert (await client.post(hook, json=message(serial="2"), headers=OLD_CALLER)).status == 403
    assert (await client.post(hook, json=message(serial="3"), headers={**NEW_CALLER, "X-Relay-Secret": "old-secret"})
            ).status == 401
    assert (await client.post(hook, json=message(serial="4"), headers=NEW_CALLER)).status == 200
    too_big = json.dumps(message(serial="5", text="가" * 3000), ensure_ascii=False).encode()
    assert (await client.post(hook, data=too_big, headers={**NEW_CALLER, "Content-Type": "application/json"})
            ).status == 413


async def test_a_moved_path_prefix_is_warned_about_and_waits_for_a_restart(aiohttp_client, tmp_path, caplog):
    root, client = await guarded(aiohttp_client, tmp_path)

    await reloaded(client, root, MOVED)
    with caplog.at_level(logging.WARNING, logger="triage.webhooks"):
        assert (await client.post("/hooks/NEWSECRET/message", json=message(), headers=NEW_CALLER)).status == 404
        assert (await client.post("/hooks/9f2c4e1a/message", json=message(), headers=NEW_CALLER)).status == 200

    assert [r.getMessage() for r in caplog.records if r.name == "triage.webhooks"] == [
        "server.path_prefix ('/hooks/9f2c4e1a' -> '/hooks/NEWSECRET') changed in triage.yaml: "
        "takes effect at the next restart"]


async def raw_status(client, path: str, header: bytes) -> int:
    """A real socket, since aiohttp's client will not send a header that is not UTF-8."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    body = json.dumps(message()).encode()
    writer.write(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                 b"Connection: close\r\n%s\r\n\r\n%s" % (path.encode(), len(body), header, body))
    status = int((await reader.readline()).split()[1])
    writer.close()
    return status


async def test_a_secret_header_that_is_not_utf8_is_refused_in_one_log_line(aiohttp_client, tmp_path, caplog):
    root = tmp_path / "site"
    _copy_site(root, extra="server:\n  secret_header: X-Relay-Secret\n  secret: s3cret\n")
    client = await aiohttp_client(make_app(ServeOptions(root=root, db=str(tmp_path / "t.db"),
                                                        kakao_url="http://127.0.0.1:9")))

    with caplog.at_level(logging.WARNING):
        assert await raw_status(client, "/message", b"X-Relay-Secret: \xff\xfe") == 401

    assert [r.getMessage() for r in caplog.records if r.name == "triage.webhooks"] == [
        "rejected /message from 127.0.0.1: 401 missing or wrong X-Relay-Secret header"]
    assert not [r for r in caplog.records if r.exc_info], "no traceback"
