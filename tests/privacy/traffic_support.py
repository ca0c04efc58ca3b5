"""A store filled the real way: the server and the 상담톡 simulator in-process, two customers.

Alice agrees to the consent and leaves her phone number and email, then types a question
with her number in it, and ends the chat; Bob comes in through an ``extra`` route, asks for
an agent and leaves while waiting. Both sessions are over, as they are by the time retention
applies to them.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from triage.kakao.sim_client import SimUser
from triage.privacy.masking import contains_pii

FIXTURE = Path(__file__).parents[1] / "fixtures" / "privacy_site"
ALICE = "user-alice-7f3a"
BOB = "user-bob-29c1"
PHONE = "010-2345-6789"
EMAIL = "alice.kim@example.com"
NOTICE = "상담 내용은 서비스 품질 향상을 위해 1년간 보관된 뒤 파기됩니다."


def privacy_site(open_site: Callable[..., Path]) -> Path:
    """The example site (queues open around the clock) plus a consent-gated contact flow."""
    root = open_site()
    shutil.copy(FIXTURE / "flows" / "contact.yaml", root / "flows" / "contact.yaml")
    return root


def said(text: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda messages: any(text in (m.get("text") or "") for m in messages)


async def converse(customer: SimUser, turns: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Each turn: what the customer types, then a text the bot's reply must contain."""
    seen = []
    for text, reply in turns:
        await customer.say(text)
        seen += await customer.wait_for(said(reply))
    return seen


@dataclass
class Traffic:
    db: Path
    first_messages: dict[str, str]


async def fill(live: Callable[..., Awaitable[Any]], root: Path, db: Path) -> Traffic:
    """Run both customers through a live server, then close the server (its resources: the
    store, the outbox worker) so the database file is quiet for the commands under test."""
    stack = await live(root, db=str(db))
    alice, bob = stack.user(ALICE), stack.user(BOB)
    await alice.consult()
    alice_first = await alice.wait_for(said("무엇을 도와드릴까요"))
    await converse(alice, [("연락처", "동의하시나요"), ("동의합니다", "휴대폰 번호"), (PHONE, "이메일"),
                           (EMAIL, "더 궁금하신 점"),
                           (f"배송지 바꾸려면 {PHONE} 로 전화 주세요", ""), ("종료", "감사합니다")])
    await bob.consult(extra="topic=order")
    bob_first = await bob.wait_for(said("주문"))
    await converse(bob, [("상담원", "상담원을 연결")])
    await bob.leave()
    await _until(lambda: _open_sessions(db) == 0)
    await stack.server.cleanup()
    return Traffic(db, {ALICE: alice_first[0]["text"], BOB: bob_first[0]["text"]})


async def _until(done: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if done():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the server did not finish in time")


def _open_sessions(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM sessions WHERE status != 'ended'").fetchone()[0]


def cells(db: Path) -> list[str]:
    """Every stored value of every table, as text: what "no personal data left" is checked on."""
    with sqlite3.connect(db) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [str(value) for table in tables for row in conn.execute(f"SELECT * FROM {table}")
                for value in row if value is not None]


def personal(db: Path, user_key: str) -> list[str]:
    return [cell for cell in cells(db) if user_key in cell or contains_pii(cell)]


def event_kinds(db: Path) -> Counter[str]:
    with sqlite3.connect(db) as conn:
        return Counter(kind for (kind,) in conn.execute("SELECT kind FROM events"))


def rows(db: Path, table: str, user_key: str | None = None) -> int:
    where, params = ("WHERE user_key = ?", (user_key,)) if user_key is not None else ("", ())
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table} {where}", params).fetchone()[0]
