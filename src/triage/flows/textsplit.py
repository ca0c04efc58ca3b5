"""Long texts cut into 상담톡-sized bubbles (1,000 characters each).

A cut in the middle of a word or sentence reads like a bug to the customer, so the cut goes
to the latest line end, then sentence end, then space that keeps the bubble reasonably full;
only a single unbroken token longer than the limit is ever cut hard.
"""

from __future__ import annotations

import re

_BOUNDARIES = (re.compile(r"\n"), re.compile(r"[.!?。…](?=\s)"), re.compile(r"\s"))


def _cut(window: str) -> int:
    """Where to end the first bubble of ``window`` (the text up to one character past the limit)."""
    for floor in (len(window) // 2, 1):
        for boundary in _BOUNDARIES:
            ends = [m.end() for m in boundary.finditer(window) if m.end() > floor]
            if ends:
                return ends[-1]
    return len(window) - 1


def split_text(text: str, limit: int = 1000) -> list[str]:
    """Bubbles of at most ``limit`` characters, each stripped; blank text gives no bubbles."""
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        at = _cut(rest[: limit + 1])
        chunk = rest[:at].strip()
        if chunk:
            chunks.append(chunk)
        rest = rest[at:].strip()
    if rest:
        chunks.append(rest)
    return chunks
