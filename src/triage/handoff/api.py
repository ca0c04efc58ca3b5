"""The agent REST API under ``/api/v1``: wiring, authentication and JSON errors only.

Every route authenticates with ``Authorization: Bearer <token>`` against ``agents:`` in
triage.yaml and answers errors as ``{"error": {"code", "message"}}``. Decisions live in
``actions.py`` (what an agent may do) and ``desk.py`` (the queue); reads come from the desk
and the store. The README's "Human agents" section has the table of endpoints.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Awaitable, Callable

from aiohttp import web

from triage.flows.session import LinkOut
from triage.handoff import queue as q
from triage.handoff.actions import ActionError, AgentActions, AgentMessage
from triage.handoff.config import AgentConfig, agent_for_token
from triage.handoff.desk import Desk
from triage.handoff.estimate import estimate, handle_times
from triage.handoff.events import Feed, stream
from triage.handoff.hours import is_open
from triage.handoff.packet import previous_sessions
from triage.kakao.client import KakaoClient, UploadError
from triage.kakao.protocol import EVENT_MAX, LINKS_MAX, QUICK_REPLIES_MAX, TEXT_MAX, label_problem, url_problem
from triage.store import Store, TicketRow

PREFIX = "/api/v1"
AGENT = web.RequestKey("agent", AgentConfig)
IMAGE_MAX = 5 * 1024 * 1024
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif")
NOTE_MAX = 500
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


_C = "/conversations/{ticket_id}"
ROUTES = (
    ("GET", "/queues", "queues"),
    ("GET", "/agents", "agents"),
    ("PUT", "/agents/{agent_id}/presence", "presence"),
    ("GET", _C, "conversation"),
    ("POST", f"{_C}/claim", "claim"),
    ("POST", f"{_C}/messages", "message"),
    ("POST", f"{_C}/transfer", "transfer"),
    ("POST", f"{_C}/close", "close"),
    ("POST", f"{_C}/close-to-bot", "close_to_bot"),
    ("POST", f"{_C}/release", "release"),
    ("POST", "/users/{user_key}/block", "block"),
    ("GET", "/events", "events"),
)
"""(method, path under /api/v1, AgentApi handler): the table the README documents."""


def wire(api: Callable[[], AgentApi]) -> tuple[list[web.RouteDef], Any]:
    """Routes and middleware for an app whose ``AgentApi`` is built later, in its cleanup context."""
    def route(method: str, path: str, name: str) -> web.RouteDef:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await getattr(api(), name)(request)
        return web.route(method, PREFIX + path, handle)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(PREFIX + "/"):
            return await handler(request)
        return await api().guard(request, handler)

    return [route(*spec) for spec in ROUTES], middleware


def error(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **({"field": field} if field else {})}},
                             status=status)


class FieldError(ActionError):
    """Agent input 상담톡 would refuse, named by its place in the body so a desk can point at it."""

    def __init__(self, field: str, message: str):
        super().__init__(422, "invalid", f"{field}: {message}")
        self.field = field


class AgentApi:
    def __init__(self, desk: Desk, actions: AgentActions, store: Store, feed: Feed,
                 kakao: Callable[[], KakaoClient], heartbeat: float = 15.0):
        self.desk, self.actions, self.store, self.feed = desk, actions, store, feed
        self.kakao = kakao
        self.heartbeat = heartbeat

    async def end_streams(self) -> None:
        """For the app's ``on_shutdown``: open event streams end now instead of delaying the exit."""
        self.feed.close()

    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Authenticate, and turn every refusal into a JSON error instead of HTML."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        agent = agent_for_token(self.desk.config, token.strip()) if scheme.lower() == "bearer" else None
        if agent is None:
            return error(401, "unauthorized", "send Authorization: Bearer <your agent token from triage.yaml>")
        request[AGENT] = agent
        try:
            return await handler(request)
        except FieldError as exc:
            return error(exc.status, exc.code, str(exc), exc.field)
        except ActionError as exc:
            return error(exc.status, exc.code, str(exc))
        except web.HTTPException as exc:
            return error(exc.status, exc.reason.lower().replace(" ", "_"), exc.text or exc.reason)

    # ---- reads ----------------------------------------------------------------------------------

    async def queues(self, request: web.Request) -> web.Response:
        state, settings = self.desk.state, self.desk.settings
        now = self.desk.local(self.desk.clock())
        recent = handle_times(state.tickets.values())
        names = [*settings.queues, *sorted({t.queue for t in q.waiting(state)} - set(settings.queues))]
        return web.json_response({"queues": [
            {"name": name, "open": name not in settings.queues or is_open(settings.queues[name], now, settings.tz),
             "waiting": [self._waiting(t, state, now, recent) for t in q.waiting(state, name)]}
            for name in names]})

    def _waiting(self, ticket: q.Ticket, state: q.QueueState, now: datetime, recent: list[float]) -> dict[str, Any]:
        wait = estimate(state, ticket.id, recent)
        row = self.desk.rows.get(ticket.id)
        return {"id": ticket.id, "session_id": ticket.session_id, "user_key": ticket.user_key,
                "position": wait.position if wait else None, "estimated_minutes": wait.minutes if wait else None,
                "waited_seconds": max(0.0, (now - ticket.created_at).total_seconds()),
                "category": ticket.category, "priority": ticket.priority, "skills": list(ticket.skills),
                "summary": ticket.summary, "offline": bool(row and row.offline)}

    async def agents(self, request: web.Request) -> web.Response:
        config = self.desk.config
        return web.json_response({"agents": [
            {"id": a.id, "name": a.name, "presence": a.presence, "max_concurrent": a.max_concurrent,
             "active": list(a.active), "skills": sorted(a.skills),
             "supervisor": bool(config.agents.get(a.id) and config.agents[a.id].supervisor)}
            for a in sorted(self.desk.state.agents.values(), key=lambda a: a.id)]})

    async def conversation(self, request: web.Request) -> web.Response:
        row = self.store.get_ticket(request.match_info["ticket_id"])
        if row is None:
            raise ActionError(404, "unknown_ticket", f'no conversation "{request.match_info["ticket_id"]}"')
        ticket = self.desk.state.tickets.get(row.id) or q.Ticket.from_dict(row.ticket)
        sessions = self.store.sessions_of(row.user_key)
        return web.json_response({
            "ticket": ticket.to_dict(), "offline": row.offline, "packet": row.packet,
            "transcript": [{"phase": _phase(e.at, row, ticket), "direction": e.direction, "sender": e.sender,
                            "kind": e.kind, "text": e.text, "data": e.data, "at": e.at}
                           for e in self.store.transcript(row.session_id)],
            "previous_sessions": previous_sessions(sessions, row.session_id, self.desk.settings.tz,
                                                   self.store.tickets_of(row.user_key))})

    async def events(self, request: web.Request) -> web.StreamResponse:
        token = request[AGENT].token
        return await stream(request, self.store, self.feed, lambda: self.heartbeat,
                            lambda: agent_for_token(self.desk.config, token) is not None)

    # ---- actions --------------------------------------------------------------------------------

    async def claim(self, request: web.Request) -> web.Response:
        ticket = self.actions.claim(request[AGENT], request.match_info["ticket_id"])
        return web.json_response({"ticket": ticket.to_dict()})

    async def message(self, request: web.Request) -> web.Response:
        if request.content_type.startswith("multipart/"):
            message = await self._upload(request)
        else:
            message = parse_message(await _body(request))
        self.actions.message(request[AGENT], request.match_info["ticket_id"], message)
        return web.json_response({"sent": True, "image_url": message.image_url}, status=201)

    async def _upload(self, request: web.Request) -> AgentMessage:
        """An image goes to Kakao's media host first (spec §4.8); only its URL goes in the message."""
        self.actions.ticket(request.match_info["ticket_id"])
        fields: dict[str, Any] = {}
        image: tuple[bytes, str, str] | None = None
        async for part in await request.multipart():
            if part.name == "image" and part.filename:
                data = await part.read(decode=False)
                if len(data) > IMAGE_MAX:
                    raise ActionError(422, "too_large", f"images may be at most {IMAGE_MAX // (1024 * 1024)} MB")
                image = (bytes(data), part.filename, part.headers.get("Content-Type", "application/octet-stream"))
            elif part.name in ("text",):
                fields[part.name] = await part.text()
        if image is None:
            raise ActionError(422, "invalid", 'send the picture as a multipart field named "image"')
        if image[2] not in IMAGE_TYPES:
            raise ActionError(422, "invalid", "images must be jpg, png or gif")
        try:
            url = await self.kakao().upload_image(*image)
        except UploadError as exc:
            raise ActionError(502, "upload_failed", f"Kakao refused the image: {exc}") from exc
        return AgentMessage(text=_text(fields, "text", TEXT_MAX * 10), image_url=url)

    async def transfer(self, request: web.Request) -> web.Response:
        body = await _body(request)
        to_agent, to_queue = _optional(body, "agent"), _optional(body, "queue")
        if (to_agent is None) == (to_queue is None):
            raise ActionError(422, "invalid", 'give exactly one of "agent" or "queue"')
        ticket = self.actions.transfer(request[AGENT], request.match_info["ticket_id"],
                                       _text(body, "note", NOTE_MAX), to_agent, to_queue)
        return web.json_response({"ticket": ticket.to_dict()})

    async def close(self, request: web.Request) -> web.Response:
        body = await _body(request)
        self.actions.close(request[AGENT], request.match_info["ticket_id"], _text(body, "text", TEXT_MAX))
        return web.json_response({"closed": True})

    async def close_to_bot(self, request: web.Request) -> web.Response:
        body = await _body(request)
        self.actions.close_to_bot(request[AGENT], request.match_info["ticket_id"],
                                  _text(body, "bot_event", EVENT_MAX), _text(body, "text", TEXT_MAX))
        return web.json_response({"closed": True})

    async def release(self, request: web.Request) -> web.Response:
        body = await _body(request)
        self.actions.release(request[AGENT], request.match_info["ticket_id"], _optional(body, "node"))
        return web.json_response({"released": True})

    async def block(self, request: web.Request) -> web.Response:
        self.actions.block(request[AGENT], request.match_info["user_key"])
        return web.json_response({"blocked": True})

    async def presence(self, request: web.Request) -> web.Response:
        body = await _body(request)
        presence = _text(body, "presence", 20) or "online"
        capacity = body.get("max_concurrent")
        agent = self.actions.presence(request[AGENT], request.match_info["agent_id"], presence, capacity)
        return web.json_response({"id": agent.id, "presence": agent.presence, "max_concurrent": agent.max_concurrent,
                                  "active": list(agent.active)})


# ---- parsing hostile bodies ---------------------------------------------------------------------


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = json.loads(await request.read())
    except ValueError as exc:
        raise ActionError(400, "bad_json", f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ActionError(400, "bad_json", "the body must be a JSON object")
    return body


def _text(body: dict[str, Any], key: str, limit: int, default: str = "") -> str:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ActionError(422, "invalid", f'"{key}" must be text')
    if len(value) > limit:
        raise ActionError(422, "invalid", f'"{key}" may be at most {limit} characters')
    return value


def _optional(body: dict[str, Any], key: str) -> str | None:
    return _text(body, key, 200) or None


def parse_message(body: dict[str, Any]) -> AgentMessage:
    """``{"text", "buttons": [labels], "links": [{"label", "url"}]}``; long text is split into bubbles.
    Labels and URLs are held to the limits flows and the FAQ are validated against, so what 상담톡
    would refuse fails here, in front of the agent, and not after the customer was promised it."""
    text = _text(body, "text", TEXT_MAX * 10)
    buttons = _buttons(body.get("buttons") or [])
    links = _links(body.get("links") or [])
    if not (text.strip() or buttons or links):
        raise ActionError(422, "invalid", 'a message needs "text", "buttons" or "links"')
    return AgentMessage(text, buttons, links)


def _buttons(buttons: Any) -> tuple[str, ...]:
    if not isinstance(buttons, list) or not all(isinstance(b, str) for b in buttons) \
            or len(buttons) > QUICK_REPLIES_MAX:
        raise ActionError(422, "invalid", f'"buttons" must be a list of at most {QUICK_REPLIES_MAX} labels')
    for i, label in enumerate(buttons):
        _refuse(f"buttons[{i}]", _label_problem(label))
    return tuple(buttons)


def _links(links: Any) -> tuple[LinkOut, ...]:
    if not isinstance(links, list) or len(links) > LINKS_MAX or not all(_is_link(link) for link in links):
        raise ActionError(422, "invalid", f'"links" must be at most {LINKS_MAX} of {{"label", "url": "https://..."}}')
    for i, link in enumerate(links):
        _refuse(f"links[{i}].label", _label_problem(link["label"]))
        _refuse(f"links[{i}].url", url_problem(link["url"]))
    return tuple(LinkOut(link["label"], link["url"]) for link in links)


def _is_link(link: Any) -> bool:
    return isinstance(link, dict) and isinstance(link.get("label"), str) and isinstance(link.get("url"), str)


def _label_problem(label: str) -> str | None:
    """A blank label is the agent's slip to name, not a malformed list: the customer would see an empty button."""
    if not label.strip():
        return "the button label is empty; write the words the customer taps"
    return label_problem(label)


def _refuse(field: str, problem: str | None) -> None:
    if problem is not None:
        raise FieldError(field, problem)


def _phase(at: float, row: TicketRow, ticket: q.Ticket) -> str:
    """Bot before the escalation, queue while waiting, agent once someone took it."""
    if at < row.created_at:
        return "bot"
    assigned = ticket.assigned_at.timestamp() if ticket.assigned_at else None
    return "agent" if assigned is not None and at >= assigned else "queue"
