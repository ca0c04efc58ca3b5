"""A console agent desk for triage: the event stream printed, the REST API typed.

    python examples/console_desk.py --url http://127.0.0.1:8080 --token $TOKEN --agent kim
    > list | claim <id> | reply <id> <text> | close <id> | quit

``--reply TEXT`` runs once without a prompt: go online, claim the first waiting conversation
and answer it (what the tests do). Plain aiohttp; a real desk does the same calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import aiohttp


class Desk:
    def __init__(self, http: aiohttp.ClientSession, url: str, token: str):
        self.http, self.base = http, url.rstrip("/") + "/api/v1"
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, body: dict | None = None) -> dict:
        async with self.http.request(method, self.base + path, json=body, headers=self.headers) as response:
            data = await response.json()
            if response.status >= 400:
                raise RuntimeError(f"{method} {path}: {data['error']['message']}")
            return data

    async def waiting(self) -> list[dict]:
        return [w for q in (await self.call("GET", "/queues"))["queues"] for w in q["waiting"]]

    async def events(self) -> None:
        async with self.http.get(self.base + "/events", headers=self.headers,
                                 timeout=aiohttp.ClientTimeout(total=None)) as response:
            async for line in response.content:
                if line.startswith(b"data: "):
                    event = json.loads(line[6:])
                    print(f"\n[{event['kind']}] {json.dumps(event['data'], ensure_ascii=False)}", flush=True)


async def once(desk: Desk, agent: str, reply: str) -> int:
    await desk.call("PUT", f"/agents/{agent}/presence", {"presence": "online"})
    mine = next(a for a in (await desk.call("GET", "/agents"))["agents"] if a["id"] == agent)["active"]
    waiting = await desk.waiting()
    if not mine and not waiting:
        print("nobody is waiting")
        return 1
    ticket = mine[0] if mine else (await desk.call("POST", f"/conversations/{waiting[0]['id']}/claim"))["ticket"]["id"]
    await desk.call("POST", f"/conversations/{ticket}/messages", {"text": reply})
    print(f"replied to {ticket}")
    return 0


async def prompt(desk: Desk) -> int:
    printer = asyncio.create_task(desk.events())
    loop = asyncio.get_running_loop()
    try:
        while (line := await loop.run_in_executor(None, sys.stdin.readline)):
            command, _, rest = line.strip().partition(" ")
            ticket, _, text = rest.partition(" ")
            try:
                if command == "list":
                    for w in await desk.waiting():
                        print(f"{w['id']}  #{w['position']}  {w['priority']}  {w['summary']}")
                elif command == "claim":
                    await desk.call("POST", f"/conversations/{ticket}/claim")
                elif command == "reply":
                    await desk.call("POST", f"/conversations/{ticket}/messages", {"text": text})
                elif command == "close":
                    await desk.call("POST", f"/conversations/{ticket}/close")
                elif command == "quit":
                    break
            except RuntimeError as exc:
                print(exc)
    finally:
        printer.cancel()
    return 0


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--token", required=True)
    parser.add_argument("--agent", required=True)
    parser.add_argument("--reply", help="claim the first waiting conversation, answer it with this text, exit")
    args = parser.parse_args(argv)
    async with aiohttp.ClientSession() as http:
        desk = Desk(http, args.url, args.token)
        return await once(desk, args.agent, args.reply) if args.reply else await prompt(desk)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
