"""Versions: `trainkit release`, building every snapshot under v/, the switcher, the
old-version banner, versions.json, the changes page and the snapshot cache."""

from __future__ import annotations

import datetime as dt
import json
import posixpath
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from trainkit import uptodate, versions, write
from trainkit.build import build
from trainkit.changes import change_list
from trainkit.markdown_ext.tasklist import item_id

from conftest import write_files

TODAY = dt.date.today().isoformat()
CONFIG = ('# Our training.\ntitle: Test Team   # shown everywhere\n\n'
          '# The label of this edition.\nversion: "1.0"  # keep the quotes\nlanguage: en\n')
WELCOME_V1 = ("---\ntitle: Welcome\n---\nHello team.\n\n- [ ] Say hello\n- [ ] Read on\n"
              "- [ ] Old habit\n")
WELCOME_V2 = ("---\ntitle: Welcome\n---\nHello team, again.\n\n- [ ] Say hello\n- [ ] Read on\n"
              "- [ ] Book a call\n")


def version_files(label: str, released: str | None, lessons: dict[str, str],
                  links: tuple[str, ...] = ()) -> dict[str, str]:
    """A whole site (or snapshot) with the course 'basics' holding ``lessons`` in order."""
    files = {
        "trainkit.yaml": f'title: Test Team\nversion: "{label}"\n'
                         + (f"released: {released}\n" if released else ""),
        "courses/basics/course.yaml": f"title: Basics\nlessons: [{', '.join(lessons)}]\n",
    }
    files.update({f"courses/basics/{slug}.md": text for slug, text in lessons.items()})
    files.update({f"links/{slug}.md": f"---\ntitle: Link {slug}\nurl: https://example.com/{slug}\n"
                                      "---\nA note.\n" for slug in links})
    return files


def lesson(title: str, body: str = "Text.\n") -> str:
    return f"---\ntitle: {title}\n---\n{body}"


def three_versions(root: Path) -> Path:
    """1.0 (welcome, second), 2.0 (welcome edited, second, third), current 3.0 (welcome,
    third; second removed)."""
    write_files(root, version_files("3.0", None, {"welcome": WELCOME_V2, "third": lesson("Third")},
                                    links=("keep", "fresh")))
    for label, released, lessons, links in (
            ("1.0", "2026-09-01", {"welcome": WELCOME_V1, "second": lesson("Second")}, ("keep", "old")),
            ("2.0", "2026-10-01", {"welcome": WELCOME_V2, "second": lesson("Second"),
                                   "third": lesson("Third")}, ("keep",))):
        files = version_files(label, released, lessons, links)
        write_files(root / "versions" / label, files)
    return root


def read(out: Path, path: str) -> str:
    return (out / path).read_text(encoding="utf-8")


def options(html: str) -> dict[str, str]:
    """The version switcher's choices: label → target href."""
    return {m.group(2): m.group(1) for m in
            re.finditer(r'<option value="([^"]*)" data-same="\w+"(?: selected)?>([^<( ]+)', html)}


def banner_link(html: str) -> str:
    match = re.search(r'class="version-banner".*?<a href="([^"]+)"', html, re.DOTALL)
    assert match, "no banner"
    return match.group(1)


def resolve(page: str, href: str) -> str:
    """A relative href on the output page ``page`` → the output file it serves."""
    target = posixpath.normpath(posixpath.join(posixpath.dirname(page), href.split("#")[0]))
    if href.split("#")[0].endswith("/") or target == ".":
        target = posixpath.join(target, "index.html") if target != "." else "index.html"
    return target


# --- release -----------------------------------------------------------------------------


def test_release_round_trip_copies_content_and_dates_the_copy(make_site, cli):
    src = make_site({"trainkit.yaml": CONFIG, "static/team.txt": "hi\n",
                     "links/keep.md": "---\ntitle: Keep\nurl: https://example.com/\n---\nNote.\n"})
    before = sorted(p.relative_to(src).as_posix() for p in src.rglob("*"))
    result = cli("release", "--source", src)
    assert result.exit_code == 0, result.output
    snap = src / "versions" / "1.0"
    config = (snap / "trainkit.yaml").read_text()
    assert config == CONFIG.replace('keep the quotes\n', f'keep the quotes\nreleased: {TODAY}\n')
    for name in ("courses/basics/welcome.md", "courses/basics/course.yaml", "static/team.txt",
                 "links/keep.md"):
        assert (snap / name).read_bytes() == (src / name).read_bytes()
    after = sorted(p.relative_to(src).as_posix() for p in src.rglob("*")
                   if not p.relative_to(src).as_posix().startswith("versions"))
    assert after == before  # touches nothing else
    assert (src / "trainkit.yaml").read_text() == CONFIG


def test_release_refuses_to_overwrite_a_snapshot(make_site, cli):
    src = make_site()
    assert cli("release", "--source", src).exit_code == 0
    (src / "courses/basics/second.md").write_text("---\ntitle: Changed\n---\nNew.\n")
    result = cli("release", "--source", src)
    assert result.exit_code == 2
    assert "versions/1.0/ already exists" in result.output
    assert "Changed" not in (src / "versions/1.0/courses/basics/second.md").read_text()


def test_release_refuses_content_with_errors(make_site, cli):
    src = make_site({"courses/basics/second.md": "---\ntitle: S\n---\n[x](missing.md)\n"})
    result = cli("release", "--source", src)
    assert result.exit_code == 1
    assert "courses/basics/second.md:4: error:" in result.output
    assert not (src / "versions").exists()


def test_release_next_sets_the_label_keeping_comments(make_site, cli):
    src = make_site({"trainkit.yaml": CONFIG})
    result = cli("release", "--source", src, "--next", "1.1")
    assert result.exit_code == 0, result.output
    assert (src / "trainkit.yaml").read_text() == CONFIG.replace('"1.0"', '"1.1"')
    assert 'version: "1.0"' in (src / "versions/1.0/trainkit.yaml").read_text()
    assert cli("build", "--source", src).exit_code == 0


def test_release_without_next_then_build_asks_for_a_new_label(make_site, cli):
    """... and what it asks for then works: `release --next` only sets the label, since
    the version is released already (it refused, so the advice went round in a circle)."""
    src = make_site({"trainkit.yaml": CONFIG})
    cli("release", "--source", src)
    result = cli("build", "--source", src)
    assert result.exit_code == 1
    assert ("version '1.0' is already released in versions/1.0/; start the next version "
            "with `trainkit release --next LABEL`") in result.output
    snapshot = sorted((p.relative_to(src), p.read_bytes()) for p in (src / "versions").rglob("*")
                      if p.is_file())
    (src / "courses/basics/second.md").write_text("---\ntitle: Second, edited\n---\nNew.\n")
    result = cli("release", "--source", src, "--next", "1.1")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Version 1.0 was released before (versions/1.0/).")
    assert (src / "trainkit.yaml").read_text() == CONFIG.replace('"1.0"', '"1.1"')
    assert snapshot == sorted((p.relative_to(src), p.read_bytes())
                              for p in (src / "versions").rglob("*") if p.is_file())
    assert cli("build", "--source", src).exit_code == 0


# --- building every version --------------------------------------------------------------


def test_three_version_build_urls_and_versions_json(tmp_path):
    src = three_versions(tmp_path / "src")
    out = tmp_path / "out"
    build(src, out, jobs=1)
    assert json.loads(read(out, "versions.json")) == [
        {"version": "3.0", "path": "./", "current": True, "released": None},
        {"version": "2.0", "path": "v/2.0/", "current": False, "released": "2026-10-01"},
        {"version": "1.0", "path": "v/1.0/", "current": False, "released": "2026-09-01"},
    ]
    for page in ("v/1.0/courses/basics/second/index.html", "v/2.0/courses/basics/third/index.html",
                 "v/1.0/index.html", "v/2.0/links/index.html", "courses/basics/third/index.html"):
        assert (out / page).is_file(), page
    assert not (out / "courses/basics/second").exists()
    assert not (out / "v/1.0/_trainkit").exists()  # snapshots share the root's theme files
    # Every relative link and asset on every page of every version leads to a file.
    for file in out.rglob("*.html"):
        page = file.relative_to(out).as_posix()
        html = file.read_text(encoding="utf-8")
        for href in re.findall(r'(?:href|src|value)="([^"]+)"', html):
            if href.startswith(("http", "#", "mailto:", "data:")) or "{" in href:
                continue
            assert (out / resolve(page, href)).exists(), f"{page}: {href}"
    old = read(out, "v/1.0/courses/basics/welcome/index.html")
    assert '<meta name="robots" content="noindex">' in old
    assert "<title>Welcome · Test Team</title>" in old
    assert 'noindex' not in read(out, "courses/basics/welcome/index.html")


def test_snapshot_gets_the_current_title_and_theme(tmp_path):
    src = three_versions(tmp_path / "src")
    write_files(src, {"trainkit.yaml": 'title: Renamed Team\nversion: "3.0"\ntheme: mine\n',
                      "themes/mine/templates/home.html":
                          '{% extends "default/home.html" %}{% block content %}MINE{{ super() }}'
                          '{% endblock %}'})
    out = tmp_path / "out"
    build(src, out, jobs=1)
    old = read(out, "v/1.0/index.html")
    assert "MINE" in old and "Renamed Team" in old


def test_switcher_targets_for_an_existing_and_a_removed_lesson(tmp_path):
    src = three_versions(tmp_path / "src")
    out = tmp_path / "out"
    build(src, out, jobs=1)
    current = read(out, "courses/basics/welcome/index.html")
    assert options(current) == {"3.0": "./", "2.0": "../../../v/2.0/courses/basics/welcome/",
                                "1.0": "../../../v/1.0/courses/basics/welcome/"}
    assert 'data-versions="3.0 2.0 1.0"' in current
    removed = read(out, "v/1.0/courses/basics/second/index.html")
    assert options(removed) == {"3.0": "../../../../../", "2.0": "../../../../../v/2.0/courses/basics/second/",
                                "1.0": "./"}
    third = read(out, "courses/basics/third/index.html")
    assert options(third)["1.0"] == "../../../v/1.0/"  # not in 1.0: that version's home
    # Without JavaScript, the switcher is a plain link to the versions page.
    assert '<a class="version-link" href="../../../versions/">version 3.0</a>' in current
    versions_page = read(out, "versions/index.html")
    assert 'href="../v/1.0/">Version 1.0</a>' in versions_page


def test_banner_links_to_the_same_page_or_the_current_home(tmp_path):
    src = three_versions(tmp_path / "src")
    out = tmp_path / "out"
    build(src, out, jobs=1)
    kept = read(out, "v/1.0/courses/basics/welcome/index.html")
    assert "You are reading version 1.0, released 2026-09-01." in kept
    assert banner_link(kept) == "../../../../../courses/basics/welcome/"
    removed = read(out, "v/2.0/courses/basics/second/index.html")
    assert "This page is not in the current version" in removed
    assert banner_link(removed) == "../../../../../"
    assert "version-banner" not in read(out, "courses/basics/welcome/index.html")


def test_switcher_in_chromium_never_leads_to_a_404(tmp_path, browser, static_server):
    from selenium.webdriver.support.ui import Select

    src = three_versions(tmp_path / "src")
    out = tmp_path / "out"
    build(src, out, jobs=1)
    base = static_server(out, "/team/")
    browser.get(base + "v/1.0/courses/basics/second/")
    Select(browser.find_element("css selector", ".version-select")).select_by_value("../../../../../")
    _wait_for(browser, lambda: browser.current_url == base)
    assert "Page not found" not in browser.title and browser.title == "Test Team"
    browser.get(base + "v/1.0/courses/basics/welcome/")
    assert not browser.find_element("css selector", ".version-link").is_displayed()
    Select(browser.find_element("css selector", ".version-select")).select_by_visible_text("2.0")
    _wait_for(browser, lambda: browser.current_url == base + "v/2.0/courses/basics/welcome/")
    assert browser.title.startswith("Welcome")


def test_a_tick_in_an_older_version_shows_in_the_current_one(tmp_path, browser,
                                                            static_server):
    """Every version keeps the reader's progress in the same place (the site's root,
    where all versions load the theme's script from), and items keep their ids."""
    src = three_versions(tmp_path / "src")
    out = tmp_path / "out"
    build(src, out, jobs=1)
    base = static_server(out, "/team/")
    browser.get(base + "v/1.0/courses/basics/welcome/")
    browser.execute_script(
        "var l = Array.from(document.querySelectorAll('.task label'))"
        ".find(function (l) { return l.textContent === 'Say hello'; });"
        "document.getElementById(l.htmlFor).click();")
    browser.get(base + "courses/basics/welcome/")

    def ticked() -> list[str]:
        return list(browser.execute_script(
            "return Array.from(document.querySelectorAll('.task')).filter(function (li) {"
            "return li.querySelector('input').checked; }).map(function (li) {"
            "return li.querySelector('label').textContent; });"))

    # Chromium hands a page's localStorage write to the browser process on its own time;
    # a page opened at once may read the store before it lands, and then shows the tick
    # when the write's storage event reaches it (seen in CI, never at human speed).
    from selenium.common.exceptions import TimeoutException
    try:
        _wait_for(browser, lambda: ticked() == ["Say hello"])
    except TimeoutException:
        assert ticked() == ["Say hello"]


def _wait_for(browser, condition) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(lambda _: condition())


def test_checklist_ids_carry_across_versions(tmp_path):
    src = three_versions(tmp_path / "src")
    out = tmp_path / "out"
    build(src, out, jobs=1)
    ident = item_id("basics/welcome", "Say hello")
    for page in ("courses/basics/welcome/index.html", "v/1.0/courses/basics/welcome/index.html"):
        assert f'data-task="{ident}"' in read(out, page)
    assert 'data-site="' in read(out, "v/1.0/index.html")
    site_ids = {re.search(r'data-site="(\w+)"', read(out, p)).group(1)  # type: ignore[union-attr]
                for p in ("index.html", "v/1.0/index.html")}
    assert len(site_ids) == 1  # the same progress storage in every version


def test_snapshot_errors_name_the_snapshot_path(tmp_path, cli):
    src = three_versions(tmp_path / "src")
    (src / "versions/1.0/courses/basics/second.md").write_text(
        "---\ntitle: Second\n---\nSee [this](gone.md).\n")
    result = cli("build", "--source", src)
    assert result.exit_code == 1
    assert "versions/1.0/courses/basics/second.md:4: error:" in result.output
    (src / "versions/1.0/courses/basics/second.md").write_text("---\ntitle: Second\nbogus\n")
    result = cli("build", "--source", src)
    assert result.exit_code == 1
    assert "versions/1.0/courses/basics/second.md:" in result.output


# --- what changed ------------------------------------------------------------------------


def test_changes_after_edits_additions_and_removals(tmp_path):
    src = three_versions(tmp_path / "src")
    out = tmp_path / "out"
    build(src, out, jobs=1)
    page = read(out, "changes/index.html")
    newest = page.index('id="version-3.0"')
    assert newest < page.index('id="version-2.0"') < page.index('id="version-1.0"')
    v3 = page[newest:page.index('id="version-2.0"')]
    assert "Lessons removed" in v3 and 'href="../v/2.0/courses/basics/second/">Second' in v3
    assert "Lessons changed" not in v3  # welcome is the same in 2.0 and 3.0
    assert "Curated links added" in v3 and 'href="../links/#link-fresh">Link fresh' in v3
    v2 = page[page.index('id="version-2.0"'):page.index('id="version-1.0"')]
    assert 'Lessons added' in v2 and 'href="../v/2.0/courses/basics/third/">Third' in v2
    assert 'Lessons changed' in v2 and 'href="../v/2.0/courses/basics/welcome/">Welcome' in v2
    assert "Checklist item added: Book a call" in v2
    assert "Checklist item removed: Old habit" in v2
    assert "Say hello" not in v2  # unchanged items are not listed
    assert 'Curated links removed' in v2 and 'href="../v/1.0/links/#link-old">Link old' in v2
    assert "The first version: 2 lessons." in page


def test_change_list_is_data(tmp_path, monkeypatch):
    src = three_versions(tmp_path / "src")
    (src / "courses/basics/third.md").write_text(lesson("Third", "Edited.\n\n- [ ] New step\n"))
    calls = []
    real = versions.build_snapshots

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = real(*args, **kwargs)
        calls.append(result.summaries)
        return result

    monkeypatch.setattr("trainkit.build.build_snapshots", spy)
    build(src, tmp_path / "out", jobs=1)
    changes = change_list(calls[0])
    assert [c.label for c in changes] == ["3.0", "2.0", "1.0"]
    assert [(e.key, e.url, e.items_added) for e in changes[0].lessons_changed] == [
        ("basics/third", "courses/basics/third/", ("New step",))]
    assert [e.url for e in changes[0].lessons_removed] == ["v/2.0/courses/basics/second/"]
    assert changes[2].previous is None


def test_the_feed_lists_the_change_list_newest_first(tmp_path):
    src = three_versions(tmp_path / "src")
    (src / "courses/basics/third.md").write_text(lesson("Third", "Edited.\n\n- [ ] New step\n"))
    out = tmp_path / "out"
    build(src, out, jobs=1)
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.parse(out / "feed.xml").getroot()
    entries = [(e.findtext(f"{atom}title"), e.find(f"{atom}link").get("href"),
                e.findtext(f"{atom}summary"), e.findtext(f"{atom}updated"))
               for e in feed.findall(f"{atom}entry")]
    assert entries == [
        ("Third", "courses/basics/third/", "Changed in 3.0: 1 checklist item added",
         "2026-10-01T00:00:00Z"),
        ("Second", "v/2.0/courses/basics/second/",
         "Removed in 3.0; the link leads to it in 2.0.", "2026-10-01T00:00:00Z"),
        ("Welcome", "v/2.0/courses/basics/welcome/",
         "Changed in 2.0: 1 checklist item added, 1 checklist item removed",
         "2026-10-01T00:00:00Z"),
        ("Third", "v/2.0/courses/basics/third/", "Added in 2.0.", "2026-10-01T00:00:00Z"),
    ]
    ids = [e.findtext(f"{atom}id") for e in feed.findall(f"{atom}entry")]
    assert len(set(ids)) == len(ids)
    for _, href, _, _ in entries:
        assert (out / href / "index.html").is_file()


def test_a_single_version_site_has_a_changes_page(make_site, tmp_path):
    out = tmp_path / "out"
    build(make_site(), out, jobs=1)
    assert "There is only one version so far (1.0)" in read(out, "changes/index.html")
    assert json.loads(read(out, "versions.json")) == [
        {"version": "1.0", "path": "./", "current": True, "released": None}]


# --- the snapshot cache ------------------------------------------------------------------


def test_unchanged_snapshots_are_not_rendered_again(tmp_path, monkeypatch):
    src = three_versions(tmp_path / "src")
    rendered: list[str] = []
    real = versions._render_snapshot

    def counting(snapshot, *args):  # type: ignore[no-untyped-def]
        rendered.append(snapshot.info.label)
        return real(snapshot, *args)

    monkeypatch.setattr(versions, "_render_snapshot", counting)
    build(src, tmp_path / "out", jobs=1)
    assert sorted(rendered) == ["1.0", "2.0"]
    rendered.clear()
    (src / "courses/basics/welcome.md").write_text(WELCOME_V2 + "\nMore words.\n")
    build(src, tmp_path / "out", jobs=1)
    assert rendered == []  # editing the current content does not touch the snapshots
    (src / "versions/1.0/courses/basics/second.md").write_text(lesson("Second", "Fixed typo.\n"))
    build(src, tmp_path / "out", jobs=1)
    assert rendered == ["1.0"]
    rendered.clear()
    # Removing a lesson that 2.0 has changes 2.0's switcher: it is rendered again.
    write_files(src, {"courses/basics/course.yaml": "title: Basics\nlessons: [welcome]\n"})
    (src / "courses/basics/third.md").unlink()
    build(src, tmp_path / "out", jobs=1)
    assert rendered == ["2.0"]
    assert 'value="../../../../../" data-same="no"' in read(
        tmp_path / "out", "v/2.0/courses/basics/third/index.html")


def test_a_cached_build_is_byte_identical_to_a_clean_one(tmp_path):
    src = three_versions(tmp_path / "src")
    build(src, tmp_path / "first", jobs=1)
    assert list((src / ".trainkit-cache" / "versions").glob("*.pickle"))
    build(src, tmp_path / "cached", jobs=1)
    shutil.rmtree(src / ".trainkit-cache")
    build(src, tmp_path / "clean", jobs=1)

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
                if p.is_file()}

    assert files(tmp_path / "cached") == files(tmp_path / "clean")


def test_the_changes_page_after_an_edit_reads_only_the_page_that_changed(tmp_path,
                                                                         monkeypatch):
    """Checklists for the changes page come from the lesson pages; the pages a build took
    unchanged from the last one are not read back for them."""
    from trainkit import changes

    src, out = three_versions(tmp_path / "src"), tmp_path / "out"
    build(src, out, jobs=1)
    (src / "courses/basics/third.md").write_text(lesson("Third", "Edited.\n\n- [ ] New step\n"))
    parsed: list[str] = []
    real = changes.checklist_items
    monkeypatch.setattr(changes, "checklist_items",
                        lambda page: parsed.append(page) or real(page))
    build(src, out, jobs=1)
    assert len(parsed) == 1 and "New step" in parsed[0]
    page = (out / "changes/index.html").read_text()
    assert "New step" in page
    monkeypatch.undo()
    shutil.rmtree(src / ".trainkit-cache")
    build(src, tmp_path / "clean", jobs=1)
    assert (tmp_path / "clean/changes/index.html").read_text() == page


def test_a_snapshot_is_not_read_again_until_a_file_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(uptodate, "RECENT_NS", -1)  # trust the times of fresh files too
    src = three_versions(tmp_path / "src")
    build(src, tmp_path / "out", jobs=1)
    hashed: list[str] = []
    real = versions.content_key
    monkeypatch.setattr(versions, "content_key", lambda root: hashed.append(root.name) or real(root))
    build(src, tmp_path / "out", jobs=1)
    assert hashed == []
    second = src / "versions/1.0/courses/basics/second.md"
    second.write_text(second.read_text().replace("Text.", "Txet."))  # the same size
    build(src, tmp_path / "out", jobs=1)
    assert hashed == ["1.0"]
    assert "Txet." in read(tmp_path / "out", "v/1.0/courses/basics/second/index.html")


def test_unchanged_snapshot_output_is_not_read_while_untouched(tmp_path, monkeypatch):
    """A snapshot rendered from the same cache entry as last time has the same bytes, so
    its output files are kept without being read, unless their stat shows a hand."""
    monkeypatch.setattr(uptodate, "RECENT_NS", -1)  # trust the times of fresh files too
    src, out = three_versions(tmp_path / "src"), tmp_path / "out"
    build(src, out, jobs=1)
    page = out / "v/1.0/courses/basics/second/index.html"
    original = page.read_bytes()
    compared: list[str] = []
    real = write._read
    monkeypatch.setattr(write, "_read", lambda file: compared.append(file) or real(file))
    welcome = src / "courses/basics/welcome.md"
    welcome.write_text(WELCOME_V2 + "\nMore words.\n")
    build(src, out, jobs=1)
    assert compared and not [f for f in compared if "/v/" in f]  # (only the current site's)
    assert b"More words." in (out / "courses/basics/welcome/index.html").read_bytes()
    page.write_bytes(original.replace(b"Second", b"Secnod"))  # edited by hand, same size
    welcome.write_text(WELCOME_V2 + "\nEven more words.\n")
    build(src, out, jobs=1)
    assert page.read_bytes() == original


def test_a_damaged_cache_is_rebuilt(tmp_path):
    src = three_versions(tmp_path / "src")
    build(src, tmp_path / "out", jobs=1)
    for file in (src / ".trainkit-cache" / "versions").glob("*.pickle"):
        file.write_bytes(b"not a pickle")
    build(src, tmp_path / "out", jobs=1)
    assert (tmp_path / "out" / "v/1.0/courses/basics/second/index.html").is_file()


def test_with_released_keeps_comments_and_replaces_an_old_date():
    text = '# c\nversion: "2"  # note\n# end\n'
    assert versions.with_released(text, dt.date(2026, 9, 30)) == \
        '# c\nversion: "2"  # note\nreleased: 2026-09-30\n# end\n'
    again = versions.with_released('version: "2"\nreleased: 2020-01-01\n', dt.date(2026, 9, 30))
    assert again == 'version: "2"\nreleased: 2026-09-30\n'
