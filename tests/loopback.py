"""Helpers for tests that run the product on loopback: free ports and editable copies of the example site."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import yaml

REPO = Path(__file__).parents[1]
ALWAYS_OPEN = {"hours": {"daily": "00:00-24:00"}, "holidays": "none", "closed_days": []}
"""Queue settings under which escalations never depend on the hour the tests run."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def merge(base: dict, changes: dict) -> dict:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


REPLACED = ("agents",)
"""Sections a test gives whole: its agents replace the example's demo agents instead of joining them."""


def copy_site(root: Path, changes: dict | None = None, always_open: bool = False) -> Path:
    """The example site copied to ``root`` with its triage.yaml deep-merged with ``changes``."""
    for name in ("flows", "faq", "images"):
        shutil.copytree(REPO / name, root / name)
    settings = yaml.safe_load((REPO / "triage.yaml").read_text(encoding="utf-8"))
    if always_open:
        for queue in settings.get("queues", {}).values():
            queue.update(ALWAYS_OPEN)
    changes = changes or {}
    for section in REPLACED:
        if section in changes:
            settings.pop(section, None)
    merge(settings, changes)
    (root / "triage.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return root
