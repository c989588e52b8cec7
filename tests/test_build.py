"""Building whole sites: the repository's own sample site read page by page, every
internal link resolving, reproducible and atomic builds, refusing dangerous --out
folders, escaping, and theme overrides."""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from click.testing import CliRunner

from trainkit.cli import main

from conftest import write_files

REPO = Path(__file__).resolve().parent.parent
LESSON = "courses/basics/welcome.md"


# --- reading the output -------------------------------------------------------------

class Html(HTMLParser):
    """What a reader (or a browser) gets from a page: its text, links and ids."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str, dict[str, str]]] = []
        self.ids: set[str] = set()
        self.chunks: list[str] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(html)
        self.text = " ".join(" ".join(self.chunks).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if "id" in a:
            self.ids.add(a["id"])
        for attr in ("href", "src"):
            if attr in a:
                self.refs.append((tag, a[attr], a))

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    def meta(self, name: str) -> str | None:
        return next((a.get("content") for t, a in self.tags if t == "meta"
                     and a.get("name") == name), None)


def read(out: Path, page: str) -> str:
    return (out / page).read_text(encoding="utf-8")


def main_of(html: str) -> str:
    """The page's <main>, so the header's and footer's links do not count."""
    return html[html.index("<main"):html.index("</main>")]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def front_matter(file: Path) -> dict:
    text = file.read_text(encoding="utf-8-sig")
    return yaml.safe_load(text.split("---\n", 2)[1])


def minutes(total: int) -> str:
    hours, mins = divmod(total, 60)
    return " ".join(part for part in (f"{hours} h" if hours else "", f"{mins} min" if mins else "")
                    if part)


def build(cli, src: Path, out: Path, *flags: str):
    result = cli("build", "--source", src, "--out", out, *flags)
    assert result.exit_code == 0, result.output
    return result


# --- the sample site ----------------------------------------------------------------

@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "site"
    result = CliRunner().invoke(main, ["build", "--source", str(REPO), "--out", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def sample_courses() -> list[Path]:
    return sorted(p for p in (REPO / "courses").iterdir() if (p / "course.yaml").is_file())


def course_lessons(course: Path) -> list[tuple[str, dict]]:
    listed = yaml.safe_load((course / "course.yaml").read_text(encoding="utf-8"))["lessons"]
    return [(slug, front_matter(course / f"{slug}.md")) for slug in listed]


def test_sample_home_lists_every_course_and_the_path(sample):
    home = Html(read(sample, "index.html"))
    config = yaml.safe_load((REPO / "trainkit.yaml").read_text(encoding="utf-8"))
    assert config["title"] in home.text
    for course in sample_courses():
        title = yaml.safe_load((course / "course.yaml").read_text(encoding="utf-8"))["title"]
        assert title in home.text
        assert any(href == f"courses/{course.name}/" for _, href, _ in home.refs)
    for path in (REPO / "paths").glob("*.yaml"):
        assert yaml.safe_load(path.read_text(encoding="utf-8"))["title"] in home.text
        assert any(href == f"paths/{path.stem}/" for _, href, _ in home.refs)


@pytest.mark.parametrize("course", sample_courses(), ids=lambda p: p.name)
def test_sample_course_lists_its_lessons_in_order_with_total_duration(sample, course):
    page = Html(main_of(read(sample, f"courses/{course.name}/index.html")))
    lessons = course_lessons(course)
    hrefs = [href for tag, href, _ in page.refs if tag == "a" and href.count("/") == 1
             and not href.startswith("..")]
    assert hrefs == [f"{slug}/" for slug, _ in lessons]
    positions = [page.text.index(meta["title"]) for _, meta in lessons]
    assert positions == sorted(positions)
    total = sum(meta.get("duration") or 0 for _, meta in lessons)
    assert f"{minutes(total)} in all" in page.text


def test_sample_lesson_has_objectives_prerequisites_reading_and_neighbours(sample):
    course = REPO / "courses/habits-of-leaders"
    lessons = course_lessons(course)
    slugs = [slug for slug, _ in lessons]
    slug = "daily-method-of-operation"
    meta = dict(lessons)[slug]
    page = Html(main_of(read(sample, f"courses/habits-of-leaders/{slug}/index.html")))
    for objective in meta["objectives"]:
        assert objective in page.text
    for ref in meta["prerequisites"]:
        other_course, other = ref.split("/")
        title = front_matter(REPO / "courses" / other_course / f"{other}.md")["title"]
        assert title in page.text
        assert any(href == f"../../{other_course}/{other}/" or
                   (other_course == "habits-of-leaders" and href == f"../{other}/")
                   for _, href, _ in page.refs)
    assert "Recommended reading" in page.text
    for link in meta["links"]:
        note = front_matter(REPO / "links" / f"{link}.md")
        assert any(href == note["url"] and a.get("rel") == "noopener noreferrer"
                   for _, href, a in page.refs)
    i = slugs.index(slug)
    rels = {a.get("rel"): href for _, href, a in page.refs if a.get("rel") in ("prev", "next")}
    assert rels.get("prev") == f"../{slugs[i - 1]}/"
    assert rels.get("next") == f"../{slugs[i + 1]}/"


def test_sample_first_lesson_has_no_previous_and_last_leads_back_to_the_course(sample):
    course = REPO / "courses/training-your-downline"
    slugs = [slug for slug, _ in course_lessons(course)]
    first = Html(main_of(read(sample, f"courses/{course.name}/{slugs[0]}/index.html")))
    last = Html(main_of(read(sample, f"courses/{course.name}/{slugs[-1]}/index.html")))
    assert not [a for _, _, a in first.refs if a.get("rel") == "prev"]
    assert not [a for _, _, a in last.refs if a.get("rel") == "next"]
    assert "../" in [href for _, href, _ in last.refs]


def test_sample_path_page_lists_its_steps(sample):
    for path in (REPO / "paths").glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        page = Html(main_of(read(sample, f"paths/{path.stem}/index.html")))
        assert data["title"] in page.text
        for step in data["steps"]:
            if "lesson" in step:
                assert any(href == f"../../courses/{step['lesson']}/" for _, href, _ in page.refs)
            else:
                assert any(href == f"../../courses/{step['course']}/" for _, href, _ in page.refs)


def test_sample_library_groups_links_by_tag_with_notes_and_hosts(sample):
    html = read(sample, "links/index.html")
    page = Html(main_of(html))
    notes = [front_matter(f) | {"note": f.read_text(encoding="utf-8").split("---\n", 2)[2]}
             for f in sorted((REPO / "links").glob("*.md"))]
    assert notes
    for tag in {t for n in notes for t in n.get("tags", [])}:
        assert f'id="tag-{tag}-heading">{tag}</h2>' in html
    for note in notes:
        assert note["title"] in page.text
        assert urlsplit(note["url"]).hostname in page.text
        first_words = " ".join(note["note"].split()[:6])
        assert first_words in page.text
        assert any(href == note["url"] and a.get("rel") == "noopener noreferrer"
                   for _, href, a in page.refs)


def test_sample_has_a_404_page(sample):
    page = Html(read(sample, "404.html"))
    assert "Page not found" in page.text


def test_every_internal_link_is_relative_and_leads_to_a_file(sample):
    pages = sorted(sample.rglob("*.html"))
    assert len(pages) > 20
    broken = []
    for page in pages:
        name = page.relative_to(sample).as_posix()
        parsed = Html(page.read_text(encoding="utf-8"))
        for tag, ref, attrs in parsed.refs:
            parts = urlsplit(ref)
            if parts.scheme or parts.netloc:
                assert parts.scheme in ("https", "http", "mailto"), (name, ref)
                assert tag == "a" or (tag == "link" and attrs.get("rel") in (
                    "canonical", "alternate")), f"{name} loads {ref} from another host"
                continue
            if not parts.path:
                if parts.fragment and parts.fragment not in parsed.ids:
                    broken.append((name, ref))
                continue
            if name == "404.html":
                continue  # served at any depth; checked on its own below
            assert not ref.startswith("/"), (name, ref)
            target = (page.parent / unquote(parts.path)).resolve()
            if parts.path.endswith("/"):
                target = target / "index.html"
            if not target.is_file() or sample.resolve() not in target.parents:
                broken.append((name, ref))
            elif parts.fragment and target.suffix == ".html" and \
                    parts.fragment not in Html(target.read_text(encoding="utf-8")).ids:
                broken.append((name, ref))
    assert broken == []


def test_the_404_page_links_resolve_from_the_site_root(sample):
    """A 404 page is served at any depth, so its links start at base_url's path."""
    config = yaml.safe_load((REPO / "trainkit.yaml").read_text(encoding="utf-8"))
    base = urlsplit(config.get("base_url") or "").path or "/"
    page = Html(read(sample, "404.html"))
    for _, ref, _ in page.refs:
        parts = urlsplit(ref)
        if parts.scheme or not parts.path:
            continue
        assert parts.path.startswith(base), ref
        target = sample / parts.path[len(base):]
        assert (target / "index.html" if parts.path.endswith("/") else target).is_file(), ref


# --- reproducible, incremental, atomic ----------------------------------------------

def test_two_builds_give_identical_bytes(cli, tmp_path):
    build(cli, REPO, tmp_path / "one")
    build(cli, REPO, tmp_path / "two")
    one, two = snapshot(tmp_path / "one"), snapshot(tmp_path / "two")
    assert len(one) > 20 and any(k.startswith("pagefind/filter/") for k in one)
    assert one == two


def test_two_clean_builds_give_an_identical_search_index(cli, tmp_path):
    """Pagefind writes filter values (courses, tags) in an order that changes from run
    to run; the build puts them in a fixed one, so the same site gives the same bytes
    without a cache too (a deploy changes only what the author changed)."""
    import shutil

    source = tmp_path / "src"
    source.mkdir()
    for name in ("trainkit.yaml", "courses", "links", "paths", "uplines"):
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, source / name)
    outputs = []
    for run in range(3):
        shutil.rmtree(source / ".trainkit-cache", ignore_errors=True)
        build(cli, source, tmp_path / f"out{run}")
        outputs.append(snapshot(tmp_path / f"out{run}"))
    assert len({k for k in outputs[0] if k.startswith("pagefind/filter/")}) == 2  # course, tag
    assert outputs[0] == outputs[1] == outputs[2]


def test_unchanged_files_keep_their_mtime(make_site, cli, tmp_path):
    src = make_site()
    out = tmp_path / "out"
    build(cli, src, out)
    old = 1_000_000_000
    for file in out.rglob("*"):
        os.utime(file, (old, old))
    (src / "courses/basics/second.md").write_text("---\ntitle: Second\nduration: 10\n---\n"
                                                  "More, revised.\n")
    build(cli, src, out)
    assert (out / "courses/basics/welcome/index.html").stat().st_mtime == old
    assert (out / "_trainkit/style.css").stat().st_mtime == old
    assert (out / "courses/basics/second/index.html").stat().st_mtime != old
    assert "More, revised." in read(out, "courses/basics/second/index.html")


def test_failed_build_leaves_the_previous_site_untouched(make_site, cli, tmp_path):
    src = make_site()
    out = tmp_path / "out"
    build(cli, src, out)
    before = snapshot(out)
    (src / "courses/basics/second.md").write_text("---\ntitle: Second\nduration: soon\n---\n")
    result = cli("build", "--source", src, "--out", out)
    assert result.exit_code == 1
    assert "courses/basics/second.md:3: error:" in result.output
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_error_found_while_pages_are_written_leaves_the_site_untouched(make_site, cli,
                                                                          tmp_path):
    # A missing heading is known only once Markdown is rendered, after pages have
    # started to go to the staging folder: none of them may reach the output, and
    # the spare they were written into must not spoil the next build.
    src = make_site()
    out = tmp_path / "out"
    for _ in range(3):  # (the spare is then trusted: the failed build must undo that)
        build(cli, src, out)
    before = snapshot(out)
    second = src / "courses/basics/second.md"
    good = second.read_text()
    second.write_text(good + "\nSee [the start](welcome.md#no-such-heading).\n")
    result = cli("build", "--source", src, "--out", out)
    assert result.exit_code == 1
    assert "courses/basics/second.md:" in result.output and "no-such-heading" in result.output
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    second.write_text(good + "\nRevised.\n")
    build(cli, src, out)
    build(cli, src, tmp_path / "clean")
    assert snapshot(out) == snapshot(tmp_path / "clean")
    assert b"Revised." in (out / "courses/basics/second/index.html").read_bytes()


def test_rebuilding_into_its_own_output_works(make_site, cli):
    src = make_site()
    assert cli("build", "--source", src).exit_code == 0
    assert cli("build", "--source", src).exit_code == 0
    assert (src / "site/courses/basics/welcome/index.html").is_file()


def test_a_removed_lesson_disappears_from_the_output(make_site, cli, tmp_path):
    src = make_site()
    out = tmp_path / "out"
    build(cli, src, out)
    (src / "courses/basics/second.md").unlink()
    (src / "courses/basics/course.yaml").write_text("title: Basics\nlessons: [welcome]\n")
    build(cli, src, out)
    assert not (out / "courses/basics/second").exists()



def test_rebuilds_reuse_the_swapped_out_folder_and_match_a_clean_build(make_site, cli, tmp_path):
    src = make_site({"static/guide": "a file\n", "static/old.txt": "old\n"})
    out = tmp_path / "out"
    build(cli, src, out)
    build(cli, src, out)  # the first output is now the spare in .trainkit-cache/
    assert (src / ".trainkit-cache/previous-site/index.html").is_file()
    welcome = (out / "courses/basics/welcome/index.html").stat().st_ino
    (src / "static/guide").unlink()  # a file becomes a folder, a file goes, one comes
    (src / "static/old.txt").unlink()
    write_files(src, {"static/guide/index.txt": "now a folder\n", "static/new.txt": "new\n",
                      "courses/basics/second.md": "---\ntitle: Second\n---\nRevised.\n"})
    build(cli, src, out)
    build(cli, src, tmp_path / "clean")
    assert snapshot(out) == snapshot(tmp_path / "clean")
    assert (out / "courses/basics/welcome/index.html").stat().st_ino == welcome
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_spare_not_left_whole_never_reaches_the_output(make_site, cli, tmp_path):
    """A spare is trusted to hold the output's files only while it holds the mark the
    build that left it wrote (the build writing into it takes the mark away first, so
    one that failed or was stopped leaves none). Without it, each file is looked at."""
    src = make_site()
    out = tmp_path / "out"
    for _ in range(3):
        build(cli, src, out)
    spare = src / ".trainkit-cache/previous-site"
    (spare / ".trainkit-spare").unlink()  # (as a build stopped halfway leaves it)
    page = spare / "courses/basics/welcome/index.html"
    page.unlink()  # replaced, not edited: an edit would be the output's own file
    page.write_text("tampered")
    (spare / "extra.html").write_text("not ours")
    (spare / "pagefind/stray.pf_fragment").write_text("not ours")  # (cleaned last)
    (spare / "pagefind/part-9").mkdir()
    (spare / "pagefind/part-9/pagefind-entry.json").write_text("{}")
    (spare / "courses/basics/second").rename(spare / "moved")
    (spare / "courses/basics/second").symlink_to(tmp_path)
    build(cli, src, out)
    build(cli, src, tmp_path / "clean")
    assert snapshot(out) == snapshot(tmp_path / "clean")
    assert not (out / "courses/basics/second").is_symlink()


def test_edit_after_edit_the_spare_is_trusted_and_the_site_matches_a_clean_build(
        make_site, cli, tmp_path, monkeypatch):
    """Each build notes which files it wrote or linked anew; the next one takes the
    others' spare files as they are, without looking at them, and is still right."""
    from trainkit import write

    src = make_site({"static/old.txt": "old\n",
                     "courses/other/course.yaml": "title: Other\nlessons: [one, two]\n",
                     "courses/other/one.md": "---\ntitle: One\n---\nFirst.\n",
                     "courses/other/two.md": "---\ntitle: Two\n---\nSecond.\n"})
    out = tmp_path / "out"
    for _ in range(3):
        build(cli, src, out)
    assert (src / ".trainkit-cache/previous-site/.trainkit-spare").is_file()
    assert (out / "courses/other/two/index.html").is_file()
    looked: list[str] = []
    keep_previous = write._keep_previous
    monkeypatch.setattr(write, "_keep_previous", lambda previous, *rest: (
        looked.append(previous), keep_previous(previous, *rest))[1])
    second = src / "courses/basics/second.md"
    changes = [
        lambda: second.write_text(second.read_text() + "\nOne more line.\n"),
        lambda: (src / "static/old.txt").unlink(),
        lambda: write_files(src, {"static/new.txt": "new\n"}),
        lambda: second.write_text(second.read_text() + "\nAnd another.\n"),
        lambda: None,  # (built again: files saved this recently are looked at again)
    ]
    for i, change in enumerate(changes):
        change()
        looked.clear()
        build(cli, src, out)
        if i == 0:  # the pages that do not show the edit were not looked at
            assert any(p.endswith("courses/basics/second/index.html") for p in looked)
            assert not [p for p in looked if "courses/other/" in p]
        clean = tmp_path / f"clean{i}"
        build(cli, src, clean)
        assert snapshot(out) == snapshot(clean)
    assert b"And another." in (out / "courses/basics/second/index.html").read_bytes()
    assert not (out / "old.txt").exists() and (out / "new.txt").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- refusing dangerous output folders and bad usage --------------------------------

def test_refuses_a_foreign_non_empty_out_folder(make_site, cli, tmp_path):
    src = make_site()
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    result = cli("build", "--source", src, "--out", out)
    assert result.exit_code == 2
    assert "did not write" in result.output
    assert (out / "thesis.docx").read_text() == "years of work"


def test_refuses_out_equal_to_the_source(make_site, cli):
    src = make_site()
    result = cli("build", "--source", src, "--out", src)
    assert result.exit_code == 2
    assert (src / "trainkit.yaml").is_file()


def test_refuses_out_inside_courses(make_site, cli):
    src = make_site()
    result = cli("build", "--source", src, "--out", src / "courses/site")
    assert result.exit_code == 2
    assert not (src / "courses/site").exists()


def test_refuses_out_that_contains_the_source(make_site, cli):
    src = make_site()
    result = cli("build", "--source", src, "--out", src.parent)
    assert result.exit_code == 2
    assert (src / "trainkit.yaml").is_file()


@pytest.mark.parametrize("command", ["build", "check"])
def test_no_trainkit_yaml_is_a_usage_error(cli, tmp_path, command):
    result = cli(command, "--source", tmp_path)
    assert result.exit_code == 2
    assert "no trainkit.yaml" in result.output


def test_bad_flag_is_a_usage_error(cli, make_site):
    assert cli("build", "--source", make_site(), "--no-such-flag").exit_code == 2


# --- what the reader's browser gets -------------------------------------------------

def test_a_title_with_a_script_tag_is_shown_not_run(make_site, cli, tmp_path):
    src = make_site({LESSON: "---\ntitle: Hi <script>alert(1)</script>\n"
                             "summary: <img src=x onerror=alert(2)>\n---\nBody.\n",
                     "courses/basics/course.yaml":
                         "title: B <script>alert(3)</script>\nlessons: [welcome, second]\n"})
    out = tmp_path / "out"
    build(cli, src, out)
    everything = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*.html"))
    assert "<script>alert" not in everything
    assert "<img src=x" not in everything
    assert "Hi &lt;script&gt;alert(1)&lt;/script&gt;" in read(out, "courses/basics/welcome/index.html")


def test_lesson_body_is_never_rendered_as_a_template(make_site, cli, tmp_path):
    src = make_site({LESSON: "---\ntitle: Welcome\n---\nSeven sevens: {{ 7*7 }} and "
                             "{% for x in range(3) %}loop{% endfor %}\n"})
    out = tmp_path / "out"
    build(cli, src, out)
    html = read(out, "courses/basics/welcome/index.html")
    assert "{{ 7*7 }}" in html and "{% for x in range(3) %}" in html
    assert "49" not in html and "looploop" not in html


def test_pages_have_lang_viewport_and_description_from_the_summary(make_site, cli, tmp_path):
    src = make_site({"trainkit.yaml": 'title: Equipo\nversion: "1.0"\nlanguage: es\n'})
    out = tmp_path / "out"
    build(cli, src, out)
    page = Html(read(out, "courses/basics/welcome/index.html"))
    assert dict(page.tags)["html"]["lang"] == "es"
    assert page.meta("viewport") == "width=device-width, initial-scale=1"
    assert page.meta("description") == "Start here."


def test_description_falls_back_to_the_site_description(make_site, cli, tmp_path):
    src = make_site({"trainkit.yaml": 'title: T\nversion: "1"\ndescription: We train.\n'})
    out = tmp_path / "out"
    build(cli, src, out)
    assert Html(read(out, "courses/basics/second/index.html")).meta("description") == "We train."


def test_checklist_items_are_labelled_checkboxes(make_site, cli, tmp_path):
    out = tmp_path / "out"
    build(cli, make_site(), out)
    page = Html(read(out, "courses/basics/welcome/index.html"))
    boxes = [a for t, a in page.tags if t == "input" and a.get("type") == "checkbox"]
    labels = {a.get("for") for t, a in page.tags if t == "label"}
    assert len(boxes) == 2
    assert all(box["id"] in labels for box in boxes)


# --- themes -------------------------------------------------------------------------

def test_site_can_override_a_default_template(make_site, cli, tmp_path):
    src = make_site({"themes/default/templates/404.html":
                     '{% extends "base.html" %}{% block content %}<p>Lost? Call Sam.</p>'
                     "{% endblock %}"})
    out = tmp_path / "out"
    build(cli, src, out)
    assert "Lost? Call Sam." in read(out, "404.html")
    assert "Welcome" in read(out, "courses/basics/welcome/index.html")


def test_named_theme_can_extend_the_default_template_it_replaces(make_site, cli, tmp_path):
    src = make_site({
        "trainkit.yaml": 'title: T\nversion: "1"\ntheme: diamond\n',
        "themes/diamond/templates/lesson.html":
            '{% extends "default/lesson.html" %}{% block content %}<p class="banner">Team '
            "Diamond</p>{{ super() }}{% endblock %}",
        "themes/diamond/assets/extra.css": "body{}",
    })
    out = tmp_path / "out"
    build(cli, src, out)
    html = read(out, "courses/basics/welcome/index.html")
    assert '<p class="banner">Team Diamond</p>' in html
    assert "Hello team." in html
    assert (out / "_trainkit/extra.css").is_file()
    assert (out / "_trainkit/style.css").is_file()
    assert 'class="banner"' not in read(out, "index.html")


def test_a_missing_theme_is_reported(make_site, cli, tmp_path):
    src = make_site({"trainkit.yaml": 'title: T\nversion: "1"\ntheme: nowhere\n'})
    result = cli("build", "--source", src, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "trainkit.yaml:3: error: theme 'nowhere' not found" in result.output


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_no_markdown_worker_or_fork_server_waits_beside_pagefind(make_site, tmp_path,
                                                                  monkeypatch):
    """Markdown is done before the search index is made: the processes that rendered it
    (~50 MB each at 10,000 lessons) are gone by then."""
    from trainkit import build, render, search

    def python_children() -> list[str]:
        found = []
        for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
            for pid in children.read_text().split():
                try:
                    name = Path(f"/proc/{pid}/comm").read_text().strip()
                except OSError:
                    continue
                if "python" in name:
                    found.append(name)
        return found

    seen: list[list[str]] = []
    during_markdown: list[list[str]] = []
    real_pagefind, real_render = search._run_pagefind, render.render_bodies
    monkeypatch.setattr(search, "_run_pagefind", lambda *a: seen.append(python_children())
                        or real_pagefind(*a))

    def render_bodies(*a, **k):
        result = real_render(*a, **k)
        during_markdown.append(python_children())
        return result

    monkeypatch.setattr(render, "render_bodies", render_bodies)
    lessons = [f"l{n}" for n in range(110)]  # enough for worker processes
    files = {"courses/big/course.yaml": f"title: Big\nlessons: [{', '.join(lessons)}]\n"}
    files.update({f"courses/big/{slug}.md": f"---\ntitle: Lesson {slug}\n---\nText.\n"
                  for slug in lessons})
    build.build(make_site(files), tmp_path / "out", jobs=2)
    assert during_markdown and during_markdown[0]  # the fork server was there
    assert seen and all(children == [] for children in seen)


def test_a_build_leaves_the_callers_garbage_collector_as_it_found_it(make_site, tmp_path):
    """A build collects less often and freezes its caches while it runs; a script or
    server that calls it keeps its own settings afterwards, even when the build fails."""
    import gc

    from trainkit.build import build
    from trainkit.problems import ContentError

    gc.set_threshold(1234, 11, 12)
    try:
        source = make_site()
        build(source, tmp_path / "out", jobs=1)
        assert gc.get_threshold() == (1234, 11, 12) and gc.get_freeze_count() == 0
        (source / "courses/basics/second.md").write_text("---\ntitle: [broken\n---\n")
        with pytest.raises(ContentError):
            build(source, tmp_path / "out", jobs=1)
        assert gc.get_threshold() == (1234, 11, 12) and gc.get_freeze_count() == 0
    finally:
        gc.set_threshold(700, 10, 10)


def test_ctrl_c_stops_a_build_quietly_and_leaves_the_site_untouched(make_site, tmp_path):
    """Ctrl-C reaches every process of the build (the terminal signals its whole process
    group): exit 130, one line, no traceback from any of them, nothing written. Sent as
    just after the fork server Markdown workers come from starts, while it imports."""
    import signal
    import subprocess
    import sys
    import time

    lessons = [f"l{i}" for i in range(120)]  # enough for worker processes
    source = make_site({
        "courses/big/course.yaml": f"title: Big\nlessons: [{', '.join(lessons)}]\n",
        **{f"courses/big/{slug}.md": f"---\ntitle: Lesson {slug}\n---\n## Part\n\nText.\n"
           for slug in lessons}})
    out = tmp_path / "out"
    # Ctrl-C as a terminal's foreground job has it: a shell starts a background job (the
    # tests run with `… &`, say) with SIGINT ignored, and Python then leaves it ignored.
    process = subprocess.Popen(
        [sys.executable, "-m", "trainkit", "build", "--source", str(source), "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        if children.exists() and any(
                b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
                for pid in children.read_text().split() if Path(f"/proc/{pid}").exists()):
            break
        time.sleep(0.005)
    else:
        pytest.skip("the build finished before a worker process was seen")
    time.sleep(0.05)  # (into its imports: each of them printed a traceback there)
    os.killpg(process.pid, signal.SIGINT)
    output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 130, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert output.strip().endswith(f"Stopped: nothing was written, {out} is unchanged."), output
    assert not out.exists()
