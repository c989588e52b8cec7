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
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .problems import UsageError

if TYPE_CHECKING:
    from .render import Page

MARKER = ".trainkit-site"
"""Written into every output folder; trainkit only ever replaces a folder that has it."""
SPARE = "previous-site"
"""The folder in the cache that keeps the output swapped out by the last build."""
SOURCE_FOLDERS = ("courses", "links", "paths", "uplines", "versions", "static", "themes",
                  "sections", "trainkit.yaml", ".git")


@dataclass(frozen=True, slots=True)
class WriteStats:
    written: int
    """Files whose bytes changed (or are new)."""
    unchanged: int
    files: tuple[str, ...] = ()
    """Every file of the output, relative to it."""
    """Files identical to the previous build, kept as they were."""


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


def write_site(out: Path, pages: Iterable[Page], copies: Iterable[tuple[Path, str]],
               spare: Path | None = None, trusted: Trusted | None = None) -> WriteStats:
    """Write pages and copy files (source path, output name) as the new ``out``. With
    ``spare`` (a folder on the same file system), the previous output is kept there for
    the next build to write into. With ``trusted``, files under its folders whose stat is
    still the one recorded after the last build are known to hold the new bytes (see
    :class:`Trusted`), so they are not read to be compared."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.new-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    entries = dict(_entries(pages, copies))
    entries[MARKER] = _Data(content=b"This folder is written by `trainkit build`; "
                                    b"it is replaced on every build.\n")
    written = unchanged = 0
    # Paths as strings: with thousands of files, pathlib's parsing is most of the cost.
    old, new = str(out) + "/", str(staging) + "/"
    try:
        made = _recycle(spare, staging, entries)
        for name, data in entries.items():
            folder = name.rpartition("/")[0]
            if folder not in made:
                os.makedirs(new + folder, exist_ok=True)
                made.add(folder)
            same = trusted.holds(name) if trusted is not None else None
            if _keep_previous(old + name, new + name, data, same):
                unchanged += 1
            else:
                data.write_to(new + name)
                written += 1
        _swap(staging, out, spare)
    except BaseException:
        _discard(staging, spare)
        raise
    return WriteStats(written, unchanged, tuple(entries))


def _recycle(spare: Path | None, staging: Path, entries: dict[str, "_Data"]) -> set[str]:
    """Take the spare as the staging folder (a rename, so two builds never share it) and
    remove from it every file and folder the new site does not have. Returns the
    folders (relative to it) the staging folder already holds."""
    try:
        if spare is None:
            raise FileNotFoundError
        spare.rename(staging)
    except OSError:  # no spare (first builds), or on another file system
        staging.mkdir()
        return {""}
    folders = {name for entry in entries for name in _parents(entry)}
    kept = {""}

    def clean(path: str, prefix: str) -> None:
        with os.scandir(path) as found:
            children = list(found)
        for child in children:
            name = prefix + child.name
            if child.is_dir(follow_symlinks=False):  # (from the listing: no stat)
                if name in folders:
                    kept.add(name)
                    clean(child.path, name + "/")
                else:
                    shutil.rmtree(child.path)
            elif name not in entries:  # a stale file, or a link (never followed)
                os.unlink(child.path)

    clean(str(staging), "")
    return kept


def _parents(name: str) -> Iterable[str]:
    """``a/b/c.html`` → ``a``, ``a/b``."""
    parts = name.split("/")[:-1]
    return ("/".join(parts[:i + 1]) for i in range(len(parts)))


def _discard(staging: Path, spare: Path | None) -> None:
    """After a failed write: keep what was written as the spare, or delete it. (A half
    written spare is safe: a file is kept only when it is the output's own file.)"""
    try:
        if spare is None or spare.exists():
            raise FileExistsError
        staging.rename(spare)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)


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

    def __init__(self, content: bytes | None = None, file: Path | None = None) -> None:
        self.content, self.file = content, file

    def read(self) -> bytes:
        return self.content if self.content is not None else self.file.read_bytes()  # type: ignore[union-attr]

    def size(self) -> int:
        return len(self.content) if self.content is not None else self.file.stat().st_size  # type: ignore[union-attr]

    def write_to(self, target: str) -> None:
        if self.content is not None:
            with open(target, "wb") as f:
                f.write(self.content)
        else:
            shutil.copyfile(self.file, target)  # type: ignore[arg-type]


def _entries(pages: Iterable[Page], copies: Iterable[tuple[Path, str]]):  # type: ignore[no-untyped-def]
    for page in pages:
        yield page.path, _Data(content=page.content)
    for file, name in copies:
        yield name, _Data(file=file)


def _keep_previous(previous: str, target: str, data: _Data,
                   same: Stamp | None = None) -> bool:
    """Keep or hard-link the previous build's file when its bytes are the same. A file
    the staging folder already has (from the spare) stays when it is that same file.
    ``same``: the stat the previous file had when the bytes now written were last
    written there; while it has it still, it is not read to be compared."""
    try:
        before = os.stat(previous)
        known = same is not None and same == stamp(before)
        if not known and (before.st_size != data.size() or _read(previous) != data.read()):
            _unlink(target)
            return False
        try:
            now = os.lstat(target)
        except FileNotFoundError:
            pass
        else:
            if (now.st_dev, now.st_ino) == (before.st_dev, before.st_ino):
                return True
            os.unlink(target)
        os.link(previous, target)
        return True
    except OSError:
        _unlink(target)
        return False


def _read(file: str) -> bytes:
    with open(file, "rb") as f:
        return f.read()


def _unlink(target: str) -> None:
    """Never write into a file of the spare: it may be the output's own (a hard link)."""
    try:
        os.unlink(target)
    except FileNotFoundError:
        pass


def _swap(staging: Path, out: Path, spare: Path | None) -> None:
    if not out.exists():
        staging.rename(out)
        return
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
    except OSError:
        shutil.rmtree(retired, ignore_errors=True)


def save_cache(file: Path | None, payload: bytes | None) -> None:
    """Replace a cache file atomically; a cache that cannot be written is no error."""
    if file is None or payload is None:
        return
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        if not (file.parent / "CACHEDIR.TAG").exists():
            (file.parent / "CACHEDIR.TAG").write_text(
                "Signature: 8a477f597d28d172789f06886806bc55\n"
                "# trainkit's cache: safe to delete, made again by the next build.\n")
        staging = file.with_name(f".{file.name}.{os.getpid()}")
        staging.write_bytes(payload)
        staging.replace(file)
    except OSError:
        pass
