"""The offline search index, built with Pagefind from the rendered pages.

Pages opt in with ``data-pagefind-body`` (the theme puts it on the main content of
lessons, courses, paths and the library) and describe themselves with
``data-pagefind-meta`` / ``data-pagefind-filter``. Their HTML goes to the Pagefind binary
(shipped by the ``pagefind[bin]`` wheel) in memory, and the index comes back as pages
under ``pagefind/`` that :mod:`trainkit.write` writes like every other page. The theme's
``search.js`` loads ``pagefind/pagefind.js`` by a URL relative to itself, so search works
from any sub-path.

We speak the binary's ``--service`` protocol (what Pagefind's own Python and Node APIs
speak: base64 JSON messages ending in ``,``) instead of using ``pagefind.index``,
because that API reads one answer every 100 ms: 5 s for 50 pages, 100 s for 1,000.
Here the pages are sent one after another from a thread while the answers are
read as they come.

A large site's index is made in parts of at most :data:`PART_PAGES` pages, each a whole
Pagefind index of some courses (a course never spans two parts): ``pagefind/`` holds
the first, ``pagefind/part-N/`` the others, and ``pagefind/trainkit-parts.json`` lists
them for ``search.js``, which merges them into one search (Pagefind's ``mergeIndex``).
So an edit re-indexes only the part holding the pages it changed, the parts are indexed
in parallel, largest first (one Pagefind process each, ``--jobs`` at a time, as long as
they hold :data:`PAGES_AT_ONCE` pages between them: each is single-threaded), and no
Pagefind process holds more than one part of the site in memory.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import subprocess
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from .cache import BodyCache
from .loader import CONFIG_FILE
from .problems import Problem, warning
from .render import Page
from .steady_index import steady

BUNDLE = "pagefind/"
"""Where the index goes in the output."""
PARTS = "trainkit-parts.json"
"""In the bundle: the folders of the other parts, relative to it."""
PART_PAGES = 350
"""At most this many pages in one part of the index (unless one course has more; see
:func:`_part_numbers`: at 10,000 lessons, 44 parts of 84 to 336 pages, most over 175).
Larger parts would load a little faster in the reader's browser (first search of a
10,000-lesson site: 1.2–1.6 s with parts of 500, 1.7–2.2 s with 250, at 50 ms a
request) but take more memory to make, two at a time (see :data:`PAGES_AT_ONCE`)."""
PAGES_AT_ONCE = 650
"""At most this many pages in the Pagefind processes running side by side (unless one
part alone is larger): Pagefind holds ~12 MB and about 0.3 MB a page until its index is
written (a 462-page part took 155 MB). Parts are indexed largest first, each beside the
largest that fits (see :meth:`_Room.take`), so this costs no time: in their own order,
two large parts in a row ran one after the other (room for 600 pages: 17% slower)."""
AHEAD_PAGES = PART_PAGES
"""At most this many pages in a part begun ahead (see :class:`Ahead`), beside a build
that still holds the whole site: Pagefind takes ~12 MB and 0.27 MB a page. Larger parts
(only a course of more pages) wait until the site is let go of: the peak of a cold
10,000-lesson build was 422 MB with a 462-page part begun ahead."""
MARKER = b"data-pagefind-body"
TIMEOUT = 120.0
NOT_CONTENT = ("[hidden]", "nav", "form", "button", "script", "template")
"""Never indexed: reader-progress widgets waiting to be shown, navigation, controls."""
_UNUSED = ("pagefind-ui.", "pagefind-modular-ui.", "pagefind-component-ui.",
           "pagefind-highlight.")
"""Pagefind's own UIs: the theme's search.js shows results itself (a few KB, not 100)."""


class SearchUnavailable(Exception):
    """The index could not be built; the site still is, without search."""


Digests = dict[str, tuple[bytes, bytes | None]]
"""By a page's path: its content, and its :func:`digest` (None: not indexed)."""


def search_index(pages: list[Page], language: str, cache: BodyCache | None = None,
                 jobs: int = 1, known: Digests | None = None) -> tuple[list[Page], list[Problem]]:
    """The index of every page that opted in (the current version only: not ``v/``).
    ``known``: what the last call found of each page, updated for the next: a page
    whose content is the very same bytes object is not looked at again (serve carries
    unchanged pages from rebuild to rebuild; hashing 10,500 of them took a second core
    a quarter of a second on every save)."""
    last, found = known or {}, {}
    chosen, digests = {}, []
    for page in pages:
        old = last.get(page.path)
        if old is None or old[0] is not page.content:
            old = (page.content, digest(page.content) if indexed(page) else None)
        found[page.path] = old
        if old[1] is not None:
            chosen[page.path] = page.content
            digests.append((page.path, old[1]))
    if known is not None:
        known.clear()
        known.update(found)
    out: list[Page] = []
    problems, _ = index_pages(digests, chosen.__getitem__, out.append, language, cache, jobs)
    return out, problems


def indexed(page: Page) -> bool:
    """Whether a page goes into the search index."""
    return (page.path.endswith(".html") and not page.path.startswith("v/")
            and MARKER in page.content)


def digest(content: bytes) -> bytes:
    return hashlib.sha256(content).digest()


Chosen = list[tuple[str, bytes]]
"""Pages to index: their paths, with the :func:`digest` of their content."""


PartKeys = dict[str, str]
"""The key of each part but the first (see :func:`_pages_key`), by its folder in the
output (``pagefind/part-N/``)."""


def index_pages(chosen: Chosen, read: Callable[[str], bytes], sink: Callable[[Page], None],
                language: str, cache: BodyCache | None = None, jobs: int = 1,
                ahead: Ahead | None = None,
                as_before: Callable[[str, str], bool] | None = None,
                ) -> tuple[list[Problem], PartKeys]:
    """Index the pages chosen (see :func:`indexed`), whose content ``read`` gives by
    path, and hand the index's files to ``sink``. Pages are read, and index files held,
    one part at a time, so neither need all be in memory. Returns the parts' keys too.

    A part whose pages are byte for byte those of the last build is used again:
    Pagefind is the slowest step of a rebuild. (Its filter files are put in a fixed
    order by :mod:`trainkit.steady_index`, so a clean build gives the same bytes too.)
    With ``ahead``, the parts it began are waited for instead of indexed again. With
    ``as_before``, a part is first offered to it (its folder and key): it says whether
    it kept that part's files as the last build wrote them, so that they need not be
    read from the cache or handed to ``sink`` (40 parts of 11,000 files at 10,000
    lessons).
    """
    begun = ahead.taken() if ahead is not None else {}
    if not chosen:
        return [], {}
    parts, keys, kept = _plan(chosen, language, cache)
    room = ahead.room if ahead is not None else _Room(PAGES_AT_ONCE, jobs)
    folders = [""] + [f"part-{n}/" for n in range(1, len(parts))]
    part_keys = {BUNDLE + folder: key for folder, key in zip(folders[1:], keys[1:])}
    reused = {i for i in range(1, len(parts)) if keys[i] not in begun and as_before
              and as_before(BUNDLE + folders[i], keys[i])}
    made = _LargestFirst({i: len(parts[i]) for i in range(len(parts))
                          if not kept[i] and keys[i] not in begun and i not in reused},
                         lambda i: _index_part(parts[i], keys[i], read, language, cache),
                         room, jobs)
    try:
        for i in range(len(parts)):  # the parts Pagefind need not make, meanwhile
            if i in made.parts or i in reused:
                continue
            files, made_ahead = None, keys[i] in begun
            if made_ahead:
                try:
                    files = begun.pop(keys[i]).result()
                except Exception:
                    pass  # (indexed again here, and what goes wrong is reported)
            if files is None and cache is not None and (kept[i] or made_ahead):
                files = cache.search_index(keys[i])  # (where a part made ahead is kept)
            if files is None:
                with room.held(len(parts[i])):
                    files = _index_part(parts[i], keys[i], read, language, cache)
            _put_part(folders[i], files, sink)
        for i, files in made:
            _put_part(folders[i], files, sink)
    except SearchUnavailable as exc:
        return [warning(CONFIG_FILE, 1, f"the search index was not built: {exc}")], {}
    finally:
        made.close()
    if cache is not None:
        cache.keep_search_indexes(keys)
    sink(Page(BUNDLE + PARTS, json.dumps({"parts": folders[1:]}).encode()))
    return [], part_keys


class _LargestFirst:
    """Parts indexed by ``jobs`` threads as soon as this is made, each thread taking the
    largest part waiting that fits beside those running (in their own order, two large
    parts in a row ran one after the other). Iterating gives each part's number and
    files as soon as they are made; after a failure no other part is begun, and the
    first failure is raised once the parts running have stopped."""

    def __init__(self, sizes: dict[int, int], index: Callable[[int], dict[str, bytes]],
                 room: "_Room", jobs: int) -> None:
        self.parts = frozenset(sizes)
        self._waiting, self._index, self._room = dict(sizes), index, room
        self._done: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, daemon=True,
                                          name="trainkit-index")
                         for _ in range(min(max(jobs, 1), len(sizes)))]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        try:
            while (taken := self._room.take(self._waiting)) is not None:
                number, pages = taken
                try:
                    self._done.put((number, self._index(number)))
                except BaseException as exc:
                    self._room.stop(self._waiting)
                    self._done.put((number, exc))
                finally:
                    self._room.give_back(pages)
        finally:
            self._done.put((-1, None))  # (this thread is done)

    def __iter__(self) -> Iterator[tuple[int, dict[str, bytes]]]:
        failure, running = None, len(self._threads)
        while running:
            number, made = self._done.get()
            if number < 0:
                running -= 1
            elif isinstance(made, BaseException):
                failure = failure or made
            elif failure is None:
                yield number, made
        if failure is not None:
            raise failure

    def close(self) -> None:
        """Begin no other part, and wait for those running."""
        self._room.stop(self._waiting)
        for thread in self._threads:
            thread.join()


def _put_part(folder: str, files: dict[str, bytes], sink: Callable[[Page], None]) -> None:
    for page in _bundle_pages(folder, files):
        sink(page)


class Ahead:
    """Parts of the index made while the build is still making pages.

    The build makes its pages one part after another (:meth:`order` gives the order), so
    a part is complete as soon as a page of the next one is handed over (:meth:`add`).
    It is then indexed in the background, one part at a time, while the templates of the
    next part are rendered: Pagefind works on the other core instead of waiting for the
    end, where a cold 1,000-lesson build left it idle for a second and more. A part the
    cache has is not indexed again. :func:`index_pages` takes over at the end: it waits
    for the parts started here, and indexes those that were not."""

    def __init__(self, read: Callable[[str], bytes], language: str,
                 cache: BodyCache | None, jobs: int) -> None:
        self._read, self._language, self._cache = read, language, cache
        self._version = pagefind_version()
        self._number: dict[str, int] = {}
        self._pages: Chosen = []
        self._at: int | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="trainkit-index-ahead")
        self._started: dict[str, Future[dict[str, bytes] | None]] = {}
        self.room = _Room(PAGES_AT_ONCE, jobs)
        """Shared with :func:`index_pages`, so that the parts begun here count."""

    def order(self, paths: list[str]) -> Callable[[str], int]:
        """For the pages to be made (their output paths): a sort key that puts each
        part's pages together, in the order they have among themselves."""
        self._number = _part_numbers(paths)
        return lambda path: self._number.get(path, 0)

    def add(self, page: tuple[str, bytes]) -> None:
        """A page for the index (path and digest), once written where ``read`` finds it."""
        number = self._number.get(page[0], 0)
        if number != self._at:
            self._begin()
            self._at = number
        self._pages.append(page)

    def _begin(self) -> None:
        pages, self._pages = self._pages, []
        if not pages or len(pages) > AHEAD_PAGES:
            return
        key = _pages_key(pages, self._language, self._version)
        if key in self._started or (self._cache is not None
                                    and self._cache.has_search_index(key)):
            return
        self._started[key] = self._pool.submit(self._index, pages, key)

    def _index(self, pages: Chosen, key: str) -> dict[str, bytes] | None:
        """The part's files; or None once they are in the cache's folder, to be read
        back at the end rather than held: at 10,000 lessons the parts made before the
        last page came to 35 MB, held when the build's memory peaks."""
        with self.room.held(len(pages)):
            files = _index_part(pages, key, self._read, self._language, self._cache)
        return None if self._cache is not None and self._cache.index_dir is not None else files

    def made(self) -> None:
        """Every page is made: the last part is complete too."""
        self._begin()

    def taken(self) -> dict[str, Future[dict[str, bytes] | None]]:
        """Stop beginning parts: those begun, by key, for :func:`index_pages` to wait
        for (a part that was only queued is left to it)."""
        self._begin()
        begun = {key: future for key, future in self._started.items()
                 if not future.cancel()}
        self._started = {}  # (each holds its part's index files until they are written)
        self._pool.shutdown(wait=False)
        return begun


def _index_part(pages: Chosen, key: str, read: Callable[[str], bytes], language: str,
                cache: BodyCache | None) -> dict[str, bytes]:
    """One part's index files, made by Pagefind and kept in the cache by ``key``."""
    files = steady(_run_pagefind(pages, read, language))
    if cache is not None:
        cache.put_search_index(key, files)
    return files


def _plan(chosen: Chosen, language: str, cache: BodyCache | None,
          ) -> tuple[list[Chosen], list[str], list[bool]]:
    """The parts of the index, their keys, and whether the cache has each."""
    parts = _parts(chosen)
    version = pagefind_version()
    keys = [_pages_key(part, language, version) for part in parts]
    return parts, keys, [cache is not None and cache.has_search_index(key) for key in keys]


class _Room:
    """Room for so many pages in so many Pagefind processes at once: a part waits until
    it fits beside those running (a part larger than the room waits for it to be empty)."""

    def __init__(self, pages: int, processes: int) -> None:
        self._free, self._size, self._processes = pages, pages, max(processes, 1)
        self._changed = threading.Condition()

    @contextmanager
    def held(self, pages: int) -> Iterator[None]:
        taken = self.take({0: pages})
        assert taken is not None
        try:
            yield
        finally:
            self.give_back(taken[1])

    def take(self, waiting: dict[int, int]) -> tuple[int, int] | None:
        """Of the parts waiting (their sizes by number), the largest that fits now, taken
        out of ``waiting``, once there is one (None once none is waiting): its number and
        the room it holds until :meth:`give_back`."""
        with self._changed:
            while waiting:
                fits = [n for n, size in waiting.items()
                        if self._processes and min(size, self._size) <= self._free]
                if fits:
                    number = max(fits, key=lambda n: (waiting[n], -n))
                    pages = min(waiting.pop(number), self._size)
                    self._free -= pages
                    self._processes -= 1
                    return number, pages
                self._changed.wait()
            return None

    def give_back(self, pages: int) -> None:
        with self._changed:
            self._free += pages
            self._processes += 1
            self._changed.notify_all()

    def stop(self, waiting: dict[int, int]) -> None:
        """Take no more of these parts."""
        with self._changed:
            waiting.clear()
            self._changed.notify_all()


def _bundle_pages(folder: str, files: dict[str, bytes]) -> list[Page]:
    """A part's files where they go in the site, without those nobody loads."""
    languages = json.loads(files.get("pagefind-entry.json", b"{}")).get("languages", {})
    wasm = {f"wasm.{v['wasm']}.pagefind" for v in languages.values()}
    return [Page(BUNDLE + folder + name, content) for name, content in sorted(files.items())
            if not name.startswith(_UNUSED)
            and (name in wasm or not name.startswith("wasm."))
            and (not folder or not name.startswith(_PRIMARY_ONLY))]


_PRIMARY_ONLY = ("pagefind.js", "pagefind-worker.js", "wasm.")
"""Files only the first part needs: the others are merged into its search, which loads
their index files with its own script and WebAssembly."""


def _parts(pages: Chosen) -> list[Chosen]:
    """The pages in parts (see :func:`_part_numbers`): the first holds the pages outside
    courses, and is there even when it is empty."""
    number = _part_numbers([path for path, _ in pages])
    grouped: list[Chosen] = [[] for _ in range(max(number.values(), default=0) + 1)]
    for page in pages:
        grouped[number[page[0]]].append(page)
    return [grouped[0], *(part for part in grouped[1:] if part)]


def _part_numbers(paths: list[str]) -> dict[str, int]:
    """Which part each page is in. Part 0 holds the pages that are not in a course (home,
    paths, library: few, and they change with every lesson, since they show each
    lesson's progress); the courses (``courses/<slug>/…``) are in the others, a course
    never in two.

    The courses are put in order by a hash of their slug and the order is cut in two,
    by the hash's first bit, as long as a piece holds more than :data:`PART_PAGES`
    pages, then each half by the next bit, and so on: every part has at most that many
    pages (unless one course alone has more), and most over half as many. Whether a
    piece is cut depends only on the courses in it, so a course added or removed
    changes only the part it is in (or the piece around it, when that must now be cut
    or need not be any more): the other parts keep their pages, and their index is taken
    from the cache. (A count of parts, with each course in the part its hash picked,
    gave parts of 105 to 462 pages at 10,000 lessons, and one more course could change
    the count, and with it every part.)"""
    number = dict.fromkeys(paths, 0)
    if len(paths) <= PART_PAGES:
        return number
    sizes: dict[str, int] = {}
    for path in paths:
        if path.startswith("courses/"):
            slug = path.split("/", 2)[1]
            sizes[slug] = sizes.get(slug, 0) + 1
    ordered = sorted((_slug_hash(slug), slug) for slug in sizes)
    part: dict[str, int] = {}
    for n, piece in enumerate(_cut([(h, slug, sizes[slug]) for h, slug in ordered]), 1):
        part.update((slug, n) for _, slug, _ in piece)
    for path in paths:
        if path.startswith("courses/"):
            number[path] = part[path.split("/", 2)[1]]
    return number


_HASH_BITS = 64


def _slug_hash(slug: str) -> int:
    return int.from_bytes(hashlib.sha256(slug.encode("utf-8")).digest()[:_HASH_BITS // 8],
                          "big")


def _cut(courses: list[tuple[int, str, int]], bit: int = _HASH_BITS - 1,
         ) -> Iterator[list[tuple[int, str, int]]]:
    """The pieces of ``courses`` (hash, slug, pages; in the order of their hashes, which
    agree on every bit above ``bit``), each of at most PART_PAGES pages or one course."""
    if not courses:
        return
    if len(courses) == 1 or bit < 0 or sum(size for _, _, size in courses) <= PART_PAGES:
        yield courses
        return
    half = next((i for i, (h, _, _) in enumerate(courses) if h >> bit & 1), len(courses))
    yield from _cut(courses[:half], bit - 1)
    yield from _cut(courses[half:], bit - 1)


INDEX_FORMAT = 2
"""Of the index files a part's key stands for: 2 since filter files are put in a fixed
order (:mod:`trainkit.steady_index`), so no part made before is used again."""


def _pages_key(pages: Chosen, language: str, version: str) -> str:
    key = hashlib.sha256(f"{INDEX_FORMAT}\0{language}\0{version}\0".encode())
    for path, content_digest in pages:
        key.update(path.encode())
        key.update(b"\0")
        key.update(content_digest)
    return key.hexdigest()


def pagefind_version() -> str:
    try:
        from importlib.metadata import version
        return version("pagefind")
    except Exception:
        return "unknown"


def _page_url(path: str) -> str:
    """``courses/a/index.html`` → ``/courses/a/`` (relative to the site root)."""
    return "/" + (path[:-len("index.html")] if path.endswith("index.html") else path)


def _run_pagefind(pages: Chosen, read: Callable[[str], bytes], language: str,
                  ) -> dict[str, bytes]:
    try:
        from pagefind.service import get_executable
        executable = get_executable()
    except ImportError:
        executable = None
    if executable is None:
        raise SearchUnavailable("Pagefind is not installed (pip install 'pagefind[bin]')")
    try:
        process = subprocess.Popen([str(executable), "--service"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError as exc:
        raise SearchUnavailable(f"could not start Pagefind ({exc})") from exc
    timer = threading.Timer(TIMEOUT, process.kill)
    timer.start()
    try:
        return _index(process, pages, read, language)
    finally:
        timer.cancel()
        if process.stdin:
            process.stdin.close()
        process.wait()


def _index(process: subprocess.Popen[bytes], pages: Chosen, read: Callable[[str], bytes],
           language: str) -> dict[str, bytes]:
    assert process.stdin is not None and process.stdout is not None
    answers = _answers(process.stdout.fileno())
    process.stdin.write(_message(0, {"type": "NewIndex", "config": {
        "force_language": language, "write_playground": False,
        "exclude_selectors": list(NOT_CONTENT)}}))
    process.stdin.flush()
    index_id = _expect(next(answers, None), "NewIndex")["index_id"]

    def requests() -> Iterator[bytes]:
        for i, (path, _) in enumerate(pages, 1):
            yield _message(i, {"type": "AddFile", "index_id": index_id, "file_path": None,
                               "url": _page_url(path),
                               "file_contents": read(path).decode("utf-8")})
        yield _message(len(pages) + 1, {"type": "GetFiles", "index_id": index_id})

    # Written from a thread, a page at a time, while the answers are read here, so
    # neither pipe fills up and no more than a page is held.
    failed: list[BaseException] = []
    writer = threading.Thread(target=_write, args=(process.stdin, requests(), failed),
                              daemon=True)
    writer.start()
    for answer in answers:
        payload = answer.get("payload", {})
        if payload.get("type") == "GetFiles":
            writer.join()
            return {f["path"]: base64.b64decode(f["content"]) for f in payload["files"]}
        _expect(answer, "IndexedFile")
    writer.join()
    if failed:
        raise failed[0]
    raise SearchUnavailable("Pagefind stopped before the index was complete")


def _write(stream: Any, messages: Iterator[bytes], failed: list[BaseException]) -> None:
    try:
        for message in messages:
            stream.write(message)
        stream.flush()
    except (BrokenPipeError, ValueError):
        pass  # the binary died or was stopped; the reader reports it
    except BaseException as exc:  # a page could not be read: stop Pagefind, tell the reader
        failed.append(exc)
        try:
            stream.close()
        except OSError:
            pass


def _message(message_id: int, payload: dict[str, Any]) -> bytes:
    return base64.b64encode(json.dumps({"message_id": message_id,
                                        "payload": payload}).encode("utf-8")) + b","


def _answers(fd: int) -> Iterator[dict[str, Any]]:
    pending: list[bytes] = []
    while chunk := os.read(fd, 1 << 20):
        *ends, rest = chunk.split(b",")
        for end in ends:
            yield json.loads(base64.b64decode(b"".join([*pending, end])))
            pending = []
        pending.append(rest)


def _expect(answer: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    payload = (answer or {}).get("payload", {})
    if payload.get("type") != kind:
        raise SearchUnavailable(f"Pagefind answered {payload.get('message') or payload!r}")
    return payload  # type: ignore[no-any-return]
