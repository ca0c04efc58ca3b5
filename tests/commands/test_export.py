"""``triage export`` of a customer whose message carried a lone surrogate: the file is whole JSON."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from triage.app import DISPATCHER, ServeOptions, make_app
from triage.cli import main

ROOT = Path(__file__).parents[2]
SENDER = "0123456789abcdef0123456789abcdef01234567"
USER = "u3"


def message(text: str) -> bytes:
    return json.dumps({"user_key": USER, "sender_key": SENDER, "session_id": "170000123", "time": 1700000000123,
                       "serial_number": "2900000000000000001", "type": "text", "content": text}).encode()


async def told_through_the_webhook(aiohttp_client, db: Path, text: str) -> None:
    server = await aiohttp_client(make_app(ServeOptions(root=ROOT, db=str(db), kakao_url="http://127.0.0.1:9")))
    response = await server.post("/message", data=message(text), headers={"Content-Type": "application/json"})
    assert response.status == 200
    await server.app[DISPATCHER].idle(5)
    await server.close()


def said(document: dict) -> list[str]:
    return [line["text"] for session in document["sessions"] for line in session["transcript"]
            if line["direction"] == "in"]


async def test_a_lone_surrogate_sent_to_the_webhook_is_exported_as_a_replacement_character(
        aiohttp_client, tmp_path, capsys):
    db, out = tmp_path / "triage.db", tmp_path / "u3.json"
    await told_through_the_webhook(aiohttp_client, db, "hi \ud800 there")

    code = main(["export", "--root", str(ROOT), "--db", str(db), "--user-key", USER, "--out", str(out)])

    assert code == 0, capsys.readouterr().err
    assert said(json.loads(out.read_text(encoding="utf-8"))) == ["hi \ufffd there"]


async def test_a_lone_surrogate_stored_before_the_door_replaced_them_is_exported_as_its_escape(
        aiohttp_client, tmp_path, capsys):
    db, out = tmp_path / "triage.db", tmp_path / "u3.json"
    await told_through_the_webhook(aiohttp_client, db, "hi there")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE inbox SET payload = replace(payload, 'hi there', 'hi \\ud800 there')")

    to_file = main(["export", "--root", str(ROOT), "--db", str(db), "--user-key", USER, "--out", str(out)])
    to_stdout = main(["export", "--root", str(ROOT), "--db", str(db), "--user-key", USER])

    printed = capsys.readouterr().out
    assert (to_file, to_stdout) == (0, 0)
    assert out.read_text(encoding="utf-8") == printed and "hi \\ud800 there" in printed
    assert json.loads(printed)["inbox"][0]["payload"]["text"] == "hi \ud800 there"
