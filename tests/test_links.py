"""Links in Markdown bodies: relative ``.md`` links and ``#anchors`` become the target
page's relative URL; broken ones are errors at ``PATH:LINE``. And the URL layout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trainkit import urls

LESSON = "courses/basics/welcome.md"
SECOND = "courses/basics/second.md"


def welcome(body: str) -> str:
    return "---\ntitle: Welcome\n---\n" + body


def build(cli, src: Path, out: Path):
    result = cli("build", "--source", src, "--out", out)
    assert result.exit_code == 0, result.output
    return result


def page(out: Path, url: str) -> str:
    return (out / urls.output_file(url)).read_text(encoding="utf-8")


def hrefs(html: str, text: str) -> list[str]:
    """The href of every <a> whose text is ``text``."""
    return re.findall(r'<a href="([^"]*)"[^>]*>' + re.escape(text) + "</a>", html)


# --- rewriting ----------------------------------------------------------------------

def test_link_to_a_sibling_lesson_becomes_its_relative_url(make_site, cli, tmp_path):
    src = make_site({LESSON: welcome("Read [the next one](second.md).\n")})
    build(cli, src, tmp_path / "out")
    assert hrefs(page(tmp_path / "out", "courses/basics/welcome/"), "the next one") == ["../second/"]


def test_link_to_a_lesson_in_another_course(make_site, cli, tmp_path):
    src = make_site({
        LESSON: welcome("See [intro](../other/intro.md).\n"),
        "courses/other/course.yaml": "title: Other\nlessons: [intro]\n",
        "courses/other/intro.md": "---\ntitle: Intro\n---\nHi.\n",
    })
    build(cli, src, tmp_path / "out")
    assert hrefs(page(tmp_path / "out", "courses/basics/welcome/"), "intro") == ["../../other/intro/"]


def test_link_with_an_anchor_keeps_the_anchor(make_site, cli, tmp_path):
    src = make_site({LESSON: welcome("See [more](second.md#the-detail).\n"),
                     SECOND: "---\ntitle: Second\n---\n## The detail\n\nText.\n"})
    build(cli, src, tmp_path / "out")
    html = page(tmp_path / "out", "courses/basics/welcome/")
    assert hrefs(html, "more") == ["../second/#the-detail"]
    assert 'id="the-detail"' in page(tmp_path / "out", "courses/basics/second/")


def test_anchor_in_the_same_page_is_kept(make_site, cli, tmp_path):
    src = make_site({LESSON: welcome("Jump [down](#later).\n\n## Later\n")})
    build(cli, src, tmp_path / "out")
    assert hrefs(page(tmp_path / "out", "courses/basics/welcome/"), "down") == ["#later"]


def test_link_to_the_course_folder_leads_to_the_course_page(make_site, cli, tmp_path):
    src = make_site({LESSON: welcome("Back to [the course](course.yaml) or [here](./).\n")})
    build(cli, src, tmp_path / "out")
    html = page(tmp_path / "out", "courses/basics/welcome/")
    assert hrefs(html, "the course") == ["../"]
    assert hrefs(html, "here") == ["../"]


def test_link_to_a_static_file(make_site, cli, tmp_path):
    src = make_site({LESSON: welcome("Get [the plan](../../static/docs/plan.pdf) and "
                                     "![our team](../../static/img/team.png)\n"),
                     "static/docs/plan.pdf": b"%PDF-1.4",
                     "static/img/team.png": b"\x89PNG"})
    build(cli, src, tmp_path / "out")
    html = page(tmp_path / "out", "courses/basics/welcome/")
    assert hrefs(html, "the plan") == ["../../../docs/plan.pdf"]
    # Loaded when the reader scrolls to it (on a phone, often never).
    assert '<img alt="our team" loading="lazy" src="../../../img/team.png">' in html
    assert (tmp_path / "out/docs/plan.pdf").read_bytes() == b"%PDF-1.4"


def test_a_large_image_is_a_warning_at_its_file(make_site, cli, tmp_path):
    src = make_site({"static/img/team.jpg": b"\xff" * 3_200_000,
                     "static/img/logo.png": b"\x89PNG",
                     "static/docs/handbook.pdf": b"%" * 3_200_000})  # (a download: fine)
    result = build(cli, src, tmp_path / "out")
    assert [line for line in result.output.splitlines() if line.startswith("static/")] == [
        "static/img/team.jpg:1: warning: this image is 3.2 MB: a page showing it makes every "
        "reader download that much, mostly on a phone; save it smaller (1,600 pixels wide is "
        "plenty for a page, and a photo that size is a few hundred KB)"]


def test_link_to_a_curated_link_leads_to_its_note_in_the_library(make_site, cli, tmp_path):
    src = make_site({LESSON: welcome("Read [why](../../links/guide.md).\n"),
                     "links/guide.md": "---\ntitle: Guide\nurl: https://example.org/g\n---\nNote.\n"})
    build(cli, src, tmp_path / "out")
    assert hrefs(page(tmp_path / "out", "courses/basics/welcome/"), "why") == \
        ["../../../links/#link-guide"]
    assert 'id="link-guide"' in page(tmp_path / "out", "links/")


def test_link_to_a_learning_path(make_site, cli, tmp_path):
    src = make_site({LESSON: welcome("Follow [the path](../../paths/start.yaml).\n"),
                     "paths/start.yaml": "title: Start\nsteps:\n  - course: basics\n"})
    build(cli, src, tmp_path / "out")
    assert hrefs(page(tmp_path / "out", "courses/basics/welcome/"), "the path") == \
        ["../../../paths/start/"]


def test_links_in_a_library_note_are_relative_to_the_library(make_site, cli, tmp_path):
    src = make_site({"links/guide.md": "---\ntitle: Guide\nurl: https://example.org/g\n---\n"
                                       "Pairs with [welcome](../courses/basics/welcome.md).\n"})
    build(cli, src, tmp_path / "out")
    assert hrefs(page(tmp_path / "out", "links/"), "welcome") == ["../courses/basics/welcome/"]


def test_external_links_get_noopener_noreferrer(make_site, cli, tmp_path):
    src = make_site({LESSON: welcome("Visit [the maker](https://example.org/about).\n")})
    build(cli, src, tmp_path / "out")
    html = page(tmp_path / "out", "courses/basics/welcome/")
    assert '<a href="https://example.org/about" rel="noopener noreferrer">the maker</a>' in html


def test_curated_links_in_the_library_get_noopener_noreferrer(make_site, cli, tmp_path):
    src = make_site({"links/guide.md": "---\ntitle: Guide\nurl: https://example.org/g\n---\nN.\n"})
    build(cli, src, tmp_path / "out")
    assert '<a href="https://example.org/g" rel="noopener noreferrer">Guide</a>' in \
        page(tmp_path / "out", "links/")


def test_mailto_and_links_in_code_are_left_alone(make_site, cli, tmp_path):
    src = make_site({LESSON: welcome("Mail [me](mailto:sam@example.org).\n\n"
                                     "```\n[not a link](nowhere.md)\n```\n")})
    build(cli, src, tmp_path / "out")
    html = page(tmp_path / "out", "courses/basics/welcome/")
    assert hrefs(html, "me") == ["mailto:sam@example.org"]
    assert "[not a link](nowhere.md)" in html


# --- broken links -------------------------------------------------------------------

def test_link_to_a_missing_file_is_an_error_at_its_line(make_site, cli):
    src = make_site({LESSON: welcome("Intro.\n\nSee [gone](gone.md) too.\n")})
    result = cli("check", "--source", src)
    assert result.exit_code == 1
    assert f"{LESSON}:6: error: link to 'gone.md': there is no such file" in result.output


@pytest.mark.parametrize("href, meant", [
    ("Second.md", "second.md"),  # letter case: it works on Windows, not on the host
    ("secnd.md#more", "second.md#more"),
    ("../basics/welcom.md", "welcome.md"),
    ("../basic/second.md", None),  # (a folder away: no guess)
    ("nothing-like-this.md", None),
])
def test_a_broken_link_suggests_the_file_meant(make_site, cli, href, meant):
    src = make_site({LESSON: welcome(f"See [it]({href}).\n")})
    [line] = [l for l in cli("check", "--source", src).output.splitlines()
              if l.startswith(f"{LESSON}:4: error: link to '{href}'")]
    if meant is None:
        assert "did you mean" not in line
    else:
        assert f"(did you mean '{meant}'?)" in line


def test_link_to_a_missing_heading_in_another_lesson_is_an_error_at_its_line(make_site, cli):
    src = make_site({LESSON: welcome("One.\n\nTwo [x](second.md#nope).\n")})
    result = cli("check", "--source", src)
    assert result.exit_code == 1
    assert (f"{LESSON}:6: error: link to 'second.md#nope': there is no heading '#nope' "
            f"in {SECOND}") in result.output


def test_link_to_a_missing_heading_in_the_same_lesson_is_an_error(make_site, cli):
    src = make_site({LESSON: welcome("## Real\n\n[x](#unreal)\n")})
    result = cli("check", "--source", src)
    assert result.exit_code == 1
    assert f"{LESSON}:6: error: link to '#unreal': there is no heading '#unreal'" in result.output


def test_anchor_links_are_checked_against_every_heading_on_the_page_they_lead_to(make_site,
                                                                                cli):
    """A heading of an upline's section is on its lesson's page, so a link to it is
    good; a library note's link to a heading that is nowhere is an error at its line;
    a course page has no headings of a lesson's, so a link into it is not checked."""
    src = make_site({
        "trainkit.yaml": 'title: T\nversion: "1.0"\nuplines:\n  - name: Maria\n'
                         "    path: uplines/maria\n",
        "uplines/maria/sections/tip.md": "---\nfor: basics/second\n---\n## Her tip\n\nCall.\n",
        LESSON: welcome("See [her tip](second.md#her-tip) and [the course](course.yaml#x).\n"),
        "links/guide.md": "---\ntitle: Guide\nurl: https://example.org/g\n---\n"
                          "Note.\n\n[x](../courses/basics/second.md#nowhere)\n",
    })
    result = cli("check", "--source", src)
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if ": error: " in line]
    assert errors == ["links/guide.md:7: error: link to '../courses/basics/second.md#nowhere': "
                      f"there is no heading '#nowhere' in {SECOND}"]


def test_broken_link_in_a_library_note_is_an_error_at_its_line(make_site, cli):
    src = make_site({"links/guide.md": "---\ntitle: Guide\nurl: https://example.org/g\n---\n"
                                       "Note.\n\n[x](../courses/nope.md)\n"})
    result = cli("check", "--source", src)
    assert result.exit_code == 1
    assert "links/guide.md:7: error: link to '../courses/nope.md'" in result.output


def test_link_to_a_draft_lesson_is_an_error_that_says_it_is_a_draft(make_site, cli):
    src = make_site({LESSON: welcome("See [next](second.md).\n"),
                     SECOND: "---\ntitle: Second\ndraft: true\n---\nMore.\n"})
    result = cli("check", "--source", src)
    assert result.exit_code == 1
    assert f"{LESSON}:4: error: link to 'second.md'" in result.output
    assert "draft" in result.output


def test_every_broken_link_is_reported_with_its_own_line(make_site, cli):
    src = make_site({LESSON: welcome("[a](a.md)\n\n[b](b.md)\n\n[c](second.md#c)\n")})
    result = cli("check", "--source", src)
    assert f"{LESSON}:4: error: link to 'a.md'" in result.output
    assert f"{LESSON}:6: error: link to 'b.md'" in result.output
    assert f"{LESSON}:8: error: link to 'second.md#c'" in result.output


# --- the URL layout -----------------------------------------------------------------

def test_page_urls_follow_the_layout():
    assert urls.course_url("basics") == "courses/basics/"
    assert urls.lesson_url("basics/welcome") == "courses/basics/welcome/"
    assert urls.path_url("first-90-days") == "paths/first-90-days/"
    assert urls.output_file("courses/basics/") == "courses/basics/index.html"
    assert urls.output_file("") == "index.html"
    assert urls.output_file("404.html") == "404.html"


@pytest.mark.parametrize("from_url, to_url, expected", [
    ("courses/a/b/", "courses/a/c/", "../c/"),
    ("courses/a/b/", "courses/x/y/", "../../x/y/"),
    ("courses/a/b/", "", "../../../"),
    ("", "courses/a/", "courses/a/"),
    ("", "", "./"),
    ("courses/a/b/", "courses/a/b/", "./"),
    ("courses/a/b/", "links/#link-x", "../../../links/#link-x"),
    ("links/", "links/#link-x", "./#link-x"),
    ("courses/a/b/", "img/team.png", "../../../img/team.png"),
    ("", "_trainkit/", "_trainkit/"),
    ("404.html", "links/", "links/"),
])
def test_relative_urls(from_url, to_url, expected):
    assert urls.relative(from_url, to_url) == expected


def test_root_of_a_page():
    assert urls.root_of("") == "./"
    assert urls.root_of("courses/a/b/") == "../../../"


def test_the_same_broken_link_twice_is_reported_at_both_lines(make_site, cli):
    src = make_site({LESSON: welcome("[a](gone.md)\n\nAgain: [a](gone.md)\n")})
    result = cli("check", "--source", src)
    assert f"{LESSON}:4: error: link to 'gone.md'" in result.output
    assert f"{LESSON}:6: error: link to 'gone.md'" in result.output


def test_a_missing_anchor_linked_twice_is_reported_at_both_lines(make_site, cli, tmp_path):
    source = make_site({"courses/basics/second.md":
                        "---\ntitle: Second\n---\n[a](welcome.md#nope)\n\ntext\n\n[b](welcome.md#nope)\n"})
    result = cli("build", "--source", source, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "courses/basics/second.md:4: error: link to 'welcome.md#nope'" in result.output
    assert "courses/basics/second.md:8: error: link to 'welcome.md#nope'" in result.output
