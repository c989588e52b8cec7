"""The persistent Markdown cache never changes results."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import write_files
from trainkit import loader, uptodate
from trainkit.build import build, check
from trainkit.cache import CACHE_DIR, BodyCache


def _files(out: Path) -> dict[str, bytes]:
    """Every output file, the search index's included."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file()}


def test_a_cached_build_is_byte_identical_to_a_clean_one(make_site, tmp_path):
    source = make_site({
        "courses/basics/third.md": "---\ntitle: Third\n---\nSee [welcome](welcome.md#first-steps).\n",
        "courses/basics/course.yaml": "title: Basics\nlessons: [welcome, second, third]\n",
    })
    build(source, tmp_path / "warm", jobs=1)
    assert any((source / CACHE_DIR).glob("bodies*/*.pickle"))
    # Edit one lesson and rename the heading another links to: both must re-render.
    welcome = source / "courses/basics/welcome.md"
    welcome.write_text(welcome.read_text().replace("First steps", "First moves"))
    (source / "courses/basics/third.md").write_text(
        "---\ntitle: Third\n---\nSee [welcome](welcome.md#first-moves).\n")
    build(source, tmp_path / "warm", jobs=1)
    shutil.rmtree(source / CACHE_DIR)
    build(source, tmp_path / "clean", jobs=1)
    warm, clean = _files(tmp_path / "warm"), _files(tmp_path / "clean")
    assert warm == clean
    assert b"First moves" in warm["courses/basics/welcome/index.html"]



def test_trusting_or_renaming_an_upline_makes_its_pages_again(make_site, tmp_path):
    """The pack's files stay the same, but how they are read changed: its pages are made
    again, sanitized or not and attributed as trainkit.yaml now says."""
    def config(name: str, trusted: bool) -> str:
        return ('title: Test Team\nversion: "1.0"\nuplines:\n'
                f"  - name: {name}\n    path: uplines/maria\n    trusted: {str(trusted).lower()}\n")

    source, out = make_site({
        "trainkit.yaml": config("Maria Lopez", False),
        "uplines/maria/courses/calls/course.yaml": "title: Calls\nlessons: [first]\n",
        "uplines/maria/courses/calls/first.md":
            '---\ntitle: First call\n---\nCall <b onclick=\"ring()\">now</b>.\n',
        "uplines/maria/sections/tip.md": "---\nfor: basics/welcome\n---\nA tip.\n",
    }), tmp_path / "out"
    build(source, out, jobs=1)
    first = out / "courses/calls/first/index.html"
    assert b"ring()" not in first.read_bytes()  # (sanitized: not trusted)
    (source / "trainkit.yaml").write_text(config("Maria Gomez", True))
    build(source, out, jobs=1)
    assert b"ring()" in first.read_bytes()
    assert b"Maria Gomez" in (out / "courses/basics/welcome/index.html").read_bytes()
    shutil.rmtree(source / CACHE_DIR)
    build(source, tmp_path / "clean", jobs=1)
    assert _files(out) == _files(tmp_path / "clean")

def test_pages_are_made_again_when_an_upgraded_markdown_renders_them_differently(
        make_site, tmp_path, monkeypatch):
    """A page is recognised as unchanged by a digest of its bodies' cache keys, not of
    their HTML: the digest also names what renders them, so that after an upgrade of
    Python-Markdown (or nh3, or trainkit) a body rendered anew under the same key is
    not taken for the old one, and its page is made again."""
    import markdown

    from trainkit import render

    monkeypatch.setattr(uptodate, "RECENT_NS", -1)  # trust the times of fresh files too
    source, out = make_site({}), tmp_path / "out"
    build(source, out, jobs=1)
    real = render._render_one
    monkeypatch.setattr(render, "_render_one", lambda *a: replace_html(real(*a)))
    monkeypatch.setattr(markdown, "__version__", markdown.__version__ + ".post1")
    write_files(source, {"static/notes.txt": "Something to build.\n"})  # (no page shows it)
    build(source, out, jobs=1)
    assert b"<p>Upgraded.</p>" in (out / "courses/basics/welcome/index.html").read_bytes()


def test_cached_bodies_are_rendered_again_after_nh3_is_upgraded(make_site, tmp_path,
                                                              monkeypatch):
    """nh3 cleans upline HTML: bodies it cleaned are not taken from the cache after an
    upgrade (which may be a security fix), as after one of Python-Markdown."""
    import importlib.metadata

    from trainkit import render

    monkeypatch.setattr(uptodate, "RECENT_NS", -1)  # trust the times of fresh files too
    source, out = make_site({}), tmp_path / "out"
    build(source, out, jobs=1)
    rendered: list[str] = []
    real_render, real_version = render._render_one, importlib.metadata.version
    monkeypatch.setattr(render, "_render_one", lambda renderer, job, targets: rendered.append(
        job.source) or real_render(renderer, job, targets))
    write_files(source, {"static/a.txt": "Something to build.\n"})
    build(source, out, jobs=1)
    assert rendered == []  # (all from the cache)
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "99.0" if name == "nh3"
                        else real_version(name))
    write_files(source, {"static/b.txt": "Something else to build.\n"})
    build(source, out, jobs=1)
    assert "courses/basics/welcome.md" in rendered


def replace_html(rendered):
    from dataclasses import replace

    from trainkit.markdown_ext import pack

    return replace(rendered, packed=pack(rendered.html + "\n<p>Upgraded.</p>"))


def test_a_cached_lesson_still_fails_when_its_link_target_disappears(make_site, tmp_path, cli):
    source = make_site({
        "courses/basics/second.md": "---\ntitle: Second\n---\nBack to [welcome](welcome.md).\n",
    })
    assert cli("build", "--source", source, "--out", tmp_path / "out").exit_code == 0
    (source / "courses/basics/welcome.md").unlink()
    (source / "courses/basics/course.yaml").write_text("title: Basics\nlessons: [second]\n")
    result = cli("build", "--source", source, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "courses/basics/second.md:4: error: link to 'welcome.md'" in result.output


def test_the_search_index_is_reused_only_while_the_pages_are_unchanged(make_site, tmp_path):
    source = make_site()
    out = tmp_path / "out"
    build(source, out, jobs=1)
    entry = (out / "pagefind/pagefind-entry.json").read_bytes()
    build(source, out, jobs=1)
    assert (out / "pagefind/pagefind-entry.json").read_bytes() == entry
    lesson = source / "courses/basics/second.md"
    lesson.write_text(lesson.read_text() + "\nZanzibar is a word no other lesson has.\n")
    build(source, out, jobs=1)
    assert (out / "pagefind/pagefind-entry.json").read_bytes() != entry


INCREMENTAL = {
    "courses/basics/course.yaml": "title: Basics\nlessons: [welcome, second, third, fourth]\n",
    "courses/basics/third.md": "---\ntitle: Third\n---\nThird.\n",
    "courses/basics/fourth.md": "---\ntitle: Fourth\n---\nFourth.\n",
    "courses/later/course.yaml": "title: Later\nlessons: [one, two]\n",
    "courses/later/one.md": "---\ntitle: One\n---\nOne.\n",
    "courses/later/two.md": "---\ntitle: Two\n---\nTwo.\n",
    "paths/start.yaml": "title: Start\nsteps:\n  - course: basics\n",
    "paths/after.yaml": "title: After\nsteps:\n  - lesson: later/one\n",
}


def _pages(source: Path, cache: BodyCache | None) -> dict[str, bytes]:
    site, pages, problems, _ = check(source, include_drafts=True, cache=cache, search=False)
    assert site is not None and not [p for p in problems if p.severity == "error"], problems
    return {page.path: page.content for page in pages}


def test_an_edit_renders_only_the_pages_that_show_the_lesson(make_site):
    source = make_site(INCREMENTAL)
    cache = BodyCache(None)
    _pages(source, cache)
    assert len(cache.rendered) == 14  # home, 2 courses, 6 lessons, 2 paths, library, search, 404
    cache = cache.following()
    _pages(source, cache)
    assert cache.rendered == []  # nothing changed: nothing rendered
    second = source / "courses/basics/second.md"
    second.write_text(second.read_text() + "\nA new paragraph.\n")
    cache = cache.following()
    served = _pages(source, cache)
    assert sorted(cache.rendered) == [
        "courses/basics/index.html", "courses/basics/second/index.html",
        "courses/basics/third/index.html", "courses/basics/welcome/index.html",
        "index.html", "paths/start/index.html"]
    assert served == _pages(source, None)  # byte for byte what a clean build renders
    assert b"A new paragraph." in served["courses/basics/second/index.html"]


def test_a_theme_change_renders_every_page_again(make_site):
    source = make_site({"themes/default/templates/404.html":
                        '{% extends "default/404.html" %}'})
    cache = BodyCache(None)
    _pages(source, cache)
    (source / "themes/default/templates/404.html").write_text(
        '{% extends "default/404.html" %}{% block title %}Lost{% endblock %}')
    cache = cache.following()
    served = _pages(source, cache)
    assert len(cache.rendered) == len([p for p in served if p.endswith(".html")])
    assert served == _pages(source, None)



def test_a_build_keeps_templates_compiled_and_still_sees_a_theme_edit(make_site, tmp_path):
    """Compiled templates are kept in the cache (compiling the theme took 0.1 s of every
    build), by the hash of each template's text: an edited override is compiled again."""
    source, out = make_site({"themes/default/templates/404.html":
                             '{% extends "default/404.html" %}'}), tmp_path / "out"
    build(source, out, jobs=1)
    compiled = list((source / CACHE_DIR).glob("templates-*/*"))
    assert len(compiled) >= 5  # base, home, course, lesson, 404, ...
    (source / "themes/default/templates/404.html").write_text(
        '{% extends "default/404.html" %}{% block title %}Lost here{% endblock %}')
    build(source, out, jobs=1)
    assert "Lost here" in (out / "404.html").read_text()
    assert {p.name for p in compiled} <= {p.name for p in
                                          (source / CACHE_DIR).glob("templates-*/*")}

EDITS: list[dict[str, str | None]] = [
    {"courses/basics/third.md": "---\ntitle: Third, renamed\n---\nThird.\n"},
    {"courses/later/two.md": "---\ntitle: Two\nprerequisites: [basics/third]\n---\nTwo.\n"},
    {"courses/basics/third.md": "---\ntitle: Third again\nduration: 7\n---\n- [ ] A task\n"},
    {"courses/basics/course.yaml": "title: Basics\nlessons: [fourth, welcome, second, third]\n"},
    {"links/guide.md": "---\ntitle: A guide\nurl: https://example.com/guide\ntags: [calls]\n"
                       "---\nRead the *second* part.\n"},
    {"courses/later/one.md": "---\ntitle: One\nlinks: [guide]\n---\nOne.\n"},
    {"links/guide.md": "---\ntitle: The guide\nurl: https://example.com/guide\n---\nA note.\n"},
    {"courses/basics/fifth.md": "---\ntitle: Fifth\n---\nNew.\n",
     "courses/basics/course.yaml": "title: Basics\nlessons: [fourth, welcome, second, third, "
                                   "fifth]\n"},
    {"courses/basics/fifth.md": None,
     "courses/basics/course.yaml": "title: Basics\nlessons: [fourth, welcome, second, third]\n"},
    {"paths/after.yaml": "title: After all\nsteps:\n  - lesson: later/two\n  - course: basics\n"},
    {"trainkit.yaml": 'title: Renamed Team\nversion: "1.1"\n'},
    {"courses/later/one.md": '---\ntitle: One\nlinks: [guide]\n---\n'
                             'One <b onclick="ring()">now</b>.\n'},
    {"trainkit.yaml": 'title: Renamed Team\nversion: "1.1"\nsafe: true\n'},  # (no onclick)
    {"trainkit.yaml": 'title: Renamed Team\nversion: "1.1"\n'},
    {"courses/later/course.yaml": "title: Later on\nlessons: [two, one]\n"},
    {"courses/basics/second.md": "---\ntitle: Second\ndraft: true\n---\nMore.\n"},
]


def test_every_kind_of_edit_serves_what_a_clean_build_renders(make_site, monkeypatch):
    """The pages a rebuild keeps from the last one (by what each page is made of, and
    by each file's stat) are exactly those a clean build renders, edit after edit."""
    # Trust the stat of files saved just now too (normally only of files older than two
    # seconds), so that every file but the edited ones is taken from the last rebuild.
    monkeypatch.setattr(uptodate, "RECENT_NS", -1)
    source = make_site(INCREMENTAL)
    cache = BodyCache(None)
    _pages(source, cache)
    for edit in EDITS:
        for name, text in edit.items():
            if text is None:
                (source / name).unlink()
            else:
                (source / name).parent.mkdir(parents=True, exist_ok=True)
                (source / name).write_text(text)
        cache = cache.following()
        served = _pages(source, cache)
        assert len(cache.files.now) >= 8  # (every course and lesson file was remembered)
        assert served == _pages(source, None), edit
    assert b"Third again" in served["courses/later/two/index.html"]  # a prerequisite's title


def test_an_edit_indexes_only_the_part_of_the_index_it_changed(make_site, tmp_path, monkeypatch):
    from trainkit import search

    monkeypatch.setattr(search, "PART_PAGES", 3)
    source, out = make_site(_two_lesson_courses(4)), tmp_path / "out"
    build(source, out, jobs=2)
    parts = sorted(p.parent.name for p in out.glob("pagefind/**/pagefind-entry.json"))
    assert parts[0] == "pagefind" and len(parts) >= 3  # the site's own pages, and courses
    indexed: list[list[str]] = []
    real = search._run_pagefind
    monkeypatch.setattr(search, "_run_pagefind",
                        lambda pages, read, language: indexed.append([p for p, _ in pages])
                        or real(pages, read, language))
    lesson = source / "courses/c2/a.md"
    lesson.write_text(lesson.read_text() + "\nA new line.\n")
    build(source, out, jobs=2)
    # Indexed again: the part holding the edited lesson's course (and the site's own
    # pages when those changed too); not the parts of other courses.
    with_courses = [paths for paths in indexed if any(p.startswith("courses/") for p in paths)]
    assert len(with_courses) == 1 and "courses/c2/a/index.html" in with_courses[0]
    assert sum(map(len, indexed)) < len(list(out.glob("**/index.html")))


def test_the_search_parts_an_edit_leaves_alone_are_kept_unread_unless_touched(
        make_site, tmp_path, monkeypatch):
    """A part of the index with the same pages as in the last build is left in the output
    as that build wrote it: neither taken from the cache nor compared with the output
    (11,000 files at 10,000 lessons), while its files have the stat recorded then."""
    from trainkit import search, write

    monkeypatch.setattr(search, "PART_PAGES", 3)
    monkeypatch.setattr(uptodate, "RECENT_NS", -1)  # trust the times of fresh files too
    source, out = make_site(_two_lesson_courses(4)), tmp_path / "out"
    build(source, out, jobs=2)
    parts = {p.parent.relative_to(out).as_posix() + "/"
             for p in out.glob("pagefind/part-*/pagefind-entry.json")}
    assert len(parts) >= 3
    compared: list[str] = []
    real_read, real_index = write._read, BodyCache.search_index
    monkeypatch.setattr(write, "_read", lambda file: compared.append(file) or real_read(file))
    taken: list[str] = []
    monkeypatch.setattr(BodyCache, "search_index",
                        lambda self, key: taken.append(key) or real_index(self, key))

    def edit_and_build(n: int) -> list[str]:
        compared.clear()
        lesson = source / f"courses/c{n}/a.md"
        lesson.write_text(lesson.read_text() + "\nA new line.\n")
        build(source, out, jobs=2)
        return [f for f in compared if "/pagefind/part-" in f]

    read_parts = {f.split("/pagefind/")[1].split("/")[0] + "/" for f in edit_and_build(1)}
    assert len(read_parts) <= 1  # at most the edited course's part
    manifest = uptodate.last(source, out)
    assert manifest is not None
    part_keys = {folder: key for folder, key in manifest.snapshots.items()
                 if folder.startswith("pagefind/part-")}
    # Only the edited part comes from the cache: made while the pages were, its files
    # were saved there rather than held in memory until the end.
    edited = {part_keys["pagefind/" + folder] for folder in read_parts}
    assert len(part_keys) == len(parts) and set(taken) & set(part_keys.values()) <= edited
    touched = next(p for p in sorted(out.glob("pagefind/part-*/pagefind-entry.json"))
                   if p.parent.name + "/" not in read_parts)
    good = touched.read_bytes()
    touched.write_bytes(good.replace(b"{", b"[", 1))  # by hand: the same size
    edit_and_build(2)
    assert touched.read_bytes() == good
    assert part_keys[f"pagefind/{touched.parent.name}/"] in taken  # (from the cache)
    shutil.rmtree(source / CACHE_DIR)
    build(source, tmp_path / "clean", jobs=2)
    assert _files(out) == _files(tmp_path / "clean")


def test_a_new_course_is_indexed_alone_and_the_other_parts_are_kept(make_site, tmp_path,
                                                                   monkeypatch):
    """Adding a course re-indexes the part it lands in, not every part: with a fixed
    count of parts, one more course could change the count, and with it every part
    (at 10,000 lessons, all of Pagefind's 30 CPU-seconds again)."""
    from trainkit import search

    monkeypatch.setattr(search, "PART_PAGES", 3)  # each course (3 pages) in a part alone
    source, out = make_site(_two_lesson_courses(8)), tmp_path / "out"
    build(source, out, jobs=2)
    begun = _watch_pagefind(monkeypatch)
    write_files(source, {path.replace("c0", "c8"): text.replace(" 0", " 8")
                         for path, text in _two_lesson_courses(1).items()})
    build(source, out, jobs=2)
    with_courses = [paths for _, paths in begun if any(p.startswith("courses/") for p in paths)]
    assert with_courses == [["courses/c8/index.html", "courses/c8/a/index.html",
                             "courses/c8/b/index.html"]]
    assert b"a of 8" in (out / "courses/c8/a/index.html").read_bytes()


def test_the_index_parts_hold_whole_courses_and_at_most_part_pages(monkeypatch):
    from trainkit import search

    monkeypatch.setattr(search, "PART_PAGES", 20)
    sizes = {f"course-{n}": 1 + n * 7 % 9 for n in range(60)}  # 1 to 9 pages each
    sizes["big"] = 25  # more than a part: alone in one
    paths = ["index.html", "library/index.html"] + [
        f"courses/{slug}/{i}/index.html" for slug, size in sizes.items() for i in range(size)]
    number = search._part_numbers(paths)
    assert number["index.html"] == number["library/index.html"] == 0
    of_course: dict[str, set[int]] = {}
    for path in paths[2:]:
        of_course.setdefault(path.split("/")[1], set()).add(number[path])
    assert all(len(parts) == 1 for parts in of_course.values())  # a course is in one part
    pages: dict[int, int] = {}
    for path in paths[2:]:
        pages[number[path]] = pages.get(number[path], 0) + 1
    assert sorted(pages) == list(range(1, len(pages) + 1))  # numbered without gaps
    assert pages[number[paths[-1]]] == 25
    assert all(size <= 20 for n, size in pages.items() if n != number[paths[-1]])
    assert len(pages) <= 2 * -(-sum(sizes.values()) // 20)  # and not cut needlessly small

def test_a_build_after_an_edit_renders_only_the_pages_that_show_it(make_site, tmp_path,
                                                                  monkeypatch):
    import jinja2

    source, out = make_site(INCREMENTAL), tmp_path / "out"
    build(source, out, jobs=1)
    rendered: list[str] = []
    real = jinja2.Template.render
    monkeypatch.setattr(jinja2.Template, "render", lambda self, *a, **k:
                        rendered.append(self.name) or real(self, *a, **k))
    third = source / "courses/basics/third.md"
    third.write_text("---\ntitle: Third\n---\nThird, with a new paragraph.\n")
    build(source, out, jobs=1)
    # As in serve: the lesson, its neighbours (they link to it), its course, home and the
    # path through it (they show its progress); and the versions pages, always made.
    assert sorted(rendered) == ["changes.html", "course.html", "home.html", "lesson.html",
                                "lesson.html", "lesson.html", "path.html", "versions.html"]
    # A page of the output changed by hand is made again, not trusted.
    page = out / "courses/later/two/index.html"
    page.write_bytes(page.read_bytes().replace(b"Two.", b"Tampered."))
    third.write_text("---\ntitle: Third\n---\nThird, edited again.\n")
    build(source, out, jobs=1)
    assert b"Tampered" not in page.read_bytes() and b"Two." in page.read_bytes()
    shutil.rmtree(source / CACHE_DIR)
    build(source, tmp_path / "clean", jobs=1)
    assert _files(out) == _files(tmp_path / "clean")


def test_a_build_after_an_edit_does_not_read_the_pages_it_keeps(make_site, tmp_path,
                                                               monkeypatch):
    """A page whose inputs are unchanged, and whose file still has the stat the last
    build's manifest recorded, is kept without being read and hashed again (0.25 s of a
    10,000-lesson edit), as a build with nothing changed trusts every file."""
    from trainkit import cache

    source, out = make_site(INCREMENTAL), tmp_path / "out"
    build(source, out, jobs=1)
    read: list[str] = []
    real = cache._read_or_none
    monkeypatch.setattr(cache, "_read_or_none", lambda file: read.append(file) or real(file))
    third = source / "courses/basics/third.md"
    third.write_text("---\ntitle: Third\n---\nThird, with a new paragraph.\n")
    build(source, out, jobs=1)
    assert not read
    monkeypatch.undo()
    shutil.rmtree(source / CACHE_DIR)
    build(source, tmp_path / "clean", jobs=1)
    assert _files(out) == _files(tmp_path / "clean")


def test_pages_are_read_again_after_a_build_that_failed_once_its_records_were_saved(
        make_site, tmp_path, monkeypatch):
    """The records of what each page was made from are saved before the search index is
    made; a build that fails then leaves them beside the older output and its manifest.
    Those stats must not vouch for the new records: the next build reads every page."""
    from trainkit import build as build_module

    source, out = make_site(INCREMENTAL), tmp_path / "out"
    build(source, out, jobs=1)
    third = source / "courses/basics/third.md"
    third.write_text("---\ntitle: Third\n---\nThird, with a new paragraph.\n")
    monkeypatch.setattr(build_module, "index_pages", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        build(source, out, jobs=1)
    assert b"new paragraph" not in (out / "courses/basics/third/index.html").read_bytes()
    monkeypatch.undo()
    build(source, out, jobs=1)
    assert b"new paragraph" in (out / "courses/basics/third/index.html").read_bytes()
    shutil.rmtree(source / CACHE_DIR)
    build(source, tmp_path / "clean", jobs=1)
    assert _files(out) == _files(tmp_path / "clean")


@pytest.mark.parametrize("upgrade", ["trainkit", "jinja2"])
def test_a_build_after_an_upgrade_renders_every_page_again(make_site, tmp_path, monkeypatch,
                                                            upgrade):
    """Template filters live in trainkit's code, escaping in Jinja2 and MarkupSafe: none
    of them are in a page's context, so the records of the last build must go."""
    import importlib.metadata

    import jinja2

    source, out = make_site(INCREMENTAL), tmp_path / "out"
    build(source, out, jobs=1)
    if upgrade == "trainkit":
        real_code = uptodate.code
        monkeypatch.setattr(uptodate, "code", lambda: (real_code(), "edited"))
    else:
        real_version = importlib.metadata.version
        monkeypatch.setattr(importlib.metadata, "version", lambda name: "99.0"
                            if name == "jinja2" else real_version(name))
    rendered: list[str] = []
    real = jinja2.Template.render
    monkeypatch.setattr(jinja2.Template, "render", lambda self, *a, **k:
                        rendered.append(self.name) or real(self, *a, **k))
    (source / "courses/basics/third.md").write_text("---\ntitle: Third\n---\nEdited.\n")
    build(source, out, jobs=1)
    assert rendered.count("lesson.html") == 6  # every lesson, not only the edited one


def test_a_build_after_a_code_change_renders_every_body_again(make_site, tmp_path,
                                                                monkeypatch):
    """In a source checkout, or a CI cache carried across commits, trainkit's version
    stays the same while the code that renders Markdown changes: bodies rendered by
    other code must not be taken."""
    from trainkit import cache, render

    source = make_site(INCREMENTAL)
    build(source, tmp_path / "out", jobs=1)
    rendered: list[object] = []
    real_render = render._render_all
    monkeypatch.setattr(render, "_render_all", lambda jobs, *a: rendered.extend(jobs) or
                        real_render(jobs, *a))
    (source / "courses/basics/third.md").write_text("---\ntitle: Third\n---\nEdited.\n")
    build(source, tmp_path / "out", jobs=1)
    assert len(rendered) == 1  # the same code: only the edited body
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "other")
    (source / "courses/basics/third.md").write_text("---\ntitle: Third\n---\nAgain.\n")
    build(source, tmp_path / "out", jobs=1)
    assert len(rendered) == 1 + 6  # every lesson's body


def test_after_an_edit_pagefind_works_while_the_build_saves_its_caches(make_site, tmp_path,
                                                                       monkeypatch):
    """After an edit, Pagefind re-indexes a part or two: it starts as soon as the pages are
    made, on the other core, instead of after everything else (0.7 s of a 10,000-lesson
    edit). Saving the caches waits here until Pagefind has started: it never does if
    Pagefind only starts after them."""
    import threading

    from trainkit import cache, search

    source, out = make_site(INCREMENTAL), tmp_path / "out"
    build(source, out, jobs=1)
    started = threading.Event()
    real_pagefind, real_save = search._run_pagefind, cache.save_pickle
    monkeypatch.setattr(search, "_run_pagefind", lambda *a: started.set() or real_pagefind(*a))
    overlapped: list[bool] = []
    monkeypatch.setattr(cache, "save_pickle", lambda *a: overlapped.append(
        started.wait(5)) or real_save(*a))
    (source / "courses/basics/third.md").write_text("---\ntitle: Third\n---\nEdited.\n")
    build(source, out, jobs=1)
    assert overlapped and all(overlapped)
    monkeypatch.undo()
    clean = tmp_path / "clean"
    shutil.rmtree(source / CACHE_DIR)
    build(source, clean, jobs=1)
    assert _files(out) == _files(clean)


def _two_lesson_courses(count: int) -> dict[str, str]:
    files = {f"courses/c{n}/course.yaml": f"title: Course {n}\nlessons: [a, b]\n"
             for n in range(count)}
    files.update({f"courses/c{n}/{slug}.md": f"---\ntitle: {slug} of {n}\n---\nText {n}.\n"
                  for n in range(count) for slug in "ab"})
    return files


def _watch_pagefind(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, list[str]]]:
    """Each part Pagefind will be given (its pages), with whether every page of the site
    was made by then."""
    from trainkit import render, search

    made_all, begun = [False], []
    real_discovery, real_pagefind = render.discovery_files, search._run_pagefind
    monkeypatch.setattr(render, "discovery_files", lambda *a, **k: made_all.__setitem__(
        0, True) or real_discovery(*a, **k))  # (made once every page is)
    monkeypatch.setattr(search, "_run_pagefind", lambda pages, *a: begun.append(
        (made_all[0], [path for path, _ in pages])) or real_pagefind(pages, *a))
    return begun


def test_pagefind_indexes_a_part_while_the_next_parts_pages_are_made(make_site, tmp_path,
                                                                     monkeypatch):
    """A cold build makes its pages one part of the search index after another, and
    Pagefind starts on each part as soon as its pages are made, on the other core (it
    waited for the last page, leaving a core idle while the templates ran). The index
    is the one a build without this makes: parts begun ahead are the same parts."""
    from trainkit import search

    monkeypatch.setattr(search, "PART_PAGES", 3)
    source = make_site(_two_lesson_courses(6))
    begun = _watch_pagefind(monkeypatch)
    build(source, tmp_path / "ahead", jobs=2)
    assert len(begun) >= 4 and [paths for done, paths in begun if not done]
    assert sorted(p for _, paths in begun for p in paths) == sorted(
        {p for _, paths in begun for p in paths})  # no page indexed twice
    monkeypatch.setattr(search.Ahead, "add", lambda self, page: None)  # nothing ahead
    shutil.rmtree(source / CACHE_DIR)
    build(source, tmp_path / "after", jobs=2)
    assert _files(tmp_path / "ahead") == _files(tmp_path / "after")


def test_a_part_made_ahead_that_the_cache_could_not_keep_is_indexed_again(
        make_site, tmp_path, monkeypatch):
    """A part indexed while the pages are made is saved in the cache folder and read back
    at the end, not held in memory meanwhile (35 MB at 10,000 lessons, when the build's
    memory peaks). When it cannot be read back (a full disk, say), it is indexed again:
    the index is whole, the same as a clean build's."""
    from trainkit import search

    monkeypatch.setattr(search, "PART_PAGES", 3)
    source = make_site(_two_lesson_courses(6))
    monkeypatch.setattr(BodyCache, "put_search_index", lambda self, key, files: None)
    begun = _watch_pagefind(monkeypatch)
    build(source, tmp_path / "lost", jobs=2)
    ahead = [paths for done, paths in begun if not done]
    assert ahead and all(paths in [p for _, p in begun[len(ahead):]] for paths in ahead)
    monkeypatch.undo()
    monkeypatch.setattr(search, "PART_PAGES", 3)
    shutil.rmtree(source / CACHE_DIR)
    build(source, tmp_path / "clean", jobs=2)
    assert _files(tmp_path / "lost") == _files(tmp_path / "clean")


def test_after_an_edit_the_part_holding_it_is_made_first_and_indexed_beside_the_rest(
        make_site, tmp_path, monkeypatch):
    """The pages of the search part that changed are made (or taken as they were) before
    the others, so Pagefind re-indexes that part while the rest of the site is taken
    from the last build's output: last in the site's order, it was indexed at the end,
    with nothing beside it (0.6 s of a 10,000-lesson edit)."""
    from trainkit import search

    monkeypatch.setattr(search, "PART_PAGES", 3)
    source, out = make_site(_two_lesson_courses(6)), tmp_path / "out"
    build(source, out, jobs=2)
    pages = [p.relative_to(out).as_posix() for p in out.glob("**/*.html")
             if not p.relative_to(out).as_posix().startswith("pagefind/")]
    number = search._part_numbers(pages)
    last = max(range(6), key=lambda n: number[f"courses/c{n}/index.html"])
    begun = _watch_pagefind(monkeypatch)
    lesson = source / f"courses/c{last}/b.md"
    lesson.write_text(lesson.read_text() + "\nA new line.\n")
    build(source, out, jobs=2)
    edited = [done for done, paths in begun if f"courses/c{last}/b/index.html" in paths]
    assert edited == [False]  # begun before the last page was made
    monkeypatch.undo()
    monkeypatch.setattr(search, "PART_PAGES", 3)
    shutil.rmtree(source / CACHE_DIR)
    build(source, tmp_path / "clean", jobs=2)
    assert _files(out) == _files(tmp_path / "clean")


def test_pagefind_processes_run_side_by_side_only_while_their_pages_fit(make_site, tmp_path,
                                                                        monkeypatch):
    """Pagefind holds ~0.3 MB a page until it writes its index: with jobs=2, two parts
    are indexed at once only when their pages fit in PAGES_AT_ONCE together."""
    import threading
    import time

    from trainkit import search

    monkeypatch.setattr(search, "PART_PAGES", 4)
    files = {f"courses/c{n}/course.yaml": f"title: Course {n}\nlessons: [a, b, c, d]\n"
             for n in range(6)}
    files.update({f"courses/c{n}/{slug}.md": f"---\ntitle: {slug} of {n}\n---\nText {n}.\n"
                  for n in range(6) for slug in "abcd"})
    running, most, lock = [0], [0], threading.Lock()
    real = search._run_pagefind

    def counted(pages, read, language):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)  # long enough for the other thread to start one if it may
        try:
            return real(pages, read, language)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(search, "_run_pagefind", counted)
    source = make_site(files)
    build(source, tmp_path / "roomy", jobs=2)
    assert most[0] == 2
    shutil.rmtree(source / CACHE_DIR)
    most[0] = 0
    monkeypatch.setattr(search, "PAGES_AT_ONCE", 3)  # no two parts fit: the library's
    build(source, tmp_path / "tight", jobs=2)       # is 1 page, the others 5 and more
    assert most[0] == 1
    assert len(list((tmp_path / "tight").glob("pagefind/**/pagefind-entry.json"))) >= 4


def test_a_site_is_built_without_search_when_pagefind_fails(make_site, tmp_path,
                                                            monkeypatch):
    """When Pagefind cannot index the parts (gone, or stopping each time), the site is
    built without its search index, with one warning saying why. (A part that failed
    while the pages were still being made is tried once more at the end.)"""
    from trainkit import search

    monkeypatch.setattr(search, "PART_PAGES", 3)
    real, calls = search._run_pagefind, []

    def failing(pages, read, language):
        calls.append(len(pages))
        if len(calls) > 1:
            raise search.SearchUnavailable("Pagefind stopped")
        return real(pages, read, language)

    monkeypatch.setattr(search, "_run_pagefind", failing)
    source, out = make_site(_two_lesson_courses(6)), tmp_path / "out"
    result = build(source, out, jobs=2)
    assert [p.format() for p in result.problems if "search" in p.message] == [
        "trainkit.yaml:1: warning: the search index was not built: Pagefind stopped"]
    assert (out / "courses/c1/a/index.html").is_file()
    assert not (out / "pagefind/trainkit-parts.json").exists()
    assert len(calls) >= 2


def test_the_largest_part_that_fits_is_indexed_next():
    """Parts are not indexed in their order but largest first, each beside another as
    long as their pages fit in the room: two large parts in a row used to leave one
    Pagefind waiting for the other (at 10,000 lessons, room for 600 pages cost 17%)."""
    import threading

    from trainkit.search import _Room

    room = _Room(8, 2)
    waiting = {1: 5, 2: 5, 3: 2, 4: 1}
    assert room.take(waiting) == (1, 5)  # the largest (the first of two as large)
    assert room.take(waiting) == (3, 2)  # 2 does not fit beside it, 3 does
    taken: list[tuple[int, int] | None] = []
    third = threading.Thread(target=lambda: taken.append(room.take(waiting)))
    third.start()  # two processes run already: it waits, though 4 would fit
    third.join(0.2)
    assert third.is_alive() and not taken
    room.give_back(5)
    third.join(5)
    assert taken == [(2, 5)]
    room.give_back(2)
    room.give_back(5)
    assert room.take({7: 20}) == (7, 8)  # larger than the room: it waits for all of it
    assert waiting == {4: 1}
    room.stop(waiting)
    assert room.take(waiting) is None and waiting == {}


def test_a_build_after_an_edit_writes_only_the_cache_files_of_what_changed(
        make_site, tmp_path, monkeypatch):
    """Rendered bodies and files read are each kept in SHARDS files: after an edit, those
    holding the edited lesson's body and its file are written, not the whole cache (0.35 s
    of a 10,000-lesson edit)."""
    from trainkit import cache

    monkeypatch.setattr(uptodate, "RECENT_NS", -1)  # (fresh files are read again otherwise)
    source, out = make_site(INCREMENTAL), tmp_path / "out"
    build(source, out, jobs=1)
    shelves = sorted(p.name for p in (source / CACHE_DIR).iterdir()
                     if p.name.startswith(("bodies", "files")))
    assert len(shelves) == 2 and all(len(list((source / CACHE_DIR / name).glob("*.pickle")))
                                     > 1 for name in shelves)
    written: list[str] = []
    real = cache.save_pickle
    monkeypatch.setattr(cache, "save_pickle", lambda file, value: written.append(
        file.parent.name[:5]) or real(file, value))
    third = source / "courses/basics/third.md"
    third.write_text("---\ntitle: Third\n---\nThird, with a new paragraph.\n")
    build(source, out, jobs=1)
    # (the edited body's old entry goes, from the file its key named)
    assert written.count("files") == 1 and 1 <= written.count("bodie") <= 2
    monkeypatch.undo()
    clean = tmp_path / "clean"
    shutil.rmtree(source / CACHE_DIR)
    build(source, clean, jobs=1)
    assert _files(out) == _files(clean)


def test_the_cache_holds_what_each_file_gave_only_once(make_site, tmp_path, monkeypatch):
    """A build that reads every file again (a fresh checkout in CI, with the cache
    restored) lets go of what each file gave before as it reads it: held a second time,
    by the files of the cache they came from, they took 100 MB more at 10,000 lessons."""
    import gc

    monkeypatch.setattr(uptodate, "RECENT_NS", -1)  # (fresh files are not kept otherwise)
    source = make_site(INCREMENTAL)
    build(source, tmp_path / "out", jobs=1)
    opened = BodyCache.open(source)
    for held in (opened.files.last, opened.bodies.last):
        assert held
        for entry in held.values():
            assert [r for r in gc.get_referrers(entry) if r is not held] == []



def test_a_build_hashes_each_lessons_content_once(make_site, tmp_path, monkeypatch):
    """The readers' progress facts and the changes page both need a digest of every
    lesson's whole Markdown: it is made once per build."""
    from trainkit import model, pages

    hashed: list[str] = []
    monkeypatch.setattr(pages, "lesson_digest", lambda lesson, *rest:
                        hashed.append(lesson.key) or model.lesson_digest(lesson, *rest))
    build(make_site({}), tmp_path / "out", jobs=1)
    assert sorted(hashed) == ["basics/second", "basics/welcome"]

def test_a_build_reads_again_only_the_files_that_changed(make_site, tmp_path, monkeypatch):
    monkeypatch.setattr(uptodate, "RECENT_NS", -1)  # trust the stat of fresh files too
    source, out = make_site(INCREMENTAL), tmp_path / "out"
    build(source, out, jobs=1)
    read: list[str] = []
    real = loader.read_text
    monkeypatch.setattr(loader, "read_text", lambda file, name, *a: read.append(name)
                        or real(file, name, *a))
    third = source / "courses/basics/third.md"
    third.write_text("---\ntitle: Third, renamed\n---\nThird.\n")
    build(source, out, jobs=1)
    assert "courses/basics/third.md" in read
    assert not [name for name in read if name.endswith(".md") and "third" not in name]
    assert "Third, renamed" in (out / "courses/basics/fourth/index.html").read_text()


def test_a_fresh_checkout_with_the_cache_parses_only_the_files_that_changed(
        make_site, tmp_path, monkeypatch):
    """CI checks the site out afresh (every file with new times) and restores
    .trainkit-cache/: the files are read, but those whose bytes are the last build's are
    not parsed again (front matter, course.yaml: 0.8 s at 10,000 lessons)."""
    monkeypatch.setattr(uptodate, "RECENT_NS", -1)  # trust the stat of fresh files too
    source = make_site(INCREMENTAL)
    build(source, tmp_path / "out", jobs=1)
    checkout = tmp_path / "checkout"
    shutil.copytree(source, checkout)  # (new inodes: every stat differs)
    third = checkout / "courses/basics/third.md"
    third.write_text("---\ntitle: Third, renamed\n---\nThird.\n")
    parsed: list[str] = []
    real_split, real_yaml = loader.split_front_matter, loader.parse_yaml
    monkeypatch.setattr(loader, "split_front_matter", lambda text, name: parsed.append(name)
                        or real_split(text, name))
    monkeypatch.setattr(loader, "parse_yaml", lambda text, name: parsed.append(name)
                        or real_yaml(text, name))
    build(checkout, tmp_path / "ci", jobs=1)
    assert "courses/basics/third.md" in parsed
    assert not [name for name in parsed if name.startswith("courses/") and "third" not in name]
    assert "Third, renamed" in (tmp_path / "ci/courses/basics/fourth/index.html").read_text()
    shutil.rmtree(checkout / CACHE_DIR)
    monkeypatch.undo()
    build(checkout, tmp_path / "clean", jobs=1)
    assert _files(tmp_path / "ci") == _files(tmp_path / "clean")


def test_serve_looks_only_at_the_course_folders_the_watcher_saw_change(make_site, monkeypatch):
    from trainkit.preview import Preview

    monkeypatch.setattr(uptodate, "RECENT_NS", -1)  # (so stat alone would skip files too)
    preview = Preview(make_site(INCREMENTAL))
    assert not preview.rebuild().failed
    looked: list[str] = []
    real = os.stat
    monkeypatch.setattr(loader.os, "stat", lambda path, *a, **k: looked.append(str(path))
                        or real(path, *a, **k))
    one = preview.source / "courses/later/one.md"
    one.write_text("---\ntitle: One, again\n---\nOne.\n")
    result = preview.rebuild({"courses/later/one.md"})
    assert not result.failed and "courses/later/one/index.html" in result.changed
    assert b"One, again" in preview.current().files["courses/later/one/index.html"].content
    assert [p for p in looked if "/courses/later/" in p]
    assert not [p for p in looked if "/courses/basics/" in p]  # not even a stat
    # A new course folder is found, by its path in the list.
    write_files(preview.source, {"courses/extra/course.yaml": "title: Extra\nlessons: [x]\n",
                                 "courses/extra/x.md": "---\ntitle: X\n---\nX.\n"})
    result = preview.rebuild({"courses/extra"})
    assert "courses/extra/x/index.html" in preview.current().files
    preview.close()


def test_serve_checks_the_bodies_links_again_only_when_their_targets_changed(
        make_site, monkeypatch):
    """In serve, a body carried from the last rebuild is used again if its links still go
    where they went. When no link target changed (an edit to a lesson's text), none is
    looked at again (10,000 bodies: 30 ms of every save); when one did, each is; and a
    rebuild stopped by an error before rendering does not make the old check count for
    the targets of the next."""
    from trainkit.markdown_ext import Rendered
    from trainkit.preview import Preview

    preview = Preview(make_site({**INCREMENTAL, "courses/later/two.md":
                                 "---\ntitle: Two\n---\nSee [one](one.md).\n"}))
    assert not preview.rebuild().failed
    checked: list[int] = []
    real = Rendered.still_valid
    monkeypatch.setattr(Rendered, "still_valid",
                        lambda self, targets: checked.append(1) or real(self, targets))
    two = preview.source / "courses/later/two.md"
    two.write_text("---\ntitle: Two\n---\nSee [one](one.md), again.\n")
    assert not preview.rebuild({"courses/later/two.md"}).failed
    assert b"again" in preview.current().files["courses/later/two/index.html"].content
    assert not checked
    write_files(preview.source, {  # a new lesson: a new link target
        "courses/later/course.yaml": "title: Later\nlessons: [one, two, three]\n",
        "courses/later/three.md": "---\ntitle: Three\n---\nThree.\n"})
    assert not preview.rebuild().failed
    assert len(checked) >= 6  # (every body carried)
    config = preview.source / "trainkit.yaml"
    good = config.read_text()
    config.write_text("title: [\n")
    assert preview.rebuild().failed
    config.write_text(good)
    write_files(preview.source, {"courses/later/course.yaml":
                                 "title: Later\nlessons: [two, three]\n"})
    (preview.source / "courses/later/one.md").unlink()
    preview.rebuild()
    assert [p for p in preview.problems if p.path == "courses/later/two.md"
            and "one.md" in p.message]
    preview.close()


def test_a_build_deletes_the_caches_other_versions_left(make_site, tmp_path):
    source = make_site(INCREMENTAL)
    folder = source / CACHE_DIR
    stale = ["bodies-0.0.9-md3.4.pickle", "bodies2-0.1.0-md3.11.3.pickle",
             "files-0.0.9.pickle", "pages4-0.1.0.pickle", "search-0.0.9.pickle"]
    write_files(folder, {name: "old" for name in stale})
    write_files(folder, {"search-0.0.9/abc.pickle": "old", "links.json": "{}"})
    build(source, tmp_path / "out", jobs=1)
    left = sorted(p.name for p in folder.iterdir())
    assert not set(stale) & set(left) and "search-0.0.9" not in left
    assert "links.json" in left  # the link checker's: not made by version
    assert any(name.startswith("bodies") for name in left)  # this build's own
    assert any(name.startswith("pages") for name in left)
    shutil.rmtree(source / CACHE_DIR)
    build(source, tmp_path / "clean", jobs=1)
    assert _files(tmp_path / "out") == _files(tmp_path / "clean")


_COUNT_LESSON_RENDERS = """
import sys
from pathlib import Path

import jinja2

from trainkit.build import build

rendered = []
real = jinja2.Template.render
jinja2.Template.render = lambda self, *a, **k: rendered.append(self.name) or real(self, *a, **k)
build(Path(sys.argv[1]), Path(sys.argv[2]), jobs=1)
print(rendered.count("lesson.html"))
"""


def test_a_build_in_another_process_knows_the_pages_it_made(tmp_path):
    """A build recognises unchanged pages by a hash of what they are made from; Python
    orders sets by string hashes that change from process to process, so the hash must
    not depend on them. (The sample site: upline sections, links, paths, versions.)"""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parent.parent
    source, out = tmp_path / "src", tmp_path / "out"
    source.mkdir()
    for name in ("trainkit.yaml", "courses", "links", "paths", "uplines"):
        copy = shutil.copytree if (repo / name).is_dir() else shutil.copy
        copy(repo / name, source / name)

    def lessons_rendered(seed: str) -> int:
        done = subprocess.run([sys.executable, "-c", _COUNT_LESSON_RENDERS, str(source), str(out)],
                              capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed})
        return int(done.stdout.split()[-1])

    every = lessons_rendered("1")
    assert every > 10
    lesson = next((source / "courses").glob("*/*.md"))
    lesson.write_text(lesson.read_text() + "\nOne more paragraph.\n")
    assert 1 <= lessons_rendered("2") <= 3  # it and its neighbours, not all the others


def test_a_cache_carried_to_a_fresh_checkout_renders_nothing_it_holds(make_site, tmp_path,
                                                                       monkeypatch):
    """What CI does with a saved .trainkit-cache/: a fresh checkout (new file times, no
    previous output) renders no Markdown, runs no Pagefind and no template for unchanged
    content (pages come from the older output the cache keeps), and gives exactly the
    files of a build without the cache."""
    import jinja2

    from trainkit import render, search

    first = make_site(INCREMENTAL)
    build(first, tmp_path / "out", jobs=1)
    (first / "courses/later/two.md").write_text("---\ntitle: Two\n---\nTwo, edited.\n")
    build(first, tmp_path / "out", jobs=1)  # the cache now keeps the first output too
    checkout = tmp_path / "checkout"
    shutil.copytree(first, checkout, ignore=shutil.ignore_patterns("site"))
    for file in checkout.rglob("*"):
        if file.is_file() and CACHE_DIR not in file.parts:
            os.utime(file, (1_800_000_000, 1_800_000_000))
    rendered: list[object] = []
    real_render = render._render_all
    monkeypatch.setattr(render, "_render_all", lambda jobs, *a: rendered.extend(jobs) or
                        real_render(jobs, *a))
    indexed: list[object] = []
    real_pagefind = search._run_pagefind
    monkeypatch.setattr(search, "_run_pagefind", lambda *a: indexed.append(a) or
                        real_pagefind(*a))
    templates: list[str] = []
    real_template = jinja2.Template.render
    monkeypatch.setattr(jinja2.Template, "render", lambda self, *a, **k:
                        templates.append(self.name) or real_template(self, *a, **k))
    build(checkout, tmp_path / "ci", jobs=1)
    assert rendered == [] and indexed == []  # every body and index part from the cache
    # Only the pages whose bytes changed since the older output: the edited lesson, its
    # course and home (they show its progress), and the version pages (always made).
    assert sorted(templates) == ["changes.html", "course.html", "home.html", "lesson.html",
                                 "versions.html"]
    monkeypatch.undo()
    shutil.rmtree(checkout / CACHE_DIR)
    build(checkout, tmp_path / "clean", jobs=1)
    assert _files(tmp_path / "ci") == _files(tmp_path / "clean")
