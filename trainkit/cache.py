"""The persistent cache of rendered Markdown, in ``.trainkit-cache/`` inside the source.

Markdown is most of a build's cost, so a body whose text, place and link targets are
unchanged is not rendered again. Entries are keyed by a hash of everything the
rendering reads; the trainkit and Markdown versions name the file, so an upgrade starts
afresh. The cache never changes results, and deleting it is always safe.

Between the rebuilds of one process (``trainkit serve``) the same object also keeps the
theme's template environment and every rendered page by :func:`page_key`, so an edit
renders only the pages whose context it changed.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import io
import os
import pickle
import shutil
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import (TYPE_CHECKING, Any, Callable, Generic, Hashable, Iterable, Iterator, Mapping,
                    TypeVar)

from . import __version__
from .write import Stamp, save_pickle, stamp

if TYPE_CHECKING:
    import jinja2

    from .changes import Checklist
    from .theme import Theme
    from .markdown_ext import Rendered
    from .problems import Problem
    from .render import BodyJob, Page
    from .sourcefile import FrontMatterDoc

    Document = tuple[FrontMatterDoc | None, list[Problem]]

CACHE_DIR = ".trainkit-cache"


def job_key(job: "BodyJob") -> str:
    digest = hashlib.sha256(job.markdown)
    digest.update(b"\0")
    for part in (job.source, str(job.body_line), job.page_url, job.owner, str(job.sanitize)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def page_key(context: Mapping[str, Any], theme: str) -> str:
    """A hash of everything a page's template reads: the theme's fingerprint and the
    page's context. (Its ``href`` function is left out: it depends only on the page's own
    URL, which the context holds.) The context is plain data, so its pickle is faithful:
    two contexts with the same pickle render the same page."""
    data = {name: value for name, value in context.items() if name != "href"}
    digest = hashlib.sha256(f"{__version__}\0{theme}\0".encode())
    digest.update(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
    return digest.hexdigest()


@functools.cache
def code_fingerprint() -> str:
    """A hash of trainkit's Python code, naming the cache files of what it made from the
    content (parsed files, rendered bodies): in a source checkout, or a CI cache carried
    across commits, the version alone stays the same while the code that parses and
    renders changes. By content, not file times, so a fresh checkout still finds them."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    for file in sorted(package.rglob("*.py")):
        digest.update(file.relative_to(package).as_posix().encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def renderer() -> str:
    """What renders a Markdown body besides its job: trainkit's code, Python-Markdown,
    and nh3 (which cleans upline HTML). It names the cache of rendered bodies, and goes
    into their digests (see :attr:`trainkit.render.Bodies.digests`): after an upgrade, a
    body may render differently under the same key."""
    import markdown
    from importlib.metadata import version

    return f"{code_fingerprint()}-md{markdown.__version__}-nh3{version('nh3')}"


class InputsDigest:
    """A hash of what a page is made from, before its context is made: the values
    :func:`trainkit.pages.plan` lists for it. A build compares it with the last build's
    to take an unchanged page from the output without making its context (most of what
    an unchanged page would cost).

    Equal values give the same digest in every process: objects are pickled without the
    pickler's memo (so which values happen to be the same object does not show), and
    the model holds no sets (their order changes with each process's string hashes:
    :class:`~trainkit.markdown_ext.Rendered` holds its anchors in a tuple,
    :class:`~trainkit.model.VersionInfo` pickles its pages sorted). Each object is
    pickled once per build: lessons appear in many pages' inputs."""

    def __init__(self, salt: str, known: Mapping[int, tuple[object, bytes]] = {}) -> None:
        self._salt = salt.encode("utf-8")
        self._known: dict[int, tuple[object, bytes]] = dict(known)
        """By id: an object (held, so that its id is not reused) and its digest. Not
        strings: most are made for one page, and cost little to hash again.
        ``known`` gives some from the start, made from what the objects are made from
        (see :attr:`trainkit.render.Bodies.digests`)."""

    def __call__(self, inputs: tuple[Any, ...]) -> str:
        digest = hashlib.sha256(self._salt)
        digest.update(b"(%d;" % len(inputs))
        for item in inputs:
            self._feed(digest, item)
        return digest.hexdigest()

    def _feed(self, digest: Any, value: object) -> None:
        kind = type(value)
        if kind is tuple:
            # By its own digest, made once: the tuples inside pages' inputs are mostly
            # shared (the site's settings, a lesson with its facts in each neighbour).
            known = self._known.get(id(value))
            if known is None:
                inner = hashlib.sha256(b"(%d;" % len(value))  # type: ignore[arg-type]
                for item in value:  # type: ignore[attr-defined]
                    self._feed(inner, item)
                known = self._known[id(value)] = (value, inner.digest())
            digest.update(b"t")
            digest.update(known[1])
        elif kind is str:
            data = value.encode("utf-8", "surrogatepass")  # type: ignore[attr-defined]
            digest.update(b"s%d;" % len(data))
            digest.update(data)
        elif kind is int:
            digest.update(b"i%d;" % value)  # type: ignore[str-format]
        else:
            digest.update(b"o")
            digest.update(self._of(value))

    def _of(self, value: object) -> bytes:
        known = self._known.get(id(value))
        if known is None:
            known = (value, hashlib.sha256(_pickled(value)).digest())
            self._known[id(value)] = known
        return known[1]


def _pickled(value: object) -> bytes:
    """``value``'s pickle, the same for equal values in every process."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo: two equal strings pickle alike, shared or not
    pickler.dump(value)
    return buffer.getvalue()


FORMAT = 7
"""Of the saved rendered bodies and files read: a new number whenever the fields of what
they hold change, since a cache is read back by position (trainkit's version does not
change between commits)."""


K = TypeVar("K")
V = TypeVar("V")


@dataclass(slots=True)
class Carried(Generic[K, V]):
    """Values from the previous build (``last``) and those this build used (``now``):
    only what a build used is carried into the next, so that what deleted files gave does
    not pile up in a long-running serve."""

    last: dict[K, V] = field(default_factory=dict)
    now: dict[K, V] = field(default_factory=dict)

    def get(self, key: K) -> V | None:
        """The last build's value, counted as used."""
        found = self.last.get(key)
        if found is not None:
            self.now[key] = found
        return found

    def keep(self, key: K, value: V) -> None:
        self.now[key] = value

    def same(self, key: K, value: V) -> V:
        """``value``, or the equal value of the last build (the same object, so that
        comparing with it later stops at identity)."""
        old = self.last.get(key)
        if old is not None and old == value:
            value = old
        self.now[key] = value
        return value

    def following(self) -> "Carried[K, V]":
        """What the next build starts from: what this one used (all of it, when it
        stopped before using any)."""
        return Carried(dict(self.now or self.last))


@dataclass(slots=True)
class BodyCache:
    """Rendered bodies by job key, and what else a build keeps for the next one."""

    file: Path | None
    """The folder its rendered bodies are kept in (None: in memory only, as in serve)."""
    bodies: Carried[str, "Rendered"] = field(default_factory=Carried)
    index_dir: Path | None = None
    """Where the last search index is kept: each part's files in a file named by the
    hash of the pages it indexed (see :mod:`trainkit.search`); one at a time in memory."""
    indexes: dict[str, dict[str, bytes]] = field(default_factory=dict)
    """The same, in a process that builds again (serve), in memory."""
    pages: Carried[str, bytes] = field(default_factory=Carried)
    """Rendered pages by :func:`page_key`, from the previous build in this process."""
    rendered: list[str] = field(default_factory=list)
    """Output paths whose template ran in this build (the others came from ``pages``)."""
    templates: tuple[tuple[Any, ...], "jinja2.Environment"] | None = None
    """The theme's template environment, with the theme and fingerprint it was made for."""
    documents: Carried[str, "Document"] = field(default_factory=Carried)
    """Markdown files split into front matter and body, by name and a hash of the text."""
    files: Carried[str, tuple[Any, Any, list["Problem"], bytes | None]] = field(
        default_factory=Carried)
    """What reading each file gave, by its path relative to the source, with the stat it
    was read at and a hash of its bytes (see :meth:`trainkit.loader.Folder.remember`):
    kept between builds too, so a build after an edit reads only the files that
    changed, and one in a fresh checkout parses only those."""
    files_file: Path | None = None
    watched: frozenset[str] | None = None
    """In serve: every path (relative to the source) the watcher saw change since the
    previous rebuild; None when not known (then each file's stat is looked at)."""
    courses: Carried[str, Any] = field(default_factory=Carried)
    """In serve: what loading each course folder gave in the previous rebuild."""
    planned: Carried[str, tuple[Any, "Page"]] = field(default_factory=Carried)
    """Each page's output path → (what its context is made from, the page), from the
    previous build in this process (see :func:`trainkit.pages.plan`)."""
    checked_against: Mapping[str, str] | None = None
    """The link targets every body carried in :attr:`bodies` (``last``) was rendered
    with or found valid for, when one build's (in serve): when this build's are the
    same, none need :meth:`Rendered.still_valid <trainkit.markdown_ext.Rendered.still_valid>`
    (10,000 bodies: 20 ms of a save). None when not known."""
    _checked_now: Mapping[str, str] | None = None
    _checked_mixed: bool = False
    memo: Carried[Any, Any] = field(default_factory=Carried)
    """Small derived values (job keys, lesson facts) by the objects they come from."""
    shelves: tuple["Shelf", "Shelf"] | None = None
    """Where :attr:`bodies` and :attr:`files` were loaded from, and are saved to."""
    compiled_templates: Path | None = None
    """Where a build keeps the theme's templates compiled (see :meth:`keep_compiled`)."""
    parsed: set[str] = field(default_factory=set)
    """The source files this build parsed instead of taking what they gave last time:
    those new or changed since (see :func:`trainkit.render.render_site`)."""
    from_files: dict[int, tuple[object, bytes]] = field(default_factory=dict)
    """For :class:`InputsDigest`, by the id of each lesson, section and curated link read
    (held, so that the id is not reused): a digest made from the file's name, how it was
    read and a hash of its bytes, which are all it is made from (see
    :meth:`trainkit.loader.Folder.remember`). Pickling and hashing 10,000 lessons to know
    the same cost 0.15 s of a one-lesson edit."""
    _kinds: dict[Hashable, bytes] = field(default_factory=dict)
    _renderer: bytes = b""

    def made_from(self, result: object, name: str, kind: Hashable, digest: bytes) -> None:
        """Note that ``result`` is what the file ``name``, read as ``kind``, gave from
        bytes with the hash ``digest`` (see :attr:`from_files`). Only frozen dataclasses:
        what is noted must not change afterwards; and not in serve, which compares the
        inputs themselves."""
        params = getattr(type(result), "__dataclass_params__", None)
        if params is None or not params.frozen or self.in_process:
            return
        how = self._kinds.get(kind)
        if how is None:
            how = self._kinds[kind] = _pickled(kind)
        if not self._renderer:
            self._renderer = renderer().encode()  # (what reads files is trainkit's code)
        made = hashlib.sha256(b"file\0%s\0%s\0" % (self._renderer, name.encode(
            "utf-8", "surrogatepass")))
        made.update(how)
        made.update(digest)
        self.from_files[id(result)] = (result, made.digest())

    @classmethod
    def open(cls, source: Path) -> "BodyCache":
        made_by = f"{FORMAT}-{__version__}"
        bodies, rendered = Shelf.open(source / CACHE_DIR / f"bodies{made_by}-{renderer()}")
        files, read = Shelf.open(source / CACHE_DIR / f"files{made_by}-{code_fingerprint()}")
        return cls(bodies.folder, Carried(rendered),
                   index_dir=source / CACHE_DIR / f"search-{__version__}",
                   files_file=files.folder, files=Carried(read), shelves=(bodies, files))

    def loaded(self) -> "BodyCache":
        """What was loaded from the files, in memory only: where serve starts from."""
        return BodyCache(None, Carried(self.bodies.last), files=Carried(self.files.last))

    def keep_compiled(self, source: Path) -> None:
        """Keep the theme's templates compiled in the cache (only a build writes there).
        The folder is named by trainkit's code: how it sets Jinja up is not in the key
        Jinja gives a compiled template."""
        self.compiled_templates = source / CACHE_DIR / f"templates-{code_fingerprint()}"

    def get(self, key: str, targets: Mapping[str, str],
            checked: bool = False) -> "Rendered | None":
        """The body rendered for ``key``, if its links still go where they went.
        ``checked``: :meth:`checked_for` said they do, for every body."""
        found = self.bodies.last.get(key)
        if found is None or not (checked or found.still_valid(targets)):
            return None
        self.bodies.keep(key, found)
        return found

    def checked_for(self, targets: Mapping[str, str]) -> bool:
        """Whether every body carried is known to be right for ``targets``: they are
        those it was checked against in the previous build. Counts what comes next
        (:meth:`get` or :meth:`put`, for every body) as checked against ``targets``."""
        if self._checked_now is None and not self._checked_mixed:
            self._checked_now = targets
        elif self._checked_now is not targets:  # (two sets of targets in one build)
            self._checked_now, self._checked_mixed = None, True
        last = self.checked_against
        return last is not None and (last is targets or last == targets)

    def put(self, key: str, rendered: "Rendered") -> None:
        self.bodies.keep(key, rendered)

    @property
    def in_process(self) -> bool:
        """Kept in memory for the next build of this process (serve), not in a file: only
        then are rendered pages worth keeping."""
        return self.file is None

    def job_key(self, job: "BodyJob") -> str:
        """:func:`job_key`, remembered for the next rebuild of this process (hashing
        every body again would cost more than looking it up)."""
        key = job.key
        if key is None:
            key = self.memo.get(job)
            if key is None:
                key = job_key(job)
                self.memo.keep(job, key)
            object.__setattr__(job, "key", key)  # (not a field compared or hashed)
        return key

    def following(self) -> "BodyCache":
        """What the next build in this process starts from (in memory only): what this
        build used (all of it when it stopped before rendering) and its environment.
        Files read are all carried: those read just after a save are not counted as
        used (see :meth:`trainkit.loader.Folder.remember`)."""
        # What the bodies carried were checked against: this build's targets, when it
        # used bodies, all for the same targets; the last build's, when it used none.
        checked = (self.checked_against if not self.bodies.now
                   else None if self._checked_mixed else self._checked_now)
        return BodyCache(None, self.bodies.following(), pages=self.pages.following(),
                         templates=self.templates, documents=self.documents.following(),
                         files=Carried({**self.files.last, **self.files.now}),
                         courses=self.courses.following(), planned=self.planned.following(),
                         memo=self.memo.following(), checked_against=checked)

    def document(self, name: str, text: str,
                 split: Callable[[str, str], "Document"]) -> "Document":
        """``split(text, name)``, from the previous build when the file is unchanged.
        (The front matter is never changed after parsing, so it can be shared.) Only a
        process that builds again keeps them: a build would hold every parsed front
        matter to the end for nothing (20 MB at 10,000 lessons)."""
        if not self.in_process:
            return split(text, name)
        key = name + "\0" + hashlib.blake2b(text.encode("utf-8", "surrogatepass")).hexdigest()
        found = self.documents.get(key)
        if found is None:
            found = split(text, name)
            self.documents.keep(key, found)
        return found

    def environment(self, theme: "Theme", fingerprint: str) -> "jinja2.Environment":
        """The theme's template environment, made again only when the theme changed."""
        from .theme import environment

        made_for = (theme.name, theme.folders, fingerprint)
        if self.templates is None or self.templates[0] != made_for:
            self.templates = (made_for, environment(theme, self.compiled_templates))
        return self.templates[1]

    def put_page(self, key: str, path: str, content: bytes) -> None:
        if self.in_process:
            self.pages.keep(key, content)
        self.rendered.append(path)

    def has_search_index(self, key: str) -> bool:
        """Whether a search index part was made before from pages hashing to ``key``."""
        if self.index_dir is None:
            return key in self.indexes
        return (self.index_dir / f"{key}.pickle").is_file()

    def search_index(self, key: str) -> dict[str, bytes] | None:
        """The files of that part (None if they cannot be read after all)."""
        if self.index_dir is None:
            return self.indexes.get(key)
        return load_pickle(self.index_dir / f"{key}.pickle") or None

    def put_search_index(self, key: str, files: dict[str, bytes]) -> None:
        if self.index_dir is None:
            self.indexes[key] = files
        else:
            save_pickle(self.index_dir / f"{key}.pickle", files)

    def keep_search_indexes(self, keys: list[str]) -> None:
        """Forget every part but these (those of the index just made), so old parts do
        not pile up, in the cache folder or in a long-running serve."""
        if self.index_dir is None:
            self.indexes = {key: self.indexes[key] for key in keys if key in self.indexes}
            return
        kept = {f"{key}.pickle" for key in keys}
        for file in self.index_dir.glob("*.pickle"):
            if file.name not in kept:
                file.unlink(missing_ok=True)

    def release_bodies(self) -> None:
        """Let go of everything but the search index parts (once saved)."""
        self.bodies, self.files, self.memo, self.documents = (Carried(), Carried(),
                                                              Carried(), Carried())
        self.courses, self.planned, self.pages = Carried(), Carried(), Carried()
        self.from_files = {}  # (it holds every lesson read: 60 MB at 10,000 lessons)
        _return_freed_memory()

    def save(self) -> None:
        """Keep what this build used (only that, so stale entries go) for the next build.
        Only the files of the entries that changed are written."""
        if self.shelves is not None:
            self.shelves[0].save(self.bodies.now, self.bodies.last)
            self.shelves[1].save(self.files.now, self.files.last)
            self.shelves = None


SHARDS = 16
"""Files a :class:`Shelf` is kept in."""


@dataclass(slots=True)
class Shelf:
    """A cache dict kept in :data:`SHARDS` files in a folder, each key in the one a hash
    of it names: a build that changed a few entries writes only the files that hold them.
    (A one-lesson edit at 10,000 lessons spent 0.35 s pickling the whole of both caches.)"""

    folder: Path
    keys: list[frozenset[str]] = field(default_factory=list)
    """The keys each file held when it was read (not the entries: those a build replaces
    are let go of as it goes; see :meth:`trainkit.loader.Folder.remember`)."""

    @staticmethod
    def open(folder: Path) -> tuple["Shelf", dict[str, Any]]:
        """The shelf, and every entry its files hold. (Loaded with the cycle collector
        off: the entries hold no cycles, and collections while a million objects were
        made took 40 ms of the 250 of loading a 10,000-lesson site's caches.)"""
        shelf, found = Shelf(folder), {}
        with collector_paused():
            for i in range(SHARDS):
                part = load_pickle(folder / f"{i}.pickle")
                shelf.keys.append(frozenset(part))
                found.update(part)
        return shelf, found

    def save(self, now: Mapping[str, Any], last: Mapping[str, Any]) -> None:
        """Keep ``now``. A file is written unless it would hold the same keys, each with
        the very entry of ``last``, the entries read (less those a build let go of)."""
        parts: list[dict[str, Any]] = [{} for _ in range(SHARDS)]
        for key, value in now.items():
            parts[zlib.crc32(key.encode("utf-8", "surrogatepass")) % SHARDS][key] = value
        for i, (part, was) in enumerate(zip(parts, self.keys)):
            if part.keys() != was or any(last.get(key) is not value
                                         for key, value in part.items()):
                save_pickle(self.folder / f"{i}.pickle", part)
        self.keys = []


@dataclass(slots=True)
class BuiltPages:
    """What the last build wrote to each page of the current site (not ``v/``), with
    the :class:`InputsDigest` of what it was made from. A page whose inputs hash the
    same is taken from the output folder instead of made again: after an edit, only the
    pages that show it get a context and a template run (most of a rebuild's cost).

    A page is taken only when its file still hashes to what was written, so an output
    folder changed by hand, or left by a build that failed, costs a render, never a stale
    page. Records are dropped whenever trainkit's own code changes (its templates'
    filters are not in the contexts), or Jinja2 or MarkupSafe is upgraded."""

    file: Path
    out: Path
    code: Any
    """What the records are valid for (see :func:`trainkit.uptodate.code`)."""
    records: Carried[str, tuple[str, bytes, bool]]
    """Output path → (inputs digest, SHA-256 of the bytes written, whether they hold
    :attr:`marker`): the last build's, and this build's, saved for the next."""
    marker: bytes = b""
    """What a page opting into the search index holds."""
    token: str = ""
    """Names this build's records, in the records and in the manifest of its output."""
    last_token: str | None = None
    """That of the records loaded."""
    stamps: Mapping[str, Stamp] = field(default_factory=dict)
    """The stat each file of ``out`` had just after the build these records come from
    (see :meth:`trust`)."""
    spare: Path | None = None
    """An older output to take a page from when ``out`` has none (a fresh checkout in
    CI with the cache restored has the spare of :mod:`trainkit.write`, not the output)."""
    taken: set[str] = field(default_factory=set)
    """The pages :meth:`reuse` read from the output (not the spare) in this build."""
    checklists: Carried[bytes, tuple[tuple[str, str], ...]] = field(default_factory=Carried)
    """A lesson page's checklist items (for the changes page) by the SHA-256 of the page:
    an unchanged page is not read back to find them."""

    @classmethod
    def open(cls, source: Path, out: Path, code: Any, spare: Path | None = None,
             marker: bytes = b"") -> "BuiltPages":
        from importlib.metadata import version

        code = (code, version("jinja2"), version("markupsafe"), marker)
        file = source / CACHE_DIR / f"pages{FORMAT}-{__version__}.pickle"
        found = load_pickle(file)
        if found.get("code") != code:
            found = {}
        return cls(file, out, code, Carried(found.get("pages", {})), spare=spare,
                   checklists=Carried(found.get("checklists", {})), marker=marker,
                   token=os.urandom(8).hex(), last_token=found.get("token"))

    def trust(self, token: str | None, stamps: Mapping[str, Stamp]) -> None:
        """The manifest of the output (see :mod:`trainkit.uptodate`): written by the
        build that made these records (``token``), it gives the stat each output file
        had just after that build. A page whose file still has it holds the bytes
        recorded, and is taken without being read (:meth:`kept`), as a build with
        nothing changed trusts every file that way. After a build that failed once its
        records were saved, the tokens differ, and every page is read."""
        if token is not None and token == self.last_token:
            self.stamps = stamps

    def kept(self, path: str, key: str) -> tuple[bool, os.stat_result] | None:
        """When the output's file of ``path`` is still the one the last build made from
        inputs hashing to ``key``: whether it opted into the search index (it is then
        recorded again, as :meth:`reuse` does), and the file's stat (so that it is not
        statted again to be linked); otherwise None."""
        record = self._made_from(path, key)
        if record is None or path not in self.stamps:
            return None
        try:
            found = os.stat(os.path.join(self.out, path))
        except OSError:
            return None
        if stamp(found) != self.stamps[path]:
            return None
        self.records.keep(path, record)
        self.taken.add(path)
        return record[2], found

    def _made_from(self, path: str, key: str) -> tuple[str, bytes, bool] | None:
        """The last build's record of ``path`` when it made it from inputs hashing to
        ``key``."""
        record = self.records.last.get(path)
        return record if record is not None and record[0] == key else None

    def same(self, path: str, key: str) -> bool:
        """Whether the last build made ``path`` from inputs hashing to ``key`` (so that
        :meth:`kept` or :meth:`reuse` will most likely take it)."""
        return self._made_from(path, key) is not None

    def reuse(self, path: str, key: str) -> bytes | None:
        """The bytes the last build wrote to ``path`` from inputs hashing to ``key``
        (recorded again for the next build), or None."""
        record = self._made_from(path, key)
        if record is None:
            return None
        content = _read_or_none(os.path.join(self.out, path))
        in_out = content is not None
        if content is None and self.spare is not None:
            content = _read_or_none(os.path.join(self.spare, path))
        if content is None or hashlib.sha256(content).digest() != record[1]:
            return None
        self.records.keep(path, record)
        if in_out:
            self.taken.add(path)
        return content

    def record(self, path: str, key: str, content: bytes) -> None:
        """A page just rendered."""
        self.records.keep(path, (key, hashlib.sha256(content).digest(), self.marker in content))

    def digest(self, path: str) -> bytes | None:
        """The SHA-256 of the bytes of a page reused or recorded in this build."""
        record = self.records.now.get(path)
        return record[1] if record is not None else None

    def checklist(self, parse: Callable[[str], "Checklist"]) -> Callable[[str], "Checklist"]:
        """``parse`` (a page's checklist by its output path), taken from the last build
        for a page with the same bytes."""
        def checklist(path: str) -> "Checklist":
            digest = self.digest(path)
            if digest is None:
                return parse(path)
            found = self.checklists.get(digest)
            if found is None:
                found = parse(path)
                self.checklists.keep(digest, found)
            return found
        return checklist

    def save(self) -> None:
        save_pickle(self.file, {"code": self.code, "token": self.token,
                                "pages": self.records.now,
                                "checklists": self.checklists.now})


MADE_BY_VERSION = ("bodies*", "files*", "pages*.pickle", "search-*", "templates-*")
"""Cache files named by trainkit's version, Markdown's or the cache format."""


def forget_others(source: Path, current: Iterable[Path | None]) -> None:
    """Delete what other versions and older formats left in the cache (each upgrade
    would leave its own behind: 100 MB at 10,000 lessons), keeping ``current``."""
    keep = {path.name for path in current if path is not None}
    for pattern in MADE_BY_VERSION:
        for path in (source / CACHE_DIR).glob(pattern):
            if path.name in keep:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _read_or_none(file: str) -> bytes | None:
    try:
        with open(file, "rb") as f:
            return f.read()
    except OSError:
        return None


def load_pickle(file: Path) -> dict[Any, Any]:
    """A pickled dict from the cache; empty when missing, old or damaged (it is simply
    made again)."""
    try:
        with file.open("rb") as f:
            found = pickle.load(f)
        return found if isinstance(found, dict) else {}
    except Exception:
        return {}


def return_large_blocks() -> None:
    """Have every block of 128 KiB or more allocated on its own and handed back to the
    system as soon as it is freed. By default glibc raises that threshold after the first
    such block is freed, so later ones (a page sent to Pagefind as JSON, a part's index
    coming back) are carved from heaps that seldom shrink: a cold 10,000-lesson build's
    main process grew by 30–40 MB while the search index was made, at its peak, and is
    now flat. (Nothing else changes: no measurable cost in time.)"""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD


@contextmanager
def collector_paused(freeze: bool = False) -> Iterator[None]:
    """The cycle collector off while loading (what is loaded makes no cycles), on again
    after if it was. With ``freeze``, what is alive then is first put out of its sight
    (see :func:`gc.freeze`), so that it is not walked again when it comes back on."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if collecting:
            gc.enable()


def _return_freed_memory() -> None:
    """Hand memory just freed back to the system (glibc keeps it for the process
    otherwise), so Pagefind, started next, does not come on top of it."""
    gc.collect()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def _glibc() -> Any:
    """The C library, when it is glibc (whose allocator these two tune), else None."""
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None
