"""The two reads the agent desk adds to ``/api/v1``: who am I, and the canned answers.

Both sit under the agent API's prefix, so its middleware authenticates them with the same
bearer token as every other desk call; neither changes anything.
"""

from __future__ import annotations

from aiohttp import web

from triage import app as server
from triage.flows.templates import render
from triage.handoff.api import AGENT


async def me(request: web.Request) -> web.Response:
    """The token's agent: a desk logs in with a token alone and learns its id here."""
    agent = request[AGENT]
    return web.json_response({"id": agent.id, "name": agent.name, "skills": list(agent.skills),
                              "max_concurrent": agent.max_concurrent, "supervisor": agent.supervisor})


async def canned(request: web.Request) -> web.Response:
    """Every active FAQ answer, so agents reply with the wording editors already approved."""
    content = request.app[server.CONTENT].current
    channel = content.settings.channel
    context = {"channel": {"name": channel.name, "sender_key": channel.sender_key}}
    return web.json_response({"answers": [
        {"id": entry.id, "category": entry.category, "question": entry.q, "answer": render(entry.a, context)[0]}
        for entry in content.faq.entries.values() if entry.active]})
