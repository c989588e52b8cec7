"""The context of every page: plain dicts the theme's templates read.

Each function takes the resolved site (and the rendered bodies) and returns the
variables for one page; every URL in them is already relative to that page. Templates
get precomputed data only, never the whole site, so a page's context is cheap to build
and depends only on what the page shows.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Iterator
from urllib.parse import urlsplit

from markupsafe import Markup

from . import __version__, urls
from .cache import Carried
from .model import (Course, LearningPath, Lesson, Link, Reading, Section, Site, Upline,
                    lesson_digest)

if TYPE_CHECKING:
    from .render import Bodies

Context = dict[str, Any]
Facts = dict[str, dict[str, str]]
"""Per lesson key, what the reader's progress script needs (see :func:`lesson_facts`)."""


@dataclass(frozen=True, slots=True)
class Planned:
    """One page to render: its URL, what its context is made from, and how to make it."""

    url: str
    inputs: tuple[Any, ...]
    """Every value its context is built from. Pages whose inputs compare equal have
    equal contexts, so ``serve`` renders again only the pages whose inputs changed
    (without building the others' contexts at all)."""
    make: Callable[[], Context]


def contexts(site: Site, bodies: "Bodies", serve: bool = False) -> Iterator[Context]:
    """Every page of the site, in a stable order."""
    return (page.make() for page in plan(site, bodies, serve))


def plan(site: Site, bodies: "Bodies", serve: bool = False,
         memo: Carried[Any, Any] | None = None) -> Iterator[Planned]:
    """Every page of the site, in a stable order, before its context is made.

    ``memo`` keeps derived values from the previous rebuild of this process (lesson
    facts, and the inputs every page shares), so unchanged values stay the very same
    objects and comparing inputs costs little."""
    memo = memo if memo is not None else Carried()
    facts = lesson_facts(site, bodies, memo)
    base = memo.same("base", (site.config, site.versions, site.include_drafts, serve))
    item = {key: (lesson, facts[key]) for key, lesson in site.lessons.items()}
    course_links: dict[str, list[Link]] = defaultdict(list)
    for link in site.links:
        if link.course is not None:
            course_links[link.course].append(link)
    reading_of = Reading.of(site.links)
    every = memo.same("every", (site.courses, site.paths, tuple(item.values())))
    yield Planned(urls.HOME, (base, every), lambda: home(site, facts, serve))
    for course in site.courses:
        lessons = site.course_lessons(course)
        links = tuple(course_links.get(course.slug, ()))
        yield Planned(urls.course_url(course.slug),
                      (base, course, tuple(item[l.key] for l in lessons), links),
                      partial(course_page, site, facts, course, serve, links))
        for i, lesson in enumerate(lessons):
            prev = lessons[i - 1] if i > 0 else None
            nxt = lessons[i + 1] if i + 1 < len(lessons) else None
            # (most lessons have no sections, reading or prerequisites: no generator
            # is made for them, which was a fifth of planning the pages)
            sections = site.sections.get(lesson.key, ())
            reading = tuple(found for s in lesson.links if (
                found := reading_of.find(lesson.course, s)) is not None) if lesson.links else ()
            inputs = (base, course.slug, course.title, item[lesson.key],
                      bodies.lessons[lesson.key],
                      tuple((s, bodies.sections[s.source]) for s in sections) if sections else (),
                      item[prev.key] if prev else None, item[nxt.key] if nxt else None,
                      i + 1, len(lessons), reading,
                      tuple(site.lessons.get(ref) for ref in lesson.prerequisites)
                      if lesson.prerequisites else ())
            yield Planned(urls.lesson_url(lesson.key), inputs,
                          partial(lesson_page, site, bodies, facts, course, lesson,
                                  (prev, nxt), i + 1, len(lessons), serve, reading))
    courses = {c.slug: c for c in site.courses}
    for path in site.paths:
        steps: list[tuple[object, object]] = []  # a course and its lessons, or a lesson
        for step in path.steps:
            if step.kind == "course" and step.target in courses:
                course = courses[step.target]
                steps.append((course, tuple(item[l.key] for l in site.course_lessons(course))))
            elif step.kind == "lesson" and step.target in site.lessons:
                lesson = site.lessons[step.target]
                steps.append((item[lesson.key], courses[lesson.course].title))
        yield Planned(urls.path_url(path.slug), (base, path, tuple(steps)),
                      partial(path_page, site, facts, path, serve))
    yield Planned(urls.LIBRARY, (base, site.links,
                                 tuple(bodies.notes[link.source] for link in site.links)),
                  partial(library, site, bodies, serve))
    yield Planned(urls.SEARCH, (base,), partial(search_page, site, serve))
    yield Planned("404.html", (base, tuple((c.title, c.slug) for c in site.courses)),
                  partial(not_found, site, serve))


def lesson_facts(site: Site, bodies: "Bodies",
                 memo: Carried[Any, Any] | None = None) -> Facts:
    """For each lesson, what the reader's progress script needs: ``hash``, a digest of
    its content (title, body, upline sections, checklist) to flag a lesson that changed
    since the reader completed it; and ``tasks``, its checklist item ids separated by
    spaces, each prefixed with ``+`` when the source ticks it (``- [x]``)."""
    facts: Facts = {}
    for key, lesson in site.lessons.items():
        sections = site.sections.get(key, ())
        inputs = (lesson, bodies.lessons[key].checklist,
                  tuple((s, bodies.sections[s.source].checklist) for s in sections)
                  if sections else ())
        old = memo.get(("facts", key)) if memo is not None else None
        if old is not None and old[0] == inputs:
            facts[key] = old[1]
        else:
            items = [*bodies.lessons[key].checklist,
                     *(i for s in sections for i in bodies.sections[s.source].checklist)]
            facts[key] = {"hash": lesson_hash(lesson, sections, tuple(i.id for i in items),
                                              memo),
                          "tasks": " ".join(("+" if i.checked else "") + i.id for i in items)}
        if memo is not None:
            memo.keep(("facts", key), (inputs, facts[key]))
    return facts


def lesson_hash(lesson: Lesson, sections: tuple[Section, ...], item_ids: tuple[str, ...],
                memo: Carried[Any, Any] | None) -> str:
    """:func:`~trainkit.model.lesson_digest`, made once for the same lesson, sections and
    checklist: the progress facts and the changes page both need it, and it hashes the
    lesson's whole Markdown (0.1 s for 10,000 lessons)."""
    key = ("hash", lesson.key)
    old = (memo.now.get(key) or memo.get(key)) if memo is not None else None
    if old is not None and old[0] is lesson and old[1] == sections and old[2] == item_ids:
        return old[3]  # type: ignore[no-any-return]
    digest = lesson_digest(lesson, sections, item_ids)
    if memo is not None:
        memo.keep(key, (lesson, sections, item_ids, digest))
    return digest


def _base(site: Site, url: str, title: str, description: str, template: str,
          serve: bool) -> Context:
    """What every page has: the site, the page's own URL and how to reach the root."""
    def href(target: str) -> str:
        return urls.relative(url, target)

    config = site.config
    canonical = (config.base_url.rstrip("/") + "/" + url) if config.base_url else None
    from .versions import page_context  # (versions.py builds on rendering)

    version = page_context(site, url)
    return {
        "template": template,
        "site": {
            "title": config.title, "description": config.description,
            "language": config.language, "version": config.version,
            "generator": f"trainkit {__version__}",
            "id": hashlib.sha1(config.title.encode()).hexdigest()[:8],
        },
        "page": {
            "url": url, "title": title, "canonical": canonical,
            "description": description or config.description,
            "root": urls.root_of(url),
        },
        "nav": {
            "home": href(urls.HOME), "library": href(urls.LIBRARY),
            "assets": href(urls.ASSETS), "feed": href(urls.FEED),
            "search": href(urls.SEARCH),
            **version["nav"],
        },
        "href": href,
        "serve": serve,
        "version": version,
    }


def _attribution(upline: Upline | None) -> str | None:
    return upline.attribution if upline else None


def _total(lessons: list[Lesson]) -> int:
    return sum(lesson.duration or 0 for lesson in lessons)


def _lesson_item(lesson: Lesson, href: Any, facts: Facts) -> dict[str, Any]:
    return {
        "key": lesson.key, "title": lesson.title, "summary": lesson.summary,
        "duration": lesson.duration, "href": href(urls.lesson_url(lesson.key)),
        "draft": lesson.draft, "repeat": lesson.repeat, **facts[lesson.key],
    }


def _course_card(site: Site, course: Course, href: Any, facts: Facts) -> dict[str, Any]:
    lessons = site.course_lessons(course)
    return {
        "slug": course.slug, "title": course.title, "summary": course.summary,
        "href": href(urls.course_url(course.slug)), "lesson_count": len(lessons),
        "duration": _total(lessons), "from": _attribution(course.upline),
        "lessons": [lesson.key for lesson in lessons],
        "hashes": [facts[lesson.key]["hash"] for lesson in lessons],
    }


def home(site: Site, facts: Facts, serve: bool) -> Context:
    ctx = _base(site, urls.HOME, site.config.title, site.config.description, "home.html", serve)
    href = ctx["href"]
    ctx["courses"] = [_course_card(site, c, href, facts) for c in site.courses]
    ctx["paths"] = [_path_card(site, p, href, facts) for p in site.paths]
    return ctx


def course_page(site: Site, facts: Facts, course: Course, serve: bool,
                links: tuple[Link, ...]) -> Context:
    url = urls.course_url(course.slug)
    ctx = _base(site, url, course.title, course.summary, "course.html", serve)
    href = ctx["href"]
    lessons = site.course_lessons(course)
    ctx["course"] = _course_card(site, course, href, facts)
    ctx["lessons"] = [_lesson_item(lesson, href, facts) for lesson in lessons]
    ctx["links"] = [_link_item(link, href, None) for link in links]
    return ctx


def lesson_page(site: Site, bodies: "Bodies", facts: Facts, course: Course, lesson: Lesson,
                neighbours: tuple[Lesson | None, Lesson | None], position: int, count: int,
                serve: bool, reading: tuple[Link, ...]) -> Context:
    from .render import place_sections

    url = urls.lesson_url(lesson.key)
    ctx = _base(site, url, lesson.title, lesson.summary, "lesson.html", serve)
    href = ctx["href"]
    rendered = bodies.lessons[lesson.key]
    sections = site.sections.get(lesson.key, ())
    checklist = list(rendered.checklist)
    for section in sections:
        checklist += bodies.sections[section.source].checklist

    def box(section: Section, level: int) -> Markup:
        return Markup(_section_html(section.title, section.upline,
                                    bodies.sections[section.source].html, level))
    ctx["course"] = {"title": course.title, "href": href(urls.course_url(course.slug)),
                     "slug": course.slug}
    ctx["lesson"] = {
        **_lesson_item(lesson, href, facts),
        "objectives": list(lesson.objectives), "tags": list(lesson.tags),
        "author": lesson.author,
        "updated": lesson.updated.isoformat() if lesson.updated else None,
        "from": _attribution(lesson.upline),
        "position": position, "count": count,
        "body": place_sections(rendered.html, sections, box),
        "checklist": len(checklist),
    }
    ctx["prerequisites"] = [
        {"title": site.lessons[ref].title, "href": href(urls.lesson_url(ref))}
        for ref in lesson.prerequisites if ref in site.lessons
    ]
    ctx["reading"] = [_link_item(link, href, None) for link in reading]
    prev, nxt = neighbours
    ctx["prev"] = _lesson_item(prev, href, facts) if prev else None
    ctx["next"] = _lesson_item(nxt, href, facts) if nxt else None
    return ctx


def _section_html(title: str | None, upline: Upline | None, body: str, level: int) -> str:
    from markupsafe import escape

    who = f"From {escape(upline.attribution)}" if upline else "From the team"
    heading = (f"<h{level} class=\"section-title\">{escape(title)}</h{level}>\n"
               if title else "")
    return (f"<aside class=\"upline-section\" aria-label=\"{who}\">\n"
            f"<p class=\"attribution\">{who}</p>\n{heading}{body}\n</aside>")


def _path_card(site: Site, path: LearningPath, href: Any, facts: Facts) -> dict[str, Any]:
    lessons = path_lessons(site, path)
    return {"slug": path.slug, "title": path.title, "summary": path.summary,
            "href": href(urls.path_url(path.slug)), "lesson_count": len(lessons),
            "duration": _total(lessons), "from": _attribution(path.upline),
            "lessons": [lesson.key for lesson in lessons],
            "hashes": [facts[lesson.key]["hash"] for lesson in lessons]}


def path_lessons(site: Site, path: LearningPath) -> list[Lesson]:
    """The lessons of a path in order, each once."""
    found: dict[str, Lesson] = {}
    for step in path.steps:
        if step.kind == "course":
            course = next((c for c in site.courses if c.slug == step.target), None)
            for lesson in site.course_lessons(course) if course else []:
                found.setdefault(lesson.key, lesson)
        elif step.target in site.lessons:
            found.setdefault(step.target, site.lessons[step.target])
    return list(found.values())


def path_page(site: Site, facts: Facts, path: LearningPath, serve: bool) -> Context:
    url = urls.path_url(path.slug)
    ctx = _base(site, url, path.title, path.summary, "path.html", serve)
    href = ctx["href"]
    courses = {c.slug: c for c in site.courses}
    steps = []
    for step in path.steps:
        if step.kind == "course" and step.target in courses:
            course = courses[step.target]
            steps.append({"kind": "course", **_course_card(site, course, href, facts),
                          "course_lessons": [_lesson_item(l, href, facts)
                                    for l in site.course_lessons(course)]})
        elif step.kind == "lesson" and step.target in site.lessons:
            lesson = site.lessons[step.target]
            steps.append({"kind": "lesson", **_lesson_item(lesson, href, facts),
                          "course_title": courses[lesson.course].title})
    ctx["path"] = _path_card(site, path, href, facts)
    ctx["steps"] = steps
    return ctx


def _link_item(link: Link, href: Any, note: Markup | None) -> dict[str, Any]:
    return {
        "title": link.title, "url": link.url, "host": urlsplit(link.url).hostname or "",
        "tags": list(link.tags), "added": link.added.isoformat() if link.added else None,
        "from": _attribution(link.upline), "anchor": link.anchor, "note": note,
        "library": href(f"{urls.LIBRARY}#{link.anchor}"),
    }


def library(site: Site, bodies: "Bodies", serve: bool) -> Context:
    ctx = _base(site, urls.LIBRARY, "Library",
                f"Curated reading for {site.config.title}.", "library.html", serve)
    href = ctx["href"]
    groups: dict[str, list[Link]] = defaultdict(list)
    for link in site.links:
        for tag in link.tags or ("other",):
            groups[tag].append(link)
    seen: set[str] = set()
    ctx["groups"] = []
    for tag in sorted(groups, key=lambda t: (t == "other", t.lower())):
        items = []
        for link in groups[tag]:
            item = _link_item(link, href, Markup(bodies.notes[link.source].html))
            item["first"] = link.anchor not in seen
            seen.add(link.anchor)
            items.append(item)
        ctx["groups"].append({"tag": tag, "id": f"tag-{_tag_id(tag)}", "links": items})
    ctx["link_count"] = len(site.links)
    return ctx


def _tag_id(tag: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in tag.lower()).strip("-") or "tag"


def search_page(site: Site, serve: bool) -> Context:
    """The search page; the header's search box sends ``?q=`` here (see search.py)."""
    return _base(site, urls.SEARCH, "Search", f"Search {site.config.title}.", "search.html",
                 serve)


def not_found(site: Site, serve: bool) -> Context:
    ctx = _base(site, "404.html", "Page not found", "", "404.html", serve)
    ctx["courses"] = [{"title": c.title, "href": urls.course_url(c.slug)} for c in site.courses]
    if site.config.base_url:
        # A 404 page is served at any depth, so relative links cannot work there.
        base = urlsplit(site.config.base_url).path.rstrip("/") + "/"
        ctx["nav"]["home"] = base
        ctx["nav"]["library"] = base + urls.LIBRARY
        ctx["nav"]["assets"] = base + urls.ASSETS
        ctx["nav"]["feed"] = base + urls.FEED
        ctx["nav"]["search"] = base + urls.SEARCH
        for course in ctx["courses"]:
            course["href"] = base + course["href"]
    return ctx
