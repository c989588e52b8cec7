"""The quicker passes (heading anchors, attribute lists, admonitions, block-level tags)
render exactly what Python-Markdown's own do, and a ``[TOC]`` paragraph still gets its
table."""

from __future__ import annotations

import pytest
from markdown import Markdown
from markdown.extensions.admonition import AdmonitionExtension
from markdown.extensions.attr_list import AttrListExtension
from markdown.extensions.toc import TocExtension
from markdown.util import Registry

from trainkit.markdown_ext import MarkdownRenderer, quick_tree

HEADINGS = """\
# Title

## Step one {#own-id}

Text with <span>inline html</span> and a [link](other.md).

## Step one

### Café & *co* {data-toc-label="Cafe"}

!!! note "A note"
    ## Inside a note

- a list
- [ ] a task

<div>raw block</div>

## Last[^1]

[^1]: A footnote.
"""


def render(text: str) -> str:
    return MarkdownRenderer().render(text, source="a.md", body_line=1, page_url="a/b/",
                                     owner="a/b", targets={"other.md": "a/other/"}).html


ADMONITIONS = """\
!!! tip "First"
    Indented *text*.

    A second paragraph of it.

- a list item

    !!! warning
        Inside the item.

Not !!! one, and

    !!! in code
"""


ATTRIBUTES = """\
A paragraph with a class.
{: .lead }

- an item {: .first }
- [ ] a task

| a | b {: #col } |
|---|---|
| x | y |

Escaped \\{: .not } and &#123;: .neither } and `{: .code }`.
"""


@pytest.mark.parametrize("text", [HEADINGS, ATTRIBUTES, ADMONITIONS, HEADINGS + "\n[TOC]\n",
                                  "[TOC]\n\n## Only", "Not [TOC] alone.\n\n## Heading", "",
                                  "Just words."])
def test_the_same_html_as_python_markdown_s_own(text: str, monkeypatch) -> None:
    quick = render(text)
    monkeypatch.setattr(quick_tree, "HeadingAnchors", TocExtension)
    monkeypatch.setattr(quick_tree, "install_block_level_set", lambda md: None)
    monkeypatch.setattr(quick_tree, "AttributeLists", AttrListExtension)
    monkeypatch.setattr(quick_tree, "Admonitions", AdmonitionExtension)
    plain = render(text)
    assert quick == plain


def test_a_toc_paragraph_gets_the_table_of_contents() -> None:
    html = render("[TOC]\n\n## Getting started\n\n## Next steps\n")
    assert '<div class="toc">' in html
    assert '<a href="#getting-started">Getting started</a>' in html
    assert "[TOC]" not in html
    assert '<div class="toc">' not in render("## Getting started\n\nNo table here.\n")


def test_an_attribute_list_still_applies() -> None:
    assert '<p class="lead">A paragraph with a class.</p>' in render(ATTRIBUTES)


def priorities(processors: Registry) -> dict[str, float]:
    return {item.name: item.priority for item in processors._priority}


def test_it_is_in_place() -> None:
    md = MarkdownRenderer()._md
    assert isinstance(md.treeprocessors["toc"], quick_tree._AnchorsFirst)
    assert isinstance(md.treeprocessors["attr_list"], quick_tree._AttrListWhereBraces)
    plain = Markdown(extensions=["tables", "fenced_code", "footnotes", "attr_list", "admonition",
                                 "sane_lists", "toc"])
    assert isinstance(md.parser.blockprocessors["admonition"], quick_tree._AdmonitionsWhereMarked)
    assert len(quick_tree.gated(md)) == 4  # (toc, attr_list, admonition, unescape)
    for ours, own in ((md.treeprocessors, plain.treeprocessors),
                      (md.parser.blockprocessors, plain.parser.blockprocessors)):
        theirs = priorities(own)
        assert {name: p for name, p in priorities(ours).items() if name in theirs} == theirs
    assert md.is_block_level("P") and md.is_block_level("hr/") and not md.is_block_level("em")
