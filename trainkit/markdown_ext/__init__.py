"""Markdown for trainkit: Python-Markdown with SPEC.md's extensions, plus our own
task lists and link rewriting, behind one small :class:`MarkdownRenderer`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

import markdown
from markdown.extensions.toc import TocExtension

from ..problems import Problem, error
from .links import AnchorRef, LinkExtension
from .tasklist import ChecklistItem, TaskListExtension

__all__ = ["AnchorRef", "ChecklistItem", "MarkdownRenderer", "Rendered"]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A Markdown body turned into HTML, with what the rest of the build needs to know."""

    html: str
    anchors: frozenset[str]
    """The ids of its headings, for checking ``#anchor`` links to it."""
    checklist: tuple[ChecklistItem, ...]
    anchor_refs: tuple[AnchorRef, ...]
    problems: tuple[Problem, ...]
    """Links to files that do not exist, at their lines."""
    lookups: tuple[tuple[str, str | None], ...] = ()
    """The link targets this rendering depended on (source path → URL or None)."""

    def still_valid(self, targets: Mapping[str, str]) -> bool:
        """Whether every link target used is unchanged, so the HTML is still right."""
        return all(targets.get(path) == url for path, url in self.lookups)


class MarkdownRenderer:
    """One configured Markdown instance, reused for every page (one per worker)."""

    def __init__(self) -> None:
        self._tasks = TaskListExtension()
        self._links = LinkExtension()
        self._md = markdown.Markdown(
            extensions=[
                "tables", "fenced_code", "footnotes", "attr_list", "admonition",
                "sane_lists",
                TocExtension(permalink="#", permalink_title="Link to this section",
                             toc_depth="2-6"),
                self._tasks, self._links,
            ],
            output_format="html",
        )

    def render(self, text: str, *, source: str, body_line: int, page_url: str,
               owner: str, targets: Mapping[str, str]) -> Rendered:
        md = self._md
        md.reset()
        self._tasks.start(owner)
        self._links.start(source, page_url, targets)
        html = md.convert(text)
        context = self._links.processor.context
        problems = tuple(
            error(source, line_of(text, href, body_line),
                  f"link to '{href}': there is no such file (links are relative to this "
                  "file, like ../other-course/lesson.md)")
            for href in context.broken
        )
        anchors = frozenset(_IDS.findall(html))
        return Rendered(html, anchors, tuple(self._tasks.processor.items),
                        tuple(context.anchors), problems, tuple(sorted(context.lookups.items())))


_IDS = re.compile(r'\sid="([^"]+)"')


def line_of(text: str, needle: str, first_line: int) -> int:
    """The line where ``needle`` first appears in ``text`` (a body starting at
    ``first_line``); ``first_line`` when it does not."""
    at = text.find(f"({needle}")
    if at == -1:
        at = text.find(needle)
    return first_line + (text.count("\n", 0, at) if at != -1 else 0)
