"""Log lines pass through the same masking as transcripts and events.

Masking happens on the finished line rather than on ``record.msg``: personal data reaches a
log through %-args, ``repr`` of payloads, exception messages inside tracebacks and access-log
request lines just as often as through the message itself, and only the formatted text
contains all of them.
"""

from __future__ import annotations

import logging

from triage.privacy.masking import mask

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def configure_logging(level: str = "INFO") -> None:
    """Route every logger (ours, aiohttp's, asyncio's) through one masking stderr handler.

    Calling it again replaces the handler it installed before instead of adding a second one,
    so a command can reconfigure without doubling every line; other handlers are left alone.
    An unknown ``level`` raises ``ValueError`` before anything changes.
    """
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in [h for h in root.handlers if isinstance(h.formatter, MaskingFormatter)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.setFormatter(MaskingFormatter(LOG_FORMAT))
    root.addHandler(handler)
