"""The aiohttp application behind ``triage serve``: a factory, typed app keys, one cleanup context.

Resources live exactly as long as the app: the store, the one HTTP client session to
Kakao, the outbox worker, the dispatcher and the content watcher. Routes are wiring only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path
import time
from typing import AsyncIterator, Callable

from aiohttp import web

from triage.delivery import Outbound, WebhookSettings, outbox_deliver, record_no_session, retry_policy
from triage.delivery_process import FINISH_MARGIN, DeliveryProcess, deliver_command
from triage.dispatcher import Dispatcher
from triage.handoff.actions import AgentActions
from triage.handoff.api import IMAGE_MAX, AgentApi, wire
from triage.handoff.desk import Desk
from triage.handoff.events import Feed
from triage.intake import Intake
from triage.kakao.client import KakaoClient, client_session
from triage.kakao.media import ImageUploads
from triage.kakao.serials import SerialNumbers
from triage.kakao.webhooks import Webhooks
from triage.outbox import OutboxWorker
from triage.outbox_feed import OutboxFeed
from triage.privacy.retention import purge_daily
from triage.reload import ContentHolder
from triage.runtime import Runtime
from triage.settings import Settings
from triage.store import OutboxItem, SqliteStore, StoreError, open_store
from triage.web import routes as console

log = logging.getLogger("triage.app")


@dataclass(frozen=True)
class ServeOptions:
    """What an operator may override on the command line, over ``triage.yaml``."""

    root: Path = Path(".")
    host: str | None = None
    port: int | None = None
    db: str | None = None
    kakao_url: str | None = None
    reload_interval: float = 1.0
    reference_grace: float = 0.3
    timer_interval: float = 1.0
    clock: Callable[[], float] | None = None
    """Seconds since the epoch; tests pin a day (설날) or move time forward. Default: the real clock."""
    heartbeat: float = 15.0
    """Seconds between SSE comment lines on an idle event stream."""
    preview: bool = False
    """Mount the 상담톡 simulator for the editors' /preview page (the README's web console section)."""
    delivery: str = "inline"
    """Where the outbox is delivered: ``inline`` in this event loop, or ``process`` in a ``triage deliver``
    child on another core. Inline by default so embedding and in-process tests need no child process."""


CONTENT = web.AppKey("content", ContentHolder)
SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", SqliteStore)
DESK = web.AppKey("desk", Desk)
API = web.AppKey("api", AgentApi)
RUNTIME = web.AppKey("runtime", Runtime)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
INTAKE = web.AppKey("intake", Intake)
OUTBOX = web.AppKey("outbox", Outbound)
DELIVERY = web.AppKey("delivery", str)
DELIVERY_MODES = ("inline", "process")


def effective_settings(settings: Settings, options: ServeOptions) -> Settings:
    server = replace(settings.server, **{k: v for k, v in (("host", options.host), ("port", options.port))
                                         if v is not None})
    kakao = replace(settings.kakao, base_url=options.kakao_url) if options.kakao_url else settings.kakao
    storage = options.db or str(settings.root / settings.storage_path)
    return replace(settings, server=server, kakao=kakao, storage_path=storage)


def make_app(options: ServeOptions) -> web.Application:
    """Build the app; raises ``ContentError`` when the content has errors (nothing to serve), ``ValueError``
    for a delivery mode the database cannot support."""
    holder = ContentHolder(options.root)
    settings = effective_settings(holder.current.settings, options)
    if options.delivery not in DELIVERY_MODES:
        raise ValueError(f'unknown delivery mode "{options.delivery}"; use one of {", ".join(DELIVERY_MODES)}')
    if options.delivery == "process" and settings.storage_path == ":memory:":
        raise ValueError("delivery in a separate process needs a database file, not :memory:")
    routes, middleware = wire(lambda: app[API])
    app = web.Application(client_max_size=max(settings.server.max_body, IMAGE_MAX + 64 * 1024),
                          middlewares=[middleware])
    app[CONTENT] = holder
    app[SETTINGS] = settings
    app[DELIVERY] = options.delivery
    webhooks = Webhooks(holder.current.settings.server, lambda: holder.current.settings.server,
                        lambda: holder.current.settings.channel.sender_key, accept=lambda event: app[INTAKE].accept(event))
    app.add_routes([*webhooks.routes(), web.get("/healthz", health), *routes])
    app.cleanup_ctx.append(lambda app: _resources(app, options))
    app.on_shutdown.append(lambda app: app[API].end_streams())
    console.mount(app, options)
    return app


async def health(request: web.Request) -> web.Response:
    """``ok`` says the server takes webhooks, and stays true while replies wait: a Kakao outage is not
    cured by a restart, and a supervisor that restarted us or a balancer that drained us on a backlog
    would refuse customers' messages too. The backlog is reported for monitoring to alert on instead, and so
    are the errors of a saved content change that could not go live (the previous content still answers),
    which /preview shows the editor who saved it."""
    app = request.app
    try:
        pending, oldest = app[STORE].outbox_backlog()
    except StoreError as exc:
        return web.json_response({"ok": False, "error": f"cannot read the outbox: {exc}"}, status=503)
    age = 0.0 if oldest is None else round(max(0.0, app[RUNTIME].clock() - oldest), 1)
    holder = app[CONTENT]
    return web.json_response({"ok": True, "content_version": holder.version,
                              "content_rejected": [str(problem) for problem in holder.rejected],
                              "outbox": {"pending": pending, "oldest_seconds": age}})


async def _run_timers(app: web.Application, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            app[RUNTIME].tick()
            for item in app[RUNTIME].due_timers():
                app[DISPATCHER].submit(item)
        except Exception:  # a timer bug must never take the server down
            log.exception("inactivity timers failed")


def _close_inline(app: web.Application, item: OutboxItem, now: float) -> None:
    closed = record_no_session(app[STORE], item.user_key, item.session_id, item.id, now)
    if closed is not None:
        app[DISPATCHER].submit(closed)


def _log_level() -> str:
    return logging.getLevelName(logging.getLogger().getEffectiveLevel())


async def _resources(app: web.Application, options: ServeOptions) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    holder = app[CONTENT]
    store = open_store(settings.storage_path)
    stop_checkpoints = store.checkpoint_in_background()
    http = client_session()
    client = KakaoClient(settings.kakao, http, sender_key=settings.channel.sender_key)
    clock = options.clock or time.time
    serials = SerialNumbers(clock=clock)
    feed = Feed()
    hooks = WebhookSettings(holder)
    desk = Desk(store, holder, clock, serials)
    runtime = Runtime(store, holder, clock=clock, serials=serials, on_outbox=lambda: app[OUTBOX].wake(), desk=desk,
                      webhooks=hooks.current, on_commit=feed.notify)
    app[STORE], app[RUNTIME], app[DESK] = store, runtime, desk
    app[API] = AgentApi(desk, AgentActions(runtime, desk), store, feed, lambda: client, options.heartbeat)
    if options.delivery == "process":
        rows = OutboxFeed(store, on_closed=lambda item: app[DISPATCHER].submit(item), clock=clock)
        app[OUTBOX] = DeliveryProcess(deliver_command(options.root, settings, _log_level()), rows,
                                      grace=settings.kakao.timeout + FINISH_MARGIN)
    else:
        app[OUTBOX] = OutboxWorker(store, outbox_deliver(http, ImageUploads(client, holder.root), hooks.current),
                                   on_no_session=lambda item: _close_inline(app, item, clock()), clock=clock,
                                   policy=retry_policy(settings))
    app[DISPATCHER] = Dispatcher(runtime, options.reference_grace)
    app[INTAKE] = Intake(runtime.accept_many, app[DISPATCHER].submit)
    app[DISPATCHER].before_batch = app[INTAKE].flush
    for item in store.pending_inbound():
        app[DISPATCHER].submit(item)
    tasks = [asyncio.create_task(app[OUTBOX].run()), asyncio.create_task(holder.watch(options.reload_interval)),
             asyncio.create_task(_run_timers(app, options.timer_interval))]
    tasks.append(asyncio.create_task(purge_daily(store, settings, clock)))
    try:
        yield
    finally:
        for task in tasks[1:]:
            task.cancel()
        await app[DISPATCHER].close()
        await app[OUTBOX].stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks)
        await http.close()
        stop_checkpoints()
        store.close()
