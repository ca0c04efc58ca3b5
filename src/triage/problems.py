"""Problems found in editors' files.

Every loader and checker returns a list of these instead of raising, so one run can report
every problem at once, each pointing at ``file:line`` the way editors read them.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else "warning: "
        return f"{self.path}:{self.line}: {prefix}{self.message}"


class ContentError(Exception):
    """Raised where a caller needs valid content and the files have errors."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean "x"?)' suffix, or '' when nothing is close enough to help.

    Hangul is compared letter by letter (jamo), so the typo 배숑 is close to 배송; whole
    syllables would count it as half wrong.
    """
    by_jamo = {unicodedata.normalize("NFD", choice): choice for choice in set(choices)}
    close = difflib.get_close_matches(unicodedata.normalize("NFD", word), sorted(by_jamo), n=1, cutoff=0.6)
    return f' (did you mean "{by_jamo[close[0]]}"?)' if close else ""
