"""What changed between versions: the data (:func:`change_list`) and the pages about
versions (``changes/`` and ``versions/``).

Each version is reduced to a :class:`Summary` — per lesson a hash of its title, body and
checklist, and its checklist items; per curated link its title — when it is built (a
snapshot's summary is cached with its pages). :func:`change_list` compares each version
with the one before; the changes page and the Atom feed both read that list.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from . import pages as page_contexts
from . import urls
from .model import Site, VersionInfo
from .render import Page
from .theme import Theme, environment

if TYPE_CHECKING:
    import jinja2

    from .cache import Carried


@dataclass(frozen=True, slots=True)
class LessonFacts:
    title: str
    digest: str
    """A hash of the title, the body (with upline sections) and the checklist."""
    checklist: tuple[tuple[str, str], ...]
    """``(id, text)`` of each checklist item, in order."""


@dataclass(frozen=True, slots=True)
class Summary:
    """What one version holds, as far as the changes page is concerned."""

    label: str
    path: str
    """Its folder in the built site (``""`` or ``v/<label>/``)."""
    released: str | None
    lessons: dict[str, LessonFacts]
    """By ``<course>/<lesson>``, in course order."""
    links: dict[str, str]
    """Curated links' titles by their anchor on the library page."""


_TASK = re.compile(r'data-task="([^"]+)"')
_LABEL = re.compile(r'<label for="task-([^"]+)">(.*?)</label>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


Checklist = tuple[tuple[str, str], ...]
"""``(id, text)`` of each checklist item of a lesson page, in order."""


def summarize(site: Site, checklist: Callable[[str], Checklist], info: VersionInfo,
              memo: Carried[Any, Any] | None = None) -> Summary:
    """A version's summary, from its site and the checklists of its rendered lesson pages,
    which ``checklist`` gives by output path (items exist only once Markdown is
    rendered; see :func:`page_checklists`). ``memo``: where the site's pages were
    planned from (see :func:`trainkit.pages.lesson_hash`)."""
    lessons = {}
    for course in site.courses:
        for lesson in site.course_lessons(course):
            items = checklist(urls.output_file(urls.lesson_url(lesson.key)))
            digest = page_contexts.lesson_hash(lesson, site.sections.get(lesson.key, ()),
                                               tuple(ident for ident, _ in items), memo)
            lessons[lesson.key] = LessonFacts(lesson.title, digest, items)
    links = {link.anchor: link.title for link in site.links}
    return Summary(info.label, info.path, info.released.isoformat() if info.released else None,
                   lessons, links)


def page_checklists(read: Callable[[str], bytes | None]) -> Callable[[str], Checklist]:
    """The checklist of each page ``read`` gives by output path (none for a missing page:
    None or OSError)."""
    def checklist(path: str) -> Checklist:
        try:
            page = read(path)
        except OSError:
            page = None
        return checklist_items(page.decode("utf-8")) if page is not None else ()
    return checklist


def checklist_items(page: str) -> Checklist:
    """``(id, text)`` of every checklist item of a rendered lesson page."""
    labels = {m.group(1): html.unescape(_TAG.sub("", m.group(2))).strip()
              for m in _LABEL.finditer(page)}
    return tuple((ident, labels.get(ident, "")) for ident in _TASK.findall(page))


@dataclass(frozen=True, slots=True)
class Entry:
    """A lesson or curated link in a list of changes."""

    key: str
    title: str
    url: str
    """Its page, relative to the built site's root (in the version it belongs to)."""
    items_added: tuple[str, ...] = ()
    """For a changed lesson: the text of checklist items it gained."""
    items_removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VersionChanges:
    """What one version changed since the one before it."""

    label: str
    released: str | None
    path: str
    previous: str | None
    """The label of the version before (None for the first version)."""
    lessons_added: tuple[Entry, ...] = ()
    lessons_removed: tuple[Entry, ...] = ()
    """Linked to their page in the previous version."""
    lessons_changed: tuple[Entry, ...] = ()
    links_added: tuple[Entry, ...] = ()
    links_removed: tuple[Entry, ...] = ()
    lesson_count: int = 0

    @property
    def empty(self) -> bool:
        return not (self.lessons_added or self.lessons_removed or self.lessons_changed
                    or self.links_added or self.links_removed)


def change_list(summaries: Sequence[Summary]) -> list[VersionChanges]:
    """Each version against the one before it; ``summaries`` and the result newest first
    (the current version first). The data the changes page and the Atom feed show."""
    found = []
    for i, new in enumerate(summaries):
        old = summaries[i + 1] if i + 1 < len(summaries) else None
        found.append(_compare(new, old))
    return found


def _compare(new: Summary, old: Summary | None) -> VersionChanges:
    base = VersionChanges(new.label, new.released, new.path, None,
                          lesson_count=len(new.lessons))
    if old is None:
        return base

    def lesson(summary: Summary, key: str, **items: Any) -> Entry:
        return Entry(key, summary.lessons[key].title, summary.path + urls.lesson_url(key),
                     **items)

    def link(summary: Summary, anchor: str) -> Entry:
        return Entry(anchor, summary.links[anchor], f"{summary.path}{urls.LIBRARY}#{anchor}")

    changed = []
    for key in new.lessons.keys() & old.lessons.keys():
        now, before = new.lessons[key], old.lessons[key]
        if now.digest != before.digest:
            was = dict(before.checklist)
            is_ = dict(now.checklist)
            changed.append(lesson(new, key,
                                  items_added=tuple(t for i, t in now.checklist if i not in was),
                                  items_removed=tuple(t for i, t in before.checklist
                                                      if i not in is_)))
    return VersionChanges(
        new.label, new.released, new.path, old.label,
        lessons_added=tuple(lesson(new, k) for k in new.lessons if k not in old.lessons),
        lessons_removed=tuple(lesson(old, k) for k in old.lessons if k not in new.lessons),
        lessons_changed=tuple(sorted(changed, key=lambda e: list(new.lessons).index(e.key))),
        links_added=tuple(link(new, a) for a in new.links if a not in old.links),
        links_removed=tuple(link(old, a) for a in old.links if a not in new.links),
        lesson_count=len(new.lessons),
    )


# --- The pages about versions ------------------------------------------------------------


def version_pages(site: Site, theme: Theme, summaries: Sequence[Summary],
                  env: jinja2.Environment | None = None) -> list[Page]:
    """``changes/index.html`` and ``versions/index.html`` of the current site (with
    ``env``, the theme's environment the pages were made with)."""
    from .versions import CHANGES_PAGE, VERSIONS_PAGE

    env = env or environment(theme)
    out = []
    for context in (changes_page(site, summaries, CHANGES_PAGE),
                    versions_page(site, summaries, VERSIONS_PAGE)):
        html_text = env.get_template(context["template"]).render(context)
        out.append(Page(urls.output_file(context["page"]["url"]), html_text.encode("utf-8")))
    return out


def changes_page(site: Site, summaries: Sequence[Summary], url: str) -> dict[str, Any]:
    ctx = page_contexts._base(site, url, "What changed",
                              f"What changed in {site.config.title}, version by version.",
                              "changes.html", False)
    href = ctx["href"]

    def entries(items: Iterable[Entry]) -> list[dict[str, Any]]:
        return [{"title": e.title, "href": href(e.url), "items_added": list(e.items_added),
                 "items_removed": list(e.items_removed)} for e in items]

    ctx["versions"] = [{
        "label": c.label, "released": c.released, "previous": c.previous,
        "current": not c.path, "home": href(c.path), "empty": c.empty,
        "lesson_count": c.lesson_count,
        "lessons_added": entries(c.lessons_added), "lessons_removed": entries(c.lessons_removed),
        "lessons_changed": entries(c.lessons_changed), "links_added": entries(c.links_added),
        "links_removed": entries(c.links_removed),
    } for c in change_list(summaries)]
    return ctx


def versions_page(site: Site, summaries: Sequence[Summary], url: str) -> dict[str, Any]:
    ctx = page_contexts._base(site, url, "Versions",
                              f"Every version of {site.config.title}.", "versions.html", False)
    href = ctx["href"]
    ctx["versions"] = [{"label": s.label, "released": s.released, "current": not s.path,
                        "href": href(s.path), "lesson_count": len(s.lessons)}
                       for s in summaries]
    ctx["changes_href"] = href("changes/")
    return ctx
