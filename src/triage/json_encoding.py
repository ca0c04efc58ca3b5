"""JSON on the hot path: orjson where it can, the standard library where it cannot.

One message costs about ten encodings (session state, transcript, events, outbox bodies,
the delivery socket, the 상담톡 call), and the standard encoder was 8 % of the server's
loop. orjson (a compiled, well-kept encoder) writes the same JSON in a fraction of the time.
What it refuses falls back to the standard encoder with ASCII escapes, so everything that
could be stored before still can: lone surrogates that hostile text may carry, integers
beyond 64 bits, ``str`` subclasses. One difference stays: NaN and infinities become
``null`` (the standard encoder wrote ``NaN``, which no other JSON reader accepts).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_STRICT = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
"""Types the standard encoder rejects (or, for subclasses, encodes its own way) go to it."""

_ASCII = json.JSONEncoder(separators=(",", ":"))


def dumps_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON; a ``TypeError`` for what no JSON encoder takes, as ``json.dumps`` raises."""
    try:
        return orjson.dumps(value, option=_STRICT)
    except TypeError:
        return _ASCII.encode(value).encode("ascii")


def dumps(value: Any) -> str:
    return dumps_bytes(value).decode()


def loads_ours(data: bytes | str) -> Any:
    """JSON this program wrote (stored outbox bodies, the delivery socket lines), read by orjson;
    what it refuses (the lone-surrogate escapes of the ASCII fallback above) by the standard library.

    Not for what others send: orjson reads an integer beyond 64 bits as a float, and a webhook's
    fields must parse exactly as the standard library parses them.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)
