"""Knowing that nothing changed, without reading anything.

After each build, ``.trainkit-cache/last-build.pickle`` records the stat of every file
the build could have read (the site's content folders, its upline packs, its theme, and
trainkit's own code and built-in theme) and of every file it left in the output folder.
When the next build finds all of them as recorded, and is asked for the same output with
the same options, there is nothing to do: it reports the same warnings and stops, having
rendered and written nothing. Any difference, and the build runs as usual.

A file changed in the two seconds before a build started is not trusted (as git's index
does): a second save within the file system's timestamp resolution could look unchanged.
"""

from __future__ import annotations

import os
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import __version__
from .cache import CACHE_DIR
from .problems import Problem
from .write import SOURCE_FOLDERS, SpareRecord, Stamp, Trusted, save_pickle, stamp

MANIFEST = "last-build.pickle"
CONFIG_FILE = "trainkit.yaml"
RECENT_NS = 2_000_000_000
"""Files changed this recently are read again (here, and by serve's rebuilds)."""
UNTRUSTED: Stamp = (-3, -3, -3, -3)
"""Recorded for a file changed that recently: no stat has it."""


@dataclass(frozen=True, slots=True)
class Counts:
    """What the command line reports about a build."""

    pages: int
    courses: int
    lessons: int


@dataclass(frozen=True, slots=True)
class Manifest:
    key: tuple[object, ...]
    """trainkit's version, the output folder and the options."""
    roots: tuple[str, ...]
    """The folders and files read, relative to the source."""
    sources: dict[str, Stamp] | None
    """A file saved just before the build has :data:`UNTRUSTED` (so the next build
    takes it as changed). None: not known."""
    output: dict[str, Stamp]
    problems: list[Problem]
    """The build's warnings, reported again by a build that does nothing."""
    counts: Counts
    snapshots: dict[str, str]
    """The key each folder of the output was written from, by the folder: the render key
    of each snapshot (``v/<label>/``) and of each part of the search index but the first
    (``pagefind/part-N/``)."""
    pages: str | None = None
    """The token of the page records the build saved (see :class:`~trainkit.cache.BuiltPages`)."""
    spare: SpareRecord | None = None
    """What the build noted of the spare it left (see :class:`~trainkit.write.Output`)."""


def _key(out: Path, strict: bool) -> tuple[object, ...]:
    return (__version__, sys.version, os.fspath(out.resolve()), strict, code())


DEPENDENCIES = ("markdown", "nh3", "jinja2", "markupsafe", "yaml", "pagefind_bin")
"""The packages whose upgrade can change the output (what renders Markdown, cleans
upline HTML, fills the templates, reads front matter, and indexes the pages)."""


def code() -> tuple[tuple[str, Stamp], ...]:
    """trainkit's own files (its code and built-in theme), and the first file of each of
    :data:`DEPENDENCIES` (an upgrade writes it anew): an upgrade or an edit to them (in a
    source checkout) changes every page."""
    from importlib.util import find_spec

    from .theme import PACKAGE_DIR, default_theme_dir  # (no Jinja: it is imported lazily)

    found: dict[str, Stamp] = {}
    _walk(str(PACKAGE_DIR), "", found)
    _walk(str(default_theme_dir()), "theme/", found)
    for name in DEPENDENCIES:
        try:
            spec = find_spec(name)  # (found, not imported)
            if spec is not None and spec.origin:
                found[f"//{name}"] = stamp(os.stat(spec.origin))
        except (ImportError, ValueError, OSError):
            pass
    return tuple(sorted(found.items()))


def settled(changed_ns: int, at_ns: int | None = None) -> bool:
    """Whether a file last changed at ``changed_ns`` (the later of its modification and
    change times) can be trusted unchanged while its stamp is: changed more than
    RECENT_NS before ``at_ns`` (now), so a later save cannot share its timestamp."""
    return (time.time_ns() if at_ns is None else at_ns) - changed_ns > RECENT_NS


def _walk(top: str, prefix: str, found: dict[str, Stamp], skip: str = "") -> None:
    """Every file under ``top`` by its path relative to it, with its stat."""
    try:
        entries = list(os.scandir(top))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        name = prefix + entry.name
        if entry.is_symlink() and entry.is_dir():
            # What is behind a linked folder is not followed here: such a site is always
            # built in full (this stamp never matches).
            found[name] = (-2, time.time_ns(), 0, 0)
        elif entry.is_dir():
            if entry.path != skip and entry.name != "__pycache__":
                _walk(entry.path, name + "/", found, skip)
        else:
            try:
                found[name] = stamp(entry.stat())
            except OSError:
                found[name] = (-1, -1, -1, -1)


def source_roots(source: Path, uplines: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([CONFIG_FILE, *SOURCE_FOLDERS, *uplines]))


def source_stamps(source: Path, roots: tuple[str, ...], out: Path) -> dict[str, Stamp]:
    """The stat of every file under the given roots of the source (not the output)."""
    found: dict[str, Stamp] = {}
    skip = os.fspath(out.resolve())
    for root in roots:
        path = os.path.join(source, root)
        try:
            st = os.stat(path)
        except OSError:
            continue
        if os.path.isdir(path):
            _walk(path, root + "/", found, skip)
        else:
            found[root] = stamp(st)
    return found


def output_stamps(out: Path, files: tuple[str, ...] | None = None) -> dict[str, Stamp]:
    """The stat of every file in the output; of ``files`` when the caller knows that
    they are all there is (a stat each, cheaper than walking every folder)."""
    found: dict[str, Stamp] = {}
    if files is None:
        _walk(os.fspath(out), "", found)
        return found
    top = os.fspath(out) + os.sep
    for name in files:
        try:
            found[name] = stamp(os.stat(top + name))
        except OSError:
            found[name] = (-1, -1, -1, -1)
    return found


def manifest_file(source: Path) -> Path:
    return source / CACHE_DIR / MANIFEST


def last(source: Path, out: Path) -> Manifest | None:
    """What the last build into ``out`` recorded, whatever changed since."""
    try:
        with manifest_file(source).open("rb") as f:
            manifest = pickle.load(f)
    except Exception:  # none yet, or from another version
        return None
    if not isinstance(manifest, Manifest) or manifest.key[:3] != _key(out, False)[:3]:
        return None
    return manifest


@dataclass(frozen=True, slots=True)
class Look:
    """What :func:`look` found: whether there is anything to build, and what it looked
    at, for the build to use rather than look again."""

    manifest: Manifest | None
    """The last build's (None: there is none, or trainkit cannot read it)."""
    sources: dict[str, Stamp] | None
    """The stat of the files under the manifest's roots, taken to compare (None: not
    taken, the manifest saying nothing can be trusted)."""
    taken_ns: int
    """When :attr:`sources` began to be taken."""
    unchanged: bool
    same_code: bool = False
    """Whether trainkit's code (and what it depends on) is the last build's."""

    def changed(self, name_ends: str) -> int | None:
        """How many of the source files with names ending so are new or changed since the
        last build (None: not known)."""
        if self.sources is None or self.manifest is None or self.manifest.sources is None \
                or not self.same_code:
            return None
        was = self.manifest.sources
        return sum(1 for name, now in self.sources.items()
                   if name.endswith(name_ends) and was.get(name) != now)


def look(source: Path, out: Path, strict: bool) -> Look:
    """Whether nothing the last build read or wrote has changed since."""
    taken_ns = time.time_ns()
    manifest = last(source, out)
    if manifest is None or manifest.sources is None:
        return Look(manifest, None, taken_ns, unchanged=False)
    sources = source_stamps(source, manifest.roots, out)
    key = _key(out, strict)
    same = (manifest.key == key and sources == manifest.sources
            and output_stamps(out) == manifest.output)
    return Look(manifest, sources, taken_ns, unchanged=same,
                same_code=manifest.key[4:] == key[4:])


def record(source: Path, out: Path, strict: bool, roots: tuple[str, ...],
           sources: dict[str, Stamp] | None, started_ns: int, problems: list[Problem],
           counts: Counts, snapshots: dict[str, str], files: tuple[str, ...],
           pages: str | None = None, written: dict[str, Stamp] | None = None,
           spare: SpareRecord | None = None) -> None:
    """Remember what this build read (``sources``, taken before it started) and wrote
    (``files``: every file of the output, just written; ``written``: their stat, when
    the writer knows it)."""
    if sources is not None:  # what was saved just before is taken as changed next time
        sources = {name: st if settled(max(st[0], st[1]), started_ns) else UNTRUSTED
                   for name, st in sources.items()}
    output = written if written is not None else output_stamps(out, files)
    manifest = Manifest(_key(out, strict), roots, sources, output,
                        [p for p in problems if p.severity != "error"], counts, snapshots,
                        pages, spare)
    save_pickle(manifest_file(source), manifest)


def trusted(manifest: Manifest | None, snapshots: dict[str, str]) -> Trusted | None:
    """The snapshot folders of the output that the last build wrote from the same render
    keys, so their files need not be read again to know they are unchanged."""
    if manifest is None:
        return None
    same = tuple(folder for folder, key in snapshots.items()
                 if manifest.snapshots.get(folder) == key)
    return Trusted(same, manifest.output) if same else None


def as_before(manifest: Manifest | None, out: Path,
              keep: Callable[[str, os.stat_result], None],
              ) -> Callable[[str, str], bool] | None:
    """For a folder of the output (two levels deep) and the key it is written from now:
    when the last build wrote it from that key and its files still have the stat
    recorded, ``keep`` each of them (with the stat just taken) and say so (they hold the
    bytes wanted: they are neither read nor written)."""
    if manifest is None:
        return None
    last = manifest
    grouped: dict[str, list[str]] = {}
    top = os.fspath(out) + os.sep

    def keep_folder(folder: str, key: str) -> bool:
        if last.snapshots.get(folder) != key:
            return False
        if not grouped:  # (once: 30,000 names at 10,000 lessons)
            for name in last.output:
                grouped.setdefault("/".join(name.split("/", 2)[:2]) + "/", []).append(name)
        names = grouped.get(folder, ())
        if not names:
            return False
        found = []
        try:
            for name in names:
                now = os.stat(top + name)
                if stamp(now) != last.output[name]:
                    return False
                found.append(now)
        except OSError:
            return False
        for name, now in zip(names, found):
            keep(name, now)
        return True

    return keep_folder


def forget(source: Path) -> None:
    """Make the next build run in full (its output is about to change)."""
    try:
        manifest_file(source).unlink(missing_ok=True)
    except OSError:
        pass
