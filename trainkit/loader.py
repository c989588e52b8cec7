"""Loading: one folder of content (the site itself, an upline pack or a frozen version)
into a :class:`~trainkit.model.Content`, with every problem collected.

Nothing is cross-checked here (that is :mod:`trainkit.resolve`); this stage answers
"is each file, on its own, well formed?".
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterator, Literal, TypeVar

from . import schema, uptodate
from .model import (Content, Course, LearningPath, Lesson, Link, PathStep, Section,
                    SiteConfig, StaticFile, UnreadLink, Upline)
from .problems import Problem, closest, error, has_errors, warning
from .write import stamp
from .sourcefile import (MAX_FILE_BYTES, FrontMatterDoc, YamlList, YamlMap, parse_yaml,
                         read_text, split_front_matter)

if TYPE_CHECKING:
    from .cache import BodyCache

CONFIG_FILE = "trainkit.yaml"
T = TypeVar("T")


class Folder:
    """A content folder inside the site source, and how paths in it are named."""

    def __init__(self, source: Path, prefix: str, upline: Upline | None = None,
                 cache: "BodyCache | None" = None) -> None:
        self.source = source
        """The site's source folder; every reported path is relative to it."""
        self.prefix = prefix
        """This folder relative to the source ("" for the site, "uplines/maria/" for a pack)."""
        self.root = source / prefix if prefix else source
        self.upline = upline
        """Set when the folder is an upline pack: symlinks are then refused outright."""
        self.cache = cache
        """Where files read by an earlier build of this process are remembered (serve)."""
        self._source = os.fspath(source) + os.sep
        self._dirs: set[str] = set()
        """Folders seen by :meth:`listdir` (so telling files from folders costs no stat)."""
        self._read: dict[str, bytes] = {}
        """The bytes :meth:`remember` read of a file it is loading (read once)."""

    def front_matter(self, text: str, name: str) -> tuple[FrontMatterDoc | None, list[Problem]]:
        """:func:`split_front_matter`, or what it gave last time for the same text."""
        if self.cache is None:
            return split_front_matter(text, name)
        doc, problems = self.cache.document(name, text, split_front_matter)
        return doc, list(problems)

    def name(self, file: Path) -> str:
        path = os.fspath(file)
        if path.startswith(self._source):
            return path[len(self._source):].replace(os.sep, "/")
        return file.relative_to(self.source).as_posix()

    def is_dir(self, path: Path) -> bool:
        """Whether an entry returned by :meth:`listdir` is a folder."""
        return os.fspath(path) in self._dirs

    def read_text(self, file: Path, name: str) -> tuple[str | None, list[Problem]]:
        """:func:`~trainkit.sourcefile.read_text`, from the bytes :meth:`remember` read."""
        return read_text(file, name, self._read.pop(os.fspath(file), None))

    def remember(self, file: Path, kind: Hashable, load: Callable[[], tuple[T, list[Problem]]],
                 problems: list[Problem]) -> T:
        """``load()`` (reading ``file``), or what it gave in the previous build when the
        file's size, times and inode are unchanged, or else its bytes. So a rebuild reads
        only the files that changed, and a fresh checkout of the site with the cache
        (CI's, whose files all have new times) reads every file but parses none that is
        unchanged. Like git's index, a file changed in the last two seconds is always read
        again: a second save within the file system's timestamp resolution could otherwise
        go unseen. ``kind`` names how the file was read (and whatever else ``load``
        depends on): a file read another way is read again."""
        if self.cache is None:
            result, found = load()
            problems += found
            return result
        try:
            st = os.stat(file)
        except OSError:
            st = None
        key = (kind, *stamp(st)) if st else None
        name = self.name(file)  # (not the absolute path: a CI checkout may move)
        entry = self.cache.files.last.get(name)
        if key is not None and entry is not None and entry[0] == key:
            result, found = entry[1], entry[2]  # (kept as the same entry: see cache.Shelf)
        else:
            raw = _read_bytes(file, st)
            digest = hashlib.blake2b(raw, digest_size=16).digest() if raw is not None else None
            if (digest is not None and entry is not None and entry[3] == digest
                    and entry[0] is not None and entry[0][0] == kind):
                result, found = entry[1], entry[2]  # the same bytes, read the same way
            else:
                if entry is not None:  # let go of what the file gave before
                    del self.cache.files.last[name]
                self.cache.parsed.add(name)
                if raw is not None:
                    self._read[os.fspath(file)] = raw
                try:
                    result, found = load()
                finally:
                    self._read.pop(os.fspath(file), None)
            entry = (key, result, found, digest)
        if result is not None and entry[3] is not None:
            self.cache.made_from(result, name, kind, entry[3])
        if st is not None and uptodate.settled(max(st.st_mtime_ns, st.st_ctime_ns)):
            self.cache.files.keep(name, entry)
        problems += found
        return result

    def walk(self, sub: str, problems: list[Problem]) -> Iterator[Path]:
        """Regular files under ``sub``, sorted, checking symlinks on the way."""
        top = self.root / sub
        if not top.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if self._allowed(here / d, problems))
            for filename in sorted(filenames):
                file = here / filename
                if _is_ignored(filename) or not self._allowed(file, problems):
                    continue
                yield file

    def listdir(self, sub: str, problems: list[Problem]) -> list[Path]:
        """The entries of a folder, sorted, without litter or forbidden symlinks."""
        top = self.root / sub
        try:
            with os.scandir(top) as found:
                entries = sorted(found, key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return []
        kept = []
        for entry in entries:
            if _is_ignored(entry.name):
                continue
            path = top / entry.name
            if entry.is_symlink() and not self._allowed(path, problems):
                continue
            if entry.is_dir():
                self._dirs.add(os.fspath(path))
            kept.append(path)
        return kept

    def _allowed(self, file: Path, problems: list[Problem]) -> bool:
        if not file.is_symlink():
            return True
        if self.upline is not None:
            problems.append(error(self.name(file), 1, "symbolic links are not allowed in an "
                                  "upline pack; replace it with the file itself"))
            return False
        target = file.resolve()
        if target != self.source.resolve() and self.source.resolve() not in target.parents:
            problems.append(error(self.name(file), 1, f"this symbolic link leads outside the "
                                  f"site (to {target}); copy the file into the site instead"))
            return False
        return target.exists()


def _is_ignored(name: str) -> bool:
    """Editor and OS litter that is never content."""
    return (name.startswith(".") or name.endswith("~") or name.endswith(".swp")
            or name.endswith(".tmp") or "___jb_" in name or name.startswith("#"))


def load_config(source: Path) -> tuple[SiteConfig | None, list[Problem]]:
    """Read ``trainkit.yaml``. The caller has checked that it exists."""
    text, problems = read_text(source / CONFIG_FILE, CONFIG_FILE)
    if text is None:
        return None, problems
    data, problems = parse_yaml(text, CONFIG_FILE)
    if problems:
        return None, problems
    values, problems = schema.check_fields(data, schema.CONFIG, CONFIG_FILE, "trainkit.yaml")
    uplines: list[Upline] = []
    for i, entry in enumerate(values.get("uplines", ())):
        line = data["uplines"].line_of(i)
        fields, more = schema.check_fields(entry, schema.UPLINE, CONFIG_FILE, "an uplines entry")
        problems += more
        if "name" in fields and "path" in fields:
            uplines.append(Upline(fields["name"], fields.get("role"),
                                  fields["path"].strip("/"), fields.get("trusted", False)))
        elif not more:
            problems.append(error(CONFIG_FILE, line, "an uplines entry needs name and path"))
    theme = values.get("theme", "default")
    if theme != "default" and not (source / "themes" / theme / "templates").is_dir():
        problems.append(error(CONFIG_FILE, data.line_of("theme"), f"theme '{theme}' not found: "
                              f"make a folder themes/{theme}/templates/, or remove 'theme:' to "
                              "use the built-in theme"))
        return None, problems
    if "title" not in values or "version" not in values:
        return None, problems
    config = SiteConfig(
        title=values["title"], version=values["version"],
        description=values.get("description", ""), base_url=values.get("base_url"),
        theme=values.get("theme", "default"), language=values.get("language", "en"),
        uplines=tuple(uplines), safe=values.get("safe", False),
        released=values.get("released"),
    )
    return config, problems


def load_folder(folder: Folder, config: SiteConfig | None) -> tuple[Content, list[Problem]]:
    """Read every course, lesson, link, path, section and static file of one folder."""
    problems: list[Problem] = []
    courses: list[Course] = []
    lessons: list[Lesson] = []
    links: list[Link] = []
    unread: list[str] = []
    unread_links: list[UnreadLink] = []
    for course_dir in folder.listdir("courses", problems):
        if not folder.is_dir(course_dir):
            problems.append(warning(folder.name(course_dir), 1, "only course folders belong "
                                    "in courses/; this file is ignored"))
            continue
        course, course_lessons, course_links, course_unread = _load_course(folder, course_dir,
                                                                           problems)
        if course is not None:
            courses.append(course)
        else:  # (an error says why)
            unread.append(course_dir.name)
        lessons += course_lessons
        links += course_links
        unread_links += course_unread
    site_links, site_unread = _load_links(folder, "links", None, problems)
    links += site_links
    unread_links += site_unread
    paths = [p for f in folder.listdir("paths", problems) if (p := _load_path(folder, f, problems))]
    sections = [s for f in folder.listdir("sections", problems)
                if (s := _load_section(folder, f, problems))]
    static = tuple(
        StaticFile(folder.name(f), f.relative_to(folder.root / "static").as_posix())
        for f in folder.walk("static", problems)
    )
    problems += _large_images(folder, static)
    return Content(config, tuple(courses), tuple(lessons), tuple(links), tuple(paths),
                   tuple(sections), static, tuple(unread), tuple(unread_links)), problems


LARGE_IMAGE = 1024 * 1024
"""An image larger than this (bytes) is worth a warning: pages are read on phones."""
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif")


def _large_images(folder: Folder, static: tuple[StaticFile, ...]) -> list[Problem]:
    problems = []
    for file in static:
        if not file.source.lower().endswith(IMAGE_SUFFIXES):
            continue
        size = os.stat(folder.source / file.source).st_size
        if size > LARGE_IMAGE:
            problems.append(warning(file.source, 1, (
                f"this image is {size / 1_000_000:.1f} MB: a page showing it makes every "
                "reader download that much, mostly on a phone; save it smaller (1,600 pixels "
                "wide is plenty for a page, and a photo that size is a few hundred KB)")))
    return problems


def _check_slug(folder: Folder, file: Path, name: str, problems: list[Problem]) -> bool:
    if schema.SLUG.match(name):
        return True
    problems.append(error(folder.name(file), 1, f"'{name}' is not a valid name: use lower-case "
                          "letters, digits and hyphens (for example first-week)"))
    return False


def _load_course(
    folder: Folder, course_dir: Path, problems: list[Problem]
) -> tuple[Course | None, list[Lesson], list[Link], list[UnreadLink]]:
    """A course folder: in serve, what it gave last time when the watcher saw nothing
    in it change (nothing under it is then even looked at)."""
    cache = folder.cache
    if cache is None:
        course, lessons, links, unread, found = _read_course_folder(folder, course_dir)
        problems += found
        return course, lessons, links, unread
    name = folder.name(course_dir)
    entry = cache.courses.last.get(name)
    if (entry is None or entry[0] != folder.upline or cache.watched is None
            or any(p == name or p.startswith(name + "/") for p in cache.watched)):
        entry = (folder.upline, _read_course_folder(folder, course_dir))
    cache.courses.keep(name, entry)
    course, lessons, links, unread, found = entry[1]
    problems += found
    return course, lessons, list(links), unread


def _read_course_folder(folder: Folder, course_dir: Path) -> tuple[
        Course | None, list[Lesson], list[Link], list[UnreadLink], list[Problem]]:
    problems: list[Problem] = []
    course, lessons, (links, unread) = _read_course_files(folder, course_dir, problems)
    return course, lessons, links, unread, problems


def _read_course_files(
    folder: Folder, course_dir: Path, problems: list[Problem]
) -> tuple[Course | None, list[Lesson], tuple[list[Link], list[UnreadLink]]]:
    slug = course_dir.name
    if not _check_slug(folder, course_dir, slug, problems):
        return None, [], ([], [])
    yaml_file = course_dir / "course.yaml"
    yaml_name = folder.name(yaml_file)
    if not yaml_file.is_file():
        problems.append(error(yaml_name, 1, "every course folder needs a course.yaml with "
                              "title and lessons"))
        return None, [], ([], [])
    data, values = folder.remember(yaml_file, "course",
                                   lambda: _read_course(folder, yaml_file, yaml_name), problems)
    listed = _lesson_list(data, values, yaml_name, problems)
    lessons: list[Lesson] = []
    for file in folder.listdir(f"courses/{slug}", problems):
        if folder.is_dir(file):
            if file.name != "links":
                problems.append(warning(folder.name(file), 1, "folders inside a course are "
                                        "ignored (put images in static/)"))
            continue
        if file.suffix != ".md":
            if file.name != "course.yaml":
                problems.append(warning(folder.name(file), 1, "only lessons (.md) and "
                                        "course.yaml belong in a course folder; this file is "
                                        "ignored (put images and PDFs in static/)"))
            continue
        if not _check_slug(folder, file, file.stem, problems):
            continue
        lesson = _load_lesson(folder, file, slug, problems)
        if lesson is not None:
            lessons.append(lesson)
    links = _load_links(folder, f"courses/{slug}/links", slug, problems)
    if "lessons" in values:  # (else course.yaml has an error)
        listed = _match_files(listed, {lesson.slug for lesson in lessons}, course_dir,
                              yaml_name, problems)
        for lesson in lessons:
            if lesson.slug not in listed:
                problems.append(warning(lesson.source, 1, f"this lesson is not listed in "
                                        f"{yaml_name}, so it is not published; add "
                                        f"'{lesson.slug}' to its lessons"))
    if "title" not in values or "lessons" not in values:
        return None, lessons, links
    course = Course(slug=slug, source=yaml_name, title=values["title"],
                    lesson_slugs=tuple(listed), summary=values.get("summary", ""),
                    order=values.get("order"), upline=folder.upline,
                    lesson_lines=tuple(listed.values()))
    return course, lessons, links


def _match_files(listed: dict[str, int], found: set[str], course_dir: Path, yaml_name: str,
                 problems: list[Problem]) -> dict[str, int]:
    """``listed`` with each name whose file does not exist reported, and read as the
    unlisted lesson it was most likely meant to be (``first-weak`` for ``first-week.md``):
    one error for a typo, not also a "not listed" warning and a broken reference
    everywhere the lesson is named."""
    unlisted = found - set(listed)
    matched: dict[str, int] = {}
    for name, line in listed.items():
        if name not in found and not (course_dir / f"{name}.md").exists():
            meant = closest(name, sorted(unlisted))
            problems.append(error(yaml_name, line, f"lesson '{name}' is listed but "
                                  f"{posixpath.dirname(yaml_name)}/{name}.md does not exist"
                                  + (f" (did you mean '{meant}'?)" if meant else "")))
            if meant is not None:
                name = meant
                unlisted.discard(name)
        matched[name] = line
    return matched


def _lesson_list(data: Any, values: dict[str, Any], path: str,
                 problems: list[Problem]) -> dict[str, int]:
    """The ``lessons:`` entries in order, each with its line; duplicates are errors."""
    listed: dict[str, int] = {}
    entries = values.get("lessons", [])
    for i, name in enumerate(entries):
        line = data["lessons"].line_of(i) if isinstance(data["lessons"], YamlList) else 1
        if isinstance(name, str) and name.endswith(".md") and schema.SLUG.match(name[:-3]):
            # Reported, then read as meant: its lesson is not also "not listed", nor
            # every reference to it broken.
            problems.append(error(path, line, f"'{name}' is not a lesson name: write "
                                  f"'{name[:-3]}' (the file name without .md)"))
            name = name[:-3]
        elif not isinstance(name, str) or not schema.SLUG.match(name):
            problems.append(error(path, line, f"{name!r} is not a lesson name (the lesson's "
                                  "file name without .md)"))
            continue
        if name in listed:
            problems.append(error(path, line, f"lesson '{name}' is listed twice (also on "
                                  f"line {listed[name]})"))
        else:
            listed[name] = line
    return listed


def _read_bytes(file: Path, st: os.stat_result | None) -> bytes | None:
    """A source file's bytes, for :meth:`Folder.remember` (None when it cannot be read, or
    is over the size limit: reading it again reports that)."""
    if st is None or st.st_size > MAX_FILE_BYTES:
        return None
    try:
        with open(file, "rb") as f:
            return f.read()
    except OSError:
        return None


def _read_course(folder: Folder, file: Path, name: str,
                 ) -> tuple[tuple[Any, dict[str, Any]], list[Problem]]:
    data, problems = _read_yaml(folder, file, name)
    if problems:  # (not also "must be 'key: value' lines")
        return (None, {}), problems
    values, found = schema.check_fields(data, schema.COURSE, name, "course.yaml")
    return (data, values), found


def _read_yaml(folder: Folder, file: Path, name: str) -> tuple[Any, list[Problem]]:
    text, problems = folder.read_text(file, name)
    if text is None:
        return None, problems
    return parse_yaml(text, name)


def _read_markdown(folder: Folder, file: Path, fields: dict[str, schema.Field], what: str,
                   problems: list[Problem]) -> tuple[Any, dict[str, Any], str] | None:
    """A Markdown file's front matter, checked against ``fields``, and body."""
    name = folder.name(file)
    text, found = folder.read_text(file, name)
    problems += found
    if text is None:
        return None
    doc, found = folder.front_matter(text, name)
    problems += found
    if doc is None:
        return None
    values, found = schema.check_fields(doc.meta, fields, name, what)
    problems += found
    if any(key not in values for key, spec in fields.items() if spec.required):
        return None
    return doc, values, name


def _load_lesson(folder: Folder, file: Path, course: str,
                 problems: list[Problem]) -> Lesson | None:
    return folder.remember(file, ("lesson", course, folder.upline),
                           lambda: _read_lesson(folder, file, course), problems)


def _parsed(folder: Folder, file: Path, fields: dict[str, schema.Field], what: str,
            make: Callable[[Any, dict[str, Any], str], T]) -> tuple[T | None, list[Problem]]:
    """``make(doc, values, name)`` from a Markdown file, or None; and the problems."""
    problems: list[Problem] = []
    read = _read_markdown(folder, file, fields, what, problems)
    return (make(*read) if read is not None else None), problems


def _read_lesson(folder: Folder, file: Path, course: str) -> tuple[Lesson | None, list[Problem]]:
    return _parsed(folder, file, schema.LESSON, "a lesson's front matter",
                   lambda doc, v, name: Lesson(
        course=course, slug=file.stem, source=name, title=v["title"], markdown=doc.markdown,
        body_line=doc.body_line, summary=v.get("summary", ""), duration=v.get("duration"),
        objectives=v.get("objectives", ()), prerequisites=v.get("prerequisites", ()),
        links=v.get("links", ()), tags=v.get("tags", ()), author=v.get("author"),
        updated=v.get("updated"), repeat=v.get("repeat"), draft=v.get("draft", False),
        upline=folder.upline, lines=_key_and_item_lines(doc.meta)))


def _key_and_item_lines(meta: YamlMap) -> dict[str, int]:
    """The line of each key, and of each item of a list as ``"key.N"``, so a bad
    reference in a block list is reported at its own line."""
    lines = {str(key): line for key, line in meta.key_lines.items()}
    for key, value in meta.items():
        if isinstance(value, YamlList):
            lines.update((f"{key}.{i}", line) for i, line in enumerate(value.item_lines))
    return lines


def _load_links(folder: Folder, sub: str, course: str | None,
                problems: list[Problem]) -> tuple[list[Link], list[UnreadLink]]:
    """The curated links in ``sub``, and those whose file has errors."""
    links, unread = [], []
    for file in folder.listdir(sub, problems):
        if folder.is_dir(file) or file.suffix != ".md":
            problems.append(warning(folder.name(file), 1, "only curated links (.md) belong "
                                    "here; this is ignored"))
            continue
        if not _check_slug(folder, file, file.stem, problems):
            continue
        link = folder.remember(file, ("link", course, folder.upline),
                               lambda: _read_link(folder, file, course), problems)
        if link is not None:
            links.append(link)
        else:
            unread.append(UnreadLink(course, file.stem, folder.name(file)))
    return links, unread


def _read_link(folder: Folder, file: Path, course: str | None,
               ) -> tuple[Link | None, list[Problem]]:
    return _parsed(folder, file, schema.LINK, "a curated link's front matter",
                   lambda doc, v, name: Link(
        slug=file.stem, source=name, title=v["title"], url=v["url"],
        url_line=doc.meta.line_of("url"), note=doc.body, note_line=doc.body_line,
        tags=v.get("tags", ()), added=v.get("added"), course=course, upline=folder.upline))


def _load_path(folder: Folder, file: Path, problems: list[Problem]) -> LearningPath | None:
    if file.suffix != ".yaml" or folder.is_dir(file):
        problems.append(warning(folder.name(file), 1, "only learning paths (.yaml) belong "
                                "in paths/; this is ignored"))
        return None
    if not _check_slug(folder, file, file.stem, problems):
        return None
    name = folder.name(file)
    data, found = _read_yaml(folder, file, name)
    problems += found
    if found:
        return None
    values, found = schema.check_fields(data, schema.PATH, name, "a learning path")
    problems += found
    steps = []
    for i, entry in enumerate(values.get("steps", ())):
        line = data["steps"].line_of(i)
        fields, found = schema.check_fields(entry, schema.STEP, name, "a path step")
        problems += found
        if len(fields) == 1:
            kind: Literal["course", "lesson"] = "course" if "course" in fields else "lesson"
            steps.append(PathStep(kind, fields[kind], line))
        elif not has_errors(found):  # (a field's own error says enough; a warning does not)
            problems.append(error(name, line, "each step needs exactly one of "
                                  "'course: <course>' or 'lesson: <course>/<lesson>'"))
    if "title" not in values or "steps" not in values:
        return None
    return LearningPath(slug=file.stem, source=name, title=values["title"], steps=tuple(steps),
                        summary=values.get("summary", ""), upline=folder.upline)


def _load_section(folder: Folder, file: Path, problems: list[Problem]) -> Section | None:
    if file.suffix != ".md" or folder.is_dir(file):
        problems.append(warning(folder.name(file), 1, "only sections (.md) belong in "
                                "sections/; this is ignored"))
        return None
    return folder.remember(file, ("section", folder.upline),
                           lambda: _read_section(folder, file), problems)


def _read_section(folder: Folder, file: Path) -> tuple[Section | None, list[Problem]]:
    return _parsed(folder, file, schema.SECTION, "a section's front matter",
                   lambda doc, v, name: Section(
        source=name, target=v["for"], body=doc.body, body_line=doc.body_line,
        title=v.get("title"), placement=v.get("placement", "end"), upline=folder.upline,
        line=doc.meta.line_of("for")))
