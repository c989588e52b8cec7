"""Rendering: a pure function from a resolved :class:`~trainkit.model.Site` to pages.

Two steps. First every Markdown body (lessons, upline sections, link notes) becomes
HTML, and the anchors it links to are checked against the headings now known. Then the
theme's templates turn each page's context (see :mod:`trainkit.pages`) into bytes.
Nothing here touches the output folder; :mod:`trainkit.write` does.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Mapping, cast

import jinja2
from markupsafe import Markup

from . import __version__, pages, urls
from .cache import BodyCache, BuiltPages, Carried, InputsDigest, page_key, renderer
from .discovery import discovery_files
from .markdown_ext import MarkdownRenderer, Rendered, line_of, pack
from .model import Lesson, Link, Section, Site
from .problems import Problem, error
from .sanitize import sanitize
from .theme import Theme, environment


@dataclass(frozen=True, slots=True)
class Page:
    """One file of the built site."""

    path: str
    """Relative to the output folder (``courses/a/b/index.html``)."""
    content: bytes


@dataclass(frozen=True, slots=True)
class Kept:
    """A page of the output that a build keeps as the last build wrote it, unread (see
    :meth:`trainkit.cache.BuiltPages.kept`)."""

    path: str
    for_index: bool
    """Whether it opted into the search index."""
    found: os.stat_result
    """Its file's stat when it was trusted, so that it is not statted again to be
    linked (10,000 stats in a one-lesson edit at 10,000 lessons)."""


@dataclass(frozen=True, slots=True)
class Bodies:
    """Every Markdown body of the site, rendered."""

    lessons: Mapping[str, Rendered]
    sections: Mapping[str, Rendered]
    """By the section's source file."""
    notes: Mapping[str, Rendered]
    """Curated links' notes, by the link's source file."""
    digests: dict[int, tuple[Rendered, bytes]] = field(default_factory=dict)
    """For :class:`~trainkit.cache.InputsDigest`, by the id of each body (held, so that the
    id is not reused): a digest made from its cache key and the link targets it used,
    which are all it is made from (the cache hands it out on them). Pickling and hashing
    10,000 bodies to know the same cost 0.14 s of a one-lesson edit."""


Progress = Callable[[int, int], None]
"""Called as pages are done with (done, total), for a progress bar."""


def render_site(site: Site, theme: Theme, *, serve: bool = False, jobs: int = 1,
                progress: Progress | None = None, cache: BodyCache | None = None,
                sink: Callable[[Page | Kept], None] | None = None,
                built: BuiltPages | None = None,
                order: Callable[[list[str]], Callable[[str], int]] | None = None,
                ) -> tuple[list[Page], list[Problem]]:
    """Every page of the site; or, with ``sink``, every page handed to it as soon as it
    is made (and none returned), so that they need not all be held in memory. With
    ``built``, pages made from the same inputs as in the last build are taken from it,
    without making their context. With ``order``, given the output paths of the pages,
    they are made in the order of the sort key it returns (the search index's parts one
    after another: see :class:`trainkit.search.Ahead`)."""
    bodies, problems = render_bodies(site, jobs, cache, digests=built is not None)
    fingerprint = theme.fingerprint()
    env = environment(theme) if cache is None else cache.environment(theme, fingerprint)
    memo = cache.memo if cache is not None else Carried()
    planned = list(pages.plan(site, bodies, serve=serve, memo=memo))
    paths = [urls.output_file(page.url) for page in planned]  # (in the site's order)
    to_make = list(zip(paths, planned))
    # A build compares a digest of each page's inputs with the last build's; serve
    # compares the inputs themselves, kept in memory.
    inputs_digest = InputsDigest(f"{__version__}\0{fingerprint}",
                                 {**bodies.digests, **(cache.from_files if cache else {})})
    keys: dict[str, str] = {}  # (made as the pages come, unless needed to order them)
    if order is not None:
        rank = order(paths)
        # The groups holding a page to make again first: after an edit, the search
        # index's part that holds it is indexed while the other pages are taken as
        # they were (they would otherwise be indexed at the end, with nothing beside).
        # The files parsed again tell, so that the part begins before the other pages'
        # keys are made (0.4 s at 10,000 lessons); when they do not (a file deleted,
        # the configuration changed), the keys do.
        first = _parsed_again(site, cache, rank) if built is not None else set()
        if not first and built is not None:
            keys = {path: inputs_digest(page.inputs) for path, page in to_make}
            first = {rank(path) for path, key in keys.items() if not built.same(path, key)}
        to_make.sort(key=lambda pair: (rank(pair[0]) not in first, rank(pair[0])))
    out: list[Page] = []
    last = cache.planned.last if cache is not None else {}
    keep = cache.planned.keep if cache is not None and cache.in_process else None
    for done, (path, page) in enumerate(to_make, 1):
        inputs = (fingerprint, page.inputs)
        before = last.get(path)
        made: Page | Kept
        if before is not None and before[0] == inputs:
            made = before[1]  # nothing it is made from changed, not even its context
        elif built is not None:
            # (recorded for the next build, whether taken or made)
            key = keys.get(path) or inputs_digest(page.inputs)
            trusted = built.kept(path, key) if sink is not None else None
            if trusted is not None:
                made = Kept(path, *trusted)
            else:
                content = built.reuse(path, key)
                if content is None:
                    content = _render(env, page.make())
                    built.record(path, key, content)
                    if cache is not None:
                        cache.put_page(key, path, content)
                made = Page(path, content)
        else:
            made = Page(path, _render_page(env, page.make(), path, fingerprint, cache))
        if keep is not None and isinstance(made, Page):
            keep(path, (inputs, made))
        if sink is not None:
            sink(made)
        else:
            assert isinstance(made, Page)
            out.append(made)
        if progress is not None and done % 50 == 0:
            progress(done, len(to_make))
    del planned, to_make, bodies, memo, keys
    found, more = discovery_files(site, paths, serve=serve)
    for path, content in found:
        (out.append if sink is None else sink)(Page(path, content))
    return out, problems + more


def _parsed_again(site: Site, cache: BodyCache | None,
                  rank: Callable[[str], int]) -> set[int]:
    """The groups (by ``rank``) of the pages of lessons and courses whose files this
    build parsed again (an upline's section is its lesson's)."""
    changed = cache.parsed if cache is not None else set()
    if not changed:
        return set()
    lessons = {lesson.key for lesson in site.lessons.values() if lesson.source in changed}
    lessons.update(key for key, sections in site.sections.items()
                   if any(section.source in changed for section in sections))
    return ({rank(urls.output_file(urls.lesson_url(key))) for key in lessons}
            | {rank(urls.output_file(urls.course_url(course.slug)))
               for course in site.courses if course.source in changed})


def _render_page(env: jinja2.Environment, context: pages.Context, path: str, fingerprint: str,
                 cache: BodyCache | None) -> bytes:
    """A page's bytes: those made before from the same context when a process that
    builds again (serve) kept them."""
    kept = cache is not None and cache.in_process
    key = page_key(context, fingerprint) if kept else ""
    content = cache.pages.get(key) if kept else None  # type: ignore[union-attr]
    if content is None:
        content = _render(env, context)
        if cache is not None:
            cache.put_page(key, path, content)
    return content


def _render(env: jinja2.Environment, context: pages.Context) -> bytes:
    return env.get_template(context["template"]).render(context).encode("utf-8")


def render_bodies(site: Site, jobs: int = 1, cache: BodyCache | None = None,
                  digests: bool = False) -> tuple[Bodies, list[Problem]]:
    """Render every Markdown body; in ``jobs`` worker processes for a large site. With
    ``digests``, and the cache, the bodies come with their digests (see
    :attr:`Bodies.digests`: only a build that compares pages with the last one's needs
    them, not serve)."""
    memo = cache.memo if cache is not None and cache.in_process else None
    safe = site.config.safe

    def job(origin: Lesson | Section | Link, text: bytes | str, body_line: int, page_url: str,
            owner: str) -> BodyJob:
        """The job of the body of ``origin``: in serve, the very job of the last rebuild
        when ``origin`` is the same object (its cache key made then goes with it; making
        10,000 jobs and finding their keys again was 25 ms of a save)."""
        upline = origin.upline
        untrusted = safe or (upline is not None and not upline.trusted)
        old = memo.get(("job", origin.source)) if memo is not None else None
        if old is not None and old[0] is origin and old[1].sanitize == untrusted:
            return old[1]  # type: ignore[no-any-return]
        markdown = text if isinstance(text, bytes) else text.encode()
        made = BodyJob(markdown, origin.source, body_line, page_url, owner, untrusted)
        if memo is not None:
            memo.keep(("job", origin.source), (origin, made))
        return made

    lesson_jobs = [job(l, l.markdown, l.body_line, urls.lesson_url(k), k)
                   for k, l in site.lessons.items()]
    section_list = [s for group in site.sections.values() for s in group]
    section_jobs = [job(s, s.body, s.body_line, urls.lesson_url(s.target), s.target)
                    for s in section_list]
    note_jobs = [job(l, l.note, l.note_line, urls.LIBRARY, l.source) for l in site.links]
    known: dict[int, tuple[Rendered, bytes]] = {}
    results = iter(render_markdown([*lesson_jobs, *section_jobs, *note_jobs], site.targets,
                                   jobs, cache, known if digests else None))
    lessons = {key: next(results) for key in site.lessons}
    sections = {s.source: next(results) for s in section_list}
    notes = {l.source: next(results) for l in site.links}
    problems = [p for r in (*lessons.values(), *sections.values(), *notes.values())
                for p in r.problems]
    problems += _check_anchors(site, lessons, sections, notes)
    problems += _check_placements(site, lessons)
    return Bodies(lessons, sections, notes, known), problems


@dataclass(frozen=True, slots=True)
class BodyJob:
    """One Markdown body to render (picklable, for worker processes)."""

    markdown: bytes
    """In UTF-8 (see :attr:`Lesson.markdown <trainkit.model.Lesson.markdown>`)."""
    source: str
    body_line: int
    page_url: str
    owner: str
    """The ``<course>/<lesson>`` its checklist items belong to."""
    sanitize: bool
    """Someone else's content (an untrusted upline, or ``safe: true``): clean the HTML."""
    key: str | None = field(default=None, init=False, compare=False, repr=False)
    """Its cache key, once :meth:`BodyCache.job_key <trainkit.cache.BodyCache.job_key>`
    has made it (a hash of all of the above)."""


PARALLEL_THRESHOLD = 100
"""Below this many bodies, starting worker processes costs more than it saves."""

_worker: tuple[MarkdownRenderer, Mapping[str, str]] | None = None
"""Each worker process's own renderer (built once) and the site's link targets."""


def render_markdown(jobs: list[BodyJob], targets: Mapping[str, str], workers: int = 1,
                    cache: BodyCache | None = None,
                    digests: dict[int, tuple[Rendered, bytes]] | None = None,
                    ) -> list[Rendered]:
    """Render bodies in order, taking what it can from the cache. With the cache, each
    body's digest goes into ``digests`` (see :attr:`Bodies.digests`)."""
    if cache is None:
        return _render_all(jobs, targets, workers)
    keys = [cache.job_key(job) for job in jobs]
    checked = cache.checked_for(targets)
    results = [cache.get(key, targets, checked) for key in keys]
    missing = [i for i, found in enumerate(results) if found is None]
    for i, rendered in zip(missing, _render_all([jobs[i] for i in missing], targets, workers)):
        results[i] = rendered
        cache.put(keys[i], rendered)
    bodies = cast("list[Rendered]", results)  # (every one is there now)
    if digests is not None:
        salt = renderer().encode()
        for key, body in zip(keys, bodies):
            digests[id(body)] = (body, _body_digest(salt, key, body))
    return bodies


def _body_digest(salt: bytes, key: str, rendered: Rendered) -> bytes:
    digest = hashlib.sha256(salt)
    digest.update(key.encode())
    for path, url in rendered.lookups:
        digest.update(b"\0%s\0%s" % (path.encode("utf-8", "surrogatepass"),
                                      b"-" if url is None else b"=" + url.encode("utf-8")))
    return digest.digest()


def _render_all(jobs: list[BodyJob], targets: Mapping[str, str], workers: int) -> list[Rendered]:
    """Render bodies in order, in ``workers`` processes handed work in chunks."""
    if workers <= 1 or len(jobs) < PARALLEL_THRESHOLD:
        renderer = MarkdownRenderer()
        return [_render_one(renderer, job, targets) for job in jobs]
    chunk = max(1, len(jobs) // (workers * 8))
    start_workers_early()  # (a no-op when the build started them early)
    with ProcessPoolExecutor(workers, mp_context=_workers(), initializer=_start_worker,
                             initargs=(targets,)) as pool:
        return list(pool.map(_work, jobs, chunksize=chunk))


def start_workers_early() -> None:
    """Start now the process Markdown workers are made from, while the site is still
    being read (see :func:`_workers`).

    It and the workers it makes write nothing an author needs to see (a worker's error
    comes back to this process with its job), so their stderr is /dev/null: Ctrl-C in a
    terminal reaches every process of the build, and each printed its own traceback
    (from its imports, or from a worker starting as the build stopped). This process
    reports the interruption, once."""
    context = _workers()
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        quiet, stderr = os.open(os.devnull, os.O_WRONLY), os.dup(2)
        try:
            os.dup2(quiet, 2)  # (inherited when the fork server is started)
            forkserver.ensure_running()
        finally:
            os.dup2(stderr, 2)
            os.close(stderr)
            os.close(quiet)


def stop_workers() -> None:
    """Stop the fork server (and the resource tracker it started), if running: 50 MB
    that a build no longer needs once every body is rendered. The next build in this
    process starts them again. (They have no public stop; Python's tests use these.)"""
    if _workers().get_start_method() != "forkserver":
        return  # (Windows: spawned workers end with their pool)
    from multiprocessing import forkserver, resource_tracker

    for server in (forkserver._forkserver, resource_tracker._resource_tracker):
        stop = getattr(server, "_stop", None)
        if stop is not None:
            stop()


def _workers() -> multiprocessing.context.BaseContext:
    """Workers are forked from a *fork server*: a fresh interpreter that has imported
    Markdown and nothing else. Forked from this process instead, each would start as a
    copy of the whole loaded site (200 MB at 10,000 lessons, counted once per worker),
    and forking a process that runs threads (serve's) is unsafe."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")  # Windows
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _start_worker(targets: Mapping[str, str]) -> None:
    global _worker
    _worker = (MarkdownRenderer(), targets)


def _work(job: BodyJob) -> Rendered:
    assert _worker is not None
    return _render_one(_worker[0], job, _worker[1])


def _render_one(renderer: MarkdownRenderer, job: BodyJob, targets: Mapping[str, str]) -> Rendered:
    rendered = renderer.render(job.markdown.decode(), source=job.source, body_line=job.body_line,
                               page_url=job.page_url, owner=job.owner, targets=targets)
    return (replace(rendered, packed=pack(sanitize(rendered.html))) if job.sanitize
            else rendered)


def _check_anchors(site: Site, lessons: Mapping[str, Rendered], sections: Mapping[str, Rendered],
                   notes: Mapping[str, Rendered]) -> list[Problem]:
    """Every ``#anchor`` link must name a heading (or other id) of its target page."""
    # Only the bodies with such links are looked at, and the ids of a page gathered only
    # when a link points into it (most bodies have none: 20 ms of a save at 10,000
    # lessons went on listing every body and every page first).
    checked = [
        *((l.source, l, "body", l.body_line, r) for k, l in site.lessons.items()
          if (r := lessons[k]).anchor_refs),
        *((s.source, s, "body", s.body_line, r) for g in site.sections.values() for s in g
          if (r := sections[s.source]).anchor_refs),
        *((l.source, l, "note", l.note_line, r) for l in site.links
          if (r := notes[l.source]).anchor_refs),
    ]

    def ids(url: str) -> set[str] | None:
        """The ids on the lesson page at ``url`` (its body's and its upline sections'),
        or None for another page (a course, a static file: not checked)."""
        key = urls.lesson_key(url)
        if key is None or key not in lessons:
            return None
        return {a for r in (lessons[key], *(sections[s.source] for s in
                                            site.sections.get(key, ()))) for a in r.anchors}

    anchors: dict[str, set[str] | None] = {}
    problems = []
    for source, owner, text, body_line, rendered in checked:
        seen: dict[str, int] = {}
        for ref in rendered.anchor_refs:
            nth = seen[ref.href] = seen.get(ref.href, -1) + 1
            url = site.targets.get(ref.source)
            if url is None:
                continue
            if url not in anchors:
                anchors[url] = ids(url)
            found = anchors[url]
            if found is not None and ref.fragment not in found:
                # (a body's text is read, a lesson's decoded, only for a problem's line)
                problems.append(error(source, line_of(getattr(owner, text), ref.href,
                                                      body_line, nth),
                                      f"link to '{ref.href}': there is no heading "
                                      f"'#{ref.fragment}' in {ref.source}"))
    return problems


def _check_placements(site: Site, lessons: Mapping[str, Rendered]) -> list[Problem]:
    problems = []
    for key, group in site.sections.items():
        for s in group:
            if s.placement.startswith("after:") and s.placement[6:] not in lessons[key].anchors:
                problems.append(error(s.source, s.line, f"placement '{s.placement}': lesson "
                                      f"'{key}' ({site.lessons[key].source}) has no heading "
                                      f"'#{s.placement[6:]}'"))
    return problems


_HEADING = re.compile(r"<h([1-6])\b[^>]*\bid=\"([^\"]+)\"")


def place_sections(body: str, sections: Iterable[Section],
                   box: Callable[[Section, int], Markup]) -> Markup:
    """Insert upline sections into a lesson body at their placements, each made by
    ``box`` with the level its title takes: 2 at the start or the end, one below the
    heading it follows (it ends that heading's part of the lesson)."""
    body = Markup(body)  # rendered (and, where needed, sanitized) HTML: not to be escaped
    sections = list(sections)
    start = [box(s, 2) for s in sections if s.placement == "start"]
    end = [box(s, 2) for s in sections if s.placement == "end"]
    for section in sections:
        if not section.placement.startswith("after:"):
            continue
        anchor = section.placement[6:]
        match = next((m for m in _HEADING.finditer(body) if m.group(2) == anchor), None)
        if match is None:
            end.append(box(section, 2))
            continue
        level = int(match.group(1))
        cut = len(body)
        for later in _HEADING.finditer(body, match.end()):
            if int(later.group(1)) <= level:
                cut = later.start()
                break
        body = body[:cut] + box(section, min(level + 1, 6)) + "\n" + body[cut:]
    return Markup("\n".join([*start, body, *end]))
