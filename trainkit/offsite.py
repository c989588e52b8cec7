"""Pages load nothing from other hosts (SPEC.md), whoever wrote the content.

An image, video, audio clip, frame or embed whose address is on another host would be
fetched by every reader's browser each time the page opens: a tracker's pixel works that
way, and a pack from an upline could carry one to every downline's readers. Each is
replaced here by a link to the same address (the reader can still open it, by choice),
and the author gets a warning at its line saying how to show it on the page. A script,
stylesheet or style (``url(...)``, ``@import``) from another host in raw HTML is left
out: a link to one is no use.

Runs on a body's finished HTML, before an upline's HTML is sanitized, so it sees raw
HTML the way the author wrote it as well as what Markdown made.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_TAG = r"<({names})\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>"
_ELEMENTS = re.compile(_TAG.format(names="img|iframe|video|audio|picture|object|embed|script"
                                         "|style|link|source|track|input|a|/a"), re.IGNORECASE)
_ANY_TAG = re.compile(_TAG.format(names=r"[a-zA-Z][^\s/>]*"))
_CSS_URL = re.compile(r"""(?:url\(|@import)\s*(?:url\(\s*)?["']?\s*((?:https?:)?//[^"')\s;]+)""",
                      re.IGNORECASE)
_LOADING_TAG = re.compile(r"<(?i:img|iframe|video|audio|picture|object|embed|script|style|link"
                          r"|source|track"
                          r'|(?!input data-task="[^"<>]*" id="[^"<>]*" type="checkbox"'
                          r'(?: checked="checked")?>)input)\b')
"""A tag that may load from elsewhere, but for a checklist's box just as the Markdown
makes it (those attributes and no other, which load nothing): with one, every tag of a
lesson with a checklist was looked at (0.1 ms a lesson). Searched for the ``<`` it
starts with, it takes a fifth of the time one expression with ``url(`` did."""
_CONTAINERS = {"iframe", "video", "audio", "picture", "object", "script", "style"}
"""Elements whose content goes with them (a video's sources, a picture's image)."""
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_ATTRIBUTE_ALT = re.compile(r"""\balt\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_LOADED_FROM = ("src", "srcset", "poster", "data")
_KINDS = {"img": "Image", "picture": "Image", "input": "Image", "video": "Video",
          "audio": "Audio", "iframe": "Embedded page", "object": "Embedded content",
          "embed": "Embedded content"}


@dataclass(frozen=True, slots=True)
class Offsite:
    """An element that would have loaded ``url`` from another host."""

    url: str
    kind: str
    """What it was ("Image", "Video", ...), or "" for a script or style, removed."""


def keep_on_site(html: str) -> tuple[str, list[Offsite]]:
    """``html`` with every element that loads from another host replaced by a link to
    its address (or removed), and what was replaced, in order."""
    if not _may_load(html):
        return html, []
    html, found = _elements(html)
    if "url(" in html.lower():
        html = _ANY_TAG.sub(lambda tag: _unstyled(tag, found), html)
    return html, found


def _may_load(html: str) -> bool:
    """Whether ``html`` has a tag that may load from elsewhere, or a ``url(``."""
    if _LOADING_TAG.search(html):
        return True
    at = html.find("(")
    while at != -1:
        if html[max(0, at - 3):at].lower() == "url":
            return True
        at = html.find("(", at + 1)
    return False


def _elements(html: str) -> tuple[str, list[Offsite]]:
    out: list[str] = []
    found: list[Offsite] = []
    done = 0  # html[:done] is in out
    in_link = 0
    at = 0
    while (match := _ELEMENTS.search(html, at)) is not None:
        name = match[1].lower()
        at = match.end()
        if name in ("a", "/a"):
            in_link = max(0, in_link + (1 if name == "a" else -1))
            continue
        attributes = _attributes(match[2])
        if name == "input" and attributes.get("type", "").lower() != "image":
            continue
        end = match.end()
        urls = _remote(name, attributes)
        if name in _CONTAINERS:
            close = re.compile(rf"</{name}\s*>", re.IGNORECASE).search(html, end)
            if close is not None:
                end = close.end()
                inner = html[match.end():close.start()]
                urls += ([m[1] for m in _CSS_URL.finditer(inner)] if name == "style" else
                         [u for m in _ELEMENTS.finditer(inner)
                          for u in _remote(m[1].lower(), _attributes(m[2]))])
        if not urls:
            continue
        kind = _KINDS.get(name, "")
        found.append(Offsite(urls[0], kind))
        out.append(html[done:match.start()])
        if kind:
            out.append(_as_link(urls[0], kind, attributes, html[match.end():end], in_link))
        done = at = end
    out.append(html[done:])
    return "".join(out), found


def _unstyled(tag: re.Match[str], found: list[Offsite]) -> str:
    """A tag without its ``style`` attribute when that loads from another host
    (``background: url(https://...)``)."""
    if "url(" not in tag[2].lower():
        return tag[0]
    kept, dropped = [], False
    for attribute in _ATTRIBUTE.finditer(tag[2]):
        value = htmllib.unescape(attribute[2] or attribute[3] or attribute[4] or "")
        remote = _CSS_URL.search(value) if attribute[1].lower() == "style" else None
        if remote is None:
            kept.append(attribute[0])
        else:
            found.append(Offsite(remote[1], ""))
            dropped = True
    return f"<{tag[1]}{''.join(' ' + a for a in kept)}>" if dropped else tag[0]


def _attributes(text: str) -> dict[str, str]:
    return {m[1].lower(): htmllib.unescape(m[2] or m[3] or m[4] or "")
            for m in _ATTRIBUTE.finditer(text)}


def _remote(name: str, attributes: dict[str, str]) -> list[str]:
    """The addresses on other hosts this one element would load."""
    values = [attributes.get(a, "") for a in _LOADED_FROM]
    if name == "link":
        values.append(attributes.get("href", ""))
    urls = []
    for value in values:
        for candidate in value.split(","):  # srcset: "url 2x, url 3x"
            url = candidate.strip().split(" ")[0]
            if _is_remote(url):
                urls.append(url)
    return urls


def _is_remote(url: str) -> bool:
    parts = urlsplit(url.strip())
    return bool(parts.netloc) or parts.scheme.lower() in ("http", "https", "ftp")


def _as_link(url: str, kind: str, attributes: dict[str, str], inner: str, in_link: int) -> str:
    """A link to what the element showed, named by its alt text or title (or by what it
    was and where from). Inside another link (a linked image), only the name."""
    host = urlsplit(url).netloc or url
    name = (attributes.get("alt") or attributes.get("title") or "").strip()
    if not name and inner:
        alt = _ATTRIBUTE_ALT.search(inner)
        name = htmllib.unescape(alt[1]).strip() if alt else ""
    text = htmllib.escape(f"{name} ({host})" if name else f"{kind} on {host}")
    if in_link:
        return f'<span class="offsite">{text}</span>'
    return (f'<a class="offsite" href="{htmllib.escape(url)}" '
            f'rel="noopener noreferrer">{text}</a>')

