"""Rendering: a pure function from a resolved :class:`~trainkit.model.Site` to pages.

Two steps. First every Markdown body (lessons, upline sections, link notes) becomes
HTML, and the anchors it links to are checked against the headings now known. Then the
theme's templates turn each page's context (see :mod:`trainkit.pages`) into bytes.
Nothing here touches the output folder; :mod:`trainkit.write` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Mapping

from markupsafe import Markup

from . import pages, urls
from .markdown_ext import MarkdownRenderer, Rendered, line_of
from .model import Section, Site, Upline
from .problems import Problem, error
from .sanitize import sanitize
from .theme import Theme, environment


@dataclass(frozen=True, slots=True)
class Page:
    """One file of the built site."""

    path: str
    """Relative to the output folder (``courses/a/b/index.html``)."""
    content: bytes


@dataclass(frozen=True, slots=True)
class Bodies:
    """Every Markdown body of the site, rendered."""

    lessons: Mapping[str, Rendered]
    sections: Mapping[str, Rendered]
    """By the section's source file."""
    notes: Mapping[str, Rendered]
    """Curated links' notes, by the link's source file."""


Progress = Callable[[int, int], None]
"""Called as pages are done with (done, total), for a progress bar."""


def render_site(site: Site, theme: Theme, *, serve: bool = False,
                progress: Progress | None = None) -> tuple[list[Page], list[Problem]]:
    bodies, problems = render_bodies(site)
    env = environment(theme)
    contexts = list(pages.contexts(site, bodies, serve=serve))
    out = []
    for done, context in enumerate(contexts, 1):
        template = env.get_template(context["template"])
        html = template.render(context)
        out.append(Page(urls.output_file(context["page"]["url"]), html.encode("utf-8")))
        if progress is not None and done % 50 == 0:
            progress(done, len(contexts))
    return out, problems


def render_bodies(site: Site) -> tuple[Bodies, list[Problem]]:
    md = MarkdownRenderer()

    def render(text: str, source: str, body_line: int, page_url: str, owner: str,
               upline: Upline | None) -> Rendered:
        rendered = md.render(text, source=source, body_line=body_line, page_url=page_url,
                             owner=owner, targets=site.targets)
        if site.config.safe or (upline is not None and not upline.trusted):
            rendered = replace(rendered, html=sanitize(rendered.html))
        return rendered

    lessons = {key: render(l.body, l.source, l.body_line, urls.lesson_url(key), key, l.upline)
               for key, l in site.lessons.items()}
    sections = {s.source: render(s.body, s.source, s.body_line, urls.lesson_url(s.target),
                                 s.target, s.upline)
                for group in site.sections.values() for s in group}
    notes = {l.source: render(l.note, l.source, l.note_line, urls.LIBRARY, l.source, l.upline)
             for l in site.links}
    problems = [p for r in (*lessons.values(), *sections.values(), *notes.values())
                for p in r.problems]
    problems += _check_anchors(site, lessons, sections, notes)
    problems += _check_placements(site, lessons)
    return Bodies(lessons, sections, notes), problems


def _check_anchors(site: Site, lessons: Mapping[str, Rendered], sections: Mapping[str, Rendered],
                   notes: Mapping[str, Rendered]) -> list[Problem]:
    """Every ``#anchor`` link must name a heading (or other id) of its target page."""
    by_url: dict[str, set[str]] = {}
    for key, rendered in lessons.items():
        by_url.setdefault(urls.lesson_url(key), set()).update(rendered.anchors)
    for group in site.sections.values():
        for s in group:
            by_url.setdefault(urls.lesson_url(s.target), set()).update(sections[s.source].anchors)
    problems = []
    checked: Iterable[tuple[str, str, int, Rendered]] = [
        *((l.source, l.body, l.body_line, lessons[k]) for k, l in site.lessons.items()),
        *((s.source, s.body, s.body_line, sections[s.source])
          for g in site.sections.values() for s in g),
        *((l.source, l.note, l.note_line, notes[l.source]) for l in site.links),
    ]
    for source, body, body_line, rendered in checked:
        for ref in rendered.anchor_refs:
            url = site.targets.get(ref.source)
            if url is None or url not in by_url:
                continue  # not a page with headings (a course, a static file): not checked
            if ref.fragment not in by_url[url]:
                problems.append(error(source, line_of(body, ref.href, body_line),
                                      f"link to '{ref.href}': there is no heading "
                                      f"'#{ref.fragment}' in {ref.source}"))
    return problems


def _check_placements(site: Site, lessons: Mapping[str, Rendered]) -> list[Problem]:
    problems = []
    for key, group in site.sections.items():
        for s in group:
            if s.placement.startswith("after:") and s.placement[6:] not in lessons[key].anchors:
                problems.append(error(s.source, s.line, f"placement '{s.placement}': lesson "
                                      f"'{key}' has no heading '#{s.placement[6:]}'"))
    return problems


_HEADING = re.compile(r"<h([1-6])\b[^>]*\bid=\"([^\"]+)\"")


def place_sections(body: str, blocks: list[tuple[Section, Markup]]) -> Markup:
    """Insert upline sections into a lesson body at their placements."""
    start = [html for s, html in blocks if s.placement == "start"]
    end = [html for s, html in blocks if s.placement == "end"]
    for section, html in blocks:
        if not section.placement.startswith("after:"):
            continue
        anchor = section.placement[6:]
        match = next((m for m in _HEADING.finditer(body) if m.group(2) == anchor), None)
        if match is None:
            end.append(html)
            continue
        level = int(match.group(1))
        cut = len(body)
        for later in _HEADING.finditer(body, match.end()):
            if int(later.group(1)) <= level:
                cut = later.start()
                break
        body = body[:cut] + html + "\n" + body[cut:]
    return Markup("\n".join([*start, body, *end]))
