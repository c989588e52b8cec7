"""Checklist items at build level: stable ids, source ticks, what progress needs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

LESSON = "courses/basics/welcome.md"
HEADER = "---\ntitle: Welcome\n---\n"


def build_lesson(make_site, cli, body: str) -> str:
    src = make_site({LESSON: HEADER + body})
    result = cli("build", "--source", src)
    assert result.exit_code == 0, result.output
    return (src / "site/courses/basics/welcome/index.html").read_text(encoding="utf-8")


class _Boxes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, tuple[str, bool]] = {}
        self._box: dict[str, str | None] | None = None
        self._label: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("type") == "checkbox" and a.get("data-task"):
            assert a["id"] == f"task-{a['data-task']}"
            self._box = a
        elif tag == "label" and self._box is not None:
            assert a["for"] == self._box["id"]
            self._label = ""

    def handle_data(self, data: str) -> None:
        if self._label is not None:
            self._label += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._box is not None and self._label is not None:
            self.found[self._label] = (str(self._box["data-task"]), "checked" in self._box)
            self._box = self._label = None


def checklist(html: str) -> dict[str, tuple[str, bool]]:
    """Each checkbox's label text → (its item id, ticked in the source)."""
    parser = _Boxes()
    parser.feed(html)
    return parser.found


def boxes(html: str) -> dict[str, str]:
    """Each checkbox's label text → its item id."""
    return {text: ident for text, (ident, _) in checklist(html).items()}


def test_editing_one_item_keeps_the_other_ids(make_site, cli):
    before = boxes(build_lesson(make_site, cli, "- [ ] Call Ann\n- [ ] Call Bob\n"))
    after = boxes(build_lesson(make_site, cli, "- [ ] Call Ann today\n- [ ] Call Bob\n"))
    assert after["Call Bob"] == before["Call Bob"]
    assert after["Call Ann today"] != before["Call Ann"]


def test_ids_do_not_depend_on_order_or_position(make_site, cli):
    before = boxes(build_lesson(make_site, cli, "- [ ] Call Ann\n- [ ] Call Bob\n"))
    after = boxes(build_lesson(make_site, cli, "Intro.\n\n- [ ] New first\n- [ ] Call Bob\n"
                                              "- [ ] Call Ann\n"))
    assert after["Call Ann"] == before["Call Ann"] and after["Call Bob"] == before["Call Bob"]


def test_source_tick_renders_checked(make_site, cli, tmp_path):
    found = checklist(build_lesson(make_site, cli, "- [x] Done already\n- [ ] Still to do\n"))
    assert found["Done already"][1] is True
    assert found["Still to do"][1] is False
    course = (tmp_path / "src/site/courses/basics/index.html").read_text()
    tasks = re.search(r'data-lesson="basics/welcome"[^>]* data-tasks="([^"]*)"', course)
    assert tasks and tasks[1] == f"+{found['Done already'][0]} {found['Still to do'][0]}"


def test_lesson_hash_changes_with_content_only(make_site, cli, tmp_path):
    def hash_of(body: str) -> tuple[str, str]:
        html = build_lesson(make_site, cli, body)
        course = (tmp_path / "src/site/courses/basics/index.html").read_text()
        lesson = re.search(r'<article[^>]* data-hash="(\w+)"', html)
        item = re.search(r'data-lesson="basics/welcome" data-hash="(\w+)"', course)
        assert lesson and item and lesson.group(1) == item.group(1)
        return lesson.group(1), course

    first, _ = hash_of("Hello.\n\n- [ ] Call Ann\n")
    again, course = hash_of("Hello.\n\n- [ ] Call Ann\n")
    changed, _ = hash_of("Hello, team.\n\n- [ ] Call Ann\n")
    assert first == again != changed
    assert 'data-tasks="' in course and "+" not in re.search(r'data-tasks="([^"]*)"', course)[1]


def test_progress_ui_is_hidden_without_javascript(make_site, cli, tmp_path):
    html = build_lesson(make_site, cli, "- [x] One\n- [ ] Two\n")
    assert re.search(r'<div class="lesson-progress" hidden>', html)
    assert re.search(r'<p class="review-flag" hidden>', html)
    home = (tmp_path / "src/site/index.html").read_text()
    assert re.search(r'<section class="your-progress"[^>]* hidden>', home)
    assert re.search(r'<html [^>]*data-site="\w+"', home)
