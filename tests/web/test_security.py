"""Headers and refusals of the console, over plain HTTP against the installed ``triage serve --preview``."""

from __future__ import annotations

import pytest

from web.conftest import Console

PAGES = ["/preview", "/desk", "/console/desk.js", "/console/console.css", "/healthz", "/no-such-page",
         "/api/v1/queues"]


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_strict_csp(console: Console, path: str):
    _, headers, _ = console.request("GET", path)
    csp = headers["Content-Security-Policy"]
    for rule in ("default-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"):
        assert rule in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_script_or_style(console: Console):
    for path in ("/preview", "/desk"):
        _, _, html = console.request("GET", path)
        assert "<script>" not in html and "style=" not in html and "<style" not in html


def test_a_cross_site_form_post_is_refused(console: Console):
    status, _, answer = console.request("POST", "/preview/api/start", raw=b"extra=x",
                                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415 and "application/json" in answer["error"]
    status, _, answer = console.request("POST", "/preview/api/start", {"extra": ""},
                                        headers={"Origin": "https://evil.example"})
    assert status == 403 and "cross-origin" in answer["error"]


def test_hostile_preview_input_gets_clear_errors(console: Console):
    status, _, answer = console.request("GET", "/preview/api/state?user=../../etc")
    assert status == 400 and "letters, digits" in answer["error"]
    status, _, started = console.request("POST", "/preview/api/start", {"extra": "", "returning": False})
    assert status == 200
    status, _, answer = console.request("POST", "/preview/api/jump", {"user": started["user"], "node": "main.welcom"})
    assert status == 422 and 'did you mean "main.welcome"' in answer["error"]
    status, _, answer = console.request("POST", "/preview/api/say", {"user": started["user"], "text": ["not text"]})
    assert status == 400 and '"text" must be text' in answer["error"]


def test_desk_reads_need_the_agent_token(console: Console):
    status, _, answer = console.request("GET", "/api/v1/canned")
    assert status == 401 and answer["error"]["code"] == "unauthorized"
    status, _, answer = console.request("GET", "/api/v1/me",
                                        headers={"Authorization": "Bearer kim-desk-token-0123456789"})
    assert status == 200 and answer["id"] == "kim"
