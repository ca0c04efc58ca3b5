"""The event loop ``triage serve``, its ``triage deliver`` child and ``triage demo`` run on: uvloop's, where it exists.

Both processes spend much of their time in the loop itself: reading webhooks, writing
상담톡 calls, passing rows between them. uvloop runs the same asyncio API on libuv and does
that work in C; ``bench/load.py`` measured about 8 % more messages per second with it. It
does not build on Windows, so there (and only there) the standard loop runs.
"""

from __future__ import annotations

import asyncio
from types import ModuleType

uvloop: ModuleType | None
try:
    import uvloop
except ImportError:  # Windows: see the package's platform marker in pyproject.toml
    uvloop = None

def new_event_loop() -> asyncio.AbstractEventLoop:
    return uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()


def name(loop: asyncio.AbstractEventLoop) -> str:
    """What the server's banner calls the loop it runs on."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
