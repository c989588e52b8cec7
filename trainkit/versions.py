"""Versions: ``trainkit release``, and building every frozen snapshot beside the current site.

A snapshot (``versions/<label>/``) is itself a site. Building it runs the same
:func:`trainkit.build.check` as the current content, with the current theme and title,
and its pages go under ``v/<label>/``. A snapshot is frozen, so its rendered pages are
kept in ``.trainkit-cache/versions/`` keyed by a hash of its files, and rendered again
only when its files, the theme, trainkit, or what the version switcher on its pages
shows (the version list, which of its pages exist in other versions) change.

Every page gets a ``version`` context (:func:`page_context`): the switcher's targets,
computed at build time so that choosing a version never leads to a missing page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable
from urllib.parse import urlsplit

import markdown

from . import __version__, uptodate, urls
from .cache import CACHE_DIR, load_pickle
from .loader import CONFIG_FILE, load_config
from .model import Site, VersionInfo, Versions
from .problems import ContentError, Problem, UsageError, error, has_errors
from .render import Page
from .write import save_cache, save_pickle

if TYPE_CHECKING:
    from .changes import Checklist, Summary
    from .theme import Theme

VERSIONS_DIR = "versions"
RELEASED = ("courses", "links", "paths", "uplines", "static", "sections")
"""What ``trainkit release`` copies (with trainkit.yaml) into ``versions/<label>/``."""
OUTPUT_PREFIX = "v/"
VERSIONS_JSON = "versions.json"
VERSIONS_PAGE = "versions/"
CHANGES_PAGE = "changes/"
_SNAPSHOT_LEFT_OUT = ("sitemap.xml", "feed.xml", "robots.txt")
"""Discovery files describe the current version only."""
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def valid_label(label: str) -> bool:
    """A label becomes a folder (``versions/<label>/``) and a URL segment (``v/<label>/``)."""
    return bool(_LABEL.fullmatch(label)) and ".." not in label


# --- trainkit release -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    label: str
    folder: Path
    released: dt.date | None
    """None: ``label`` had been released before, and only ``next_label`` was set."""
    next_label: str | None
    problems: list[Problem]
    """Warnings in the released content."""


def release(source: Path, next_label: str | None = None,
            today: dt.date | None = None) -> ReleaseResult:
    """Freeze the current content into ``versions/<version>/``; then, with ``next_label``,
    set ``version:`` in trainkit.yaml. When the current version was released before,
    ``next_label`` is only set: what the last release (without ``--next``) asked for, and
    the build's error says. Raises UsageError (a snapshot exists and no next label, a bad
    label) or ContentError (the content has errors) before writing anything."""
    from .build import check, find_source
    from .cache import BodyCache

    find_source(source)
    config, problems = load_config(source)
    if config is None:
        raise ContentError(problems)
    label = config.version
    if not valid_label(label):
        raise UsageError(f"{CONFIG_FILE}: version '{label}' cannot name a folder; use letters, "
                         "digits, dots, hyphens and underscores, like version: \"2026.11\"")
    target = source / VERSIONS_DIR / label
    if target.exists() and next_label is None:
        raise UsageError(f"{VERSIONS_DIR}/{label}/ already exists: version {label} was released "
                         "before and a snapshot is never overwritten. To start the next "
                         "version, run `trainkit release --next LABEL` (it only sets the new "
                         "label) or edit version: in trainkit.yaml")
    if next_label is not None and (not valid_label(next_label) or next_label == label
                                   or (source / VERSIONS_DIR / next_label).exists()):
        raise UsageError(f"--next {next_label!r}: give a new label (letters, digits, dots, "
                         f"hyphens) that is not {label!r} and not already under {VERSIONS_DIR}/")
    config_text = (source / CONFIG_FILE).read_text(encoding="utf-8")
    if target.exists():
        assert next_label is not None  # (refused above without one)
        set_version(source, config_text, next_label)
        return ReleaseResult(label, target, None, next_label, [])
    # Only errors matter here: no search index (and nothing written to the cache).
    site, _, problems, _ = check(source, cache=BodyCache.open(source), search=False)
    if site is None or has_errors(problems):
        raise ContentError(problems)
    released = today or dt.date.today()
    _copy_snapshot(source, target, with_released(config_text, released))
    if next_label is not None:
        set_version(source, config_text, next_label)
    return ReleaseResult(label, target, released, next_label, problems)


def _copy_snapshot(source: Path, target: Path, config_text: str) -> None:
    """Copy into a staging folder beside ``target`` and rename it, so a failed copy
    leaves no half snapshot behind."""
    staging = target.with_name(f".{target.name}.new-{os.getpid()}")
    try:
        staging.mkdir(parents=True)
        for name in RELEASED:
            if (source / name).is_dir():
                shutil.copytree(source / name, staging / name)
        (staging / CONFIG_FILE).write_text(config_text, encoding="utf-8")
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


_TOP_KEY = r"^{key}[ \t]*:"


def with_released(text: str, released: dt.date) -> str:
    """trainkit.yaml's text with ``released: DATE`` after the ``version:`` line (or
    replacing an existing ``released:``), every comment kept."""
    line = f"released: {released.isoformat()}"
    lines = text.split("\n")
    for i, old in enumerate(lines):
        if re.match(_TOP_KEY.format(key="released"), old):
            lines[i] = line
            return "\n".join(lines)
    for i, old in enumerate(lines):
        if re.match(_TOP_KEY.format(key="version"), old):
            lines.insert(i + 1, line)
            return "\n".join(lines)
    return text.rstrip("\n") + "\n" + line + "\n"


_VERSION_LINE = re.compile(r"^(version[ \t]*:[ \t]*)(\"[^\"]*\"|'[^']*'|[^#\n]*?)([ \t]*(#.*)?)$",
                           re.MULTILINE)


def set_version(source: Path, old: str, label: str) -> None:
    """Set ``version: "LABEL"`` in trainkit.yaml, editing only that line."""
    from .packs import write_config

    new, count = _VERSION_LINE.subn(lambda m: m.group(1) + json.dumps(label) + m.group(3),
                                    old, count=1)
    if count != 1:
        raise UsageError(f"{CONFIG_FILE}: no 'version:' line to update; add version: "
                         f"{json.dumps(label)} yourself")

    def expect(data: Any) -> None:
        if str(data.get("version")) != label:
            raise UsageError(f"{CONFIG_FILE}: could not set version: {json.dumps(label)}; "
                             "edit the version line yourself")

    write_config(source, old, new, expect)


# --- The versions built together ------------------------------------------------------


@dataclass(slots=True)
class Snapshot:
    """One folder under ``versions/``, as found before building."""

    folder: str
    """``versions/<label>``, the prefix of its problems' paths."""
    root: Path
    info: VersionInfo
    key: str
    """A hash of its files, trainkit's and Markdown's versions: names its cache file."""
    cached: dict[str, Any] | None = None
    """The cache entry from an earlier build (None: render it)."""


@dataclass(slots=True)
class Plan:
    """Every snapshot of a site, read (or taken from the cache) before the build renders."""

    source: Path
    snapshots: list[Snapshot] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    theme: None = None
    """The current version is built with its own theme."""

    def apply(self, site: Site) -> Site:
        """The current site, told about every version (for the switcher on its pages)."""
        info = VersionInfo(site.config.version, "", None, True, page_urls(site))
        return replace(site, versions=Versions(info, (info, *(s.info for s in self.snapshots))))


def plan(source: Path) -> Plan:
    """Find the snapshots under ``versions/``, newest first, with their page URLs."""
    found = Plan(source)
    top = source / VERSIONS_DIR
    folders = sorted(p for p in top.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if top.is_dir() else []
    for root in folders:
        snapshot, problems = _read_snapshot(source, root)
        found.problems += problems
        if snapshot is not None:
            found.snapshots.append(snapshot)
    found.snapshots.sort(key=lambda s: (s.info.released or dt.date.min, s.info.label),
                         reverse=True)
    return found


def _read_snapshot(source: Path, root: Path) -> tuple[Snapshot | None, list[Problem]]:
    from .build import load

    folder = f"{VERSIONS_DIR}/{root.name}"
    if not (root / CONFIG_FILE).is_file():
        return None, [error(folder, 1, f"{folder}/ has no {CONFIG_FILE}, so it is not a "
                            "snapshot; make snapshots with `trainkit release`, or move it out "
                            f"of {VERSIONS_DIR}/")]
    config, problems = load_config(root)
    problems = prefixed(problems, folder)
    if config is None:
        return None, problems
    where = f"{folder}/{CONFIG_FILE}"
    if config.version != root.name or not valid_label(root.name):
        return None, problems + [error(where, 1, f"version '{config.version}' does not match "
                                       f"its folder {folder}/; a snapshot's folder is its "
                                       "version label (rename one of them)")]
    key = snapshot_key(source, root)
    cached = _read_cache(source, key)
    if cached is not None:
        pages = cached["urls"]
    else:
        site, found = load(root)
        problems += [p for p in prefixed(found, folder) if p.severity == "error"]
        pages = page_urls(site) if site is not None else frozenset()
    info = VersionInfo(config.version, f"{OUTPUT_PREFIX}{config.version}/", config.released,
                       False, pages)
    return Snapshot(folder, root, info, key, cached), problems


def content_key(root: Path) -> str:
    """A hash of every file under ``root`` (names and bytes), trainkit's version and
    Markdown's: a snapshot's identity for the cache."""
    digest = hashlib.sha256(f"{__version__}\0{markdown.__version__}\0".encode())
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            file = Path(dirpath) / name
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
            digest.update(file.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def snapshot_key(source: Path, root: Path) -> str:
    """:func:`content_key`, remembered in the cache with the stat of every file (name,
    size, inode, modification and change times, as git's index does) and reused while
    they are the same, so a frozen snapshot is not read on every build. A file changed
    within the last seconds is not trusted to its times (they may not have ticked)."""
    stamp, newest = _stat_stamp(root)
    memo = source / CACHE_DIR / "versions" / f"{root.name}.key"
    try:
        seen, key = memo.read_text(encoding="utf-8").split()
        if seen == stamp:
            return key
    except (OSError, ValueError):
        pass
    key = content_key(root)
    if uptodate.settled(newest):
        save_cache(memo, f"{stamp} {key}\n".encode())
    return key


def _stat_stamp(root: Path) -> tuple[str, int]:
    """A hash of every file's name and stat under ``root``, and the newest change time."""
    digest = hashlib.sha256(f"{__version__}\0{markdown.__version__}\0".encode())
    top, newest = str(root), 0
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in sorted(filenames):
            st = os.lstat(os.path.join(dirpath, name))
            newest = max(newest, st.st_ctime_ns, st.st_mtime_ns)
            digest.update(f"{dirpath[len(top):]}/{name}\0{st.st_size}\0{st.st_ino}\0"
                          f"{st.st_mtime_ns}\0{st.st_ctime_ns}\0".encode())
    return digest.hexdigest(), newest


def page_urls(site: Site) -> frozenset[str]:
    """The URL of every page a site has, relative to its own root."""
    found = {urls.HOME, urls.LIBRARY, urls.SEARCH}
    for course in site.courses:
        found.add(urls.course_url(course.slug))
        found.update(urls.lesson_url(lesson.key) for lesson in site.course_lessons(course))
    found.update(urls.path_url(path.slug) for path in site.paths)
    return frozenset(found)


def prefixed(problems: Iterable[Problem], folder: str) -> list[Problem]:
    """Problems found inside a snapshot, named by their path in the site's source."""
    return [replace(p, path=f"{folder}/{p.path}") for p in problems]


# --- Building the snapshots --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Edition:
    """How :func:`trainkit.build.check` builds one snapshot of a site with several versions:
    the current site's title, address and theme, and the other versions' pages."""

    info: VersionInfo
    versions: tuple[VersionInfo, ...]
    title: str
    base_url: str | None
    theme: "Theme"

    def apply(self, site: Site) -> Site:
        base = self.base_url.rstrip("/") + "/" + self.info.path if self.base_url else None
        info = replace(self.info, pages=page_urls(site))
        every = tuple(info if v.label == info.label else v for v in self.versions)
        config = replace(site.config, title=self.title, base_url=base)
        return replace(site, config=config, versions=Versions(info, every))


@dataclass(slots=True)
class SnapshotOutput:
    pages: list[Page]
    """Under ``v/<label>/``."""
    copies: list[tuple[Path, str]]
    problems: list[Problem]
    summaries: list["Summary"]
    """Every version's summary, the current one first, then newest first."""
    rendered: int = 0
    """How many snapshots were rendered (the others came from the cache)."""
    keys: dict[str, str] = field(default_factory=dict)
    """Each snapshot's render key by its output folder (``v/<label>/``): the same key,
    the same bytes."""


def build_snapshots(found: Plan, current: Site, theme: "Theme",
                    current_checklist: Callable[[str], "Checklist"], *,
                    jobs: int = 1, cache: Any = None) -> SnapshotOutput:
    """Every snapshot's pages (from the cache when nothing they show has changed), then
    ``versions.json`` and the versions and changes pages."""
    from .changes import summarize, version_pages

    assert current.versions is not None
    out = SnapshotOutput([], [], [], [])
    fingerprint = theme.fingerprint()
    for snapshot in found.snapshots:
        if snapshot.info.label == current.config.version:
            out.problems.append(error(CONFIG_FILE, 1, f"version '{current.config.version}' is "
                                      f"already released in {snapshot.folder}/; start the next "
                                      "version with `trainkit release --next LABEL` (it only "
                                      f"sets the new label), or edit version: in {CONFIG_FILE}"))
            return out
        key = _render_key(snapshot, current, fingerprint)
        entry = snapshot.cached
        if entry is None or entry.get("render_key") != key:
            entry, errors = _render_snapshot(snapshot, current, theme, key, jobs, cache)
            if entry is None:
                out.problems += errors
                continue
            out.rendered += 1
            save_pickle(cache_file(found.source, snapshot.key), entry)
        prefix = snapshot.info.path
        out.keys[prefix] = key
        out.pages += [Page(prefix + path, content) for path, content in entry["pages"]]
        out.copies += [(snapshot.root / src, prefix + name) for src, name in entry["copies"]]
        out.problems += entry["problems"]
        out.summaries.append(entry["summary"])
    out.summaries.insert(0, summarize(current, current_checklist, current.versions.this,
                                       cache.memo if cache is not None else None))
    env = cache.environment(theme, theme.fingerprint()) if cache is not None else None
    out.pages += version_pages(current, theme, out.summaries, env)
    out.pages.append(Page(VERSIONS_JSON, versions_json(current.versions)))
    return out


def _render_key(snapshot: Snapshot, current: Site, fingerprint: str) -> str:
    """Everything a snapshot's pages show besides its own files."""
    assert current.versions is not None
    every = current.versions.all
    mine = sorted(snapshot.info.pages)
    where = [[v.label for v in every if url in v.pages] for url in mine]
    parts = [snapshot.key, fingerprint, __version__, current.config.title,
             current.config.base_url or "",
             [(v.label, v.path, str(v.released), v.current) for v in every], mine, where]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _render_snapshot(snapshot: Snapshot, current: Site, theme: "Theme", key: str, jobs: int,
                     cache: Any) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Build one snapshot through check(): its cache entry, or None and its errors."""
    from .build import check
    from .changes import page_checklists, summarize

    assert current.versions is not None
    edition = Edition(snapshot.info, current.versions.all, current.config.title,
                      current.config.base_url, theme)
    site, pages, problems, _ = check(snapshot.root, jobs=jobs, cache=cache, edition=edition)
    errors = [p for p in prefixed(problems, snapshot.folder) if p.severity == "error"]
    if site is None or errors:
        return None, errors
    assert site.versions is not None
    kept = [p for p in pages if p.path not in _SNAPSHOT_LEFT_OUT]
    return {
        "render_key": key,
        "urls": site.versions.this.pages,
        "pages": [(p.path, p.content) for p in kept],
        "copies": [(f.source, f.output) for f in site.static],
        "problems": [],  # a frozen snapshot's warnings were seen when it was released
        "summary": summarize(site, page_checklists({p.path: p.content for p in kept}.get),
                             site.versions.this),
    }, []


def cache_file(source: Path, key: str) -> Path:
    return source / CACHE_DIR / "versions" / f"{key}.pickle"


def _read_cache(source: Path, key: str) -> dict[str, Any] | None:
    entry = load_pickle(cache_file(source, key))  # (empty when missing, old or damaged)
    return entry if "urls" in entry else None


# --- What every page shows ---------------------------------------------------------------


def page_context(site: Site, url: str) -> dict[str, Any]:
    """The ``version`` of a page's context: its label, whether it is current, and for
    each version where choosing it leads (the same page when it exists there, else that
    version's home)."""
    config = site.config
    if site.versions is None:  # one site on its own (check, serve)
        return {"enabled": False, "label": config.version, "current": True,
                "released": None, "choices": [], "latest": None, "has": config.version,
                "page": None, "changes": None, "nav": {}}
    this = site.versions.this
    here = this.path + url
    root = urls.root_of(here)  # (one relpath per page: this runs for every page)
    if url == "404.html" and config.base_url:  # served at any depth: only absolute paths work
        root = urlsplit(config.base_url).path.rstrip("/") + "/"
        root = root[: len(root) - len(this.path)] if this.path and root.endswith(this.path) else root

    up = "" if root == "./" else root

    def to(target: str) -> str:
        return "./" if target == here else (up + target or "./")
    choices = []
    for info in site.versions.all:
        same = url in info.pages
        choices.append({"label": info.label, "current": info.current,
                        "released": info.released.isoformat() if info.released else None,
                        "selected": info.label == this.label, "same": same,
                        "href": to(info.path + url if same else info.path)})
    return {
        "enabled": True, "label": this.label, "current": this.current,
        "released": this.released.isoformat() if this.released else None,
        "choices": choices, "latest": choices[0],
        "has": " ".join(c["label"] for c in choices if c["same"]),
        "page": to(VERSIONS_PAGE), "changes": to(CHANGES_PAGE),
        # An older version shares the root's theme files, feed and search (current only).
        "nav": {} if this.current else {"assets": to(urls.ASSETS), "feed": to(urls.FEED),
                                        "search": to(urls.SEARCH)},
    }


def versions_json(versions: Versions) -> bytes:
    """``versions.json`` as SPEC.md shows it: the current version first, then newest first."""
    entries = [{"version": v.label, "path": v.path or "./", "current": v.current,
                "released": v.released.isoformat() if v.released else None}
               for v in versions.all]
    return (json.dumps(entries, indent=2) + "\n").encode("utf-8")


__all__ = ["Edition", "Plan", "ReleaseResult", "Snapshot", "build_snapshots", "content_key",
           "page_context", "page_urls", "plan", "release", "set_version", "versions_json",
           "with_released"]
