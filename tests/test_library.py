"""The library: every curated link grouped by tag, with its note, host, date, tags and
attribution; course pages and lessons list theirs."""

from __future__ import annotations

import re
from pathlib import Path

from trainkit.build import build


def link(title: str, url: str, tags: str, added: str = "2026-11-01", note: str = "Read it.") -> str:
    return f"---\ntitle: {title}\nurl: {url}\ntags: {tags}\nadded: {added}\n---\n{note}\n"


SITE = {
    "trainkit.yaml": 'title: Test Team\nversion: "1.0"\nuplines:\n'
                     "  - name: Maria Lopez\n    role: Diamond Director\n    path: uplines/maria\n",
    "links/duplication.md": link("Duplication, explained", "https://www.example.com/dup",
                                 "[duplication, mindset]", note="Why *copying* works."),
    "links/untagged.md": "---\ntitle: No tags\nurl: http://plain.example.org/x\n---\nA note.\n",
    "courses/basics/links/scripts.md": link("Call scripts", "https://calls.example.net/s",
                                            "[prospecting]", "2026-10-05"),
    "uplines/maria/links/her-book.md": link("Maria's reading", "https://maria.example.com/b",
                                            "[mindset]", "2026-09-09"),
    "courses/basics/welcome.md": "---\ntitle: Welcome\nlinks: [scripts, duplication]\n---\nHi.\n",
}


def groups(html: str) -> dict[str, list[str]]:
    """Tag → the titles listed in its section, in order."""
    found = {}
    for section in re.findall(r'<section class="tag-group".*?</section>', html, re.S):
        tag = re.search(r"<h2[^>]*>(.*?)</h2>", section).group(1)
        found[tag] = re.findall(r'<h3><a [^>]*>(.*?)</a></h3>', section)
    return found


def test_every_link_is_grouped_by_tag(make_site, tmp_path: Path) -> None:
    build(make_site(SITE), tmp_path / "out")
    html = (tmp_path / "out/links/index.html").read_text()
    assert groups(html) == {
        "duplication": ["Duplication, explained"],
        "mindset": ["Duplication, explained", "Maria&#39;s reading"],
        "prospecting": ["Call scripts"],
        "other": ["No tags"],
    }
    assert '<a href="#tag-mindset" data-tag="tag-mindset">mindset <span class="count">2</span>' in html


def test_each_entry_has_host_date_note_tags_and_attribution(make_site, tmp_path) -> None:
    build(make_site(SITE), tmp_path / "out")
    html = (tmp_path / "out/links/index.html").read_text()
    entry = re.search(r'<li class="link-entry" id="link-her-book">.*?</li>', html, re.S).group(0)
    assert '<a href="https://maria.example.com/b" rel="noopener noreferrer">' in entry
    assert '<span class="host">maria.example.com</span>' in entry
    assert '<time datetime="2026-09-09">' in entry
    assert "From Maria Lopez, Diamond Director" in entry
    assert '<span class="tag">mindset</span>' in entry
    own = re.search(r'<li class="link-entry" id="link-duplication">.*?</li>', html, re.S).group(0)
    assert "<em>copying</em>" in own and "From " not in own
    # A link under two tags is listed twice but has one anchor.
    assert html.count('id="link-duplication"') == 1


def test_every_outbound_link_is_noopener_noreferrer(make_site, tmp_path: Path) -> None:
    build(make_site(SITE), tmp_path / "out")
    for page in ("links/index.html", "courses/basics/index.html",
                 "courses/basics/welcome/index.html"):
        html = (tmp_path / "out" / page).read_text()
        outbound = re.findall(r'<a href="https?://[^"]*"[^>]*>', html)
        assert outbound and all('rel="noopener noreferrer"' in a for a in outbound), page


def test_course_page_lists_its_links_and_lessons_their_reading(make_site, tmp_path) -> None:
    build(make_site(SITE), tmp_path / "out")
    course = (tmp_path / "out/courses/basics/index.html").read_text()
    reading = course[course.index("Reading for this course"):]
    assert "Call scripts" in reading and "Duplication" not in reading
    lesson = (tmp_path / "out/courses/basics/welcome/index.html").read_text()
    section = lesson[lesson.index("Recommended reading"):]
    assert section.index("Call scripts") < section.index("Duplication, explained")
    assert 'href="../../../links/#link-basics-scripts"' in section
