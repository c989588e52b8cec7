"""Problems found in a site's content, reported to authors as ``PATH:LINE: error: ...``.

Every stage collects problems into a list instead of stopping at the first one, so a
single run tells the author everything that is wrong.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong with the content, at a place the author can find."""

    path: str
    """The file, relative to the site's source folder, with forward slashes."""
    line: int
    """1-based line in that file (1 when the problem is with the file as a whole)."""
    message: str
    """What is wrong and, where it helps, how to fix it."""
    severity: Severity = "error"
    """Errors stop the build; warnings are printed and (without --strict) do not."""

    def format(self, strict: bool = False) -> str:
        severity = "error" if strict else self.severity
        return f"{self.path}:{self.line}: {severity}: {self.message}"


def error(path: str, line: int, message: str) -> Problem:
    return Problem(path, max(line, 1), message, "error")


def warning(path: str, line: int, message: str) -> Problem:
    return Problem(path, max(line, 1), message, "warning")


def has_errors(problems: Iterable[Problem], strict: bool = False) -> bool:
    return any(strict or p.severity == "error" for p in problems)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'duration'?)`` when a close choice exists, else ``""``."""
    close = closest(word, choices)
    return f" (did you mean '{close}'?)" if close is not None else ""


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like ``word``, if one is close enough to be what was meant."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


class ContentError(Exception):
    """Raised to abandon a build whose content has errors; carries all of them."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the content")
        self.problems = problems


class UsageError(Exception):
    """A problem with how trainkit was asked to run (exit code 2), not with content."""
