"""Headers and refusals of the console, over plain HTTP against the installed ``triage serve --preview``."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

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
    assert status == 403 and "application/json" in answer["error"]
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


EVIL = "http://evil.example"
CROSS_SITE = [
    ("/preview/kakao/sim/faults", "text/plain", b'{"path": "write", "status": 500, "count": 3}', EVIL),
    ("/preview/kakao/sim/clock", "application/x-www-form-urlencoded", b"advance=999999", EVIL),
    ("/preview/kakao/sim/users/csrfvictim/consult", "text/plain", b'{"extra": ""}', None),
    ("/preview/kakao/sim/users/csrfvictim/consult", "application/json", b'{"extra": ""}', EVIL),
    ("/preview/api/start", "text/plain", b'{"extra": ""}', None),
]


@pytest.mark.parametrize("path, content_type, body, origin", CROSS_SITE)
def test_what_a_foreign_page_can_post_changes_nothing_in_the_preview(console: Console, path, content_type, body,
                                                                     origin):
    headers = {"Content-Type": content_type, **({"Origin": origin} if origin else {})}
    status, _, answer = console.request("POST", path, raw=body, headers=headers)
    assert status == 403 and answer["error"]
    assert console.request("POST", "/preview/kakao/sim/faults", {})[2]["pending"] == {}
    assert "csrfvictim" not in json.dumps(console.request("GET", "/preview/kakao/sim/state")[2])


@pytest.mark.parametrize("path", ["/preview/kakao/sim/state", "/preview/api/state?user=someone"])
def test_a_rebound_dns_name_reads_nothing(console: Console, path: str):
    port = urlsplit(console.url).port
    status, _, answer = console.request("GET", path, headers={"Host": f"evil.example:{port}"})
    assert status == 403 and "127.0.0.1, [::1] or localhost" in answer["error"]


def test_a_rebound_dns_name_cannot_post_even_as_its_own_origin(console: Console):
    host = f"evil.example:{urlsplit(console.url).port}"
    status, _, answer = console.request("POST", "/preview/api/start", {"extra": ""},
                                        headers={"Host": host, "Origin": f"http://{host}"})
    assert status == 403 and "127.0.0.1, [::1] or localhost" in answer["error"]


@pytest.mark.parametrize("name", ["localhost", "LOCALHOST", "[::1]", "127.0.0.1"])
def test_the_preview_answers_this_machine_under_any_of_its_names(console: Console, name: str):
    host = f"{name}:{urlsplit(console.url).port}"
    assert console.request("GET", "/preview/kakao/sim/state", headers={"Host": host})[0] == 200
    status, _, answer = console.request("POST", "/preview/api/start", {"extra": ""},
                                        headers={"Host": host, "Origin": f"http://{host}"})
    assert status == 200 and answer["user"]


def test_a_page_cannot_upload_to_the_simulators_media_host(console: Console):
    form = (b"--b\r\nContent-Disposition: form-data; name=\"sender_key\"\r\n\r\nx\r\n--b--\r\n")
    status, _, answer = console.request("POST", "/preview/kakao/v1/image/upload", raw=form,
                                        headers={"Content-Type": "multipart/form-data; boundary=b", "Origin": EVIL})
    assert status == 403 and "Kakao client" in answer["error"]


def test_a_foreign_page_cannot_act_for_an_agent(console: Console):
    """The desk's token is sent as a header a cross-site page can neither read nor attach."""
    status, _, answer = console.request("PUT", "/api/v1/agents/kim/presence", raw=b'{"presence": "away"}',
                                        headers={"Content-Type": "text/plain", "Origin": EVIL})
    assert status == 401 and answer["error"]["code"] == "unauthorized"
