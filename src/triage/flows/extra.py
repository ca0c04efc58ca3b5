"""The 상담하기 button's ``extra``, read into template ``params``.

``extra`` comes from a URL the user can edit, so it is hostile: the parse never raises, keeps
only keys a template can address, and bounds both the input and the number of keys.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote_plus

MAX_EXTRA = 1000
MAX_KEYS = 50
_CONTROL = dict.fromkeys([*range(0x20), 0x7F])


def _clean(value: str) -> str:
    """Control characters (NUL, escapes) have no business in a chat message or a template."""
    return value.translate(_CONTROL).strip()


def _addressable(key: str) -> bool:
    """``params.<key>`` must work in a template, and private names are refused by the sandbox."""
    return key.isidentifier() and not key.startswith("_")


def parse_extra(extra: str | bytes | None) -> dict[str, str]:
    """``a=1&b=2`` as a query string (last value wins); a bare value becomes ``{"extra": value}``."""
    if isinstance(extra, bytes):
        extra = extra.decode("utf-8", errors="replace")
    if not isinstance(extra, str) or not extra:
        return {}
    text = extra[:MAX_EXTRA]
    if "=" not in text:
        value = _clean(unquote_plus(text, errors="replace"))
        return {"extra": value} if value else {}
    params: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
        key = _clean(key)
        if not _addressable(key) or (key not in params and len(params) >= MAX_KEYS):
            continue
        params[key] = _clean(value)
    return params
