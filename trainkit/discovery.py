"""The files that let a site be found: ``sitemap.xml``, the Atom ``feed.xml`` and
``robots.txt``.

A pure function of the resolved site and its pages, like the rest of rendering. The output
is deterministic: dates come from the content (a lesson's ``updated``), never the clock.

- ``sitemap.xml`` needs absolute URLs, so it is written only when ``base_url`` is set
  (a warning at ``trainkit.yaml:1`` says so otherwise).
- ``feed.xml`` is always written. With ``base_url`` its links and ids are absolute; without
  it the links are relative to the feed (``courses/a/b/``, which feed readers resolve
  against the feed's own address) and each id is a stable ``urn:uuid:`` — still valid Atom.
- ``robots.txt`` allows everything and names the sitemap when there is one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Iterable
from xml.sax.saxutils import escape, quoteattr

from . import urls
from .loader import CONFIG_FILE
from .model import Lesson, Site
from .problems import Problem, warning

SITEMAP = "sitemap.xml"
FEED = urls.FEED
ROBOTS = "robots.txt"
FEED_SIZE = 50
"""The newest lessons the feed carries."""
_NOT_LISTED = ("404.html", "search/index.html")


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


def feed(site: Site, base: str | None) -> bytes:
    config = site.config
    lessons = feed_lessons(site)
    newest = lessons[0].updated if lessons else config.released
    titles = {c.slug: c.title for c in site.courses}
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
    for lesson in lessons:
        url = urls.lesson_url(lesson.key)
        summary = lesson.summary or f"A lesson in {titles.get(lesson.course, lesson.course)}."
        lines += ["  <entry>",
                  f"    <id>{escape(_id(site, base, url))}</id>",
                  f"    <title>{escape(lesson.title)}</title>",
                  f"    <updated>{_timestamp(lesson.updated)}</updated>",
                  f'    <link rel="alternate" type="text/html" href={quoteattr(_href(base, url))}/>',
                  f"    <summary>{escape(summary)}</summary>"]
        if lesson.author:
            lines.append(f"    <author><name>{escape(lesson.author)}</name></author>")
        lines += [f"    <category term={quoteattr(tag)}/>" for tag in lesson.tags]
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
