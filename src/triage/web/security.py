"""Headers and request checks that keep the console's pages and calls safe in a browser.

The CSP forbids inline script and style, so even a string that slipped past escaping could not
run. The console's own state-changing calls carry no cookies; requiring a JSON body and a
same-origin ``Origin`` makes a cross-site form post impossible (a browser must preflight it,
and nothing here answers a preflight).
"""

from __future__ import annotations

from aiohttp import web

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Runs on every response, streams included, so no page or error page goes out without them."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)


def same_origin_json(request: web.Request) -> None:
    """Refuse what a foreign page could send: non-JSON bodies and other origins."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="send the body as application/json")
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        raise web.HTTPForbidden(text="cross-origin requests are not accepted")
