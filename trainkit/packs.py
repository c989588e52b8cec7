"""Upline packs as files: ``trainkit pack`` writes one, ``trainkit upline`` adds, lists and
removes them.

A pack is a zip of a site's own content (courses/, links/, paths/, sections/, static/)
plus a generated ``pack.yaml``. Packing is deterministic: entries are sorted and every
entry has the same timestamp and permissions, so the same content always gives the same
bytes. The timestamp, and ``created`` in pack.yaml, is the newest ``updated:``/``added:``
date in the site's own content (else the date a ``YYYY.MM`` version label names, else
1980-01-01), or ``SOURCE_DATE_EPOCH`` when that is set — never the clock.

A zip comes from someone else, so unpacking trusts nothing in it: paths that would land
outside the pack's folder, links, and sizes that only a zip bomb has are all refused
before anything is written. ``trainkit.yaml`` is edited as text, a few lines at a time,
so the author's comments survive.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import posixpath
import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .loader import CONFIG_FILE, Folder
from .model import Reading, Site, SiteConfig, Upline
from .problems import Problem, UsageError, error
from .sourcefile import YamlList, YamlMap, parse_yaml

if TYPE_CHECKING:
    from .markdown_ext import Rendered
    from .render import Bodies

PACK_FILE = "pack.yaml"
CONTENT_DIRS = ("courses", "links", "paths", "sections", "static")
"""What a pack holds; never the built site, the cache, versions/ or themes/."""
UPLINES_DIR = "uplines"

MAX_TOTAL_BYTES = 256 * 1024 * 1024
"""The most a pack may unpack to, in all."""
MAX_ENTRIES = 20_000
MAX_RATIO = 200
"""A file that is this many times smaller compressed is a zip bomb, not training."""
RATIO_FLOOR = 1024 * 1024
"""Files smaller than this are not held to MAX_RATIO (tiny files compress oddly)."""
ZIP_EPOCH = dt.date(1980, 1, 1)
"""The earliest date a zip entry can carry."""


# --- trainkit pack ---------------------------------------------------------------------


def pack_date(site: Site) -> dt.date:
    """The date a pack of this site is stamped with (see the module docstring)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date()
    dates = [l.updated for l in site.lessons.values() if l.upline is None and l.updated]
    dates += [l.added for l in site.links if l.upline is None and l.added]
    if dates:
        return max(dates)
    match = re.fullmatch(r"(\d{4})[.-](\d{1,2})(?:[.-](\d{1,2}))?", site.config.version)
    if match:
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3] or 1))
        except ValueError:
            pass
    return ZIP_EPOCH


def slug_of(name: str) -> str:
    """A folder name for an upline's name: "María López" → "maria-lopez" (accents are
    dropped, anything else that is not a letter or digit becomes a hyphen)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def pack_manifest(config: SiteConfig, created: dt.date, uplines: list[Upline]) -> str:
    """The text of pack.yaml."""
    lines = [
        "# A trainkit upline pack, made by `trainkit pack`.",
        "# Add it to a site with: trainkit upline add PACK.zip --name NAME --role ROLE",
        f"name: {yaml_scalar(slug_of(config.title) or 'pack')}",
        f"title: {yaml_scalar(config.title)}",
        f"version: {yaml_scalar(config.version)}",
        f"created: {created.isoformat()}",
    ]
    if uplines:
        lines.append("# Packs this one passes on, nearest upline first (paths inside this pack).")
        lines.append("uplines:")
        for upline in uplines:
            lines += _entry_lines(upline, "  ")
    return "\n".join(lines) + "\n"


def pack_entries(source: Path, config: SiteConfig, include_uplines: bool,
                 exclude: Path | None = None) -> tuple[list[tuple[str, Path]], list[Problem]]:
    """(name in the zip, file) for every file that goes in the pack, sorted by name."""
    problems: list[Problem] = []
    entries: list[tuple[str, Path]] = []
    folders = [Folder(source, "")]
    if include_uplines:
        folders += [Folder(source, u.path + "/", u) for u in config.uplines]
    for folder in folders:
        subs = [*CONTENT_DIRS, PACK_FILE] if folder.upline else CONTENT_DIRS
        for sub in subs:
            files = [folder.root / sub] if sub == PACK_FILE else list(folder.walk(sub, problems))
            for file in files:
                if file.is_file() and (exclude is None or file.resolve() != exclude):
                    entries.append((folder.name(file), file))
    return sorted(entries), problems


def write_zip(out: Path, entries: list[tuple[str, bytes]], date: dt.date) -> None:
    """Write a deterministic zip atomically (a temporary file, then renamed over ``out``)."""
    stamp = max(date, ZIP_EPOCH)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, (stamp.year, stamp.month, stamp.day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the permissions below mean the same everywhere
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, data, compresslevel=9)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(buffer.getvalue())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True, slots=True)
class PackResult:
    files: int
    """Content files in the pack (pack.yaml not counted)."""
    created: dt.date
    problems: list[Problem]
    """Warnings from the check that ran first."""


def make_pack(source: Path, out: Path, include_uplines: bool = False) -> PackResult:
    """Check the site, then write its own content as a pack. Raises ContentError when the
    site has errors (nothing is written)."""
    from .build import check
    from .cache import BodyCache
    from .problems import ContentError, has_errors
    from .render import render_bodies

    cache = BodyCache(None)
    site, _, problems, _ = check(source, cache=cache, search=False)
    if site is None or has_errors(problems):
        raise ContentError(problems)
    found, more = pack_entries(source, site.config, include_uplines, out.resolve())
    bodies, _ = render_bodies(site, cache=cache.following())  # (all from the cache)
    more += left_out(site, bodies, {name for name, _ in found})
    if has_errors(more):
        raise ContentError(problems + more)
    created = pack_date(site)
    uplines = list(site.config.uplines) if include_uplines else []
    manifest = pack_manifest(site.config, created, uplines)
    write_zip(out, [(PACK_FILE, manifest.encode()), *((n, f.read_bytes()) for n, f in found)],
              created)
    return PackResult(len(found), created, problems + more)


def left_out(site: Site, bodies: "Bodies", packed: set[str]) -> list[Problem]:
    """An error for each reference from a file in the pack to a file it leaves out (an
    upline's lesson, when their packs are not passed on): the site builds, but the
    leaders below would get a pack whose links and steps lead nowhere."""
    def outside(path: str) -> bool:
        return path not in packed and not (path.endswith("/") and
                                           any(name.startswith(path) for name in packed))

    def refused(source: str, line: int, what: str, path: str) -> Problem:
        upline = next((u for u in site.config.uplines if path.startswith(u.path + "/")), None)
        where = (f"which is in {upline.name}'s pack and left out of yours" if upline
                 else "which the pack leaves out")
        fix = "; pass --include-uplines to pass that pack on too" if upline else ""
        return error(source, line, f"{what} {path}, {where}: the leaders below you would "
                                   f"find it missing{fix}")

    problems: list[Problem] = []

    def links_in(source: str, rendered: "Rendered", text: str, first_line: int) -> None:
        for path, target in rendered.lookups:
            if target is not None and outside(path):
                line = _href_line(text, source, path, first_line)
                problems.append(refused(source, line, "this links to", path))

    reading = Reading.of(site.links)
    for lesson in site.lessons.values():
        if lesson.source not in packed:
            continue
        links_in(lesson.source, bodies.lessons[lesson.key], lesson.body, lesson.body_line)
        for i, ref in enumerate(lesson.prerequisites):
            needed = site.lessons.get(ref)
            if needed is not None and outside(needed.source):
                problems.append(refused(lesson.source, lesson.item_line("prerequisites", i),
                                        "its prerequisite is", needed.source))
        for i, slug in enumerate(lesson.links):
            found = reading.find(lesson.course, slug)
            if found is not None and outside(found.source):
                problems.append(refused(lesson.source, lesson.item_line("links", i),
                                        "its reading is", found.source))
    for link in site.links:
        if link.source in packed:
            links_in(link.source, bodies.notes[link.source], link.note, link.note_line)
    for key, sections in site.sections.items():
        for section in sections:
            if section.source in packed:
                links_in(section.source, bodies.sections[section.source], section.body,
                         section.body_line)
                target = site.lessons[key].source
                if outside(target):
                    problems.append(refused(section.source, section.line, "it is for", target))
    courses = {course.slug: course for course in site.courses}
    for path in site.paths:
        if path.source not in packed:
            continue
        for step in path.steps:
            step_to = (courses if step.kind == "course" else site.lessons).get(step.target)
            used = step_to.source if step_to is not None else None
            if used is not None and outside(used):
                problems.append(refused(path.source, step.line, "this step is", used))
    return problems


_HREF = re.compile(r"\]\(\s*<?([^)\s>]+)|^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)


def _href_line(text: str, source: str, path: str, first_line: int) -> int:
    """The line of the first link in ``text`` (a body from ``first_line``) to ``path``."""
    folder = posixpath.dirname(source)
    for match in _HREF.finditer(text):
        href = urlsplit(match.group(1) or match.group(2)).path
        if href and posixpath.normpath(posixpath.join(folder, unquote(href))) == path.rstrip("/"):
            return first_line + text.count("\n", 0, match.start())
    return first_line


# --- trainkit upline add ---------------------------------------------------------------


def unsafe_entry(info: zipfile.ZipInfo) -> str | None:
    """Why this zip entry must not be unpacked, or None when it is safe."""
    name = info.filename
    if "\\" in name:
        return "has a backslash in its path"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "has an absolute path"
    parts = PurePosixPath(name).parts
    if ".." in parts or "\x00" in name:
        return "points outside the pack (..)"
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        return "is a symbolic link"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "is not a regular file"
    return None


def check_archive(archive: zipfile.ZipFile, pack_name: str) -> list[zipfile.ZipInfo]:
    """Every file entry to unpack, after refusing anything unsafe (raises UsageError)."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise UsageError(f"{pack_name} has {len(infos)} files; a pack may hold at most "
                         f"{MAX_ENTRIES}")
    total = 0
    files = []
    for info in infos:
        reason = unsafe_entry(info)
        if reason is not None:
            raise UsageError(f"{pack_name}: '{info.filename}' {reason}; this pack is refused "
                             "and nothing was unpacked")
        if info.is_dir():
            continue
        total += info.file_size
        ratio_limit = MAX_RATIO * max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and info.file_size > ratio_limit:
            raise UsageError(f"{pack_name}: '{info.filename}' would unpack to "
                             f"{info.file_size} bytes from {info.compress_size}: that is a "
                             "zip bomb, not training; refused")
        files.append(info)
    if total > MAX_TOTAL_BYTES:
        raise UsageError(f"{pack_name} would unpack to {total // 1048576} MB; packs are "
                         f"limited to {MAX_TOTAL_BYTES // 1048576} MB")
    names = {PurePosixPath(i.filename).as_posix() for i in files}
    if PACK_FILE not in names:
        raise UsageError(f"{pack_name} is not a trainkit pack: there is no {PACK_FILE} at its "
                         "top (make one with `trainkit pack OUT.zip` in the upline's site)")
    return files


def _extract(archive: zipfile.ZipFile, files: list[zipfile.ZipInfo], into: Path) -> None:
    """Unpack, counting the bytes actually read: a lying size in the header stops here."""
    budget = MAX_TOTAL_BYTES
    for info in files:
        target = into.joinpath(*PurePosixPath(info.filename).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with archive.open(info) as src, open(target, "wb") as dst:
            while chunk := src.read(65536):
                written += len(chunk)
                budget -= len(chunk)
                if written > info.file_size or budget < 0:
                    raise UsageError(f"'{info.filename}' unpacks to more than the pack says; "
                                     "refused")
                dst.write(chunk)


def read_manifest(folder: Path) -> dict[str, Any]:
    """pack.yaml of an unpacked pack ({} when missing or unreadable)."""
    file = folder / PACK_FILE
    if not file.is_file() or file.is_symlink() or file.stat().st_size > 65536:
        return {}
    data, problems = parse_yaml(file.read_text(encoding="utf-8", errors="replace"), PACK_FILE)
    return dict(data) if isinstance(data, dict) and not problems else {}


def unpack(zip_path: Path, source: Path, name: str, force: bool) -> tuple[str, dict[str, Any]]:
    """Unpack ``zip_path`` into ``uplines/<slug of name>/``; returns (that path, pack.yaml)."""
    slug = slug_of(name)
    if not slug:
        raise UsageError(f"--name {name!r} needs at least one letter or digit")
    rel = f"{UPLINES_DIR}/{slug}"
    target = source / rel
    if (target.exists() or target.is_symlink()) and not force:
        raise UsageError(f"{rel}/ already exists; pass --force to replace it with this pack")
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise UsageError(f"{rel} is not a folder; move it away first")
    try:
        with zipfile.ZipFile(zip_path) as archive:
            files = check_archive(archive, zip_path.name)
            (source / UPLINES_DIR).mkdir(exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{slug}.", dir=source / UPLINES_DIR))
            try:
                _extract(archive, files, staging)
            except BaseException:
                shutil.rmtree(staging)
                raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise UsageError(f"{zip_path} is not a readable zip file ({exc})") from None
    except (NotImplementedError, RuntimeError) as exc:  # an unsupported or encrypted zip
        raise UsageError(f"{zip_path} cannot be unpacked: {exc}") from None
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return rel, read_manifest(target)


# --- editing trainkit.yaml as text -------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/'()&,-]*")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def yaml_scalar(value: str) -> str:
    """``value`` as YAML: plain when that reads back the same, else double-quoted."""
    if (_PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS
            and not value.endswith(" ") and not re.fullmatch(r"[\d._-]+", value)):
        return value
    return json.dumps(value, ensure_ascii=False)


def _entry_lines(upline: Upline, indent: str) -> list[str]:
    lines = [f"{indent}- name: {yaml_scalar(upline.name)}"]
    if upline.role:
        lines.append(f"{indent}  role: {yaml_scalar(upline.role)}")
    lines.append(f"{indent}  path: {yaml_scalar(upline.path)}")
    lines.append(f"{indent}  trusted: {'true' if upline.trusted else 'false'}")
    return lines


def _config_data(text: str) -> YamlMap:
    data, problems = parse_yaml(text, CONFIG_FILE)
    if problems or not isinstance(data, YamlMap):
        why = problems[0].format() if problems else "it is not a list of settings"
        raise UsageError(f"{CONFIG_FILE} cannot be read ({why}); fix it with `trainkit check` "
                         "first")
    return data


def _block_end(lines: list[str], key_index: int) -> int:
    """The index just after the last line of the block that starts at ``key_index``."""
    end = key_index + 1
    for i in range(key_index + 1, len(lines)):
        line = lines[i]
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and not line[0].isspace()):
            continue
        if not line[0].isspace() and not line.startswith("- ") and line.rstrip() != "-":
            break
        end = i + 1
    return end


def add_entry(text: str, upline: Upline) -> str:
    """``text`` (trainkit.yaml) with ``upline`` appended to ``uplines:``, comments kept."""
    data = _config_data(text)
    lines = text.split("\n")
    if text and not text.endswith("\n"):
        lines.append("")
    if "uplines" not in data:
        while lines and lines[-1] == "":
            lines.pop()
        lines += ["", "# Packs your uplines share with you, nearest upline first.",
                  "# trusted: false cleans any raw HTML in a pack so it cannot run scripts.",
                  "uplines:", *_entry_lines(upline, "  "), ""]
        return "\n".join(lines)
    key = data.key_lines["uplines"] - 1
    value = data["uplines"]
    head = lines[key].split("#", 1)[0]
    if isinstance(value, YamlList) and value and "[" not in head:
        first_item = lines[value.line - 1]
        indent = first_item[: len(first_item) - len(first_item.lstrip())]
        end = _block_end(lines, key)
        lines[end:end] = _entry_lines(upline, indent)
    elif value is None or (isinstance(value, YamlList) and not value):
        comment = lines[key][len(head):]
        lines[key] = "uplines:" + (" " + comment.strip() if comment.strip() else "")
        lines[key + 1:key + 1] = _entry_lines(upline, "  ")
    else:
        raise UsageError(f"{CONFIG_FILE}:{key + 1}: write 'uplines:' as a list with one "
                         "'- name: ...' entry per line, then run this again")
    return "\n".join(lines)


def remove_entry(text: str, name: str) -> tuple[str, dict[str, Any]]:
    """``text`` without the ``uplines:`` entry for ``name``; returns it and that entry."""
    data = _config_data(text)
    entries = data.get("uplines")
    index = find_entry(entries, name)
    lines = text.split("\n")
    value: YamlList = entries
    start = value.line_of(index) - 1
    if index + 1 < len(value):
        stop = value.line_of(index + 1) - 1
    else:
        stop = _block_end(lines, data.key_lines["uplines"] - 1)
    while stop > start + 1 and (not lines[stop - 1].strip()
                                or lines[stop - 1].lstrip().startswith("#")):
        stop -= 1  # comments just above the next entry belong to it
    del lines[start:stop]
    if len(value) == 1:
        key = data.key_lines["uplines"] - 1
        lines[key] = lines[key].replace("uplines:", "uplines: []", 1)
    return "\n".join(lines), dict(entries[index])


def find_entry(entries: Any, name: str) -> int:
    if isinstance(entries, YamlList):
        for i, entry in enumerate(entries):
            listed = str(entry.get("name", "")) if isinstance(entry, dict) else ""
            if listed and (listed == name or slug_of(listed) == slug_of(name)):
                return i
    raise UsageError(f"there is no upline named {name!r} in {CONFIG_FILE} "
                     "(see `trainkit upline list`)")


def write_config(source: Path, old: str, new: str, check: Any) -> None:
    """Write trainkit.yaml after checking the edit reads back as intended."""
    data = _config_data(new)
    check(data)
    file = source / CONFIG_FILE
    if file.read_text(encoding="utf-8") != old:
        raise UsageError(f"{CONFIG_FILE} changed while trainkit was editing it; run this again")
    tmp = file.with_name(f".{CONFIG_FILE}.tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, file)


def add_upline(zip_path: Path, source: Path, name: str, role: str | None,
               force: bool) -> tuple[Upline, dict[str, Any], list[Upline]]:
    """Unpack a pack and list it (and the packs it passes on) in trainkit.yaml."""
    config_file = source / CONFIG_FILE
    old = config_file.read_text(encoding="utf-8")
    entries = _config_data(old).get("uplines")
    already = False
    if isinstance(entries, YamlList):
        try:
            find_entry(entries, name)
            already = True
        except UsageError:
            pass
    if already and not force:
        raise UsageError(f"an upline named {name!r} is already in {CONFIG_FILE}; "
                         "pass --force to replace its pack")
    rel, manifest = unpack(zip_path, source, name, force)
    upline = Upline(name, role, rel, False)
    nested = _nested_uplines(manifest, rel)
    new = old
    if not already:
        for entry in [upline, *nested]:
            new = add_entry(new, entry)

        def expect(result: YamlMap) -> None:
            names = [e.get("name") for e in result.get("uplines") or ()]
            if upline.name not in names:
                raise UsageError(f"could not add the entry to {CONFIG_FILE}; add it by hand")

        write_config(source, old, new, expect)
    return upline, manifest, nested


def _nested_uplines(manifest: dict[str, Any], rel: str) -> list[Upline]:
    """The packs a pack passes on (``--include-uplines``), as entries of this site."""
    found = []
    for entry in manifest.get("uplines") or ():
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        path = str(entry.get("path", "")).strip("/")
        if not path or ".." in PurePosixPath(path).parts or path.startswith("/"):
            continue
        role = entry.get("role")
        found.append(Upline(entry["name"], role if isinstance(role, str) else None,
                            f"{rel}/{path}", False))
    return found


def remove_upline(source: Path, name: str) -> tuple[dict[str, Any], bool]:
    """Remove the entry from trainkit.yaml, and its folder when it is an unpacked pack
    under uplines/. Returns (the entry, whether the folder was removed)."""
    old = (source / CONFIG_FILE).read_text(encoding="utf-8")
    new, entry = remove_entry(old, name)
    write_config(source, old, new, lambda data: None)
    path = str(entry.get("path", "")).strip("/")
    folder = (source / path).resolve() if path else None
    uplines = (source / UPLINES_DIR).resolve()
    if (folder is not None and uplines in folder.parents and not (source / path).is_symlink()
            and (folder / PACK_FILE).is_file()):
        shutil.rmtree(folder)
        return entry, True
    return entry, False
