"""Markdown for trainkit: Python-Markdown with SPEC.md's extensions, plus our own
task lists and link rewriting, behind one small :class:`MarkdownRenderer`."""

from __future__ import annotations

import difflib
import posixpath
import re
import zlib
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

import markdown

from ..model import quick_pickle
from ..offsite import Offsite, keep_on_site
from ..problems import Problem, error, warning
from . import quick_blocks, quick_inline, quick_tree
from .links import AnchorRef, LinkExtension
from .tasklist import ChecklistItem, TaskListExtension

__all__ = ["AnchorRef", "ChecklistItem", "MarkdownRenderer", "Rendered", "pack"]


@quick_pickle
@dataclass(frozen=True, slots=True)
class Rendered:
    """A Markdown body turned into HTML, with what the rest of the build needs to know."""

    packed: bytes
    """The HTML (see :func:`pack`): every body is held from its rendering until its page
    is made, and pickled into the cache."""
    anchors: tuple[str, ...]
    """The ids of its headings, for checking ``#anchor`` links to it. (A tuple, not a
    set: a set pickles in an order that changes from process to process, and the page
    it is on is recognised by a hash of its pickle; see :class:`trainkit.cache.InputsDigest`.)"""
    checklist: tuple[ChecklistItem, ...]
    anchor_refs: tuple[AnchorRef, ...]
    problems: tuple[Problem, ...]
    """Links to files that do not exist, at their lines."""
    lookups: tuple[tuple[str, str | None], ...] = ()
    """The link targets this rendering depended on (source path → URL or None)."""

    @property
    def html(self) -> str:
        return zlib.decompress(self.packed).decode("utf-8")

    def still_valid(self, targets: Mapping[str, str]) -> bool:
        """Whether every link target used is unchanged, so the HTML is still right."""
        return all(targets.get(path) == url for path, url in self.lookups)


def pack(html: str) -> bytes:
    """HTML for :attr:`Rendered.packed`: UTF-8, compressed (a lesson's 8 KB become 3 KB;
    as a str it would take 16 KB, two bytes a character once it holds a curly quote).
    0.1 ms a lesson, in the Markdown workers; 0.03 ms to unpack."""
    return zlib.compress(html.encode("utf-8"), 1)


class MarkdownRenderer:
    """One configured Markdown instance, reused for every page (one per worker)."""

    def __init__(self) -> None:
        self._tasks = TaskListExtension()
        self._links = LinkExtension()
        self._md = markdown.Markdown(
            extensions=[
                "tables", "fenced_code", "footnotes", quick_tree.AttributeLists(),
                quick_tree.Admonitions(),
                "sane_lists",
                quick_tree.HeadingAnchors(permalink="#",
                                          permalink_title="Link to this section",
                                          toc_depth="2-6"),
                self._tasks, self._links,
            ],
            output_format="html",
        )
        quick_inline.install(self._md)
        quick_blocks.install(self._md)
        quick_tree.unescape_where_escaped(self._md)
        quick_tree.install_block_level_set(self._md)
        self._gated = quick_tree.gated(self._md)

    def render(self, text: str, *, source: str, body_line: int, page_url: str,
               owner: str, targets: Mapping[str, str]) -> Rendered:
        md = self._md
        md.reset()
        self._tasks.start(owner)
        self._links.start(source, page_url, targets)
        for processor in self._gated:
            processor.begin(text)
        try:
            html = md.convert(text)
        except RecursionError:
            # Lists, emphasis or quotes nested thousands deep: Python-Markdown recurses
            # once per level. Report the file instead of crashing the build.
            md.reset()
            return Rendered(pack(""), (), (), (), (error(
                source, body_line, "this text is nested too deeply to render (lists, "
                "quotes or emphasis inside each other hundreds of levels deep); "
                "simplify it"),), ())
        html, offsite = keep_on_site(html)
        context = self._links.processor.context
        problems = (*_broken_links(context.broken, text, source, body_line, targets),
                    *_offsite_warnings(offsite, text, source, body_line))
        anchors = tuple(dict.fromkeys(_IDS.findall(html)))
        return Rendered(pack(html), anchors, tuple(self._tasks.processor.items),
                        tuple(context.anchors), problems, tuple(sorted(context.lookups.items())))


_IDS = re.compile(r'\sid="([^"]+)"')


def _broken_links(broken: list[tuple[str, str]], text: str, source: str, body_line: int,
                  targets: Mapping[str, str]) -> tuple[Problem, ...]:
    """One error per broken link, each at its own line (the same href twice is two)."""
    problems = []
    seen: dict[str, int] = {}
    for href, path in broken:
        nth = seen[href] = seen.get(href, -1) + 1
        hint = ("there is no such file, or it is not published (a draft, or a lesson not "
                "listed in its course.yaml)" if href.split("#")[0].endswith(".md")
                else "there is no such file")
        close = _closest(path, targets)
        suggestion = ("" if close is None else " (did you mean '"
                      + posixpath.relpath(close, posixpath.dirname(source) or ".")
                      + ("#" + href.split("#", 1)[1] if "#" in href else "") + "'?)")
        problems.append(error(source, line_of(text, href, body_line, nth),
                              f"link to '{href}': {hint}{suggestion}; links are relative to "
                              "this file, like ../other-course/lesson.md"))
    return tuple(problems)


def _closest(path: str, targets: Mapping[str, str]) -> str | None:
    """The linkable file the author most likely meant by ``path``: the same name in
    other letter case, or a close name in the same folder."""
    folder, lowered = posixpath.dirname(path), path.lower()
    near = [t for t in targets if posixpath.dirname(t) == folder or t.lower() == lowered]
    same_case = [t for t in near if t.lower() == lowered]
    if same_case:
        return same_case[0]
    close = difflib.get_close_matches(path, near, n=1, cutoff=0.8)
    return close[0] if close else None


def _offsite_warnings(found: list[Offsite], text: str, source: str,
                      body_line: int) -> tuple[Problem, ...]:
    problems = []
    seen: dict[str, int] = {}
    for item in found:
        nth = seen[item.url] = seen.get(item.url, -1) + 1
        where = line_of(text, item.url, body_line, nth)
        if item.kind == "Image":
            name = posixpath.basename(urlsplit(item.url).path) or "picture.png"
            static = posixpath.relpath("static", posixpath.dirname(source) or ".")
            fix = (f"to show it, save it in static/ and write "
                   f"![what it shows]({static}/{name})")
        elif item.kind:
            fix = "keep it as a link, or save the file in static/ and link to it there"
        else:
            problems.append(warning(source, where, (
                f"'{item.url}' is a script or style on another host, so it is left out: "
                "pages load nothing from other hosts")))
            continue
        problems.append(warning(source, where, (
            f"{item.kind.lower()} '{item.url}' is on another host, so the page links to it "
            f"instead of showing it (pages load nothing from other hosts); {fix}")))
    return tuple(problems)


def line_of(text: str, needle: str, first_line: int, nth: int = 0) -> int:
    """The line where ``needle`` appears for the ``nth`` time (0: the first) in ``text``
    (a body starting at ``first_line``); ``first_line`` when it does not."""
    at = _find(text, f"({needle}", nth)
    if at == -1:
        at = _find(text, needle, nth)
    return first_line + (text.count("\n", 0, at) if at != -1 else 0)


def _find(text: str, needle: str, nth: int) -> int:
    at = text.find(needle)
    while at != -1 and nth > 0:
        at, nth = text.find(needle, at + len(needle)), nth - 1
    return at
