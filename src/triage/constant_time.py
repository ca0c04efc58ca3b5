"""Comparing secrets callers send (the webhook secret header, agent tokens) with ours."""

from __future__ import annotations

import hmac


def same_secret(given: str, expected: str) -> bool:
    """Constant time, and total: a header that is not UTF-8 arrives holding lone surrogates, which a
    plain ``encode()`` refuses with a traceback per request; ``surrogatepass`` encodes any text, and
    distinct texts stay distinct, so such a header is simply wrong."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))
