"""Serial numbers for outbound messages.

Kakao de-duplicates writes by ``serial_number`` (at most 30 characters, ``protocol.SERIAL_MAX``, unique per channel),
so a retried write must reuse its serial and two different writes must never share one, even
across restarts and several server processes. Milliseconds order them, a per-process counter
separates writes in the same millisecond, and a random instance part separates processes.
"""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Callable

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_COUNTER_SPAN = 36**6


def _base36(number: int) -> str:
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = _DIGITS[digit] + text
        if not number:
            return text


class SerialNumbers:
    """Call it for the next serial: ``<ms>-<instance>-<counter>``, 27 characters until the year 2286.

    The counter wraps after 36**6 serials, which cannot collide unless one process writes
    more than two billion messages in the same millisecond.
    """

    def __init__(self, instance: str | None = None, clock: Callable[[], float] = time.time):
        self.instance = instance or secrets.token_hex(3)
        if not (self.instance.isascii() and self.instance.isalnum() and len(self.instance) <= 6):
            raise ValueError("instance must be 1-6 ASCII letters or digits")
        self._clock = clock
        self._counter = itertools.count()

    def __call__(self) -> str:
        ms = int(self._clock() * 1000)
        return f"{ms}-{self.instance}-{_base36(next(self._counter) % _COUNTER_SPAN)}"
