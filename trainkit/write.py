"""Writing the built site: the only module that changes anything on disk.

The new site is written into a temporary folder beside the output and swapped in only
when complete, so readers (and ``serve``) never see half a site and a failed build
leaves the previous one untouched. Files whose bytes did not change are hard-linked
from the previous build, so they keep their modification time.

The folder swapped out is not deleted but kept as a *spare* (in ``.trainkit-cache/``),
and the next build writes into it instead of a new folder: its unchanged files are
still hard links to the same files as the output's, so they need neither a new link
now nor a deletion after the swap. A file of the spare is kept only when it is that
same file (device and inode) as the output's and the output's bytes are the new bytes.
Making and deleting thousands of folders and links was most of the time of a
rebuild with several versions.

Which of the spare's files are already the output's is known without looking: the
build that kept it noted the files it wrote or linked anew (:class:`SpareRecord`);
every other file of its output is the spare's too. The note holds while the spare
holds the mark that build left in it, which the next build takes away before it
changes anything (a spare a failed build half wrote is looked at file by file).
"""

from __future__ import annotations

import os
import pickle
import secrets
import shutil
import stat as stat_module
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterable, Mapping

from .problems import UsageError

if TYPE_CHECKING:
    from .render import Page

MARKER = ".trainkit-site"
"""Written into every output folder; trainkit only ever replaces a folder that has it."""
SPARE = "previous-site"
"""The folder in the cache that keeps the output swapped out by the last build."""
SPARE_MARK = ".trainkit-spare"
"""Left in the spare by the build that kept it: the token of its :class:`SpareRecord`."""
SOURCE_FOLDERS = ("courses", "links", "paths", "uplines", "versions", "static", "themes",
                  "sections", "trainkit.yaml", ".git")


@dataclass(frozen=True, slots=True)
class WriteStats:
    written: int
    """Files whose bytes changed (or are new)."""
    unchanged: int
    """Files identical to the previous build, kept as they were."""
    files: tuple[str, ...] = ()
    """Every file of the output, relative to it."""
    stamps: dict[str, Stamp] | None = None
    """The stat of each of them as it is now, when known without looking again (see
    :meth:`Output.finish`)."""
    spare: SpareRecord | None = None
    """What the next build needs to know of the spare left for it (None: none left)."""


@dataclass(frozen=True, slots=True)
class SpareRecord:
    """The spare a build left: every file of that build's output is the spare's own file
    too (the same file: device and inode), but for those the build wrote or linked anew
    (``rewritten``). True while the spare holds the mark with ``token``."""

    token: str
    rewritten: frozenset[str]


def check_out_dir(source: Path, out: Path) -> None:
    """Refuse an output folder that would overwrite or delete what the author wrote."""
    src, dst = source.resolve(), out.resolve()
    if dst == src or dst in src.parents:
        raise UsageError(f"--out {out} would replace the folder holding your site; "
                         "choose a folder of its own, such as site/")
    if src in dst.parents and dst.relative_to(src).parts[0] in SOURCE_FOLDERS:
        raise UsageError(f"--out {out} is inside your content ({dst.relative_to(src).parts[0]}/); "
                         "choose a folder of its own, such as site/")
    if dst.exists() and not dst.is_dir():
        raise UsageError(f"--out {out} is a file; choose a folder")
    if dst.is_dir() and any(dst.iterdir()) and not (dst / MARKER).exists():
        raise UsageError(f"--out {out} already holds files that trainkit did not write; "
                         "refusing to replace it (choose another folder, or empty it yourself)")


class Output:
    """The new output folder while it is written, file by file: pages go to disk as they
    are made instead of all being held until the end (10,000 lessons are 120 MB of HTML).
    Nothing is visible at ``out`` until :meth:`finish` swaps the folder in; after a
    failure, :meth:`discard` leaves the previous site as it was.

    With ``spare`` (a folder on the same file system), the previous output is kept there
    for the next build to write into."""

    def __init__(self, out: Path, spare: Path | None = None,
                 record: SpareRecord | None = None) -> None:
        """``record``: what the last build into ``out`` noted of the spare it left."""
        self.out, self.spare = out.resolve(), spare
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.staging = self.out.parent / f".{self.out.name}.new-{os.getpid()}"
        if self.staging.exists():
            shutil.rmtree(self.staging)
        self._fresh = False
        """Nothing to keep: no previous site, and a new, empty folder to write (a first
        build's 21,000 files at 10,000 lessons are then written without looking for
        what is not there: 0.25 s less)."""
        try:  # a rename, so two builds never share it
            if spare is None:
                raise FileNotFoundError
            spare.rename(self.staging)
        except OSError:  # no spare (first builds), or on another file system
            self.staging.mkdir()
            self._fresh = not self.out.exists()
        # Paths as strings: with thousands of files, pathlib's parsing is most of the cost.
        self._old, self._new = str(self.out) + "/", str(self.staging) + "/"
        self._differs = _taken_mark(self._new, record)
        """The files of the output that the spare's may not be (None: any of them)."""
        self._rewritten: set[str] = set()
        self.names: dict[str, Stamp] = {}
        """Every file written so far, in order, with its stat once written."""
        self._made = {""}
        self.written = self.unchanged = 0
        self._left = ""  # (what finish cleans: "" for all)

    def put(self, name: str, content: bytes, as_before: bool = False) -> None:
        """``as_before``: the caller has just read ``content`` from the output's own file
        of that name (so it need not be read again to be compared)."""
        self._put(name, _Data(content=content), as_before=as_before)

    def keep(self, name: str, found: os.stat_result) -> None:
        """The output's own file of that name, known to hold the bytes wanted
        (``found``: its stat, as the caller has just taken it).

        When the spare's file is known to be that file already, nothing is done (a
        one-lesson edit at 10,000 lessons keeps 21,000 files: looking at each of them in
        the spare, and at its folder, was 0.4 s)."""
        if self._differs is not None and name not in self._differs:
            folder = name.rpartition("/")[0]
            if folder not in self._made:  # (the spare has it: it holds the file)
                self._made.update(_parents(name))
            self.unchanged += 1
            self.names[name] = stamp(found)
            return
        self._put(name, _Data(file=self._old + name), as_before=True, found=found)

    def put_all(self, pages: Iterable[Page], copies: Iterable[tuple[Path, str]] = (),
                trusted: Trusted | None = None) -> None:
        """With ``trusted``, files under its folders whose stat is still the one recorded
        after the last build are known to hold the new bytes (see :class:`Trusted`), so
        they are not read to be compared."""
        for page in pages:
            self._put(page.path, _Data(content=page.content), trusted)
        for file, name in copies:
            self._put(name, _Data(file=file), trusted)

    def clean_all_but(self, folder: str) -> None:
        """Remove now what the new site does not have, but for ``folder`` (``a/``), whose
        files are still to come: :meth:`finish` then looks only there. (The build does
        this while Pagefind works: 0.14 s at 10,000 lessons.)"""
        _clean(self._new, self.names, skip=folder)
        self._left = folder

    def read(self, name: str) -> bytes:
        """A file written (it may be a link to the previous build's)."""
        return _read(self._new + name)

    def _put(self, name: str, data: _Data, trusted: Trusted | None = None,
             as_before: bool = False, found: os.stat_result | None = None) -> None:
        target = self._new + name
        folder = name.rpartition("/")[0]
        if folder not in self._made:
            _make_folder(self._new, folder, self._made, self._fresh)
        if self._fresh:
            now, in_place = None, False
        else:
            same = trusted.holds(name) if trusted is not None else None
            now, in_place = _keep_previous(self._old + name, target, data, same, as_before,
                                           found)
        if now is not None:
            self.unchanged += 1
        else:
            data.write_to(target)
            now = os.stat(target)
            self.written += 1
        if not in_place:
            self._rewritten.add(name)
        self.names[name] = stamp(now)

    def finish(self) -> WriteStats:
        """Remove what the new site does not have, and swap it in. The stat of each file
        is the one taken as it was written or kept, unless the previous site had to be
        deleted (its files' links to the new site's then went: their stat changed)."""
        self._put(MARKER, _Data(content=b"This folder is written by `trainkit build`; "
                                         b"it is replaced on every build.\n"))
        _clean(self._new, self.names, only=self._left)
        kept = _swap(self.staging, self.out, self.spare)
        record = None
        if kept and self.spare is not None and self.spare.is_dir():
            record = SpareRecord(secrets.token_hex(8), frozenset(self._rewritten))
            try:
                (self.spare / SPARE_MARK).write_text(record.token)
            except OSError:
                record = None
        return WriteStats(self.written, self.unchanged, tuple(self.names),
                          self.names if kept else None, record)

    def discard(self) -> None:
        """After a failed write: keep what was written as the spare, or delete it. (A half
        written spare is safe: without its mark, a file of it is kept only when it is
        the output's own file.)"""
        try:
            if self.spare is None or self.spare.exists():
                raise FileExistsError
            _unlink(self._new + SPARE_MARK)  # (taken at the start; never trusted again)
            self.staging.rename(self.spare)
        except OSError:
            shutil.rmtree(self.staging, ignore_errors=True)


def _taken_mark(top: str, record: SpareRecord | None) -> frozenset[str] | None:
    """Take the spare's mark away (before anything in it changes), and say which files
    of the output ``record`` says the spare may not have as they are: None when the
    mark is not ``record``'s (or there is no record)."""
    try:
        with open(top + SPARE_MARK) as f:
            token = f.read()
        os.unlink(top + SPARE_MARK)
    except OSError:
        return None
    return record.rewritten if record is not None and token == record.token else None


def _make_folder(top: str, folder: str, made: set[str], fresh: bool = False) -> None:
    """Make ``top + folder`` and the folders above it not yet in ``made``: what the spare
    has in their place (a file, a link) is removed, never followed. ``fresh``: ``top``
    was made empty by this build."""
    parent = folder.rpartition("/")[0]
    if parent not in made:
        _make_folder(top, parent, made, fresh)
    path = top + folder
    if fresh:
        try:
            os.mkdir(path)
            made.add(folder)
            return
        except FileExistsError:
            pass  # (one of its files is there: a folder wanted where a file was put)
    try:
        if not stat_module.S_ISDIR(os.lstat(path).st_mode):
            os.unlink(path)
            raise FileNotFoundError
    except FileNotFoundError:
        os.mkdir(path)
    made.add(folder)


def _clean(top: str, names: Mapping[str, object], skip: str = "", only: str = "") -> None:
    """Remove every file and folder under ``top`` that is not one of ``names`` or a
    folder holding one (what is left of the spare): but for the folder ``skip``, or only
    in the folder ``only`` (each ``a/``, at the top)."""
    wanted = names if not only else [name for name in names if name.startswith(only)]
    folders = {folder for name in wanted for folder in _parents(name)}

    def clean(path: str, prefix: str) -> None:
        with os.scandir(path) as found:
            children = list(found)
        for child in children:
            name = prefix + child.name
            if child.is_dir(follow_symlinks=False):  # (from the listing: no stat)
                if name + "/" == skip:
                    continue
                if name in folders:
                    clean(child.path, name + "/")
                else:
                    shutil.rmtree(child.path)
            elif name not in names:  # a stale file, or a link (never followed)
                os.unlink(child.path)

    if not only:
        clean(top, "")
    elif only[:-1] in folders:
        clean(top + only, only)
    elif os.path.isdir(top + only):
        shutil.rmtree(top + only)  # (none of its files came)


def _parents(name: str) -> Iterable[str]:
    """``a/b/c.html`` → ``a``, ``a/b`` (``""`` is every file's, and in ``made``)."""
    parts = name.split("/")[:-1]
    return ("/".join(parts[:i + 1]) for i in range(len(parts)))


Stamp = tuple[int, int, int, int]
"""(mtime_ns, ctime_ns, size, inode): a file whose stamp is unchanged is taken to be."""


def stamp(st: os.stat_result) -> Stamp:
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


@dataclass(frozen=True, slots=True)
class Trusted:
    """Output folders whose new files are byte for byte those the last build wrote there
    (a snapshot under ``v/<label>/`` rendered from the same cache entry), with the stat
    each output file had just after that build."""

    folders: tuple[str, ...]
    stamps: dict[str, Stamp]

    def holds(self, name: str) -> Stamp | None:
        return self.stamps.get(name) if name.startswith(self.folders) else None


class _Data:
    """Bytes to write, either held in memory or read from a source file."""

    def __init__(self, content: bytes | None = None, file: Path | str | None = None) -> None:
        self.content, self.file = content, file  # (a str for the output's own: no parsing)

    def read(self) -> bytes:
        return self.content if self.content is not None else _read(os.fspath(self.file))  # type: ignore[arg-type]

    def size(self) -> int:
        return len(self.content) if self.content is not None else os.stat(self.file).st_size  # type: ignore[arg-type]

    def write_to(self, target: str) -> None:
        if self.content is not None:
            with open(target, "wb") as f:
                f.write(self.content)
        else:
            shutil.copyfile(self.file, target)  # type: ignore[arg-type]


def _keep_previous(previous: str, target: str, data: _Data,
                   same: Stamp | None = None, as_before: bool = False,
                   found: os.stat_result | None = None,
                   ) -> tuple[os.stat_result | None, bool]:
    """Keep or hard-link the previous build's file when its bytes are the same. A file
    the staging folder already has (from the spare) stays when it is that same file.
    ``same``: the stat the previous file had when the bytes now written were last
    written there; while it has it still, it is not read to be compared. ``as_before``:
    the bytes were just read from it, or it is known to hold them; ``found``: its stat,
    as the caller that knows so took it. Returns the kept file's stat (None: not kept),
    and whether it was in the staging folder already."""
    try:
        before = found if found is not None else os.stat(previous)
        known = as_before or (same is not None and same == stamp(before))
        if not known and (before.st_size != data.size() or _read(previous) != data.read()):
            _unlink(target)
            return None, False
        try:
            now = os.lstat(target)
        except FileNotFoundError:
            pass
        else:
            if (now.st_dev, now.st_ino) == (before.st_dev, before.st_ino):
                return now, True
            os.unlink(target)
        os.link(previous, target)
        return os.stat(target), False  # (a new link changes the file's ctime)
    except OSError:
        _unlink(target)
        return None, False


def _read(file: str) -> bytes:
    with open(file, "rb") as f:
        return f.read()


def _unlink(target: str) -> None:
    """Never write into a file of the spare: it may be the output's own (a hard link).
    A folder of the spare where a file now goes is removed too."""
    try:
        os.unlink(target)
    except FileNotFoundError:
        pass
    except OSError:  # EISDIR on Linux, EPERM on macOS
        if os.path.islink(target) or not os.path.isdir(target):
            raise
        shutil.rmtree(target)


def _swap(staging: Path, out: Path, spare: Path | None) -> bool:
    """Whether the previous output is kept as the spare (or there was none)."""
    if not out.exists():
        staging.rename(out)
        return True
    retired = out.parent / f".{out.name}.old-{os.getpid()}"
    if retired.exists():
        shutil.rmtree(retired)
    out.rename(retired)
    staging.rename(out)
    try:  # kept for the next build to write into
        if spare is None or spare.exists():
            raise FileExistsError
        spare.parent.mkdir(parents=True, exist_ok=True)
        retired.rename(spare)
        return True
    except OSError:
        shutil.rmtree(retired, ignore_errors=True)
        return False


def save_cache(file: Path | None, payload: bytes | None) -> None:
    """Replace a cache file atomically; a cache that cannot be written is no error."""
    if payload is not None:
        _save(file, lambda f: f.write(payload))


def save_pickle(file: Path | None, value: Any) -> None:
    """:func:`save_cache` for a value pickled straight into the file (a cache of 10,000
    lessons is 80 MB: not made as bytes in memory first)."""
    if value is not None:
        _save(file, lambda f: pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL))


def _save(file: Path | None, write: Callable[[BinaryIO], object]) -> None:
    if file is None:
        return
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        if not (file.parent / "CACHEDIR.TAG").exists():
            (file.parent / "CACHEDIR.TAG").write_text(
                "Signature: 8a477f597d28d172789f06886806bc55\n"
                "# trainkit's cache: safe to delete, made again by the next build.\n")
        staging = file.with_name(f".{file.name}.{os.getpid()}")
        with open(staging, "wb") as f:
            write(f)
        staging.replace(file)
    except OSError:
        pass
