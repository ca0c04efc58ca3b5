"""The fixture shop most engine tests walk, loaded once per module, and a chat already at its welcome."""

from __future__ import annotations

import pytest

from engine_support import FIXTURES, Chat, load_site
from triage.content import Content


@pytest.fixture(scope="module")
def shop() -> Content:
    return load_site(FIXTURES / "shop")


@pytest.fixture
def chat(shop: Content) -> Chat:
    chat = Chat(shop)
    chat.start()
    return chat
