"""Mounting the console on the server app: pages, static files, headers and preview mode.

Preview mode mounts the 상담톡 simulator under ``/preview/kakao`` on the same server and points
the server's Kakao client at it, so the preview is the product's real protocol path without a
second process. The simulator and ``/preview/api`` answer this machine only, under its own name
(see ``security``): they are an editor's test double, not a service.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import jinja2
from aiohttp import web

from triage import app as server
from triage.kakao.simulator import Handler, SimConfig, make_sim_app
from triage.web import preview
from triage.web.desk_api import canned, me
from triage.web.diagram import BOX_H, BOX_W, layout
from triage.web.security import add_headers, local_only

# ``triage.app`` imports this module to mount it, so its keys are read when called, not at import.

HERE = Path(__file__).parent
PAGES = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                           undefined=jinja2.StrictUndefined)
PREVIEW = web.AppKey("preview", preview.PreviewApi)
UPLOADS = ("image_upload", "file_upload")


def mount(app: web.Application, options: server.ServeOptions) -> None:
    app.on_response_prepare.append(add_headers)
    app.router.add_routes([web.get("/preview", preview_page), web.get("/desk", desk_page),
                           web.get("/api/v1/me", me), web.get("/api/v1/canned", canned)])
    app.router.add_static("/console", HERE / "static")
    if options.preview:
        _mount_preview(app)


def _mount_preview(app: web.Application) -> None:
    settings = app[server.SETTINGS]
    partner = f"http://127.0.0.1:{settings.server.port}"
    app[server.SETTINGS] = replace(settings, kakao=replace(settings.kakao, base_url=partner + preview.SIM_PREFIX))
    config = SimConfig.for_site(settings, partner, mount=preview.SIM_PREFIX)
    track = _cancelled_at_shutdown(app)
    sim = make_sim_app(config)
    uploads = frozenset(preview.SIM_PREFIX + config.paths[kind] for kind in UPLOADS)
    sim.middlewares[:0] = [local_only(uploads), track]
    app.add_subapp(preview.SIM_PREFIX, sim)
    api = web.Application(middlewares=[local_only(), track])
    api.router.add_routes([web.route(method, f"/{name}", _preview_call(name)) for method, name in preview.ROUTES])
    app.add_subapp(preview.API, api)
    app.cleanup_ctx.append(_preview_resources)


def _preview_call(name: str) -> Handler:
    async def call(request: web.Request) -> web.StreamResponse:
        return await request.config_dict[PREVIEW].call(name, request)
    return call


async def _preview_resources(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as http:
        sim_url = app[server.SETTINGS].kakao.base_url
        app[PREVIEW] = preview.PreviewApi(sim_url, http, app[server.STORE], app[server.RUNTIME], app[server.DESK], app[server.CONTENT])
        yield


def _cancelled_at_shutdown(app: web.Application) -> Any:
    """Long polls would hold a stopping server for their whole wait; shutdown cancels them instead."""
    running: set[asyncio.Task] = set()

    @web.middleware
    async def track(request: web.Request, handler: Handler) -> web.StreamResponse:
        task = asyncio.current_task()
        running.add(task)
        try:
            return await handler(request)
        finally:
            running.discard(task)

    async def cancel(app: web.Application) -> None:
        for task in running:
            task.cancel()

    app.on_shutdown.append(cancel)
    return track


def _page(name: str, **values: object) -> web.Response:
    return web.Response(text=PAGES.get_template(name).render(**values), content_type="text/html")


async def preview_page(request: web.Request) -> web.Response:
    holder = request.app[server.CONTENT]
    return _page("preview.html", enabled=PREVIEW in request.app, version=holder.version,
                 channel=holder.current.settings.channel.name, diagram=layout(holder.current.flows),
                 box_w=BOX_W, box_h=BOX_H)


async def desk_page(request: web.Request) -> web.Response:
    return _page("desk.html", channel=request.app[server.CONTENT].current.settings.channel.name)
