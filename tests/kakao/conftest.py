"""Shared fixtures for the 상담톡 tests."""

from __future__ import annotations

from typing import Any, Iterator

import aiohttp
import pytest
from aioresponses import aioresponses


class _SentRequest:
    output_size = 0


class _CompatResponse(aiohttp.ClientResponse):
    """aiohttp 3.14 made ``stream_writer`` required and aioresponses 0.7.9 does not pass it
    (pnuckowski/aioresponses#289, open); drop this once aioresponses releases the fix."""

    def __init__(self, method: str, url: Any, **kwargs: Any):
        kwargs.setdefault("stream_writer", _SentRequest())
        super().__init__(method, url, **kwargs)


@pytest.fixture
def relay(monkeypatch: pytest.MonkeyPatch) -> Iterator[aioresponses]:
    """aioresponses, so no test can reach a real Kakao host."""
    monkeypatch.setattr("aioresponses.core.ClientResponse", _CompatResponse)
    with aioresponses() as mocked:
        yield mocked
