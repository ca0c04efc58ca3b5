"""Headers and request checks that keep the console's pages and calls safe in a browser.

The CSP forbids inline script and style, so even a string that slipped past escaping could not
run. The console's own state-changing calls carry no cookies; requiring a JSON body and a
same-origin ``Origin`` makes a cross-site form post impossible (a browser must preflight it,
and nothing here answers a preflight).

Preview mode's routes answer this machine only, and being on this machine is not enough: the
editor's own browser is, and so is any page it has open. Such a page can post forms and
``text/plain`` bodies without a preflight, and a page whose DNS name it rebinds to 127.0.0.1 can
even read the answers; but it cannot choose the ``Host`` its browser sends, nor hide its origin.
"""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
LOOPBACK_CLIENTS = frozenset({"127.0.0.1", "::1"})
LOOPBACK_HOST = re.compile(r"(?:127\.0\.0\.1|\[::1\]|localhost)(?::\d{1,5})?", re.IGNORECASE)
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Runs on every response, streams included, so no page or error page goes out without them."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)


def same_origin_json(request: web.Request) -> None:
    """Refuse what a foreign page could send: non-JSON bodies and other origins."""
    if request.content_type != "application/json":
        raise web.HTTPForbidden(text="send the body as application/json")
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        raise web.HTTPForbidden(text="cross-origin requests are not accepted")


def loopback_only(request: web.Request) -> None:
    """A rebound DNS name reaches 127.0.0.1 too, but its browser still sends that name as Host."""
    if request.remote not in LOOPBACK_CLIENTS:
        raise web.HTTPForbidden(text="the preview answers this machine only")
    if not LOOPBACK_HOST.fullmatch(request.host):
        raise web.HTTPForbidden(text="open the preview as 127.0.0.1, [::1] or localhost")


def own_upload(request: web.Request) -> None:
    """Kakao's upload API takes multipart forms, which any page can post; only the server's own
    Kakao client calls it, and unlike a browser on a cross-site post it sends no ``Origin``."""
    if request.content_type != "multipart/form-data" or "Origin" in request.headers:
        raise web.HTTPForbidden(text="only the server's Kakao client uploads here")


def local_only(uploads: frozenset[str] = frozenset()) -> Middleware:
    """Every loopback-only route: this machine's name, and changes only as same-origin JSON
    (or, on ``uploads`` paths, as the server's own multipart upload)."""
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            loopback_only(request)
            if request.method in CHANGES:
                (own_upload if request.path in uploads else same_origin_json)(request)
        except web.HTTPForbidden as exc:
            return web.json_response({"error": exc.text}, status=exc.status)
        return await handler(request)
    return guard
