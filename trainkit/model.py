"""The content model: plain, immutable data that every stage passes along.

Loading turns files into these objects; resolving links them into a :class:`Site`;
rendering reads a Site and returns pages. Nothing here does any I/O.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, fields
from operator import attrgetter
from types import MappingProxyType
from typing import Any, Generic, Iterable, Iterator, Literal, Mapping, NamedTuple, TypeVar

T = TypeVar("T")


def quick_pickle(cls: type[T]) -> type[T]:
    """Pickle a dataclass as its class and field values, gathered in C. (The default for
    a frozen, slotted dataclass lists its fields on every object, in Python both ways:
    a second of saving and loading the caches of 10,000 lessons.) The ``__init__``
    arguments, in order: a field made from the others (``init=False``) is made again."""
    names = tuple(f.name for f in fields(cls) if f.init)  # type: ignore[arg-type]
    values = attrgetter(*names) if len(names) > 1 else (lambda self: (getattr(self, names[0]),))

    def __reduce__(self: Any) -> tuple[type[T], tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[assignment, method-assign]
    return cls

Repeat = Literal["daily", "weekly"]


@dataclass(frozen=True, slots=True)
class Upline:
    """An upline whose pack contributes to this site (an entry of ``uplines:``)."""

    name: str
    """The upline's name as readers see it ("Maria Lopez")."""
    role: str | None
    """Their title, shown after the name ("Diamond Director"), when given."""
    path: str
    """The pack's folder, relative to the site source."""
    trusted: bool = False
    """Whether raw HTML from the pack is kept (otherwise it is sanitized)."""

    @property
    def attribution(self) -> str:
        return f"{self.name}, {self.role}" if self.role else self.name


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """``trainkit.yaml``."""

    title: str
    """The site's title, shown in every page header."""
    version: str
    """The label of the current content ("2026.11")."""
    description: str = ""
    """One sentence about the site, used on the home page and in share previews."""
    base_url: str | None = None
    """Where the site is published; only used for absolute URLs (sitemap, feed, og:url)."""
    theme: str = "default"
    """The theme's name: ``themes/<name>/`` in the site, or the built-in ``default``."""
    language: str = "en"
    """The ``<html lang>`` of every page."""
    uplines: tuple[Upline, ...] = ()
    """Packs from uplines, nearest upline first."""
    safe: bool = False
    """Sanitize the site's own raw HTML too."""
    released: dt.date | None = None
    """Set in a frozen snapshot's copy of trainkit.yaml by ``trainkit release``."""


@dataclass(frozen=True, slots=True)
class Link:
    """A curated link with the leader's note about it."""

    slug: str
    """The file name without ``.md``; lessons refer to it in ``links:``."""
    source: str
    """The file it came from, relative to the site source."""
    title: str
    url: str
    """Where it points: an http or https URL."""
    url_line: int
    """The line of ``url:`` in the source, where a dead link is reported."""
    note: str
    """The leader's note (Markdown)."""
    note_line: int
    """The line of the note's first line in the source."""
    tags: tuple[str, ...] = ()
    added: dt.date | None = None
    course: str | None = None
    """The course it belongs to, or None for a site-wide link."""
    upline: Upline | None = None
    """Who contributed it, for links from an upline pack."""

    @property
    def anchor(self) -> str:
        """The element id of this link on the library page."""
        return f"link-{self.course}-{self.slug}" if self.course else f"link-{self.slug}"


class Reading(Generic[T]):
    """Curated links (or anything kept by a link's course and slug) found the way a
    lesson's ``links:`` names them: its own course's link of that slug, else the
    site-wide one. The one place that rule is written."""

    def __init__(self, links: Iterable[tuple[str | None, str, T]]) -> None:
        self._by = {(course, slug): value for course, slug, value in links}

    @classmethod
    def of(cls, links: Iterable[Link]) -> "Reading[Link]":
        return Reading((link.course, link.slug, link) for link in links)

    def find(self, course: str, slug: str) -> T | None:
        found = self._by.get((course, slug))
        return found if found is not None else self._by.get((None, slug))

    def slugs_for(self, course: str) -> Iterator[str]:
        """Every slug a lesson of ``course`` can name."""
        return (slug for c, slug in self._by if c is None or c == course)


@quick_pickle
@dataclass(frozen=True, slots=True)
class Lesson:
    """One lesson: front matter plus a Markdown body."""

    course: str
    """The slug of the course it belongs to."""
    slug: str
    """The file name without ``.md``."""
    source: str
    """The file it came from, relative to the site source."""
    title: str
    markdown: bytes
    """The Markdown body, after the front matter, in UTF-8: as a str it would take two
    bytes a character as soon as it holds one curly quote, and three times that once
    pickled for a worker process (Python keeps the UTF-8 copy it made). The bodies are
    most of a loaded site's memory: 160 MB at 10,000 lessons as str, 52 MB as bytes."""
    body_line: int
    """The line in the source file where the body starts."""
    summary: str = ""
    duration: int | None = None
    """Minutes, when given."""
    objectives: tuple[str, ...] = ()
    prerequisites: tuple[str, ...] = ()
    """``<course>/<lesson>`` references."""
    links: tuple[str, ...] = ()
    """Slugs of curated links shown as "Recommended reading"."""
    tags: tuple[str, ...] = ()
    author: str | None = None
    updated: dt.date | None = None
    repeat: Repeat | None = None
    """When set, the lesson's checklists reset every day or week."""
    draft: bool = False
    upline: Upline | None = None
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """The line of each front-matter key, for errors about references."""
    key: str = field(init=False, compare=False, repr=False)
    """``<course>/<lesson>``, as prerequisites and paths refer to it: made once, from
    the course and slug. (A property made it 130,000 times a save in serve at 10,000
    lessons: 17 ms.)"""

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.course}/{self.slug}")

    @property
    def body(self) -> str:
        """The Markdown body, after the front matter."""
        return self.markdown.decode("utf-8")

    def item_line(self, key: str, index: int) -> int:
        """The line of item ``index`` of a front-matter list (its key's line for ``[a, b]``)."""
        return self.lines.get(f"{key}.{index}", self.lines.get(key, 1))


@dataclass(frozen=True, slots=True)
class Course:
    """A course: its metadata and its lessons in order."""

    slug: str
    source: str
    """Its ``course.yaml``, relative to the site source."""
    title: str
    lesson_slugs: tuple[str, ...]
    """The lessons in order, as listed in ``course.yaml``."""
    summary: str = ""
    order: int | None = None
    upline: Upline | None = None
    lesson_lines: tuple[int, ...] = ()
    """The line of each entry of ``lessons:``."""


@dataclass(frozen=True, slots=True)
class PathStep:
    """One step of a learning path: a whole course or one lesson."""

    kind: Literal["course", "lesson"]
    target: str
    """A course slug or a ``<course>/<lesson>`` reference."""
    line: int


@dataclass(frozen=True, slots=True)
class LearningPath:
    """An ordered route across courses ("Your first 90 days")."""

    slug: str
    source: str
    title: str
    steps: tuple[PathStep, ...]
    summary: str = ""
    upline: Upline | None = None


@dataclass(frozen=True, slots=True)
class Section:
    """A block an upline contributes to one of the site's lessons."""

    source: str
    target: str
    """The ``<course>/<lesson>`` it goes into."""
    body: str
    body_line: int
    title: str | None = None
    placement: str = "end"
    """``start``, ``end`` or ``after:<heading-anchor>``."""
    upline: Upline | None = None
    line: int = 1
    """The line of ``for:``, where a bad target is reported."""


@dataclass(frozen=True, slots=True)
class StaticFile:
    """A file copied unchanged into the built site."""

    source: str
    """Relative to the site source (``static/img/team.jpg``)."""
    output: str
    """Relative to the output folder (``img/team.jpg``)."""


@dataclass(frozen=True, slots=True)
class Content:
    """Everything read from one site folder (or one upline pack), not yet cross-checked."""

    config: SiteConfig | None
    courses: tuple[Course, ...] = ()
    lessons: tuple[Lesson, ...] = ()
    links: tuple[Link, ...] = ()
    paths: tuple[LearningPath, ...] = ()
    sections: tuple[Section, ...] = ()
    static: tuple[StaticFile, ...] = ()
    unread_courses: tuple[str, ...] = ()
    """Course folders whose course.yaml could not be read (each has its error): their
    lessons are not published, and references to them are not errors again."""
    unread_links: tuple["UnreadLink", ...] = ()
    """Curated-link files with errors (each reported at its file): lessons listing them
    and Markdown links to them are not errors again."""


class UnreadLink(NamedTuple):
    course: str | None
    slug: str
    source: str


@dataclass(frozen=True, slots=True)
class Site:
    """The resolved site: every reference checked, precedence applied, drafts decided.

    Rendering is a pure function of this object.
    """

    config: SiteConfig
    courses: tuple[Course, ...]
    """Published courses, in home-page order."""
    lessons: Mapping[str, Lesson]
    """Published lessons by ``<course>/<lesson>``, in course order."""
    links: tuple[Link, ...]
    """Every curated link: the site's, each course's and each upline's."""
    paths: tuple[LearningPath, ...]
    sections: Mapping[str, tuple[Section, ...]]
    """Upline sections by the ``<course>/<lesson>`` they go into, in ``uplines:`` order."""
    static: tuple[StaticFile, ...]
    targets: Mapping[str, str]
    """Output URL (relative to the site root) of every linkable source file, for
    rewriting Markdown links: ``courses/a/b.md`` → ``courses/a/b/``."""
    include_drafts: bool = False
    """True in ``serve``: drafts are shown, with a badge."""
    versions: "Versions | None" = None
    """Where this site stands among the versions built together (set by ``build``)."""

    def course_lessons(self, course: Course) -> list[Lesson]:
        return [self.lessons[k] for s in course.lesson_slugs
                if (k := f"{course.slug}/{s}") in self.lessons]


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One version of the site, as the version switcher lists it."""

    label: str
    """``version:`` of its trainkit.yaml ("2026.09")."""
    path: str
    """Its folder in the built site: ``""`` for the current version, ``v/<label>/``."""
    released: dt.date | None
    current: bool
    pages: frozenset[str] = frozenset()
    """Its page URLs (relative to its own root), to know where the same page exists."""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Its pages in order: a set pickles in an order that changes from process to
        # process, and pages are recognised by a hash of the pickle of their inputs.
        return _version_info, (self.label, self.path, self.released, self.current,
                               tuple(sorted(self.pages)))


def _version_info(label: str, path: str, released: dt.date | None, current: bool,
                  pages: tuple[str, ...]) -> VersionInfo:
    return VersionInfo(label, path, released, current, frozenset(pages))


@dataclass(frozen=True, slots=True)
class Versions:
    """Every version built together, and which one a site is."""

    this: VersionInfo
    all: tuple[VersionInfo, ...]
    """The current version first, then the snapshots, newest first."""


def lesson_digest(lesson: Lesson, sections: Iterable[Section], item_ids: Iterable[str]) -> str:
    """A hash of what a reader reads in a lesson: its title, its body with upline
    sections, and its checklist (item ids already follow the items' text). The progress
    script flags a completed lesson whose digest changed; the changes page lists it."""
    digest = hashlib.sha1()
    for part in (lesson.title.encode(), lesson.markdown,
                 *(s.body.encode() for s in sections), *(i.encode() for i in item_ids)):
        digest.update(part + b"\0")
    return digest.hexdigest()[:12]
