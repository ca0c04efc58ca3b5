"""One ``triage serve --preview`` process (the installed script) and a headless Chromium for the module.

The server mounts its own 상담톡 simulator in preview mode, so the customers of these tests are
simulator users on the same port, and the browser reaches nothing but loopback.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from e2e.conftest import TRIAGE, wait_until_up
from loopback import REPO, copy_site, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
BUILD = REPO / "build"
SKILLS = ["주문", "배송", "기타"]
AGENTS = {"kim": {"name": "김상담", "token": "kim-desk-token-0123456789", "skills": SKILLS},
          "lee": {"name": "이상담", "token": "lee-desk-token-0123456789", "skills": SKILLS}}


@dataclass
class Console:
    root: Path
    url: str

    @property
    def sim(self) -> str:
        return f"{self.url}/preview/kakao/sim/users"

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                raw: bytes | None = None) -> tuple[int, dict[str, str], Any]:
        """(status, headers, JSON or text) of one call; HTTP errors are answers, not exceptions."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent = {"Content-Type": "application/json", **(headers or {})} if data is not None else dict(headers or {})
        request = urllib.request.Request(self.url + path if path.startswith("/") else path, data=data,
                                         headers=sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), _decode(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), _decode(exc.read())

    def customer(self, user_key: str, action: str, body: dict[str, Any] | None = None) -> Any:
        status, _, answer = self.request("POST", f"{self.sim}/{user_key}/{action}", body or {})
        assert status == 200, answer
        return answer

    def delivered(self, user_key: str) -> list[str]:
        """Texts 상담톡 delivered to the customer so far."""
        _, _, answer = self.request("GET", f"{self.sim}/{user_key}/seen?after=-1")
        return [entry.get("text") or "" for entry in answer["seen"] if entry["kind"] == "message"]


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("console")
    root = copy_site(tmp / "site", {"agents": AGENTS}, always_open=True)
    port = free_port()
    process = subprocess.Popen([TRIAGE, "serve", "--preview", "--root", str(root), "--port", str(port),
                                "--db", str(tmp / "triage.db"), "--log-level", "WARNING"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        yield Console(root, f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    BUILD.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Tab:
    page: Page
    dialogs: list[str]


def open_tab(browser: Browser, url: str, width: int = 1280, height: int = 900) -> Tab:
    """A page in its own context (its own sessionStorage: another browser, as far as the app can tell)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(8000)
    dialogs: list[str] = []

    def refuse(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    page.goto(url)
    return Tab(page, dialogs)
