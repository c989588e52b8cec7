"""Python-Markdown's block-level passes, minus the searches that cannot match.

The block parser asks each block processor in turn whether a block is its kind (a
table, a heading, a rule, a quote, a footnote, a link reference), and most answer with
a regular-expression search through the whole block: for a paragraph, every one of them
searches and finds nothing. Before the parser, three preprocessors search the whole
text, for lines of spaces, raw HTML and fenced code. Each search is skipped here when
the text lacks a character the expression requires (a table row needs ``|``, a heading
``#``, raw HTML a ``<`` or ``&``), so the result is what the search would have given:
nothing found. (With the unescaping pass of :mod:`.quick_tree`, a third of the
instructions of rendering a lesson of the bench corpus.) The parser's list of
processors is also made once rather than for every block.

Each is checked by a single character where it can be: Python finds one character in a
5 KB lesson in 0.1 µs and two in 7 µs. Processors of other types, including any
subclass, are left as they are.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from markdown import Markdown, util
from markdown.blockprocessors import (BlockQuoteProcessor, HashHeaderProcessor, HRProcessor,
                                      ReferenceProcessor, SetextHeaderProcessor)
from markdown.extensions.fenced_code import FencedBlockPreprocessor
from markdown.extensions.footnotes import FootnoteBlockProcessor
from markdown.extensions.tables import TableProcessor
from markdown.preprocessors import HtmlBlockPreprocessor, NormalizeWhitespace
from markdown.util import Registry


def _may_hold_rule(block: str) -> bool:
    """A rule (``---``, ``* * *``, ``___``) is a line of its own: up to three spaces,
    then one of those characters."""
    return (block[:4].lstrip(" ")[:1] in ("-", "*", "_")
            or "\n-" in block or "\n*" in block or "\n_" in block or "\n " in block)


_MAY: dict[type, Callable[[str], bool]] = {
    TableProcessor: lambda block: "|" in block,
    HashHeaderProcessor: lambda block: "#" in block,
    SetextHeaderProcessor: lambda block: "\n=" in block or "\n-" in block,
    HRProcessor: _may_hold_rule,
    BlockQuoteProcessor: lambda block: ">" in block,
    FootnoteBlockProcessor: lambda block: "^" in block and "[^" in block,
    # (Its test always says yes; its run then searches, and gives the block back.)
    ReferenceProcessor: lambda block: "]:" in block,
}
"""For each type of block processor, what a block must hold for its test to pass."""


def _gate(may: Callable[[str], bool], test: Callable[[Any, str], bool],
          ) -> Callable[[Any, str], bool]:
    def gated(parent: Any, block: str) -> bool:
        return may(block) and test(parent, block)

    return gated


_SPACES_LINE = re.compile(r"\n +(?=\n)")
"""A line of spaces only. Python-Markdown's ``(?<=\\n) +\\n`` removes the same spaces,
but tries its look-behind at every character (60 µs a lesson; this, 4 µs)."""


class _QuickWhitespace(NormalizeWhitespace):
    """:class:`NormalizeWhitespace` (Python-Markdown 3.11), each step done only when the
    text holds what it replaces."""

    def run(self, lines: list[str]) -> list[str]:
        source = "\n".join(lines)
        if util.STX in source or util.ETX in source:
            source = source.replace(util.STX, "").replace(util.ETX, "")
        if "\r" in source:
            source = source.replace("\r\n", "\n").replace("\r", "\n")
        source += "\n\n"
        if "\t" in source:
            source = source.expandtabs(self.md.tab_length)
        if "\n " in source:
            source = _SPACES_LINE.sub("\n", source)
        return source.split("\n")


class _HtmlBlocksWhereTags(HtmlBlockPreprocessor):
    """Raw HTML blocks, looked for only in a text that holds a ``<`` or an ``&`` (with
    neither, Python's HTML parser hands the whole text back as data)."""

    def run(self, lines: list[str]) -> list[str]:
        source = "\n".join(lines)
        if "<" not in source and "&" not in source:
            return lines
        return super().run(lines)


class _FencesWhereMarked(FencedBlockPreprocessor):
    """Fenced code, looked for only in a text that holds a fence's characters."""

    def run(self, lines: list[str]) -> list[str]:
        source = "\n".join(lines)
        if ("`" not in source or "```" not in source) and ("~" not in source
                                                         or "~~~" not in source):
            return lines
        return super().run(lines)


_PREPROCESSORS: dict[type, type] = {
    NormalizeWhitespace: _QuickWhitespace,
    HtmlBlockPreprocessor: _HtmlBlocksWhereTags,
    FencedBlockPreprocessor: _FencesWhereMarked,
}


class _OrderKept(Registry):  # type: ignore[type-arg]
    """A registry that keeps the list of its items in order until it changes: the block
    parser goes through its processors for every block, and Python-Markdown's registry
    makes that list anew each time (3% of rendering a lesson)."""

    _order: list[Any] | None = None

    def __iter__(self) -> Any:
        if self._order is None:
            self._order = list(super().__iter__())
        return iter(self._order)

    def register(self, item: Any, name: str, priority: float) -> None:
        self._order = None
        super().register(item, name, priority)

    def deregister(self, name: str, strict: bool = True) -> None:
        self._order = None
        super().deregister(name, strict)


def install(md: Markdown) -> None:
    """Gate the block processors and preprocessors of ``md`` whose type is one of those
    above (once every extension has registered its own)."""
    if type(md.parser.blockprocessors) is Registry:
        md.parser.blockprocessors.__class__ = _OrderKept
    for processor in md.parser.blockprocessors:
        may = _MAY.get(type(processor))
        if may is not None:
            processor.test = _gate(may, processor.test)  # type: ignore[method-assign,assignment]
    for pre in list(md.preprocessors):
        quick = _PREPROCESSORS.get(type(pre))
        if quick is not None:
            pre.__class__ = quick  # (same state, same name and priority)
