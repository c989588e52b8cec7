"""sitemap.xml, feed.xml (Atom), robots.txt and the share-preview tags."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from trainkit.build import build

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
DATED = {
    "courses/basics/welcome.md": "---\ntitle: Welcome & hello\nsummary: Start <here>.\n"
                                 "updated: 2026-10-01\nauthor: Sam Rivera\ntags: [start]\n---\nHi.\n",
    "courses/basics/second.md": "---\ntitle: Second\nupdated: 2026-11-02\n---\nMore.\n",
    "courses/basics/third.md": "---\ntitle: Third, undated\n---\nLast.\n",
    "courses/basics/course.yaml": "title: Basics\nlessons: [welcome, second, third]\n",
}
WITH_BASE = 'title: Test Team\nversion: "1.0"\nbase_url: https://example.org/team\n'


def test_sitemap_lists_every_page_with_absolute_urls(make_site, tmp_path: Path) -> None:
    result = build(make_site({**DATED, "trainkit.yaml": WITH_BASE}), tmp_path / "out")
    root = ET.parse(tmp_path / "out/sitemap.xml").getroot()
    entries = {u.findtext(f"{SITEMAP}loc"): u.findtext(f"{SITEMAP}lastmod")
               for u in root.iter(f"{SITEMAP}url")}
    base = "https://example.org/team/"
    assert entries == {
        base: None, base + "courses/basics/": None,
        base + "courses/basics/welcome/": "2026-10-01",
        base + "courses/basics/second/": "2026-11-02",
        base + "courses/basics/third/": None, base + "links/": None,
    }
    assert not any("sitemap" in p.message for p in result.problems)
    robots = (tmp_path / "out/robots.txt").read_text()
    assert "Sitemap: https://example.org/team/sitemap.xml" in robots


def test_feed_is_atom_with_dated_lessons_newest_first(make_site, tmp_path: Path) -> None:
    build(make_site({**DATED, "trainkit.yaml": WITH_BASE}), tmp_path / "out")
    feed = ET.parse(tmp_path / "out/feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}updated") == "2026-11-02T00:00:00Z"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Second", "Welcome & hello"]
    second, welcome = entries
    for entry in entries:
        assert all(entry.find(f"{ATOM}{tag}") is not None
                   for tag in ("id", "title", "updated", "link", "summary"))
    assert welcome.findtext(f"{ATOM}id") == "https://example.org/team/courses/basics/welcome/"
    assert welcome.find(f"{ATOM}link").get("href") == welcome.findtext(f"{ATOM}id")
    assert welcome.findtext(f"{ATOM}summary") == "Start <here>."
    assert welcome.findtext(f"{ATOM}updated") == "2026-10-01T00:00:00Z"
    assert second.findtext(f"{ATOM}summary") == "A lesson in Basics."


def test_without_base_url_no_sitemap_a_warning_and_a_relative_feed(make_site, tmp_path) -> None:
    result = build(make_site(DATED), tmp_path / "out")
    assert not (tmp_path / "out/sitemap.xml").exists()
    warnings = [p for p in result.problems if "sitemap.xml" in p.message]
    assert [(p.path, p.line, p.severity) for p in warnings] == [("trainkit.yaml", 1, "warning")]
    feed = ET.parse(tmp_path / "out/feed.xml").getroot()
    entry = feed.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}id").startswith("urn:uuid:")
    assert entry.find(f"{ATOM}link").get("href") == "courses/basics/second/"
    assert "Sitemap" not in (tmp_path / "out/robots.txt").read_text()


def test_output_is_deterministic(make_site, tmp_path: Path) -> None:
    source = make_site({**DATED, "trainkit.yaml": WITH_BASE})
    build(source, tmp_path / "a")
    build(source, tmp_path / "b")
    for name in ("sitemap.xml", "feed.xml", "robots.txt"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_every_page_has_previews_feed_link_and_canonical(make_site, tmp_path: Path) -> None:
    build(make_site({**DATED, "trainkit.yaml": WITH_BASE}), tmp_path / "out")
    lesson = (tmp_path / "out/courses/basics/welcome/index.html").read_text()
    assert '<meta property="og:title" content="Welcome &amp; hello">' in lesson
    assert '<meta property="og:description" content="Start &lt;here&gt;.">' in lesson
    assert '<meta name="description" content="Start &lt;here&gt;.">' in lesson
    assert ('<link rel="canonical" href="https://example.org/team/courses/basics/welcome/">'
            in lesson)
    assert 'type="application/atom+xml" href="../../../feed.xml"' in lesson
    home = (tmp_path / "out/index.html").read_text()
    assert 'type="application/atom+xml" href="feed.xml"' in home


def test_no_canonical_without_base_url(make_site, tmp_path: Path) -> None:
    build(make_site(), tmp_path / "out")
    lesson = (tmp_path / "out/courses/basics/welcome/index.html").read_text()
    assert 'rel="canonical"' not in lesson and "og:description" in lesson


def test_after_a_release_the_feed_lists_the_changed_lesson(make_site, cli, tmp_path) -> None:
    src = make_site({"trainkit.yaml": WITH_BASE})
    assert cli("release", "--source", src, "--next", "1.1").exit_code == 0
    welcome = src / "courses/basics/welcome.md"
    welcome.write_text(welcome.read_text() + "- [ ] Book a call\n- [ ] Plan the week\n")
    build(src, tmp_path / "out")
    feed = ET.parse(tmp_path / "out/feed.xml").getroot()
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "Welcome"
    assert entry.findtext(f"{ATOM}summary") == "Changed in 1.1: 2 checklist items added"
    assert entry.find(f"{ATOM}link").get("href") == "https://example.org/team/courses/basics/welcome/"
    released = (src / "versions/1.0/trainkit.yaml").read_text().split("released: ")[1][:10]
    assert entry.findtext(f"{ATOM}updated") == f"{released}T00:00:00Z"
    assert feed.findtext(f"{ATOM}updated") == f"{released}T00:00:00Z"
    assert entry.findtext(f"{ATOM}id").startswith("https://example.org/team/courses/basics/welcome/#")
