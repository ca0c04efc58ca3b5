"""An agent token over HTTP: removing it from triage.yaml ends what it opened, and no header bytes break the check."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

from handoff.desk_support import AGENTS, TOKENS, AgentClient
from handoff.test_live_agents_reload import edit_agents, until_gone
from handoff.test_live_desk import escalate


async def test_a_removed_agent_s_open_event_stream_ends_and_misses_later_handoffs(open_site, live):
    root = open_site(AGENTS)
    stack = await live(root, timer_interval=0.05, heartbeat=0.1, reload_interval=0.05)
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    async with stack.http.get(f"{stack.server_url}/api/v1/events",
                              headers={"Authorization": f"Bearer {TOKENS['lee']}"}) as stream:
        assert await stream.content.readline() == b": triage events\n"

        edit_agents(root, lambda agents: agents.pop("lee"))
        await until_gone(kim, "lee")
        await escalate(stack.user("after-removal"))
        rest = await asyncio.wait_for(stream.content.read(), 5)

    assert b"after-removal" not in rest, "the stream ended before the handoff, as the token did"
    assert (await AgentClient(stack.http, stack.server_url, TOKENS["lee"]).call("GET", "/queues"))[0] == 401


async def raw_request(url: str, path: str, header: bytes) -> tuple[int, bytes]:
    """A real socket, since aiohttp's client will not send a header that is not UTF-8."""
    address = urlsplit(url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n\r\n" % (path.encode(), header))
    status = int((await reader.readline()).split()[1])
    answer = await reader.read()
    writer.close()
    return status, answer.partition(b"\r\n\r\n")[2]


async def test_a_bearer_token_that_is_not_utf8_is_a_401_not_a_500(open_site, live, caplog):
    stack = await live(open_site(AGENTS))

    status, body = await raw_request(stack.server_url, "/api/v1/queues", b"Authorization: Bearer \xff\xfe")

    assert status == 401
    assert json.loads(body)["error"]["code"] == "unauthorized"
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.exc_info]
