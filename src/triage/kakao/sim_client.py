"""A client for the simulator's user-action API: be a KakaoTalk user from code.

``triage demo``, the end-to-end tests and the load benchmark all act as customers through
this one client, so they exercise the same protocol path a real customer's taps take.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import aiohttp


class SimRefused(Exception):
    """The simulator refused a user action (e.g. the partner server did not answer)."""


@dataclass
class SimUser:
    http: aiohttp.ClientSession
    base_url: str
    user_key: str
    last_index: int = -1
    seen: list[dict[str, Any]] = field(default_factory=list)

    def _url(self, action: str) -> str:
        return f"{self.base_url.rstrip('/')}/sim/users/{self.user_key}/{action}"

    async def _post(self, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        async with self.http.post(self._url(action), json=body or {}) as response:
            data = await response.json()
            if response.status >= 400:
                raise SimRefused(data.get("error") or f"{action}: HTTP {response.status}")
            return data

    async def consult(self, extra: str = "", bot: str = "false", event: str = "") -> dict[str, Any]:
        """Tap the 카카오톡 상담하기 button."""
        return await self._post("consult", {"extra": extra, "bot": bot, "event": event})

    async def say(self, text: str) -> dict[str, Any]:
        return await self._post("messages", {"text": text})

    async def photo(self) -> dict[str, Any]:
        return await self._post("messages", {"type": "photo"})

    async def leave(self) -> dict[str, Any]:
        return await self._post("leave")

    async def block(self) -> dict[str, Any]:
        return await self._post("block")

    async def session(self) -> dict[str, Any]:
        async with self.http.get(self._url("session")) as response:
            return await response.json()

    async def new_messages(self, wait: float = 0.0) -> list[dict[str, Any]]:
        """What 상담톡 delivered to this user since the last call (long-polls up to ``wait``)."""
        params = {"after": str(self.last_index), "wait": str(wait)}
        async with self.http.get(self._url("seen"), params=params) as response:
            data = await response.json()
        fresh = data.get("seen", [])
        if fresh:
            self.last_index = fresh[-1]["index"]
            self.seen.extend(fresh)
        return [entry for entry in fresh if entry.get("kind") == "message"]

    async def wait_for(self, predicate, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Collect delivered messages until ``predicate(collected)`` holds; fail after ``timeout``."""
        collected: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(collected):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{self.user_key}: still waiting after {timeout}s; got {collected!r}")
            collected += await self.new_messages(wait=min(remaining, 1.0))
        return collected


async def advance_clock(http: aiohttp.ClientSession, base_url: str, seconds: float) -> dict[str, Any]:
    async with http.post(f"{base_url.rstrip('/')}/sim/clock", json={"advance": seconds}) as response:
        return await response.json()


async def inject_fault(http: aiohttp.ClientSession, base_url: str, path: str, status: int, count: int) -> None:
    async with http.post(f"{base_url.rstrip('/')}/sim/faults",
                         json={"path": path, "status": status, "count": count}) as response:
        response.raise_for_status()
