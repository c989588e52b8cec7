"""Pages load nothing from other hosts, whoever wrote the content: an image, video or
embed from another host becomes a link to it, with a warning at its line."""

from __future__ import annotations

from html.parser import HTMLParser

from trainkit.offsite import keep_on_site

LESSON = """\
---
title: Second
---
A chart: ![Team growth](https://example.com/img/growth.png)

<img src="//cdn.example.net/pixel.gif" width="1" height="1">

<iframe width="560" src="https://www.youtube.com/embed/abc123" title="Our call"></iframe>

<video controls><source src="https://media.example.org/intro.mp4" type="video/mp4"></video>

<script src="https://widget.example.com/w.js"></script>
<link rel="stylesheet" href="https://fonts.example.com/css">
<div class="hero" style="background: url('https://example.com/bg.jpg')">Welcome</div>

[![Logo](https://example.com/logo.png)](https://example.com/)

Kept: ![Local](../../static/chart.png) and ![Inline](data:image/png;base64,AAAA)
"""


class Loads(HTMLParser):
    """What a browser would fetch to show a page (not what it would only link to)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.fetched: list[str] = []
        self.links: dict[str, str] = {}  # href → text
        self.tags: list[str] = []
        self._href: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        for name in ("src", "poster", "data"):
            if a.get(name):
                self.fetched.append(a[name])
        self.fetched += [c.split()[0] for c in a.get("srcset", "").split(",") if c.strip()]
        if tag == "link" and a.get("rel") == "stylesheet":
            self.fetched.append(a["href"])
        if tag == "a":
            self._href = a.get("href")
            self.links[self._href or ""] = ""

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self.links[self._href] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._href = None


def remote(urls: list[str]) -> list[str]:
    return [u for u in urls if u.startswith(("http:", "https:", "//"))]


def test_a_lessons_images_and_embeds_from_other_hosts_become_links(make_site, cli) -> None:
    src = make_site({"courses/basics/second.md": LESSON, "static/chart.png": b"\x89PNG"})
    result = cli("build", "--source", src)
    assert result.exit_code == 0, result.output
    html = (src / "site/courses/basics/second/index.html").read_text(encoding="utf-8")
    page = Loads(html)
    assert page.fetched and not remote(page.fetched), page.fetched
    assert "bg.jpg" not in html and "w.js" not in html and '<div class="hero">' in html
    assert "../../../chart.png" in page.fetched  # own images still show
    assert page.links["https://example.com/img/growth.png"] == "Team growth (example.com)"
    assert page.links["//cdn.example.net/pixel.gif"] == "Image on cdn.example.net"
    assert page.links["https://www.youtube.com/embed/abc123"] == "Our call (www.youtube.com)"
    assert page.links["https://media.example.org/intro.mp4"] == "Video on media.example.org"
    # A linked image keeps its link, and names the image inside it.
    assert page.links["https://example.com/"] == "Logo (example.com)"
    warnings = [line for line in result.output.splitlines() if "another host" in line]
    assert warnings == [
        "courses/basics/second.md:4: warning: image 'https://example.com/img/growth.png' is on "
        "another host, so the page links to it instead of showing it (pages load nothing from "
        "other hosts); to show it, save it in static/ and write "
        "![what it shows](../../static/growth.png)",
        "courses/basics/second.md:6: warning: image '//cdn.example.net/pixel.gif' is on another "
        "host, so the page links to it instead of showing it (pages load nothing from other "
        "hosts); to show it, save it in static/ and write ![what it shows](../../static/pixel.gif)",
        "courses/basics/second.md:8: warning: embedded page 'https://www.youtube.com/embed/abc123' "
        "is on another host, so the page links to it instead of showing it (pages load nothing "
        "from other hosts); keep it as a link, or save the file in static/ and link to it there",
        "courses/basics/second.md:10: warning: video 'https://media.example.org/intro.mp4' is on "
        "another host, so the page links to it instead of showing it (pages load nothing from "
        "other hosts); keep it as a link, or save the file in static/ and link to it there",
        "courses/basics/second.md:12: warning: 'https://widget.example.com/w.js' is a script or "
        "style on another host, so it is left out: pages load nothing from other hosts",
        "courses/basics/second.md:13: warning: 'https://fonts.example.com/css' is a script or "
        "style on another host, so it is left out: pages load nothing from other hosts",
        "courses/basics/second.md:14: warning: 'https://example.com/bg.jpg' is a script or "
        "style on another host, so it is left out: pages load nothing from other hosts",
        "courses/basics/second.md:16: warning: image 'https://example.com/logo.png' is on another "
        "host, so the page links to it instead of showing it (pages load nothing from other "
        "hosts); to show it, save it in static/ and write ![what it shows](../../static/logo.png)",
    ]
    # The warnings come back with every build, cached or not, and --strict refuses them.
    again = cli("build", "--source", src)
    assert [line for line in again.output.splitlines() if "another host" in line] == warnings
    assert cli("build", "--source", src, "--strict").exit_code == 1


def test_an_upline_packs_tracking_pixel_never_reaches_a_reader(make_site, cli) -> None:
    pixel = '<img src="https://tracker.example/p.gif?who=downline" width="1" height="1" alt="">'
    body = f"Hello.\n\n{pixel}\n\n![Their chart](https://example.com/chart.png)\n"
    for trusted in ("false", "true"):
        src = make_site({
            "trainkit.yaml": 'title: T\nversion: "1.0"\nuplines:\n  - name: Maria\n'
                             f"    path: uplines/maria\n    trusted: {trusted}\n",
            "uplines/maria/courses/calls/course.yaml": "title: Calls\nlessons: [one]\n",
            "uplines/maria/courses/calls/one.md": f"---\ntitle: One\n---\n{body}",
            "uplines/maria/sections/tip.md": f"---\nfor: basics/welcome\n---\n{body}",
        })
        result = cli("build", "--source", src)
        assert result.exit_code == 0, result.output
        for page in ("courses/calls/one/index.html", "courses/basics/welcome/index.html"):
            loads = Loads((src / "site" / page).read_text(encoding="utf-8"))
            assert not remote(loads.fetched), (trusted, page, loads.fetched)
            assert loads.links["https://example.com/chart.png"] == "Their chart (example.com)"
            assert loads.links["https://tracker.example/p.gif?who=downline"] == \
                "Image on tracker.example"
        for file in ("courses/calls/one.md", "sections/tip.md"):
            for line, url in ((6, "https://tracker.example/p.gif?who=downline"),
                              (8, "https://example.com/chart.png")):
                assert (f"uplines/maria/{file}:{line}: warning: image '{url}' is on another "
                        "host") in result.output


def test_what_is_replaced_and_what_is_not() -> None:
    cases = {
        # unquoted, upper case, entity-encoded addresses are what a browser would fetch
        "<IMG SRC=https://x.example/a.png>": "Image on x.example",
        '<img src="https:&#x2F;&#x2F;x.example/a.png">': "Image on x.example",
        '<img srcset="a.png 1x, https://x.example/b.png 2x" src="a.png">': "Image on x.example",
        '<picture><source srcset="https://x.example/a.webp"><img src="a.png" alt="A"></picture>':
            "A (x.example)",
        '<audio src="http://x.example/a.mp3" controls></audio>': "Audio on x.example",
        '<video src="v.mp4" poster="https://x.example/p.jpg"></video>': "Video on x.example",
        '<input type="image" src="https://x.example/go.png">': "Image on x.example",
    }
    styles = {  # left out, with nothing in their place
        '<p class="a" style="background:url(//x.example/bg.png)">Hi</p>': '<p class="a">Hi</p>',
        "<style>@import 'https://x.example/font.css'; p { color: red }</style><p>Hi</p>":
            "<p>Hi</p>",
    }
    for html, kept in styles.items():
        assert keep_on_site(html)[0] == kept, html
    for html, text in cases.items():
        out, found = keep_on_site(html)
        assert text in out and len(found) == 1, (html, out)
        assert not remote(Loads(out).fetched), (html, out)
    for html in ('<img src="a.png">', '<img src="data:image/png;base64,AA">',
                 '<a href="https://x.example/">a link is fine</a>',
                 '<input type="checkbox" id="https://x">', "<p>https://x.example/a.png</p>",
                 "<p>url(https://x.example/a.png) as text</p>",
                 '<p style="background: url(bg.png)">a local background</p>',
                 '<script>fetch("https://x.example/")</script>'):
        assert keep_on_site(html) == (html, []), html

