"""``/preview/api``: the editor's preview, acting as a KakaoTalk user through the simulator.

The page never talks to the simulator itself: these handlers relay its taps and typing to the
simulator's user API over HTTP, the simulator calls the server's webhooks, and the bot's answers
come back through the real outbound path. Only the side panel and the diagram jump read or
touch the store directly, because they are editor tools, not customer actions.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, Callable

import aiohttp
from aiohttp import web

from triage.content import Content
from triage.flows.session import Release
from triage.handoff.desk import Desk
from triage.kakao.protocol import EXTRA_MAX, INBOUND_TEXT_MAX
from triage.kakao.sim_client import SimRefused, SimUser
from triage.kakao.simulator import USER_KEY
from triage.problems import did_you_mean
from triage.runtime import Runtime
from triage.store import Store
from triage.web.panel import panel

SIM_PREFIX = "/preview/kakao"
"""Where the in-process 상담톡 simulator answers in preview mode; the server's kakao base_url."""
API = "/preview/api"
ROUTES = (("POST", "start"), ("POST", "say"), ("POST", "leave"), ("POST", "jump"), ("GET", "seen"), ("GET", "state"))
"""(method, name): ``/preview/api/<name>`` is answered by ``PreviewApi.<name>``."""
LONG_POLL = 25.0
RETURNING_GREETING = 3.0
"""Seconds to wait for the first bot bubble of the warm-up session that makes a user returning."""


class PreviewError(Exception):
    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


class PreviewApi:
    def __init__(self, sim_url: str, http: aiohttp.ClientSession, store: Store, runtime: Runtime, desk: Desk,
                 content: Callable[[], Content]):
        self.sim_url, self.http = sim_url, http
        self.store, self.runtime, self.desk, self.content = store, runtime, desk, content

    async def call(self, name: str, request: web.Request) -> web.StreamResponse:
        """JSON errors for every refusal; the sub-app's ``local_only`` guard has already held every
        change to same-origin JSON from this machine."""
        try:
            return await getattr(self, name)(request)
        except PreviewError as exc:
            return web.json_response({"error": str(exc)}, status=exc.status)
        except SimRefused as exc:
            return web.json_response({"error": f"상담톡 simulator refused: {exc}"}, status=502)
        except web.HTTPException as exc:
            return web.json_response({"error": exc.text or exc.reason}, status=exc.status)

    def _user(self, key: Any) -> SimUser:
        if not isinstance(key, str) or not USER_KEY.match(key):
            raise PreviewError(400, "user must be 1-20 letters, digits, - or _")
        return SimUser(self.http, self.sim_url, key)

    async def start(self, request: web.Request) -> web.Response:
        """Tap 상담하기 as a new user; a returning one first has a short earlier session."""
        body = await _body(request)
        extra = _field(body, "extra", EXTRA_MAX)
        user = self._user("pv-" + secrets.token_hex(6))
        if body.get("returning") is True:
            await user.consult()
            await user.new_messages(wait=RETURNING_GREETING)
            await user.leave()
        after = await self._last(user.user_key)
        await user.consult(extra)
        return web.json_response({"user": user.user_key, "after": after})

    async def say(self, request: web.Request) -> web.Response:
        body = await _body(request)
        text = _field(body, "text", INBOUND_TEXT_MAX)
        if not text.strip():
            raise PreviewError(400, "type something first")
        await self._user(body.get("user")).say(text)
        return web.json_response({"sent": True})

    async def leave(self, request: web.Request) -> web.Response:
        body = await _body(request)
        return web.json_response(await self._user(body.get("user")).leave())

    async def seen(self, request: web.Request) -> web.Response:
        """Everything the user's chat room shows after ``after``: bot bubbles, own lines, endings."""
        user = self._user(request.query.get("user"))
        params = {"after": request.query.get("after", "-1"), "wait": str(_wait(request.query.get("wait", "0")))}
        async with self.http.get(f"{self.sim_url}/sim/users/{user.user_key}/seen", params=params) as response:
            data = await response.json()
            if response.status >= 400:
                raise PreviewError(400, data.get("error") or "the simulator refused")
        return web.json_response({"seen": data["seen"], "last": data["last"]})

    async def _last(self, user_key: str) -> int:
        async with self.http.get(f"{self.sim_url}/sim/users/{user_key}/seen") as response:
            return int((await response.json())["last"])

    async def state(self, request: web.Request) -> web.Response:
        user = self._user(request.query.get("user"))
        return web.json_response(panel(self.store.current_session(user.user_key), self.content()))

    async def jump(self, request: web.Request) -> web.Response:
        body = await _body(request)
        user = self._user(body.get("user"))
        node = _field(body, "node", 200)
        jump(self.runtime, self.desk, user.user_key, node)
        return web.json_response({"node": node})


def jump(runtime: Runtime, desk: Desk, user_key: str, node: str) -> None:
    """Move the user's live session to ``node``, as an agent's release would.

    The engine takes a session back only from people (``Release``), so the preview hands it
    over as if an agent held it; a real waiting ticket is closed first, like a release does.
    """
    plan = runtime.plan(user_key)
    nodes = plan.content.flows.nodes
    if node not in nodes:
        raise PreviewError(422, f'no flow node "{node}"{did_you_mean(node, nodes)}')
    if plan.state is None or plan.session is None or plan.session.status == "ended":
        raise PreviewError(409, "this conversation has ended; start a new one first")
    ticket = desk.ticket_of_session(plan, plan.session.id)
    if ticket is not None:
        desk.close(plan, ticket, "released", by="preview")
    plan.state = plan.state.evolve(owner="agent")
    runtime.step(plan, Release(node))
    runtime.commit(plan)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read())
    except ValueError:
        raise PreviewError(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise PreviewError(400, "the body must be a JSON object")
    return body


def _field(body: dict[str, Any], key: str, limit: int) -> str:
    value = body.get(key) or ""
    if not isinstance(value, str):
        raise PreviewError(400, f'"{key}" must be text')
    if len(value) > limit:
        raise PreviewError(400, f'"{key}" may be at most {limit} characters')
    return value


def _wait(raw: str) -> float:
    try:
        wait = float(raw)
    except ValueError:
        raise PreviewError(400, '"wait" must be a number of seconds') from None
    return min(max(wait, 0.0), LONG_POLL) if wait == wait else 0.0
