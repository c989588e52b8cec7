"""Resolving: joining the site with its upline packs and checking every reference.

Takes the :class:`~trainkit.model.Content` of the site and of each pack (nearest upline
first) and returns one :class:`~trainkit.model.Site`, or the problems that prevent it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Mapping, TypeVar

from . import urls
from .model import (Content, Course, LearningPath, Lesson, Link, Reading, Section, Site,
                    SiteConfig)
from .problems import Problem, did_you_mean, error, warning

T = TypeVar("T", Course, Lesson, Link, LearningPath)

RESERVED_OUTPUTS = ("index.html", "404.html", "links/index.html", "changes/index.html",
                    "versions.json", "sitemap.xml", "feed.xml", "robots.txt")


def resolve(config: SiteConfig, site: Content, packs: Iterable[Content],
            include_drafts: bool = False) -> tuple[Site, list[Problem]]:
    # A pack's static files keep their place under the pack (uplines/maria/static/x.png),
    # so two packs' (or a pack's and the site's) logo.png never collide.
    packs = [replace(p, static=tuple(replace(f, output=f.source) for f in p.static))
             for p in packs]
    contents = [site, *packs]
    problems: list[Problem] = []
    courses = _first_wins([c.courses for c in contents], lambda c: c.slug, "course", problems)
    lessons_all = _first_wins([c.lessons for c in contents], lambda l: l.key, "lesson", problems)
    links = _first_wins([c.links for c in contents], lambda l: f"{l.course}/{l.slug}",
                        "curated link", problems)
    paths = _first_wins([c.paths for c in contents], lambda p: p.slug, "learning path",
                        problems)

    drafts = {k for k, lesson in lessons_all.items() if lesson.draft and not include_drafts}
    lessons = {}
    missing = set()  # listed in their course, but not read
    for course in sorted(courses.values(), key=_course_order):
        for slug in course.lesson_slugs:
            key = f"{course.slug}/{slug}"
            if key not in lessons_all:
                missing.add(key)
            elif key not in drafts:
                lessons[key] = lessons_all[key]

    # Lessons that could not be read: the missing file, what is wrong in it or in its
    # course.yaml is already an error at its own file, and references to them would only
    # repeat it elsewhere (in an upline's section, which its reader cannot fix).
    unread = _Unread(missing, {slug for c in contents for slug in c.unread_courses}
                     - courses.keys())
    # (A curated link with errors is found as if it were there: its error is enough.)
    reading = Reading([*((l.course, l.slug, l.source) for l in links.values()),
                       *((u.course, u.slug, u.source) for c in contents for u in c.unread_links)])
    for lesson in lessons.values():
        if lesson.prerequisites or lesson.links:
            problems += _check_lesson_refs(lesson, lessons, drafts, reading, unread)
    for path in paths.values():
        problems += _check_path(path, courses, lessons, drafts, unread)
    sections = _attach_sections([c.sections for c in contents[1:]] + [site.sections],
                                lessons, unread, problems)

    targets = _targets(contents, lessons, courses, links, paths, unread)
    static = tuple(f for c in contents for f in c.static)
    problems += _check_outputs(lessons, courses, paths, static)

    return Site(
        config=config,
        courses=tuple(sorted(courses.values(), key=_course_order)),
        lessons=lessons,
        links=tuple(sorted(links.values(), key=lambda l: (l.title.lower(), l.source))),
        paths=tuple(sorted(paths.values(), key=lambda p: (p.title.lower(), p.slug))),
        sections=sections, static=static, targets=targets, include_drafts=include_drafts,
    ), problems


class _Unread:
    """Lessons that could not be read, by ``<course>/<lesson>``: listed in a course but
    not loaded, or in a course whose course.yaml could not be read."""

    def __init__(self, lessons: set[str], courses: set[str]) -> None:
        self.lessons, self.courses = lessons, courses

    def __contains__(self, ref: object) -> bool:
        return isinstance(ref, str) and (ref in self.lessons or
                                         ref.partition("/")[0] in self.courses)

    def __bool__(self) -> bool:
        return bool(self.lessons or self.courses)


def _course_order(course: Course) -> tuple[bool, int, str]:
    return (course.order is None, course.order or 0, course.title.lower())


def _first_wins(groups: list[tuple[T, ...]], key, what: str,  # type: ignore[no-untyped-def]
                problems: list[Problem]) -> dict[str, T]:
    """Merge by key; the first (the site, then the nearest upline) wins, with a warning."""
    chosen: dict[str, T] = {}
    for group in groups:
        for item in group:
            k = key(item)
            if k in chosen:
                winner = chosen[k]
                problems.append(warning(item.source, 1, f"this {what} is overridden by "
                                        f"{winner.source}, which comes first"))
            else:
                chosen[k] = item
    return chosen


def _draft_hint(key: str, drafts: set[str], lessons: Mapping[str, Lesson],
                otherwise: str = "") -> str:
    """Why ``key`` names no lesson, ending with a close name (else ``otherwise``)."""
    if key in drafts:
        return f"lesson '{key}' is a draft (draft: true) and is not published"
    return f"there is no lesson '{key}'{did_you_mean(key, lessons) or otherwise}"


def _check_lesson_refs(lesson: Lesson, lessons: dict[str, Lesson], drafts: set[str],
                       reading: Reading[str], unread: _Unread,
                       ) -> list[Problem]:
    problems = []
    for i, ref in enumerate(lesson.prerequisites):
        if ref in unread:
            continue
        line = lesson.item_line("prerequisites", i)
        if ref not in lessons:
            problems.append(error(lesson.source, line, f"prerequisite '{ref}': "
                                  f"{_draft_hint(ref, drafts, lessons, ' (use <course>/<lesson>)')}"))
        elif ref == lesson.key:
            problems.append(error(lesson.source, line, "a lesson cannot be its own prerequisite"))
    for i, slug in enumerate(lesson.links):
        line = lesson.item_line("links", i)
        if reading.find(lesson.course, slug) is None:
            near = reading.slugs_for(lesson.course)
            problems.append(error(lesson.source, line, f"there is no curated link '{slug}'" + (
                did_you_mean(slug, near) or f" (add links/{slug}.md or "
                                            f"courses/{lesson.course}/links/{slug}.md)")))
    return problems


def _check_path(path: LearningPath, courses: dict[str, Course], lessons: dict[str, Lesson],
                drafts: set[str], unread: _Unread) -> list[Problem]:
    problems = []
    for step in path.steps:
        if (step.kind == "course" and step.target not in courses
                and step.target not in unread.courses):
            problems.append(error(path.source, step.line, f"there is no course "
                                  f"'{step.target}'" + (did_you_mean(step.target, courses) or
                                  f" (a folder courses/{step.target}/)")))
        elif step.kind == "lesson" and step.target not in lessons and step.target not in unread:
            problems.append(error(path.source, step.line,
                                  f"step: {_draft_hint(step.target, drafts, lessons)}"))
    return problems


def _attach_sections(groups: list[tuple[Section, ...]], lessons: dict[str, Lesson],
                     unread: _Unread, problems: list[Problem],
                     ) -> dict[str, tuple[Section, ...]]:
    by_lesson: dict[str, list[Section]] = {}
    for group in groups:
        for section in group:
            if section.target in unread:
                continue
            if section.target not in lessons:
                problems.append(error(section.source, section.line, f"this section is for "
                                      f"'{section.target}', but there is no such lesson"
                                      f"{did_you_mean(section.target, lessons)}"))
                continue
            by_lesson.setdefault(section.target, []).append(section)
    return {k: tuple(v) for k, v in by_lesson.items()}


def _targets(contents: list[Content], lessons: dict[str, Lesson], courses: dict[str, Course],
             links: dict[str, Link], paths: dict[str, LearningPath],
             unread: _Unread) -> dict[str, str]:
    """Where a relative link to each source file should lead in the output.

    Every loaded source maps to the page of its key, so a pack's link to one of its own
    lessons leads to whichever lesson won precedence. A lesson that could not be read
    maps to its page too: a link to it is not an error besides its own.
    """
    targets: dict[str, str] = {}
    for course in courses.values() if unread else ():  # (usually none is unread)
        folder = course.source.rsplit("/", 1)[0]
        for slug in course.lesson_slugs:
            if f"{course.slug}/{slug}" in unread:
                targets[f"{folder}/{slug}.md"] = urls.lesson_url(f"{course.slug}/{slug}")
    for content in contents if unread.courses else ():
        for lesson in content.lessons:
            if lesson.course in unread.courses:
                targets[lesson.source] = urls.lesson_url(lesson.key)
    for content in contents:
        for lesson in content.lessons:
            if lesson.key in lessons:
                targets[lesson.source] = urls.lesson_url(lesson.key)
        for course in content.courses:
            if course.slug in courses:
                folder = course.source.rsplit("/", 1)[0]
                targets[course.source] = targets[folder + "/"] = urls.course_url(course.slug)
        for link in content.links:
            winner = links.get(f"{link.course}/{link.slug}")
            if winner is not None:
                targets[link.source] = f"{urls.LIBRARY}#{winner.anchor}"
        for unread_link in content.unread_links:  # (its own error says what to fix)
            targets.setdefault(unread_link.source, urls.LIBRARY)
        for path in content.paths:
            if path.slug in paths:
                targets[path.source] = urls.path_url(path.slug)
        for static in content.static:
            targets[static.source] = static.output
    return targets


def _check_outputs(lessons: dict[str, Lesson], courses: dict[str, Course],
                   paths: dict[str, LearningPath], static: tuple) -> list[Problem]:  # type: ignore[type-arg]
    """Two sources must never write the same output file."""
    owners: dict[str, str] = {out: "trainkit itself" for out in RESERVED_OUTPUTS}
    # Pages are index.html files: only a static file of that name could be one (and
    # listing 10,000 lessons' pages on every save, to find none, took 15 ms).
    if any(file.output.endswith("index.html") for file in static):
        for course in courses.values():
            owners[urls.output_file(urls.course_url(course.slug))] = course.source
        for lesson in lessons.values():
            owners[urls.output_file(urls.lesson_url(lesson.key))] = lesson.source
        for path in paths.values():
            owners[urls.output_file(urls.path_url(path.slug))] = path.source
    problems = []
    for file in static:
        other = owners.get(file.output) or (
            "the theme" if file.output.startswith(urls.ASSETS) else None)
        if other:
            problems.append(error(file.source, 1, f"this file would be written to "
                                  f"{file.output}, which {other} also writes; rename or move it"))
        owners[file.output] = file.source
    return problems
