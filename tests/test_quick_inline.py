"""The quick inline processor renders exactly what Python-Markdown's own does."""

from __future__ import annotations

import pytest

from trainkit.markdown_ext import MarkdownRenderer, quick_inline

EVERY_INLINE = """\
# Title with `code` and *emphasis* {#custom}

Plain words only, nothing to find here.

Code `a [b] *c*`, ``double `tick` ``, escapes \\*not em\\* and \\[not a link\\].
A [link](https://example.com "title") and [*emphasis* inside](other.md), a [ref][r],
a [short ref], an ![image](pic.png), an ![image ref][r] and ![short ref].
<https://example.com/auto> and <someone@example.com>, inline <b>html</b> & &amp; &#38;.
Two spaces end this line  
then **strong**, __strong__, *em*, _em_, ***both***, snake_case_word, 2 * 3 * 4,
a footnote[^1] and a literal [^ not one.
- [ ] a task with a [link](https://example.com)
- [x] done *well*

> Quoted _text_ with `code`.

| a | b |
|---|---|
| *x* | [y](https://example.com) |

[r]: https://example.com/r
[short ref]: https://example.com/s
[^1]: The note, with *emphasis*.
"""


UNDEFINED_REFERENCES = """\
A [ref][r], a [spaced] [r], a [short ref], an ![image ref][r] and ![short ref], with
none of them defined; a [real link](https://example.com) and [another][] beside.
"""


@pytest.mark.parametrize("text", [EVERY_INLINE, UNDEFINED_REFERENCES,
                                  UNDEFINED_REFERENCES + "\n[r]: https://example.com/r\n",
                                  "", "Just words.", "*", "[", "&", "<", "`"])
def test_the_same_html_as_python_markdown_s_own(text: str, monkeypatch) -> None:
    def render() -> str:
        return MarkdownRenderer().render(text, source="a.md", body_line=1, page_url="a/b/",
                                         owner="a/b", targets={"other.md": "a/other/"}).html

    quick = render()
    monkeypatch.setattr(quick_inline, "install", lambda md: None)
    assert quick == render()


def test_it_is_in_place() -> None:
    md = MarkdownRenderer()._md
    assert isinstance(md.treeprocessors["inline"], quick_inline.QuickInlineProcessor)
