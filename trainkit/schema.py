"""Checking front matter and YAML files against the keys SPEC.md defines.

Each kind of file has a table of fields; :func:`check_fields` reads a mapping against
it and returns plain Python values plus a problem for every wrong, missing or unknown
key, each at its own line.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from .problems import Problem, did_you_mean, error, warning
from .sourcefile import YamlList, YamlMap

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
REFERENCE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*/[a-z0-9]+(?:-[a-z0-9]+)*$")

Check = Callable[[Any, str], "tuple[Any, str | None]"]
"""Takes a raw value and the key's name; returns (value, None) or (None, message)."""


@dataclass(frozen=True, slots=True)
class Field:
    check: Check
    required: bool = False


def _is_scalar_text(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def text(value: Any, key: str) -> tuple[Any, str | None]:
    if _is_scalar_text(value):
        return str(value).strip(), None
    return None, f"'{key}' must be text, like {key}: Your first week"


_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")


def language_code(value: Any, key: str) -> tuple[Any, str | None]:
    """A language tag (``en``, ``es``, ``pt-BR``): browsers, screen readers and search
    read it to pronounce and stem the words."""
    if isinstance(value, str) and _LANGUAGE.fullmatch(value.strip()):
        return value.strip(), None
    return None, (f"'{key}' must be a language code, like {key}: en (or es, fr, pt-BR) "
                  f"(got {value!r})")


def minutes(value: Any, key: str) -> tuple[Any, str | None]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value, None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value), None
    return None, f"'{key}' must be a whole number of minutes, like {key}: 20 (got {value!r})"


def flag(value: Any, key: str) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return value, None
    return None, f"'{key}' must be true or false (got {value!r})"


def date(value: Any, key: str) -> tuple[Any, str | None]:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip()), None
        except ValueError:
            return None, f"'{key}' is not a real date: {value} (use YYYY-MM-DD)"
    return None, f"'{key}' must be a date written YYYY-MM-DD, like {key}: 2026-11-02 (got {value!r})"


def web_url(value: Any, key: str) -> tuple[Any, str | None]:
    if isinstance(value, str):
        parts = urlsplit(value.strip())
        if parts.scheme in ("http", "https") and parts.netloc:
            return value.strip(), None
    return None, f"'{key}' must be a web address starting with https:// or http:// (got {value!r})"


def choice(*options: str) -> Check:
    def check(value: Any, key: str) -> tuple[Any, str | None]:
        if value in options:
            return value, None
        return None, f"'{key}' must be one of: {', '.join(options)} (got {value!r})"

    return check


def version_label(value: Any, key: str) -> tuple[Any, str | None]:
    if isinstance(value, str) and value.strip():
        return value.strip(), None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value), None
    return None, (f"'{key}' must be text in quotes, like {key}: \"2026.11\" "
                  "(without quotes 2026.10 would be read as the number 2026.1)")


def list_of(item: Check, what: str) -> Check:
    """A list of items; a single value is taken as a list of one."""

    def check(value: Any, key: str) -> tuple[Any, str | None]:
        values = value if isinstance(value, list) else [value]
        out = []
        for v in values:
            checked, message = item(v, key)
            if message:
                return None, f"'{key}' must be a list of {what}, like {key}: [a, b]; {message}"
            out.append(checked)
        return tuple(out), None

    return check


def slug(value: Any, key: str) -> tuple[Any, str | None]:
    if isinstance(value, str) and SLUG.match(value):
        return value, None
    return None, f"{value!r} is not a valid name (lower-case letters, digits and hyphens)"


def reference(value: Any, key: str) -> tuple[Any, str | None]:
    if isinstance(value, str) and REFERENCE.match(value.strip()):
        return value.strip(), None
    return None, f"{value!r} is not a <course>/<lesson> reference such as getting-started/why-train"


def check_fields(
    data: Any, fields: dict[str, Field], path: str, what: str
) -> tuple[dict[str, Any], list[Problem]]:
    """Validate a mapping; returns the good values by key, and the problems."""
    if not isinstance(data, YamlMap):
        line = getattr(data, "line", 1)
        return {}, [error(path, line, f"{what} must be 'key: value' lines")]
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, raw in data.items():
        line = data.line_of(key)
        spec = fields.get(key) if isinstance(key, str) else None
        if spec is None:
            problems.append(
                warning(path, line, f"unknown key '{key}' in {what}"
                        f"{did_you_mean(str(key), fields)}; it is ignored")
            )
            continue
        if raw is None:
            if spec.required:
                problems.append(error(path, line, f"'{key}' is empty; {what} needs one"))
            continue
        value, message = spec.check(raw, key)
        if message:
            problems.append(error(path, _value_line(raw, line), message))
        else:
            values[key] = value
    for key, spec in fields.items():
        if spec.required and key not in data:
            problems.append(error(path, data.line, f"{what} is missing the required key '{key}'"))
    return values, problems


def _value_line(raw: Any, key_line: int) -> int:
    return raw.line if isinstance(raw, (YamlMap, YamlList)) else key_line


CONFIG = {
    "title": Field(text, required=True),
    "version": Field(version_label, required=True),
    "description": Field(text),
    "base_url": Field(web_url),
    "theme": Field(slug),
    "language": Field(language_code),
    "uplines": Field(lambda v, k: (v, None) if isinstance(v, list) else
                     (None, "'uplines' must be a list of entries with name and path")),
    "safe": Field(flag),
    "released": Field(date),
}

UPLINE = {
    "name": Field(text, required=True),
    "path": Field(text, required=True),
    "role": Field(text),
    "trusted": Field(flag),
}

COURSE = {
    "title": Field(text, required=True),
    "lessons": Field(lambda v, k: (v, None) if isinstance(v, list) else
                     (None, "'lessons' must be a list of lesson names in order, "
                      "like lessons: [why-train, first-week]"), required=True),
    "summary": Field(text),
    "order": Field(lambda v, k: (v, None) if isinstance(v, int) and not isinstance(v, bool)
                   else (None, f"'order' must be a whole number (got {v!r})")),
}

LESSON = {
    "title": Field(text, required=True),
    "summary": Field(text),
    "duration": Field(minutes),
    "objectives": Field(list_of(text, "short sentences")),
    "prerequisites": Field(list_of(reference, "<course>/<lesson> references")),
    "links": Field(list_of(slug, "curated link names")),
    "tags": Field(list_of(text, "tags")),
    "author": Field(text),
    "updated": Field(date),
    "repeat": Field(choice("daily", "weekly")),
    "draft": Field(flag),
}

LINK = {
    "title": Field(text, required=True),
    "url": Field(web_url, required=True),
    "tags": Field(list_of(text, "tags")),
    "added": Field(date),
}

PATH = {
    "title": Field(text, required=True),
    "steps": Field(lambda v, k: (v, None) if isinstance(v, list) and v else
                   (None, "'steps' must be a list like:  - course: getting-started"),
                   required=True),
    "summary": Field(text),
}

STEP = {
    "course": Field(slug),
    "lesson": Field(reference),
}

SECTION = {
    "for": Field(reference, required=True),
    "title": Field(text),
    "placement": Field(lambda v, k: (v, None) if isinstance(v, str) and (
        v in ("start", "end") or re.fullmatch(r"after:[\w-]+", v)) else
        (None, f"'placement' must be start, end or after:<heading-anchor> (got {v!r})")),
}
