"""The files that let a site be found: ``sitemap.xml``, the Atom ``feed.xml`` and
``robots.txt``.

A pure function of the resolved site and its pages, like the rest of rendering. The output
is deterministic: dates come from the content (a lesson's ``updated``), never the clock.

- ``sitemap.xml`` needs absolute URLs, so it is written only when ``base_url`` is set
  (a warning at ``trainkit.yaml:1`` says so otherwise).
- ``feed.xml`` is always written. With ``base_url`` its links and ids are absolute; without
  it the links are relative to the feed (``courses/a/b/``, which feed readers resolve
  against the feed's own address) and each id is a stable ``urn:uuid:`` — still valid Atom.
  A site with one version lists its dated lessons (``updated``). Once there are snapshots,
  the build replaces it with :func:`version_feed`: the lessons added, changed and removed
  in each version, from the same change list as the ``changes/`` page.
- ``robots.txt`` allows everything and names the sitemap when there is one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

from . import urls
from .loader import CONFIG_FILE
from .model import Lesson, Site
from .problems import Problem, warning

if TYPE_CHECKING:
    from .changes import Entry, VersionChanges

SITEMAP = "sitemap.xml"
FEED = urls.FEED
ROBOTS = "robots.txt"
FEED_SIZE = 50
"""The newest lessons the feed carries."""
_NOT_LISTED = ("404.html", "search/index.html")


def escape(text: str) -> str:
    """XML text: what :func:`xml.sax.saxutils.escape` does (that module imports
    ``urllib.request``, and with it HTTP and e-mail: 15 ms of every build's start)."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def quoteattr(text: str) -> str:
    """An XML attribute value with its quotes, as :func:`xml.sax.saxutils.quoteattr`."""
    text = escape(text).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return '"%s"' % text.replace('"', "&quot;")


def discovery_files(site: Site, page_paths: Iterable[str], *, serve: bool = False,
                    ) -> tuple[list[tuple[str, bytes]], list[Problem]]:
    """``(output path, bytes)`` for each discovery file, and the problems found."""
    base = _base(site)
    files = [(FEED, feed(site, base)), (ROBOTS, robots(base))]
    problems = []
    if base:
        files.append((SITEMAP, sitemap(site, base, page_paths)))
    elif not serve:
        problems.append(warning(CONFIG_FILE, 1, "no base_url, so sitemap.xml is not written "
                                "(it needs absolute addresses) and feed.xml uses relative "
                                "links: add base_url: https://… with the address the site "
                                "is published at"))
    return files, problems


def _base(site: Site) -> str | None:
    base = site.config.base_url
    return base.rstrip("/") + "/" if base else None


def sitemap(site: Site, base: str, page_paths: Iterable[str]) -> bytes:
    """Every HTML page but the 404 and search pages, with ``lastmod`` for dated lessons."""
    lastmod = {urls.output_file(urls.lesson_url(key)): lesson.updated
               for key, lesson in site.lessons.items() if lesson.updated}
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for path in sorted(p for p in page_paths if p.endswith(".html") and p not in _NOT_LISTED):
        url = base + (path[:-len("index.html")] if path.endswith("index.html") else path)
        date = lastmod.get(path)
        lines.append(f"  <url><loc>{escape(url)}</loc>"
                     + (f"<lastmod>{date.isoformat()}</lastmod>" if date else "") + "</url>")
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def feed_lessons(site: Site) -> list[Lesson]:
    """Dated lessons, newest first (ties in course order), at most FEED_SIZE."""
    dated = [lesson for lesson in site.lessons.values() if lesson.updated and not lesson.draft]
    order = {key: i for i, key in enumerate(site.lessons)}
    dated.sort(key=lambda l: (-l.updated.toordinal(), order[l.key]))  # type: ignore[union-attr]
    return dated[:FEED_SIZE]


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One ``<entry>`` of the Atom feed."""

    url: str
    """Its page, relative to the built site's root."""
    ident: str
    """What its ``<id>`` is made from: unique in the feed and the same build after build."""
    title: str
    updated: dt.date | None
    summary: str
    author: str | None = None
    tags: tuple[str, ...] = ()


def lesson_entries(site: Site) -> list[FeedEntry]:
    """The feed of a site with one version: its dated lessons, newest first."""
    titles = {c.slug: c.title for c in site.courses}
    out = []
    for lesson in feed_lessons(site):
        url = urls.lesson_url(lesson.key)
        summary = lesson.summary or f"A lesson in {titles.get(lesson.course, lesson.course)}."
        out.append(FeedEntry(url, url, lesson.title, lesson.updated, summary, lesson.author,
                             lesson.tags))
    return out


def change_entries(site: Site, changes: Sequence["VersionChanges"]) -> list[FeedEntry]:
    """The lessons added, changed and removed in each version (``changes`` newest first, as
    :func:`trainkit.changes.change_list` returns them), newest first, at most FEED_SIZE.
    A released version's entries carry its release date; the current version's carry
    the lesson's ``updated`` date, but never one before the previous release."""
    out = []
    for version, older in zip(changes, changes[1:]):
        before = dt.date.fromisoformat(older.released) if older.released else None
        for kind, entries in (("Changed", version.lessons_changed),
                              ("Added", version.lessons_added),
                              ("Removed", version.lessons_removed)):
            for entry in entries:
                date = _change_date(site, version, entry.key, before)
                out.append(FeedEntry(entry.url,
                                     f"{urls.lesson_url(entry.key)}#{kind.lower()}-{version.label}",
                                     entry.title, date, _change_summary(kind, version, entry)))
    out.sort(key=lambda e: -(e.updated or dt.date.min).toordinal())  # stable: list order
    return out[:FEED_SIZE]


def _change_date(site: Site, version: "VersionChanges", key: str,
                 before: dt.date | None) -> dt.date | None:
    if version.released:
        return dt.date.fromisoformat(version.released)
    lesson = site.lessons.get(key)
    dates = [d for d in (before, lesson.updated if lesson else None) if d]
    return max(dates) if dates else None


def _change_summary(kind: str, version: "VersionChanges", entry: "Entry") -> str:
    if kind == "Removed":
        return f"Removed in {version.label}; the link leads to it in {version.previous}."
    if kind == "Added":
        return f"Added in {version.label}."
    parts = [f"{len(items)} checklist item{'' if len(items) == 1 else 's'} {verb}"
             for items, verb in ((entry.items_added, "added"), (entry.items_removed, "removed"))
             if items]
    return f"Changed in {version.label}: " + (", ".join(parts) or "the text was revised")


def feed(site: Site, base: str | None) -> bytes:
    """The feed of a site with one version (see :func:`version_feed` for more)."""
    return atom(site, base, lesson_entries(site))


def version_feed(site: Site, changes: Sequence["VersionChanges"]) -> bytes:
    """The feed of a site with snapshots: what changed in each version."""
    return atom(site, _base(site), change_entries(site, changes))


def atom(site: Site, base: str | None, entries: Sequence[FeedEntry]) -> bytes:
    config = site.config
    newest = entries[0].updated if entries else config.released
    lines = ['<?xml version="1.0" encoding="utf-8"?>',
             '<feed xmlns="http://www.w3.org/2005/Atom">',
             f"  <id>{escape(_id(site, base, ''))}</id>",
             f"  <title>{escape(config.title)}</title>",
             f"  <subtitle>{escape(config.description or 'New and changed lessons')}</subtitle>",
             f"  <updated>{_timestamp(newest)}</updated>",
             f"  <author><name>{escape(config.title)}</name></author>",
             f'  <link rel="self" type="application/atom+xml" href={quoteattr(_href(base, FEED))}/>',
             f'  <link rel="alternate" type="text/html" href={quoteattr(_href(base, urls.HOME) or "./")}/>',
             "  <generator>trainkit</generator>"]
    for entry in entries:
        lines += ["  <entry>",
                  f"    <id>{escape(_id(site, base, entry.ident))}</id>",
                  f"    <title>{escape(entry.title)}</title>",
                  f"    <updated>{_timestamp(entry.updated)}</updated>",
                  f'    <link rel="alternate" type="text/html" href={quoteattr(_href(base, entry.url))}/>',
                  f"    <summary>{escape(entry.summary)}</summary>"]
        if entry.author:
            lines.append(f"    <author><name>{escape(entry.author)}</name></author>")
        lines += [f"    <category term={quoteattr(tag)}/>" for tag in entry.tags]
        lines.append("  </entry>")
    lines.append("</feed>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def robots(base: str | None) -> bytes:
    text = "User-agent: *\nAllow: /\n"
    if base:
        text += f"\nSitemap: {base}{SITEMAP}\n"
    return text.encode("utf-8")


def _href(base: str | None, url: str) -> str:
    return (base or "") + url


def _id(site: Site, base: str | None, url: str) -> str:
    """The page's absolute URL, or a name-based UUID that stays the same build after build."""
    if base:
        return base + url
    return uuid.uuid5(uuid.NAMESPACE_URL, f"trainkit:{site.config.title}:{url}").urn


def _timestamp(date: dt.date | None) -> str:
    return f"{(date or dt.date(1970, 1, 1)).isoformat()}T00:00:00Z"
