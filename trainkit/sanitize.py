"""Sanitizing HTML that comes from someone else (an upline's pack), with nh3.

Runs after Markdown rendering and keeps what Markdown and trainkit's extensions produce
(headings, lists, tables, emphasis, code, blockquotes, admonitions, footnotes, images,
links, checklist boxes) and nothing else: no scripts, styles, iframes, objects, embeds,
forms, event handlers, or ``javascript:``/``data:`` URLs, however they are encoded.
nh3 (the Rust ammonia library) parses HTML the way browsers do, which a regex never can.
"""

from __future__ import annotations

import nh3

TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "blockquote", "pre", "code",
    "em", "strong", "b", "i", "u", "s", "del", "ins", "mark", "small", "sub", "sup", "abbr",
    "kbd", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "th",
    "td", "caption", "a", "img", "div", "span", "figure", "figcaption", "input", "label",
}
ATTRIBUTES = {
    "*": {"id", "class", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "loading"},
    "input": {"checked", "data-task", "disabled"},
    "label": {"for"},
    "abbr": {"title"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start"},
}
REMOVE_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "form", "noscript",
                       "template", "svg", "math", "textarea", "select", "button"}


def sanitize(html: str) -> str:
    return nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags=REMOVE_WITH_CONTENT,
        attributes=ATTRIBUTES,
        tag_attribute_values={"input": {"type": {"checkbox"}}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
