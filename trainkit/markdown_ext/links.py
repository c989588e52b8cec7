"""Relative links to other sources (``../prospecting/daily-method.md#the-list``) are
rewritten to the URL of the page built from that source, relative to the current page.

A link to a file that does not exist is recorded as broken; a link with a ``#anchor``
is recorded so the anchor can be checked once every page's headings are known.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import unquote, urlsplit

from markdown import Markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from .. import urls


@dataclass(frozen=True, slots=True)
class AnchorRef:
    """A link to ``#fragment`` in another (or the same) source, to check later."""

    href: str
    """As the author wrote it, to find its line."""
    source: str
    fragment: str


@dataclass(slots=True)
class LinkContext:
    source: str = ""
    """The source file being rendered, relative to the site source."""
    page_url: str = ""
    """The URL of the page it renders into."""
    targets: Mapping[str, str] = field(default_factory=dict)
    broken: list[tuple[str, str]] = field(default_factory=list)
    """Links whose file does not exist: the href as written, and the source path it
    names (relative to the site source)."""
    anchors: list[AnchorRef] = field(default_factory=list)
    lookups: dict[str, str | None] = field(default_factory=dict)
    """Every target looked up and what it was, so a cached rendering can tell whether
    it is still valid after other files were added, moved or removed."""


class LinkProcessor(Treeprocessor):
    def __init__(self, md: Markdown) -> None:
        super().__init__(md)
        self.context = LinkContext()

    def run(self, root: etree.Element) -> None:
        for el in root.iter():
            if el.tag == "a" and el.get("href") is not None:
                self._rewrite(el, "href")
            elif el.tag == "img" and el.get("src") is not None:
                self._rewrite(el, "src")
                el.set("loading", "lazy")  # (a reader on a phone fetches only what they reach)

    def _rewrite(self, el: etree.Element, attr: str) -> None:
        href = el.get(attr, "")
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            if el.tag == "a" and parts.scheme in ("http", "https"):
                el.set("rel", "noopener noreferrer")
            return
        ctx = self.context
        if href.startswith("#"):
            ctx.anchors.append(AnchorRef(href, ctx.source, unquote(href[1:])))
            return
        if href.startswith("/") or not parts.path:
            return
        folder = posixpath.dirname(ctx.source)
        path = posixpath.normpath(posixpath.join(folder, unquote(parts.path)))
        if parts.path.endswith("/"):
            path += "/"
        target = ctx.lookups[path] = ctx.targets.get(path)
        if target is None:
            ctx.broken.append((href, path))
            return
        new = urls.relative(ctx.page_url, target)
        if parts.fragment and "#" not in target:
            new += "#" + parts.fragment
            ctx.anchors.append(AnchorRef(href, path, unquote(parts.fragment)))
        el.set(attr, new)


class LinkExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Markdown's API)
        self.processor = LinkProcessor(md)
        md.treeprocessors.register(self.processor, "trainkit_links", 14)
        md.registerExtension(self)

    def reset(self) -> None:
        self.processor.context = LinkContext()

    def start(self, source: str, page_url: str, targets: Mapping[str, str]) -> None:
        self.processor.context = LinkContext(source, page_url, targets)
