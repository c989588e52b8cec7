"""Reading source files safely: size and encoding limits, YAML with line numbers,
front matter.

YAML is always loaded with a safe loader (the C one when PyYAML has it): tags such as
``!!python/object`` are reported as errors and never constructed. Mappings and lists
come back as :class:`YamlMap` and :class:`YamlList`, which remember the line of every
key and item, so validation can point at the exact line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .problems import Problem, error

MAX_FILE_BYTES = 2 * 1024 * 1024
"""A lesson is a few KiB; anything past this is a mistake (or hostile) and is refused."""
MAX_YAML_NODES = 50_000
"""Bound on the expanded size of a YAML document, against alias bombs."""
MAX_QUOTE_DEPTH = 40
"""Deeper blockquote nesting than this is refused before Markdown sees it."""

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlMap(dict):  # type: ignore[type-arg]
    """A YAML mapping that knows the line of itself and of each key."""

    line: int = 1
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class YamlList(list):  # type: ignore[type-arg]
    """A YAML sequence that knows the line of itself and of each item."""

    line: int = 1
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(_Base):  # type: ignore[misc, valid-type]
    line_offset = 0


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Any:
    data = YamlMap()
    data.line = node.start_mark.line + 1 + loader.line_offset
    data.key_lines = {}
    yield data
    _refuse_repeated_keys(loader, node)
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be plain text", key_node.start_mark
            )
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = key_node.start_mark.line + 1 + loader.line_offset


def _refuse_repeated_keys(loader: _Loader, node: yaml.MappingNode) -> None:
    """A key written twice is an error: YAML would keep the second silently (a second
    ``lessons:`` list pasted below the first would drop the first's lessons)."""
    first: dict[str, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
            continue
        line = key_node.start_mark.line + 1 + loader.line_offset
        if key_node.value in first:
            raise yaml.constructor.ConstructorError(
                None, None, f"'{key_node.value}' is written twice (first on line "
                f"{first[key_node.value]}); keep only one", key_node.start_mark)
        first[key_node.value] = line


def _construct_list(loader: _Loader, node: yaml.SequenceNode) -> Any:
    data = YamlList()
    data.line = node.start_mark.line + 1 + loader.line_offset
    data.item_lines = [n.start_mark.line + 1 + loader.line_offset for n in node.value]
    yield data
    data.extend(loader.construct_object(n, deep=True) for n in node.value)


def _construct_text(loader: _Loader, node: yaml.ScalarNode) -> Any:
    # Dates stay text; validation parses them and reports a bad one at its line.
    return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_list)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_text)


def _expanded_size(value: Any, seen: dict[int, int]) -> int:
    """Number of nodes the document would have with every alias expanded (memoized,
    so this is linear in the *composed* size even for an alias bomb)."""
    if not isinstance(value, (dict, list)):
        return 1
    key = id(value)
    if key in seen:
        return seen[key]
    seen[key] = 1  # a guard against cycles, which safe YAML cannot make anyway
    children = value.values() if isinstance(value, dict) else value
    total = 1
    for child in children:
        total += _expanded_size(child, seen)
        if total > MAX_YAML_NODES:
            break
    seen[key] = total
    return total


def parse_yaml(text: str, path: str, line_offset: int = 0) -> tuple[Any, list[Problem]]:
    """Parse one YAML document. Returns (data, problems); data is None on error."""
    loader = _Loader(text)
    loader.line_offset = line_offset
    try:
        data = loader.get_single_data()
    except yaml.constructor.ConstructorError as exc:
        line = _mark_line(exc, line_offset, text)
        problem = str(exc.problem or "unsupported YAML")
        if "could not determine a constructor" in problem:
            tag = problem.split("tag", 1)[-1].strip(" '").replace("tag:yaml.org,2002:", "!!")
            problem = f"YAML tag '{tag}' is not allowed (trainkit only reads plain YAML)"
        return None, [error(path, line, problem)]
    except yaml.YAMLError as exc:
        line = _mark_line(exc, line_offset, text)
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if _is_unclosed(exc):
            what = "a quote or bracket that starts on this line is never closed"
        elif "tab character" in what:
            what += "; indent with spaces, not tabs"
        return None, [error(path, line, f"this is not valid YAML: {what}")]
    except RecursionError:
        return None, [error(path, 1 + line_offset, "YAML is nested too deeply")]
    finally:
        loader.dispose()
    if _expanded_size(data, {}) > MAX_YAML_NODES:
        return None, [
            error(path, 1 + line_offset,
                  "YAML aliases expand to far too much data (an 'alias bomb'); "
                  "write the values out instead of using & and *")
        ]
    return data, []


def _mark_line(exc: yaml.YAMLError, line_offset: int, text: str) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    past_end = mark is not None and mark.line >= text.rstrip("\n").count("\n") + 1
    if context_mark is not None and (_is_unclosed(exc) or past_end):
        # An unclosed quote or bracket is noticed lines later (or at the end of the
        # text); point at the line where it starts, which is where to fix it.
        mark = context_mark
    return (mark.line + 1 if mark is not None else 1) + line_offset


def _is_unclosed(exc: yaml.YAMLError) -> bool:
    context = str(getattr(exc, "context", None) or "")
    return context.startswith(("while scanning a quoted scalar",
                               "while parsing a flow sequence", "while parsing a flow mapping"))


def read_text(file: Path, path: str, raw: bytes | None = None) -> tuple[str | None, list[Problem]]:
    """Read a source file as UTF-8 text with LF line endings and no byte-order mark.
    ``raw``: its bytes, already read (and no larger than the limit)."""
    if raw is None:
        try:
            size = file.stat().st_size
        except OSError as exc:
            return None, [error(path, 1, f"cannot read this file: {exc.strerror}")]
        if size > MAX_FILE_BYTES:
            return None, [
                error(path, 1, f"this file is {size / 1048576:.1f} MB; source files are "
                      f"limited to {MAX_FILE_BYTES // 1048576} MB (put large files in static/)")
            ]
        try:
            raw = file.read_bytes()
        except OSError as exc:
            return None, [error(path, 1, f"cannot read this file: {exc.strerror}")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [
            error(path, line, "this file is not UTF-8 text; save it as UTF-8 in your editor")
        ]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, []


@dataclass(frozen=True, slots=True)
class FrontMatterDoc:
    """A Markdown source split into its front matter and body."""

    meta: Any
    """The parsed front matter (a YamlMap when well formed)."""
    markdown: bytes
    """The Markdown after the closing ``---``, in UTF-8 (see :attr:`Lesson.markdown
    <trainkit.model.Lesson.markdown>`)."""
    body_line: int
    """The line number, in the file, of the body's first line."""

    @property
    def body(self) -> str:
        return self.markdown.decode("utf-8")


_FENCE = re.compile(r"^---[ \t]*$", re.MULTILINE)


def split_front_matter(text: str, path: str) -> tuple[FrontMatterDoc | None, list[Problem]]:
    if not text.startswith("---"):
        return None, [
            error(path, 1, "missing front matter: start the file with a line '---', "
                  "then 'title: ...', then another '---' line")
        ]
    first_break = text.find("\n")
    if first_break == -1 or text[:first_break].strip() != "---":
        return None, [error(path, 1, "the first line must be exactly '---'")]
    closing = _FENCE.search(text, first_break + 1)
    if closing is None:
        return None, [
            error(path, 1, "front matter is never closed: add a '---' line after it")
        ]
    yaml_text = text[first_break + 1 : closing.start()]
    meta, problems = parse_yaml(yaml_text, path, line_offset=1)
    if problems:
        return None, problems
    if meta is None:
        meta = YamlMap()
        meta.line, meta.key_lines = 1, {}
    if not isinstance(meta, YamlMap):
        return None, [error(path, 2, "front matter must be 'key: value' lines")]
    body_start = text.find("\n", closing.start())
    body = "" if body_start == -1 else text[body_start + 1 :]
    body_line = text.count("\n", 0, body_start + 1) + 1 if body_start != -1 else 1
    refused = check_markdown_limits(body, path, body_line)
    # A refused body is not kept: it would take minutes to render (its error says why).
    return FrontMatterDoc(meta, b"" if refused else body.encode("utf-8"), body_line), refused


_QUOTES = re.compile(r"^[ \t]*((?:>[ \t]*){%d,})" % (MAX_QUOTE_DEPTH + 1), re.MULTILINE)


def check_markdown_limits(body: str, path: str, body_line: int) -> list[Problem]:
    """Refuse Markdown that would make the renderer recurse without bound, or rescan a
    paragraph so often that rendering it takes minutes."""
    # Both scans are skipped when a count shows they cannot find anything (nearly always:
    # they cost 0.2 ms a lesson, 2 s of loading 10,000).
    match = _QUOTES.search(body) if body.count(">") > MAX_QUOTE_DEPTH else None
    if match is not None:
        line = body_line + body.count("\n", 0, match.start())
        depth = match.group(1).count(">")
        return [error(path, line, f"blockquotes are nested {depth} deep; the limit is "
                      f"{MAX_QUOTE_DEPTH}")]
    if (body.count("[") + body.count("<")) * len(body) <= MAX_INLINE_RESCAN:
        return []  # each scans ahead at most to the end of the body
    cost, at = _rescan_cost(body)
    if cost > MAX_INLINE_RESCAN:
        return [error(path, body_line + body.count("\n", 0, at), "this paragraph has so "
                      "many unclosed or nested '[' or '<' that rendering it would take "
                      "minutes; close them, or write them as \\[ and &lt;")]
    return []


MAX_INLINE_RESCAN = 5_000_000
"""Bound on the characters Python-Markdown's inline patterns rescan in one body (about a
second of work). Each ``[`` or ``<`` makes it scan ahead to the matching ``]`` or ``>``
(or the end of the paragraph), so thousands of unclosed ones are quadratic."""

_INLINE_TOKEN = re.compile(r"\n[ \t]*\n|(?<!\\)[\[\]<>]")


def _rescan_cost(body: str) -> tuple[int, int]:
    """Characters scanned ahead from every ``[`` and ``<`` (to the matching bracket or
    the paragraph's end), and where the paragraph that went over the bound starts."""
    cost, block_start = 0, 0
    squares: list[int] = []
    angles: list[int] = []
    for m in _INLINE_TOKEN.finditer(body):
        ch, at = m.group(), m.start()
        if ch == "[":
            squares.append(at)
        elif ch == "<":
            angles.append(at)
        elif ch == "]":
            cost += at - squares.pop() if squares else 0
        elif ch == ">":
            cost += sum(at - a for a in angles)
            angles.clear()
        else:  # a blank line ends the paragraph: whatever is still open scans to here
            cost += sum(at - a for a in squares + angles)
            squares.clear()
            angles.clear()
            if cost > MAX_INLINE_RESCAN:
                return cost, block_start
            block_start = m.end()
    cost += sum(len(body) - a for a in squares + angles)
    return cost, block_start
