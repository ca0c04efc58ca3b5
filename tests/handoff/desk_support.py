"""Agents for the handoff tests, and a small client for the agent API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

TOKENS = {"kim": "kim-token-0123456789", "lee": "lee-token-0123456789", "boss": "boss-token-0123456789"}
AGENTS = {
    "agents": {
        "kim": {"name": "김상담", "token": TOKENS["kim"], "skills": ["주문", "배송", "기타"], "max_concurrent": 2},
        "lee": {"name": "이환불", "token": TOKENS["lee"], "skills": ["환불", "교환"], "max_concurrent": 2},
        "boss": {"name": "박팀장", "token": TOKENS["boss"], "skills": ["주문", "배송", "기타", "환불", "교환"],
                 "supervisor": True},
    },
    "handoff": {"timers": {"queue_reminder": 0, "queue_end": 0, "agent_warn": 0, "agent_end": 0}},
}


@dataclass
class AgentClient:
    http: aiohttp.ClientSession
    base: str
    token: str

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.http.request(method, f"{self.base}/api/v1{path}", json=body, headers=headers) as response:
            return response.status, await response.json()

    async def ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        status, data = await self.call(method, path, body)
        assert status < 300, (status, data)
        return data

    async def online(self, agent_id: str, max_concurrent: int | None = None) -> dict[str, Any]:
        body = {"presence": "online", **({"max_concurrent": max_concurrent} if max_concurrent else {})}
        return await self.ok("PUT", f"/agents/{agent_id}/presence", body)

    async def waiting(self, queue: str) -> list[dict[str, Any]]:
        queues = (await self.ok("GET", "/queues"))["queues"]
        return next(q["waiting"] for q in queues if q["name"] == queue)

    async def ticket_of(self, user_key: str) -> str:
        """The open conversation of a customer, waiting or with any agent."""
        queues = (await self.ok("GET", "/queues"))["queues"]
        active = [t for a in (await self.ok("GET", "/agents"))["agents"] for t in a["active"]]
        waiting = [w["id"] for q in queues for w in q["waiting"] if w["user_key"] == user_key]
        held = [t for t in active if (await self.ok("GET", f"/conversations/{t}"))["ticket"]["user_key"] == user_key]
        [ticket] = waiting + held
        return ticket

    async def events(self, kinds: str) -> list[dict[str, Any]]:
        """Every stored event of these kinds so far, read from the SSE stream until it goes quiet."""
        found = []
        url = f"{self.base}/api/v1/events?kinds={kinds}"
        async with self.http.get(url, headers={"Authorization": f"Bearer {self.token}"}) as response:
            async for line in response.content:
                if line.startswith(b"data: "):
                    found.append(json.loads(line[6:]))
                elif line.startswith(b": heartbeat"):
                    return found
        return found


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m.get("message", {}).get("message") or m.get("text") or "" for m in messages]
