"""Python-Markdown's passes over the tree, minus work whose result no page uses.

- Heading anchors come from the ``toc`` extension, which also builds a table of
  contents for every body, serializes it and runs every postprocessor over it, then
  looks through the whole tree for a ``[TOC]`` paragraph to put it in. Here the table is
  built only for a body whose text holds ``[TOC]``: no other body can have that
  paragraph, so the HTML is the same.
- Attribute lists (``{: .class}``, ``{#id}``) are looked for at the end of every
  element's text; here only in a body whose text holds a ``{``, which every one of them
  starts with (an escaped ``\\{`` or ``&#123;`` is never one). (2% of the
  instructions of rendering a lesson of the bench corpus.)
- Every block of every body is tested for an admonition (``!!! tip``), or for the
  indented rest of one; here only in a body whose text holds ``!!!``, without which
  there is none.
- Every element's text, tail and attributes are searched for the placeholders of
  backslash escapes (``\\*``), to put the characters back; here only in a body whose
  text holds a backslash, without which there are none.
- Whether a tag is block-level is asked for every element, several times, and
  Python-Markdown answers by scanning a list of some fifty names; here a set of the
  same names answers. (With the table of contents, 8% of those instructions.)
"""

from __future__ import annotations

import xml.etree.ElementTree as etree
from typing import Any

from markdown import Markdown
from markdown.extensions.admonition import AdmonitionExtension, AdmonitionProcessor
from markdown.extensions.attr_list import AttrListExtension, AttrListTreeprocessor
from markdown.extensions.toc import TocExtension, TocTreeprocessor
from markdown.treeprocessors import UnescapeTreeprocessor

MARKER = "[TOC]"
"""Python-Markdown's default marker, the one a body can use."""


class _Gated:
    """A processor with work to do only in a body whose text holds :attr:`NEEDS`."""

    NEEDS = ""
    wanted = True

    def begin(self, text: str) -> None:
        self.wanted = self.NEEDS in text


class _AnchorsFirst(_Gated, TocTreeprocessor):
    """The ``toc`` processor, building the table only for a body that holds the marker."""

    NEEDS = MARKER

    def begin(self, text: str) -> None:
        super().begin(text)
        self.marker = MARKER if self.wanted else ""  # (no search for it either)

    def build_toc_div(self, toc_list: list[Any]) -> etree.Element:
        if not self.wanted:  # (nothing will hold it, and md.toc is never read)
            return etree.Element("div")
        return super().build_toc_div(toc_list)


class HeadingAnchors(TocExtension):
    """``TocExtension`` with a processor that builds the table only where it goes."""

    TreeProcessorClass = _AnchorsFirst


class _AttrListWhereBraces(_Gated, AttrListTreeprocessor):
    """The ``attr_list`` processor, run only on a body that holds a ``{``."""

    NEEDS = "{"

    def run(self, doc: etree.Element) -> None:
        if self.wanted:
            super().run(doc)


class AttributeLists(AttrListExtension):
    """``attr_list``, with :class:`_AttrListWhereBraces` at the place Python-Markdown
    documents for its own processor (priority 8)."""

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802
        md.treeprocessors.register(_AttrListWhereBraces(md), "attr_list", 8)


class _AdmonitionsWhereMarked(_Gated, AdmonitionProcessor):
    """The ``admonition`` processor, tried only in a body that holds ``!!!``."""

    NEEDS = "!!!"

    def test(self, parent: etree.Element, block: str) -> bool:
        return self.wanted and super().test(parent, block)


class Admonitions(AdmonitionExtension):
    """``admonition``, with :class:`_AdmonitionsWhereMarked` at the place Python-Markdown
    documents for its own processor (priority 105)."""

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802
        md.registerExtension(self)
        md.parser.blockprocessors.register(_AdmonitionsWhereMarked(md.parser), "admonition",
                                           105)


class _UnescapeWhereEscaped(_Gated, UnescapeTreeprocessor):
    """The ``unescape`` processor, run only on a body that holds a backslash (the
    placeholders it replaces are made only from backslash escapes, and the text's own
    control characters are removed before parsing)."""

    NEEDS = "\\"

    def run(self, root: etree.Element) -> None:
        if self.wanted:
            super().run(root)


def unescape_where_escaped(md: Markdown) -> None:
    """Put :class:`_UnescapeWhereEscaped` in place of Python-Markdown's own ``unescape``
    (same name, priority and state), when that is the stock one."""
    if "unescape" in md.treeprocessors:
        stock = md.treeprocessors["unescape"]
        if type(stock) is UnescapeTreeprocessor:
            stock.__class__ = _UnescapeWhereEscaped


def gated(md: Markdown) -> list[_Gated]:
    """The processors of ``md`` to :meth:`~_Gated.begin` with each body's text before
    converting it."""
    return [p for p in (*md.treeprocessors, *md.parser.blockprocessors)
            if isinstance(p, _Gated)]


def install_block_level_set(md: Markdown) -> None:
    """Answer :meth:`Markdown.is_block_level` from a set, once every extension has added
    its names to ``md.block_level_elements``."""
    names = frozenset(md.block_level_elements)

    def is_block_level(tag: Any) -> bool:
        return isinstance(tag, str) and tag.lower().rstrip("/") in names

    md.is_block_level = is_block_level  # type: ignore[method-assign]
