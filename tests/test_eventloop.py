"""The loop serve, deliver and demo run on, and what the banner calls it."""

from __future__ import annotations

import asyncio

from triage import eventloop


def test_the_loop_is_uvloop_here_and_the_banner_names_what_actually_runs():
    ours, stdlib = eventloop.new_event_loop(), asyncio.new_event_loop()
    try:
        assert eventloop.name(ours) == "uvloop"
        assert eventloop.name(stdlib) == "asyncio"
    finally:
        ours.close()
        stdlib.close()
