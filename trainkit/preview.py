"""The site as ``trainkit serve`` holds it: built in memory, replaced whole on each rebuild.

:meth:`Preview.rebuild` runs the same stages as ``trainkit build``
(:func:`trainkit.build.check`, drafts included), adds the theme's assets and the static
files, and keeps the result as one immutable :class:`Snapshot` (output path → file). A
new snapshot replaces the old one under a lock, so a request during a rebuild gets a
whole old or a whole new page; files whose bytes did not change are kept as they were,
so only what changed counts as rebuilt. Nothing is written to disk. When the content
has errors, the last good files stay and the errors travel with them.

The search index is not on that path: Pagefind reads every page again (seconds on a
large site), so :class:`SearchIndexer` rebuilds it in a thread of its own once the new
pages are served, and its files swap in when ready (the newest pages win).
"""

from __future__ import annotations

import gc
import hashlib
import os
import secrets
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from . import urls
from .build import check
from .cache import BodyCache
from .model import Site
from .problems import Problem, UsageError, error, has_errors, warning
from .render import Page
from .search import BUNDLE, Digests, search_index


RELOAD_WAIT = 0.25
"""Seconds the tidying after a rebuild waits for an open page to fetch the new version
(a page reloads as soon as its event stream says so: a few milliseconds here)."""

MAX_LISTED_CHANGES = 200
"""More changes at once than this (a git checkout): every file's stat is looked at."""


@dataclass(frozen=True, slots=True)
class File:
    """One file of the built site, in memory."""

    content: bytes
    etag: str
    stamp: tuple[int, int] | None = None
    """(mtime_ns, size) of the source file for copied files, to skip re-reading them."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the server answers with: replaced whole, never changed in place."""

    files: Mapping[str, File]
    """The last good build, by output path (``courses/a/index.html``)."""
    errors: tuple[str, ...] = ()
    """``PATH:LINE: error: MESSAGE`` lines of the latest rebuild, shown over every page."""
    generation: int = 0
    """Goes up whenever a page, the errors or the warnings change; open pages reload
    when it does."""
    title: str = "trainkit"
    warnings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """``PATH:LINE: warning: MESSAGE`` lines about the files a page shows, by its output
    path: shown folded at the foot of that page (a lesson's image from another host
    shows as a link; the author sees why where they look)."""


def page_warnings(site: Site, problems: list[Problem]) -> dict[str, tuple[str, ...]]:
    """The warnings about each lesson's files (its own, and the upline sections in it),
    by the lesson page's output path."""
    by_file: dict[str, list[str]] = {}
    for problem in problems:
        if problem.severity == "warning":
            by_file.setdefault(problem.path, []).append(problem.format())
    # The lessons those files belong to, found from the files (few) rather than by
    # looking at every lesson's (11 ms a save at 10,000 lessons; now 1.5).
    owner = {lesson.source: key for key, lesson in site.lessons.items()}
    owner.update((s.source, key) for key, group in site.sections.items() for s in group)
    warned = {owner[file] for file in by_file if file in owner}
    found = {}
    for key, lesson in site.lessons.items():
        if key in warned:
            files = [lesson.source, *(s.source for s in site.sections.get(key, ()))]
            found[urls.output_file(urls.lesson_url(key))] = tuple(
                line for file in files for line in by_file.get(file, ()))
    return found


def make_file(content: bytes, stamp: tuple[int, int] | None = None) -> File:
    return File(content, '"' + hashlib.blake2b(content, digest_size=12).hexdigest() + '"', stamp)


@dataclass(slots=True)
class RebuildResult:
    changed: list[str]
    pages: int
    problems: list[Problem]
    seconds: float
    failed: bool


class SearchIndexer:
    """Builds the search index in a background thread, one run at a time. Only the
    newest pages wait their turn (older requests are dropped), and the last index is
    reused while the indexed pages are unchanged."""

    def __init__(self, done: Callable[[list[Page], list[Problem]], None]) -> None:
        self.done = done
        self._memo = BodyCache(None)
        self._digests: Digests = {}
        self._next: tuple[list[Page], str] | None = None
        self._closed = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def request(self, pages: list[Page], language: str) -> None:
        with self._cond:
            self._next = (pages, language)
            self._cond.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="trainkit-search",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        _yield_to_rebuilds()
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or self._next is not None)
                if self._closed or self._next is None:
                    return
                (pages, language), self._next = self._next, None
            try:
                index, problems = search_index(pages, language, self._memo,
                                               known=self._digests)
            except Exception as exc:  # a bug must not stop the preview
                index, problems = [], [warning("trainkit", 1, "internal error while indexing: "
                                               f"{type(exc).__name__}: {exc}")]
                traceback.print_exc()
            self.done(index, problems)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def _yield_to_rebuilds() -> None:
    """Lower this thread's priority, and so that of the Pagefind it starts, so a rebuild
    after the next save gets the CPU first. (On Linux a thread has its own nice value;
    elsewhere it would lower the whole process, so it is left alone there.)"""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except OSError:
            pass


@dataclass
class Preview:
    """The site being previewed: rebuilds it and holds the current snapshot."""

    source: Path
    instance: str = field(default_factory=lambda: secrets.token_hex(8))
    """Changes when the server restarts, so open pages reload then too."""
    snapshot: Snapshot = field(default_factory=lambda: Snapshot({}))
    closed: bool = False
    problems: list[Problem] = field(default_factory=list)
    """What the latest rebuild found."""
    bodies: BodyCache | None = None
    """Rendered Markdown kept from the last rebuild, so an edit re-renders one body.
    Starts from ``trainkit build``'s cache on disk; serve only reads that file."""
    streams: int = 0
    """Open event streams: one per browser (its SharedWorker), not one per tab."""
    index_problems: list[Problem] = field(default_factory=list)
    """What the latest search index run found (Pagefind missing, say)."""
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _indexer: SearchIndexer | None = None
    _rebuilds: int = 0
    _served: int = -1
    """The latest generation a page was sent of (see :meth:`page_served`)."""
    _leftovers: BodyCache | None = None
    _indexing: tuple[list[Page], str] | None = None

    def _body_cache(self, watched: set[str] | None) -> BodyCache:
        if self.bodies is None:
            opened = BodyCache.open(self.source)
            self.bodies = opened.loaded()
        else:
            self.bodies = self.bodies.following()
            if watched is not None and len(watched) <= MAX_LISTED_CHANGES:
                self.bodies.watched = frozenset(watched)
        return self.bodies

    def current(self) -> Snapshot:
        with self._cond:
            return self.snapshot

    def rebuild(self, changed: set[str] | None = None) -> RebuildResult:
        """Run the pipeline and swap in what changed. Never raises for bad content.
        ``changed``: the files and folders (relative to the source) the watcher saw
        change since the previous rebuild began, when it has seen them all; a course
        folder with none of them is then not looked at again (see loader.Folder)."""
        # Python's cycle collector would walk every object of a large site, several times
        # per rebuild (most of a rebuild's time at 10,000 lessons). It waits until the
        # new pages are served; then it runs once, over what this rebuild made, and what
        # survives is frozen (left out of later collections: reference counting still
        # frees it when a later rebuild replaces it). Now and then everything is looked
        # at again, for the rare cycle among replaced objects (an old theme's templates).
        gc.disable()
        try:
            return self._rebuild(changed)
        finally:
            # What comes after the swap holds the interpreter for a while (freeing the
            # last rebuild's cache, the collector, hashing pages for the search index:
            # 0.13-0.19 s at 10,000 lessons), and an open page asking for the new
            # version would wait behind it. It waits for that page instead, briefly.
            self._let_pages_reload()
            self._leftovers = None
            if self._indexing is not None:
                self._index(*self._indexing)
                self._indexing = None
            self._rebuilds += 1
            if self._rebuilds % 50 == 0:
                gc.unfreeze()
            gc.collect()
            gc.freeze()
            gc.enable()

    def _rebuild(self, watched: set[str] | None) -> RebuildResult:
        started = time.perf_counter()
        old = self.current()
        # The last rebuild's cache is let go of after the new pages are served: freeing
        # what it alone held took 20 ms of a save at 10,000 lessons.
        self._leftovers = self.bodies
        old_problems, self.problems = self.problems, []
        problems: list[Problem] = []
        files: dict[str, File] | None = None
        indexing: tuple[list[Page], str] | None = None
        title = old.title
        site: Site | None = None
        try:
            site, pages, problems, theme = check(self.source, include_drafts=True,
                                                 cache=self._body_cache(watched),
                                                 search=False)
            if site is not None:
                title = site.config.title
            if site is not None and theme is not None and not has_errors(problems):
                files = {page.path: _reuse(old.files.get(page.path), page.content)
                         for page in pages}
                copies = [(self.source / f.source, f.output) for f in site.static]
                copies += [(file, urls.ASSETS + name) for name, file in theme.assets().items()]
                for file, name in copies:
                    files[name] = _copy(old.files.get(name), file)
                files.update(_index_files(old.files))
                indexing = (pages, site.config.language)
        except UsageError as exc:
            problems = [error("trainkit.yaml", 1, str(exc))]
        except Exception as exc:  # a bug must not stop the preview: show it, keep serving
            problems = [error("trainkit", 1, f"internal error while rebuilding: "
                              f"{type(exc).__name__}: {exc} (please report this)")]
            if problems != old_problems:  # the details once, not on every save
                traceback.print_exc()
        if files is not None:
            changed = sorted(p for p, f in files.items()
                             if p not in old.files or old.files[p].etag != f.etag)
            changed += sorted(set(old.files) - set(files))
        else:
            files, changed = dict(old.files), []
        self.problems = problems = problems + self.index_problems
        errors = tuple(p.format() for p in problems if p.severity == "error")
        self._swap(Snapshot(files, errors, old.generation, title,
                            page_warnings(site, problems) if site is not None else {}),
                   bool(changed))
        self._indexing = indexing  # (asked for once the open pages have reloaded)
        count = sum(1 for p in changed if p.endswith(".html"))
        return RebuildResult(changed, count, problems, time.perf_counter() - started,
                             bool(errors))

    def page_served(self, generation: int) -> None:
        """The server sent a page of the site as it was at ``generation``."""
        with self._cond:
            if generation > self._served:
                self._served = generation
                self._cond.notify_all()

    def _let_pages_reload(self) -> None:
        """With pages open, wait until one of them has the current version, or for
        :data:`RELOAD_WAIT` at most."""
        with self._cond:
            generation = self.snapshot.generation
            if self.streams and self._served < generation:
                self._cond.wait_for(lambda: self.closed or self._served >= generation,
                                    RELOAD_WAIT)

    def _swap(self, new: Snapshot, changed: bool) -> None:
        with self._cond:
            old = self.snapshot
            generation = old.generation + (1 if changed or new.errors != old.errors
                                           or new.warnings != old.warnings else 0)
            files = {**new.files, **_index_files(old.files)}  # (it may have swapped since)
            self.snapshot = Snapshot(files, new.errors, generation, new.title, new.warnings)
            self._cond.notify_all()

    def _index(self, pages: list[Page], language: str) -> None:
        """Have the search index rebuilt from these pages, off the rebuild's path."""
        with self._cond:
            if self.closed:
                return
            if self._indexer is None:
                self._indexer = SearchIndexer(self._swap_index)
        self._indexer.request(pages, language)

    def _swap_index(self, index: list[Page], problems: list[Problem]) -> None:
        """Swap in a new search index. Open pages do not reload for it: what they show
        has not changed, and the next search reads the new index."""
        with self._cond:
            old = self.snapshot
            files = {path: f for path, f in old.files.items() if not path.startswith(BUNDLE)}
            files.update((page.path, _reuse(old.files.get(page.path), page.content))
                         for page in index)
            self.snapshot = Snapshot(files, old.errors, old.generation, old.title, old.warnings)
            self.index_problems = problems

    def wait_for_change(self, generation: int, timeout: float) -> Snapshot:
        with self._cond:
            self._cond.wait_for(lambda: self.closed or self.snapshot.generation != generation,
                                timeout)
            return self.snapshot

    def count_stream(self, delta: int) -> None:
        with self._cond:
            self.streams += delta

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
            indexer = self._indexer
        if indexer is not None:
            indexer.close()


def _index_files(files: Mapping[str, File]) -> dict[str, File]:
    return {path: f for path, f in files.items() if path.startswith(BUNDLE)}


def _reuse(old: File | None, content: bytes) -> File:
    """The previous file when its bytes are the same (no new hash, no reload). Those of
    a page carried from the last rebuild are the very same: not compared byte by byte."""
    return (old if old is not None and (old.content is content or old.content == content)
            else make_file(content))


def _copy(old: File | None, path: Path) -> File:
    """A static file or theme asset, read again only when its size or mtime changed."""
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    if old is not None and old.stamp == stamp:
        return old
    content = path.read_bytes()
    if old is not None and old.content == content:
        return File(old.content, old.etag, stamp)
    return make_file(content, stamp)
