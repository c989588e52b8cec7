"""Python-Markdown's inline processor, minus the searches that cannot match.

For every run of text, Python-Markdown tries each of its ~15 inline patterns in turn
(code, escapes, links, images, autolinks, HTML, entities, emphasis, footnotes), and
each try costs a Python call, a regular-expression search and some bookkeeping, even
when the text holds none of the characters the pattern starts with. That is most of a
lesson's rendering time. Here a pattern is skipped when the text lacks every character
sequence its expression requires (a link needs ``[``, an entity ``&``): the result is
exactly what the pattern would have done, since its search would have found nothing.
Patterns we do not know are always tried. The four reference patterns (``[text][id]``,
``[id]`` and their images) are skipped too while the document defines no reference
(``[id]: https://…``): each finds only the ids defined, and leaves the text as it was
otherwise, after a search and a scan of the brackets for every ``[``.
"""

from __future__ import annotations

from markdown import Markdown, inlinepatterns, util
from markdown.treeprocessors import InlineProcessor

_NEEDS: dict[str, tuple[str, ...]] = {
    inlinepatterns.BACKTICK_RE: ("`",),
    inlinepatterns.ESCAPE_RE: ("\\",),
    inlinepatterns.LINK_RE: ("[",),  # also reference and short reference
    inlinepatterns.IMAGE_LINK_RE: ("![",),  # also image references
    inlinepatterns.AUTOLINK_RE: ("<",),
    inlinepatterns.AUTOMAIL_RE: ("<",),
    inlinepatterns.LINE_BREAK_RE: ("  \n",),
    inlinepatterns.HTML_RE: ("<",),
    inlinepatterns.ENTITY_RE: ("&",),
    r"\*|_": ("*", "_"),  # emphasis and strong (Python-Markdown 3.10's delimiters)
    r"\[\^([^\]]*)\]": ("[^",),  # footnote references
}


_BY_REFERENCE = frozenset({
    inlinepatterns.ReferenceInlineProcessor, inlinepatterns.ImageReferenceInlineProcessor,
    inlinepatterns.ShortReferenceInlineProcessor,
    inlinepatterns.ShortImageReferenceInlineProcessor})
"""The patterns that make a link only from a reference the document defines."""


class QuickInlineProcessor(InlineProcessor):
    """Drop-in for Python-Markdown's ``inline`` tree processor."""

    def __init__(self, md: Markdown) -> None:
        super().__init__(md)
        self._needs: list[tuple[str, ...] | None] | None = None
        self._by_reference: list[bool] = []

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:  # noqa: N802
        # The loop of InlineProcessor.__handleInline (Python-Markdown 3.11), with the check.
        if isinstance(data, util.AtomicString):
            return data
        patterns = self.inlinePatterns
        needs = self._needs
        if needs is None or len(needs) != len(patterns):
            needs = self._needs = [_NEEDS.get(getattr(p.compiled_re, "pattern", ""))
                                   for p in patterns]
            self._by_reference = [type(p) in _BY_REFERENCE for p in patterns]
        by_reference = self._by_reference if not self.md.references else None
        start = 0
        count = len(patterns)
        apply = self._InlineProcessor__applyPattern  # type: ignore[attr-defined]
        while patternIndex < count:
            wanted = needs[patternIndex]
            if wanted is not None and wanted[0] not in data and (
                    len(wanted) == 1 or not any(w in data for w in wanted[1:])) or (
                    by_reference is not None and by_reference[patternIndex]):
                patternIndex, start = patternIndex + 1, 0  # (what a failed search returns)
                continue
            data, matched, start = apply(patterns[patternIndex], data, patternIndex, start)
            if not matched:
                patternIndex += 1
        return data


def install(md: Markdown) -> None:
    """Put the quick processor in place of Python-Markdown's own (same name, priority),
    when Python-Markdown is built as the one it copies (else leave its own)."""
    stock = md.treeprocessors["inline"] if "inline" in md.treeprocessors else None
    if type(stock) is InlineProcessor and all(
            hasattr(InlineProcessor, name)
            for name in ("_InlineProcessor__handleInline", "_InlineProcessor__applyPattern")):
        md.treeprocessors.register(QuickInlineProcessor(md), "inline", 20)
