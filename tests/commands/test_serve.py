"""``triage serve``'s banner: what an operator reads on start."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from triage.cli import build_parser
from triage.commands.serve import banner, build

REPO = Path(__file__).parents[2]


def serve_banner(root: Path) -> str:
    loop = asyncio.new_event_loop()
    try:
        app = build(build_parser().parse_args(["serve", "--root", str(root), "--db", str(root / "t.db")]))
        return banner(app, loop)
    finally:
        loop.close()


def copy_site(tmp_path: Path) -> Path:
    """The shipped example site, so the banner is the one `triage serve` prints in the README."""
    for name in ("flows", "faq", "images"):
        shutil.copytree(REPO / name, tmp_path / name)
    shutil.copy(REPO / "triage.yaml", tmp_path)
    return tmp_path


def test_the_banner_shows_the_webhooks_at_the_root(tmp_path):
    site = copy_site(tmp_path)

    assert "(POST /message /reference /expired_session)" in serve_banner(site)


def test_the_banner_shows_that_the_webhooks_live_under_a_secret_path_without_showing_it(tmp_path):
    site = copy_site(tmp_path)
    settings = site / "triage.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + "server:\n  path_prefix: /hooks/9f2c4e1a\n",
                        encoding="utf-8")

    shown = serve_banner(site)

    assert "(POST /…/message /…/reference /…/expired_session)" in shown and "9f2c4e1a" not in shown
