"""References between sources: prerequisites, links:, path steps, course.yaml lessons,
and two sources that would write the same output file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

LESSON = "courses/basics/welcome.md"
COURSE = "courses/basics/course.yaml"


def check(cli, src: Path, *flags: str):
    return cli("check", "--source", src, *flags)


def test_missing_prerequisite_is_an_error_at_its_line(make_site, cli):
    src = make_site({LESSON: "---\ntitle: Welcome\nprerequisites: [basics/nope]\n---\nBody.\n"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert f"{LESSON}:3: error: prerequisite 'basics/nope': there is no lesson" in result.output


def test_missing_prerequisite_in_a_block_list_is_reported_at_its_item(make_site, cli):
    src = make_site({LESSON: "---\ntitle: Welcome\nprerequisites:\n  - basics/second\n"
                             "  - basics/nope\n---\nBody.\n"})
    result = check(cli, src)
    assert f"{LESSON}:5: error: prerequisite 'basics/nope'" in result.output


def test_prerequisite_that_is_not_a_reference_is_an_error(make_site, cli):
    src = make_site({LESSON: "---\ntitle: Welcome\nprerequisites: [second]\n---\nBody.\n"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert f"{LESSON}:3: error:" in result.output and "<course>/<lesson>" in result.output


def test_prerequisite_on_a_draft_says_it_is_a_draft(make_site, cli):
    src = make_site({
        LESSON: "---\ntitle: Welcome\nprerequisites: [basics/second]\n---\nBody.\n",
        "courses/basics/second.md": "---\ntitle: Second\ndraft: true\n---\nMore.\n",
    })
    result = check(cli, src)
    assert result.exit_code == 1
    assert f"{LESSON}:3: error: prerequisite 'basics/second': lesson 'basics/second' is a draft" \
        in result.output


def test_missing_curated_link_is_an_error_at_its_line(make_site, cli):
    src = make_site({LESSON: "---\ntitle: Welcome\nduration: 5\nlinks: [no-such-link]\n---\n"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert f"{LESSON}:4: error: there is no curated link 'no-such-link'" in result.output


@pytest.mark.parametrize("link_file", ["links/guide.md", "courses/basics/links/guide.md"])
def test_a_curated_link_with_an_error_is_one_error(make_site, cli, link_file):
    """Not also "there is no curated link" at each lesson listing it (the file is there)
    nor a broken link at each Markdown link to it."""
    src = make_site({
        link_file: "---\ntitle: Guide\nurl: example.org/guide\n---\nWhy.\n",
        LESSON: f"---\ntitle: Welcome\nlinks: [guide]\n---\n"
                f"Read [the guide]({'../../links/guide.md' if link_file[0] == 'l' else 'links/guide.md'}).\n",
    })
    result = check(cli, src)
    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if ": error: " in line] == [
        f"{link_file}:3: error: 'url' must be a web address starting with https:// or "
        "http:// (got 'example.org/guide')"]


@pytest.mark.parametrize("files, expected", [
    ({LESSON: "---\ntitle: Welcome\nprerequisites: [basics/secnd]\n---\n"},
     f"{LESSON}:3: error: prerequisite 'basics/secnd': there is no lesson 'basics/secnd' "
     "(did you mean 'basics/second'?)"),
    ({LESSON: "---\ntitle: Welcome\nlinks: [the-guide]\n---\n",
      "links/guide.md": "---\ntitle: Guide\nurl: https://example.org/\n---\n"},
     f"{LESSON}:3: error: there is no curated link 'the-guide' (did you mean 'guide'?)"),
    ({"paths/start.yaml": "title: Start\nsteps:\n  - course: basic\n"},
     "paths/start.yaml:3: error: there is no course 'basic' (did you mean 'basics'?)"),
    ({"paths/start.yaml": "title: Start\nsteps:\n  - lesson: basics/welcom\n"},
     "paths/start.yaml:3: error: step: there is no lesson 'basics/welcom' "
     "(did you mean 'basics/welcome'?)"),
], ids=["prerequisite", "curated-link", "path-course", "path-lesson"])
def test_a_misspelt_reference_suggests_the_name_meant(make_site, cli, files, expected):
    result = check(cli, make_site(files))
    assert [line for line in result.output.splitlines() if ": error: " in line] == [expected]


def test_course_link_is_found_from_its_own_course_only(make_site, cli):
    src = make_site({
        LESSON: "---\ntitle: Welcome\nlinks: [guide]\n---\nBody.\n",
        "courses/basics/links/guide.md": "---\ntitle: Guide\nurl: https://example.org/\n---\n",
        "courses/other/course.yaml": "title: Other\nlessons: [intro]\n",
        "courses/other/intro.md": "---\ntitle: Intro\nlinks: [guide]\n---\nBody.\n",
    })
    result = check(cli, src)
    assert "courses/basics/welcome.md" not in result.output
    assert "courses/other/intro.md:3: error: there is no curated link 'guide'" in result.output


@pytest.mark.parametrize("steps, expected", [
    ("  - course: basics\n  - course: nowhere\n",
     ["paths/start.yaml:4: error: there is no course 'nowhere'"]),
    ("  - lesson: basics/welcome\n  - lesson: basics/gone\n",
     ["paths/start.yaml:4: error: step: there is no lesson 'basics/gone'"]),
    # A misspelt step used to be dropped with a warning about the key alone.
    ("  - course: basics\n  - chapter: basics\n",
     ["paths/start.yaml:4: error: each step needs exactly one of",
      "paths/start.yaml:4: warning: unknown key 'chapter'"]),
    ("  - {course: basics, lesson: basics/welcome}\n",
     ["paths/start.yaml:3: error: each step needs exactly one of"]),
], ids=["missing-course", "missing-lesson", "only-an-unknown-key", "two-kinds"])
def test_a_bad_path_step_is_reported_at_the_step(make_site, cli, steps, expected):
    src = make_site({"paths/start.yaml": "title: Start\nsteps:\n" + steps})
    result = check(cli, src)
    assert result.exit_code == 1
    for line in expected:
        assert line in result.output, result.output


def test_course_lists_a_lesson_that_does_not_exist(make_site, cli):
    src = make_site({COURSE: "title: Basics\nlessons:\n  - welcome\n  - second\n  - third\n"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert (f"{COURSE}:5: error: lesson 'third' is listed but courses/basics/third.md "
            "does not exist") in result.output


@pytest.mark.parametrize("listed, expected", [
    ("secnd", "lesson 'secnd' is listed but courses/basics/secnd.md does not exist "
              "(did you mean 'second'?)"),
    ("second.md", "'second.md' is not a lesson name: write 'second' (the file name "
                  "without .md)"),
])
def test_a_mistyped_lesson_in_course_yaml_is_one_error(make_site, cli, listed, expected):
    """Not also "second.md is not listed", nor an error at every link and prerequisite
    naming the lesson: the name is read as meant until it is fixed."""
    src = make_site({
        COURSE: f"title: Basics\nlessons:\n  - welcome\n  - {listed}\n",
        "courses/basics/welcome.md": "---\ntitle: Welcome\n---\nRead [next](second.md).\n",
        "courses/other/course.yaml": "title: Other\nlessons: [after]\n",
        "courses/other/after.md": "---\ntitle: After\nprerequisites: [basics/second]\n---\nX.\n",
    })
    result = check(cli, src)
    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if ": error: " in line
            or ": warning: " in line and "base_url" not in line] == [
        f"{COURSE}:4: error: {expected}"]


def test_lesson_not_listed_in_course_yaml_is_a_warning_and_not_published(make_site, cli, tmp_path):
    src = make_site({"courses/basics/extra.md": "---\ntitle: Extra\n---\nBody.\n"})
    out = tmp_path / "out"
    result = cli("build", "--source", src, "--out", out)
    assert result.exit_code == 0
    assert "courses/basics/extra.md:1: warning: this lesson is not listed in " \
           f"{COURSE}" in result.output
    assert not (out / "courses/basics/extra").exists()


def test_lesson_listed_twice_is_an_error_naming_both_lines(make_site, cli):
    src = make_site({COURSE: "title: Basics\nlessons:\n  - welcome\n  - second\n  - welcome\n"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert f"{COURSE}:5: error: lesson 'welcome' is listed twice (also on line 3)" in result.output


@pytest.mark.parametrize("page, writer", [
    ("courses/basics/index.html", COURSE),
    ("courses/basics/welcome/index.html", LESSON),
    ("paths/start/index.html", "paths/start.yaml"),
])
def test_static_file_colliding_with_a_page_is_an_error_naming_both(make_site, cli, page,
                                                                   writer):
    src = make_site({f"static/{page}": "<p>mine</p>",
                     "paths/start.yaml": "title: Start\nsteps:\n  - course: basics\n"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert (f"static/{page}:1: error: this file would be written to "
            f"{page}, which {writer} also writes") in result.output


def test_static_file_colliding_with_the_home_page_is_an_error(make_site, cli):
    src = make_site({"static/index.html": "<p>mine</p>"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert "static/index.html:1: error: this file would be written to index.html" in result.output


def test_static_file_colliding_with_a_theme_asset_is_an_error(make_site, cli):
    src = make_site({"static/_trainkit/style.css": "body{}"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert "static/_trainkit/style.css:1: error:" in result.output


def test_static_files_are_copied(make_site, cli, tmp_path):
    src = make_site({"static/img/team.svg": "<svg/>"})
    out = tmp_path / "out"
    assert cli("build", "--source", src, "--out", out).exit_code == 0
    assert (out / "img/team.svg").read_text() == "<svg/>"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks here")
def test_symlink_leading_outside_the_site_is_an_error(make_site, cli, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    src = make_site()
    (src / "static").mkdir()
    (src / "static/secret.txt").symlink_to(secret)
    out = tmp_path / "out"
    result = cli("build", "--source", src, "--out", out)
    assert result.exit_code == 1
    assert "static/secret.txt:1: error: this symbolic link leads outside the site" in result.output
    assert not out.exists()


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks here")
def test_symlinked_lesson_leading_outside_the_site_is_an_error(make_site, cli, tmp_path):
    outside = tmp_path / "elsewhere.md"
    outside.write_text("---\ntitle: Elsewhere\n---\nBody.\n")
    src = make_site()
    (src / "courses/basics/elsewhere.md").symlink_to(outside)
    result = check(cli, src)
    assert result.exit_code == 1
    assert "courses/basics/elsewhere.md:1: error: this symbolic link leads outside" in result.output


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks here")
def test_symlinked_folder_leading_outside_the_site_is_an_error(make_site, cli, tmp_path):
    outside = tmp_path / "photos"
    outside.mkdir()
    (outside / "a.jpg").write_bytes(b"jpg")
    src = make_site()
    (src / "static").mkdir()
    (src / "static/photos").symlink_to(outside, target_is_directory=True)
    result = check(cli, src)
    assert result.exit_code == 1
    assert "static/photos:1: error: this symbolic link leads outside the site" in result.output


def test_drafts_are_not_published_by_build(make_site, cli, tmp_path):
    src = make_site({"courses/basics/second.md": "---\ntitle: Secret plan\ndraft: true\n---\nMore.\n"})
    out = tmp_path / "out"
    result = cli("build", "--source", src, "--out", out)
    assert result.exit_code == 0, result.output
    assert not (out / "courses/basics/second").exists()
    everything = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*.html"))
    assert "Secret plan" not in everything


def test_every_broken_reference_is_listed_in_one_run(make_site, cli):
    src = make_site({
        LESSON: "---\ntitle: Welcome\nprerequisites: [basics/x]\nlinks: [y]\n---\nBody.\n",
        "paths/p.yaml": "title: P\nsteps:\n  - course: z\n",
    })
    result = check(cli, src)
    assert result.exit_code == 1
    assert f"{LESSON}:3: error:" in result.output
    assert f"{LESSON}:4: error:" in result.output
    assert "paths/p.yaml:3: error:" in result.output


def upline_section_for(lesson: str) -> dict[str, str]:
    """An upline pack, listed in trainkit.yaml, with a section for ``lesson``."""
    return {"trainkit.yaml": 'title: Test Team\nversion: "1.0"\nuplines:\n  - name: Maria\n'
                             "    path: uplines/maria\n",
            "uplines/maria/sections/tip.md": f"---\nfor: {lesson}\n---\nA tip.\n"}


def test_a_lesson_that_cannot_be_read_is_one_error_not_one_per_reference(make_site, cli):
    """Its own error says what is wrong; the link, section, prerequisite and path step
    that name it are not errors too (the section may be an upline's, which its reader
    cannot fix)."""
    src = make_site({
        "courses/basics/second.md": "---\ntitle: Second\nsummary: [unclosed\n---\nMore.\n",
        LESSON: "---\ntitle: Welcome\nprerequisites: [basics/second]\n---\nSee [it](second.md).\n",
        "paths/start.yaml": "title: Start\nsteps:\n  - lesson: basics/second\n",
        **upline_section_for("basics/second"),
    })
    result = check(cli, src)
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if ": error: " in line]
    assert len(errors) == 1 and errors[0].startswith("courses/basics/second.md:3: error:")


def test_front_matter_errors_and_broken_links_are_reported_in_one_run(make_site, cli):
    """The Markdown is rendered (to find broken links) even when the front matter has
    errors, so an author fixes everything after one run, not one kind per run."""
    src = make_site({
        LESSON: "---\ntitle: Welcome\nupdated: 2026-13-45\n---\nSee [gone](gone.md).\n",
        "courses/basics/second.md": "---\ntitle: Second\n---\nSee [w](welcome.md#nowhere).\n",
    })
    result = check(cli, src)
    assert result.exit_code == 1
    errors = sorted(line.split(" error: ")[0] for line in result.output.splitlines()
                    if ": error: " in line)
    assert errors == ["courses/basics/second.md:4:", f"{LESSON}:3:", f"{LESSON}:5:"]
    assert "link to 'gone.md'" in result.output and "no heading '#nowhere'" in result.output


def test_a_course_yaml_that_cannot_be_read_is_one_error(make_site, cli):
    """Not also a "not listed" warning for each of its lessons, nor an error at every
    path step, link or section naming the course or its lessons."""
    src = make_site({
        COURSE: "title: Basics\nlessons:\n",
        "courses/later/course.yaml": "title: Later\nlessons: [next]\n",
        "courses/later/next.md": "---\ntitle: Next\nprerequisites: [basics/welcome]\n---\n"
                                 "After [welcome](../basics/welcome.md).\n",
        "paths/start.yaml": "title: Start\nsteps:\n  - course: basics\n  - lesson: basics/second\n",
        **upline_section_for("basics/welcome"),
    })
    result = check(cli, src)
    assert result.exit_code == 1
    reported = [line for line in result.output.splitlines() if ": error: " in line
                or ": warning: " in line]
    assert len(reported) == 1 and reported[0].startswith(f"{COURSE}:2: error:"), reported
