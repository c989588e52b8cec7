"""The quicker block-level passes (block processors' tests, the preprocessors, the
unescaping of backslash escapes, the check for what loads from other hosts) give
exactly what Python-Markdown's own and the full check do."""

from __future__ import annotations

import random

import pytest
from markdown.blockprocessors import HashHeaderProcessor
from markdown.preprocessors import NormalizeWhitespace

from trainkit import offsite
from trainkit.markdown_ext import MarkdownRenderer, quick_blocks, quick_tree

EVERY_BLOCK = """\
Setext title
============

Second level
---

# Hash *title* #
####### not a heading
Text with a # in it, and a > in it, and a | in it.

---
* * *
 _  _  _
  - - -
   ***
    ---

- item
- [ ] a task
- [x] a done task with a [link](other.md)

1. first
2. second
    - nested

> Quoted
> > twice quoted
continued lazily

| a | b |
|---|---|
| x | y |

one | two
--- | ---
1 | 2

|single|
|---|
|cell|

Text[^n] and a [ref] and [another][r].

[^n]: The note,
    continued.
[ref]: https://example.com/ref "Title"
  [r]: <https://example.com/r>

```python
code = "```"  # not the end
```

~~~
tilde ~~~ fence
~~~

<div markdown="1">
A *raw* block & more.
</div>

Entities: &amp; &copy; &#169; &#xA9; &#169 &copy AT&T &notanentity; a < b > c.

Escapes: \\*not em\\*, \\# not a heading, \\> not a quote, \\| and \\\\ and \\`.

\tTab-indented code

Trailing spaces  
make a break.
   \n\n  \n\t\n
Windows\r\nline\rendings.

    indented code | with # and > inside
"""

LINES = [
    "", "", "", "plain words", "# heading", "## heading ##", "Setext", "===", "---", "- - -",
    " * * *", "___", "-", "- item", "* item", "1. one", "> quote", ">", "| a | b |",
    "|---|---|", "a | b", "--- | ---", "[r]: https://example.com", "[^1]: note", "text[^1]",
    "```", "~~~", "```js", "<div>", "</div>", "<b>bold</b>", "&amp;", "AT&T", "&#169 no semicolon", "&copy x", "\\*", "\\",
    "    code", "\tcode", " ", "  ", "   ", " \t ", "text  ", "!!! note", "    inside", "[TOC]",
    "{: .x }", "- [ ] task", "- [x] done", "![img](a.png)", "[link](other.md)", "\r", "a\rb",
]


def render(text: str) -> str:
    return MarkdownRenderer().render(text, source="a.md", body_line=1, page_url="a/b/",
                                     owner="a/b", targets={"other.md": "a/other/"}).html


def _fuzzed(seed: int) -> str:
    rng = random.Random(seed)
    return "\n".join(rng.choice(LINES) for _ in range(rng.randint(1, 30)))


@pytest.mark.parametrize("text", [EVERY_BLOCK, "", "Just words.", "#", ">", "|", "---", "\\",
                                  "<", "&", "```", "~~~", " \n \n", "\t", "\r\n",
                                  *(_fuzzed(seed) for seed in range(300))])
def test_the_same_html_as_python_markdown_s_own(text: str, monkeypatch) -> None:
    quick = render(text)
    monkeypatch.setattr(quick_blocks, "install", lambda md: None)
    monkeypatch.setattr(quick_tree, "unescape_where_escaped", lambda md: None)
    assert quick == render(text)


def test_they_are_in_place() -> None:
    md = MarkdownRenderer()._md
    assert isinstance(md.preprocessors["normalize_whitespace"], quick_blocks._QuickWhitespace)
    assert isinstance(md.preprocessors["html_block"], quick_blocks._HtmlBlocksWhereTags)
    assert isinstance(md.preprocessors["fenced_code_block"], quick_blocks._FencesWhereMarked)
    assert isinstance(md.treeprocessors["unescape"], quick_tree._UnescapeWhereEscaped)
    gated = [name for name in ("table", "hashheader", "setextheader", "hr", "quote",
                               "footnote", "reference")
             if "test" in vars(md.parser.blockprocessors[name])]
    assert len(gated) == 7


def test_a_subclass_is_left_as_it_is() -> None:
    class Mine(HashHeaderProcessor):
        pass

    md = MarkdownRenderer()._md
    md.parser.blockprocessors.register(Mine(md.parser), "hashheader", 70)
    md.preprocessors.register(type("Own", (NormalizeWhitespace,), {})(md),
                              "normalize_whitespace", 30)
    quick_blocks.install(md)
    assert "test" not in vars(md.parser.blockprocessors["hashheader"])
    assert type(md.preprocessors["normalize_whitespace"]).__name__ == "Own"


BOX = '<input data-task="ab12" id="task-ab12" type="checkbox">'
CHECKED = '<input data-task="cd34" id="task-cd34" type="checkbox" checked="checked">'


def _fully_checked(html: str) -> tuple[str, list[offsite.Offsite]]:
    """What :func:`offsite.keep_on_site` gives when it looks at every tag."""
    html, found = offsite._elements(html)
    if "url(" in html.lower():
        html = offsite._ANY_TAG.sub(lambda tag: offsite._unstyled(tag, found), html)
    return html, found


@pytest.mark.parametrize("html", [
    f"<ul><li>{BOX}<label>x</label></li><li>{CHECKED}</li></ul><p>(not a url) (url) x</p>",
    f'{BOX}<input data-task="a" id="b" type="checkbox" src="https://x.test/p.png" type="image">',
    f'{BOX}<INPUT TYPE="image" SRC="https://x.test/p.png">',
    f'{CHECKED}<input data-task="a" id="b" type="image" src="https://x.test/p.png">',
    '<input type="checkbox" data-task="a" id="b" src="//x.test/p.png" type="image">',
    '<p style="background: URL(https://x.test/bg.png)">x</p>',
    "<p>(</p><p>url(</p>",
    '<img src="https://x.test/p.png" alt="p">',
    '<IMG SRC="//x.test/p.png">',
    '<p><a href="https://x.test/">a link only</a></p>',
    "<style>@import 'https://x.test/a.css';</style>",
])
def test_what_loads_from_elsewhere_is_found_as_by_looking_at_every_tag(html):
    assert offsite.keep_on_site(html) == _fully_checked(html)


def test_a_checklist_s_own_boxes_are_not_looked_at() -> None:
    assert not offsite._may_load(f"<ul><li>{BOX}</li><li>{CHECKED}</li></ul><p>(a) b</p>")
    assert offsite._may_load(f"<li>{BOX}</li><li>{BOX[:-1]} src=x>")


def test_the_block_processors_order_is_kept_until_it_changes() -> None:
    md = MarkdownRenderer()._md
    processors = md.parser.blockprocessors
    assert isinstance(processors, quick_blocks._OrderKept)
    before = list(processors)
    assert [type(p).__name__ for p in before][-1] == "ParagraphProcessor"
    extra = HashHeaderProcessor(md.parser)
    processors.register(extra, "extra", 1000)
    assert list(processors) == [extra, *before]
    processors.deregister("extra")
    assert list(processors) == before
