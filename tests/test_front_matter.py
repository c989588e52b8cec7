"""Front matter and YAML: every way an author can get it wrong is reported as
``PATH:LINE: error: ...`` at the right line, and hostile input stays bounded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

LESSON = "courses/basics/welcome.md"


def check(cli, src: Path, *flags: str):
    return cli("check", "--source", src, *flags)


def lines_for(output: str, path: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(path + ":")]


# --- required keys, types and values ------------------------------------------------

def test_missing_title_is_an_error_naming_the_file(make_site, cli):
    src = make_site({LESSON: "---\nsummary: No title here.\n---\nBody.\n"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert f"{LESSON}:2: error:" in result.output
    assert "'title'" in result.output


def test_title_of_the_wrong_type_is_an_error_at_its_line(make_site, cli):
    src = make_site({LESSON: "---\nduration: 5\ntitle: [not, text]\n---\nBody.\n"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert f"{LESSON}:3: error: 'title' must be text" in result.output


def test_impossible_date_is_an_error_at_its_line(make_site, cli):
    src = make_site({LESSON: "---\ntitle: Welcome\nupdated: 2026-13-45\n---\nBody.\n"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert f"{LESSON}:3: error: 'updated' is not a real date" in result.output


@pytest.mark.parametrize("duration", ["12.5", '"20 min"', "-5", "true"])
def test_duration_must_be_whole_minutes(make_site, cli, duration):
    src = make_site({LESSON: f"---\ntitle: Welcome\nduration: {duration}\n---\nBody.\n"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert f"{LESSON}:3: error: 'duration' must be a whole number of minutes" in result.output


def test_bad_repeat_value_lists_the_choices(make_site, cli):
    src = make_site({LESSON: "---\ntitle: Welcome\nrepeat: monthly\n---\nBody.\n"})
    result = check(cli, src)
    assert f"{LESSON}:3: error: 'repeat' must be one of: daily, weekly" in result.output


def test_lesson_file_name_that_is_not_a_slug_is_an_error(make_site, cli):
    src = make_site({"courses/basics/My Lesson.md": "---\ntitle: Mine\n---\nBody.\n"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert "courses/basics/My Lesson.md:1: error: 'My Lesson' is not a valid name" in result.output


def test_course_folder_that_is_not_a_slug_is_an_error(make_site, cli):
    src = make_site({"courses/Basics_Two/course.yaml": "title: Two\nlessons: []\n"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert "courses/Basics_Two:1: error: 'Basics_Two' is not a valid name" in result.output


# --- unknown keys and --strict ------------------------------------------------------

def test_unknown_key_is_a_warning_with_did_you_mean(make_site, cli):
    src = make_site({LESSON: "---\ntitle: Welcome\ndurration: 5\n---\nBody.\n"})
    result = check(cli, src)
    assert result.exit_code == 0
    assert (f"{LESSON}:3: warning: unknown key 'durration' in a lesson's front matter "
            "(did you mean 'duration'?)") in result.output


def test_strict_turns_the_unknown_key_warning_into_an_error(make_site, cli):
    src = make_site({LESSON: "---\ntitle: Welcome\ndurration: 5\n---\nBody.\n"})
    result = check(cli, src, "--strict")
    assert result.exit_code == 1
    assert f"{LESSON}:3: error: unknown key 'durration'" in result.output


def test_strict_build_fails_on_a_warning_and_writes_nothing(make_site, cli, tmp_path):
    src = make_site({LESSON: "---\ntitle: Welcome\ndurration: 5\n---\nBody.\n"})
    out = tmp_path / "out"
    result = cli("build", "--source", src, "--out", out, "--strict")
    assert result.exit_code == 1
    assert not out.exists()


def test_unknown_key_in_course_yaml_is_a_warning_at_its_line(make_site, cli):
    src = make_site({"courses/basics/course.yaml":
                     "title: Basics\nlessons: [welcome, second]\nsumary: Hi.\n"})
    result = check(cli, src)
    assert ("courses/basics/course.yaml:3: warning: unknown key 'sumary' in course.yaml "
            "(did you mean 'summary'?)") in result.output


# --- the shape of the file ----------------------------------------------------------

def test_missing_front_matter_is_an_error_at_line_1(make_site, cli):
    src = make_site({LESSON: "# Welcome\n\nNo front matter.\n"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert f"{LESSON}:1: error: missing front matter" in result.output


def test_unclosed_front_matter_is_an_error(make_site, cli):
    src = make_site({LESSON: "---\ntitle: Welcome\n\nBody without a closing line.\n"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert f"{LESSON}:1: error: front matter is never closed" in result.output


def test_invalid_yaml_is_an_error_at_the_line_of_the_mistake(make_site, cli):
    src = make_site({LESSON: "---\ntitle: Welcome\nsummary: [unclosed\nduration: 5\n---\nBody.\n"})
    result = check(cli, src)
    assert result.exit_code == 1
    [line] = lines_for(result.output, LESSON)
    assert "error: this is not valid YAML" in line
    assert line.startswith(f"{LESSON}:3:")


def test_a_tab_in_yaml_says_to_indent_with_spaces(make_site, cli):
    src = make_site({LESSON: "---\ntitle: Welcome\n\tsummary: Tabbed.\n---\nBody.\n"})
    [line] = lines_for(check(cli, src).output, LESSON)
    assert line.startswith(f"{LESSON}:3: error: this is not valid YAML")
    assert line.endswith("; indent with spaces, not tabs")


@pytest.mark.parametrize("file, text, line, first", [
    (LESSON, "---\ntitle: Welcome\nsummary: One.\ntitle: Again\n---\nBody.\n", 4, 2),
    # A second lessons: list would silently drop the first one's lessons.
    ("courses/basics/course.yaml", "title: Basics\nlessons: [welcome]\n"
                                   "summary: S.\nlessons: [second]\n", 4, 2),
    ("trainkit.yaml", 'title: Test Team\nversion: "1.0"\ntitle: Other\n', 3, 1),
])
def test_a_key_written_twice_is_an_error_at_the_second(make_site, cli, file, text, line,
                                                       first):
    src = make_site({file: text})
    result = check(cli, src)
    assert result.exit_code == 1
    key = text.splitlines()[line - 1].split(":")[0]
    assert lines_for(result.output, file) == [
        f"{file}:{line}: error: '{key}' is written twice (first on line {first}); "
        "keep only one"]


@pytest.mark.parametrize("language, ok", [("en", True), ("pt-BR", True), ("es-419", True),
                                          ("english", False), ("English (US)", False)])
def test_language_must_be_a_language_code(make_site, cli, language, ok):
    """It becomes <html lang> and Pagefind's language: a name is no use to either."""
    src = make_site({"trainkit.yaml": f'title: Test\nversion: "1.0"\nlanguage: {language}\n'})
    result = cli("check", "--source", src)
    assert (result.exit_code == 0) is ok, result.output
    if not ok:
        assert "trainkit.yaml:3: error: 'language' must be a language code" in result.output


def test_invalid_yaml_in_trainkit_yaml_is_an_error_at_its_line(make_site, cli):
    src = make_site({"trainkit.yaml": 'title: Test\nversion: "1.0"\ndescription: "open\n'})
    result = check(cli, src)
    assert result.exit_code == 1
    assert "trainkit.yaml:3: error: this is not valid YAML" in result.output


def test_python_yaml_tag_is_reported_and_never_executed(make_site, cli, tmp_path):
    victim = tmp_path / "pwned"
    src = make_site({LESSON: "---\ntitle: Welcome\nsummary: !!python/object/apply:os.system\n"
                             f"  - touch {victim}\n---\nBody.\n"})
    result = check(cli, src)
    assert result.exit_code == 1
    assert f"{LESSON}:3: error: YAML tag '!!python/object/apply:os.system' is not allowed" \
        in result.output
    assert not victim.exists()


def test_python_tag_in_trainkit_yaml_is_never_executed(make_site, cli, tmp_path):
    victim = tmp_path / "pwned-config"
    src = make_site({"trainkit.yaml": 'title: !!python/object/apply:os.system ["touch '
                                      f'{victim}"]\nversion: "1.0"\n'})
    result = cli("build", "--source", src, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "trainkit.yaml:1: error: YAML tag" in result.output
    assert not victim.exists()


# --- encodings and line endings -----------------------------------------------------

def test_file_that_is_not_utf8_is_an_error_naming_the_file(make_site, cli):
    src = make_site({LESSON: "---\ntitle: Caf\xe9\n---\nBody.\n".encode("latin-1")})
    result = check(cli, src)
    assert result.exit_code == 1
    assert f"{LESSON}:2: error: this file is not UTF-8 text" in result.output


def test_crlf_and_byte_order_mark_are_accepted(make_site, cli, tmp_path):
    text = "---\r\ntitle: Welcome back\r\nduration: 5\r\n---\r\nHello.\r\n\r\n- [ ] Tick\r\n"
    src = make_site({LESSON: b"\xef\xbb\xbf" + text.encode("utf-8"),
                     "courses/basics/course.yaml":
                         b"\xef\xbb\xbftitle: Basics\r\nlessons: [welcome, second]\r\n"})
    out = tmp_path / "out"
    result = cli("build", "--source", src, "--out", out)
    assert result.exit_code == 0, result.output
    html = (out / "courses/basics/welcome/index.html").read_text(encoding="utf-8")
    assert "<h1>Welcome back" in html


def test_error_lines_are_right_in_a_crlf_file(make_site, cli):
    src = make_site({LESSON: b"---\r\ntitle: Welcome\r\nduration: lots\r\n---\r\nBody.\r\n"})
    result = check(cli, src)
    assert f"{LESSON}:3: error: 'duration'" in result.output


# --- hostile input stays bounded ----------------------------------------------------

ALIAS_BOMB = "\n".join([
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]",
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]",
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]",
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]",
    "title: Boom",
])


def test_yaml_alias_bomb_in_front_matter_is_a_quick_error(make_site, cli):
    src = make_site({LESSON: f"---\n{ALIAS_BOMB}\n---\nBody.\n"})
    started = time.perf_counter()
    result = check(cli, src)
    assert time.perf_counter() - started < 5
    assert result.exit_code == 1
    assert f"{LESSON}:" in result.output and "alias bomb" in result.output


def test_yaml_alias_bomb_in_course_yaml_is_a_quick_error(make_site, cli):
    src = make_site({"courses/basics/course.yaml": ALIAS_BOMB + "\nlessons: [welcome, second]\n"})
    started = time.perf_counter()
    result = check(cli, src)
    assert time.perf_counter() - started < 5
    assert result.exit_code == 1
    assert "courses/basics/course.yaml:1: error:" in result.output
    assert "alias bomb" in result.output


def test_ten_megabyte_file_is_a_quick_error(make_site, cli):
    src = make_site({LESSON: "---\ntitle: Big\n---\n" + ("word " * 2_000_000)})
    started = time.perf_counter()
    result = check(cli, src)
    assert time.perf_counter() - started < 5
    assert result.exit_code == 1
    assert f"{LESSON}:1: error: this file is 9.5 MB" in result.output


def test_ten_thousand_nested_blockquotes_is_a_quick_error(make_site, cli):
    src = make_site({LESSON: "---\ntitle: Deep\n---\nIntro.\n\n" + ">" * 10_000 + " deep\n"})
    started = time.perf_counter()
    result = check(cli, src)
    assert time.perf_counter() - started < 5
    assert result.exit_code == 1
    assert f"{LESSON}:6: error: blockquotes are nested 10000 deep" in result.output


def test_spaced_nested_blockquotes_are_caught_too(make_site, cli):
    src = make_site({LESSON: "---\ntitle: Deep\n---\n" + "> " * 10_000 + "deep\n"})
    started = time.perf_counter()
    result = check(cli, src)
    assert time.perf_counter() - started < 5
    assert result.exit_code == 1
    assert "blockquotes are nested" in result.output


@pytest.mark.parametrize("body", ["- " * 10_000 + "deep\n",
                                  "".join("    " * i + "- x\n" for i in range(400))],
                         ids=["lists", "indented-lists"])
def test_markdown_nested_thousands_deep_is_a_quick_error_not_a_crash(make_site, cli, body):
    src = make_site({LESSON: "---\ntitle: Deep\n---\n" + body})
    started = time.perf_counter()
    result = check(cli, src)
    assert time.perf_counter() - started < 10
    assert result.exit_code == 1
    assert f"{LESSON}:4: error: this text is nested too deeply" in result.output


def test_emphasis_thousands_deep_renders_quickly(make_site, cli):
    """Python-Markdown nests it without recursing (only a table of contents, built for
    a [TOC] paragraph, would walk it recursively): a page, not an error."""
    src = make_site({LESSON: "---\ntitle: Deep\n---\n" + "*" * 10_000 + "x" + "*" * 10_000})
    started = time.perf_counter()
    result = check(cli, src)
    assert time.perf_counter() - started < 10
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("body", ["[a" * 10_000, "![" * 10_000, "<a " * 10_000,
                                  "[" * 5_000 + "x" + "]" * 5_000],
                         ids=["unclosed-links", "unclosed-images", "unclosed-tags", "nested"])
def test_thousands_of_unclosed_brackets_are_a_quick_error(make_site, cli, body):
    src = make_site({LESSON: "---\ntitle: Brackets\n---\nFine.\n\n" + body + "\n"})
    started = time.perf_counter()
    result = check(cli, src)
    assert time.perf_counter() - started < 5
    assert result.exit_code == 1
    assert f"{LESSON}:6: error: this paragraph has so many unclosed or nested '['" \
        in result.output


def test_many_links_and_many_identical_checklist_items_build_quickly(make_site, cli):
    links = "".join(f"- [site {i}](https://example.org/{i}) <b>ok</b>\n" for i in range(1000))
    tasks = "- [ ] Call a prospect\n" * 2000
    src = make_site({LESSON: "---\ntitle: Busy\n---\n" + links + "\n" + tasks})
    started = time.perf_counter()
    result = check(cli, src)
    assert time.perf_counter() - started < 10
    assert result.exit_code == 0, result.output


def test_deeply_nested_yaml_is_a_quick_error(make_site, cli):
    src = make_site({LESSON: "---\ntitle: Deep\nsummary: " + "[" * 10_000 + "]" * 10_000
                             + "\n---\nBody.\n"})
    started = time.perf_counter()
    result = check(cli, src)
    assert time.perf_counter() - started < 5
    assert result.exit_code == 1
    assert f"{LESSON}:" in result.output


# --- every problem in one run -------------------------------------------------------

def test_every_broken_file_is_reported_in_one_run(make_site, cli):
    src = make_site({
        LESSON: "---\nsummary: no title\n---\nBody.\n",
        "courses/basics/second.md": "---\ntitle: Second\nduration: soon\n---\nMore.\n",
        "courses/basics/course.yaml": "title: Basics\nlessons: [welcome, second, third]\n",
        "links/guide.md": "---\ntitle: Guide\nurl: ftp://example.org/\n---\nNote.\n",
    })
    result = check(cli, src)
    assert result.exit_code == 1
    assert f"{LESSON}:2: error:" in result.output
    assert "courses/basics/second.md:3: error: 'duration'" in result.output
    assert "courses/basics/course.yaml:2: error: lesson 'third' is listed" in result.output
    assert "links/guide.md:3: error: 'url' must be a web address" in result.output
    assert "4 errors" in result.output
