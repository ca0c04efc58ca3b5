"""Hot reload: editors save a file and the running server picks it up.

The server always holds one complete, valid ``Content`` snapshot. A change is loaded into a
new snapshot first; only if it has no errors does it replace the old one, so a typo saved
mid-edit is reported in the log and customers keep talking to the last good flows. The
rejected change's errors are kept until a good reload, so /preview can tell the editor that
what they are testing is not what they saved.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from triage.content import Content, load_content
from triage.problems import ContentError, Problem, errors

log = logging.getLogger("triage.reload")


def fingerprint(content: Content) -> tuple:
    """Names, sizes and mtimes of every file the snapshot was read from."""
    settings = content.settings
    paths = [settings.root / "triage.yaml", settings.path("flows"), settings.path("faq")]
    stamp = []
    for path in paths:
        files = sorted(path.rglob("*.y*ml")) if path.is_dir() else [path]
        for file in files:
            try:
                stat = file.stat()
            except OSError:
                continue
            stamp.append((str(file), stat.st_size, stat.st_mtime_ns))
    return tuple(stamp)


class ContentHolder:
    """The live snapshot and the polling task that replaces it."""

    def __init__(self, root: Path):
        self.root = root
        content, problems = load_content(root)
        if content is None:
            raise ContentError(errors(problems))
        self.current: Content = content
        self.version = 1
        self.rejected: tuple[Problem, ...] = ()
        """The errors of the last change that could not go live; empty once the files load again."""
        self._stamp = fingerprint(content)

    def __call__(self) -> Content:
        return self.current

    def check(self) -> bool:
        """Reload if any file changed; True when a new snapshot went live."""
        stamp = fingerprint(self.current)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        content, problems = load_content(self.root)
        if content is None:
            self.rejected = tuple(errors(problems))
            log.error("content change rejected, previous flows stay live:\n%s", "\n".join(map(str, self.rejected)))
            return False
        self.rejected = ()
        self.current = content
        self.version += 1
        log.info("content reloaded (version %d: %d flows, %d nodes, %d FAQ entries)", self.version,
                 len(content.flows.flows), len(content.flows.nodes), len(content.faq.entries))
        return True

    async def watch(self, interval: float = 1.0) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                self.check()
            except Exception:  # a reload bug must never take the server down
                log.exception("content reload failed; previous flows stay live")
