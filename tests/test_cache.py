"""The persistent Markdown cache never changes results."""

from __future__ import annotations

import shutil
from pathlib import Path

from trainkit.build import build
from trainkit.cache import CACHE_DIR


def _files(out: Path) -> dict[str, bytes]:
    """Every output file but Pagefind's (two fresh indexes of the same pages may order
    their filter files differently; reusing the index is tested below)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not p.relative_to(out).as_posix().startswith("pagefind/")}


def test_a_cached_build_is_byte_identical_to_a_clean_one(make_site, tmp_path):
    source = make_site({
        "courses/basics/third.md": "---\ntitle: Third\n---\nSee [welcome](welcome.md#first-steps).\n",
        "courses/basics/course.yaml": "title: Basics\nlessons: [welcome, second, third]\n",
    })
    build(source, tmp_path / "warm", jobs=1)
    assert any((source / CACHE_DIR).glob("bodies-*.pickle"))
    # Edit one lesson and rename the heading another links to: both must re-render.
    welcome = source / "courses/basics/welcome.md"
    welcome.write_text(welcome.read_text().replace("First steps", "First moves"))
    (source / "courses/basics/third.md").write_text(
        "---\ntitle: Third\n---\nSee [welcome](welcome.md#first-moves).\n")
    build(source, tmp_path / "warm", jobs=1)
    shutil.rmtree(source / CACHE_DIR)
    build(source, tmp_path / "clean", jobs=1)
    warm, clean = _files(tmp_path / "warm"), _files(tmp_path / "clean")
    assert warm == clean
    assert b"First moves" in warm["courses/basics/welcome/index.html"]


def test_a_cached_lesson_still_fails_when_its_link_target_disappears(make_site, tmp_path, cli):
    source = make_site({
        "courses/basics/second.md": "---\ntitle: Second\n---\nBack to [welcome](welcome.md).\n",
    })
    assert cli("build", "--source", source, "--out", tmp_path / "out").exit_code == 0
    (source / "courses/basics/welcome.md").unlink()
    (source / "courses/basics/course.yaml").write_text("title: Basics\nlessons: [second]\n")
    result = cli("build", "--source", source, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "courses/basics/second.md:4: error: link to 'welcome.md'" in result.output


def test_the_search_index_is_reused_only_while_the_pages_are_unchanged(make_site, tmp_path):
    source = make_site()
    out = tmp_path / "out"
    build(source, out, jobs=1)
    entry = (out / "pagefind/pagefind-entry.json").read_bytes()
    build(source, out, jobs=1)
    assert (out / "pagefind/pagefind-entry.json").read_bytes() == entry
    lesson = source / "courses/basics/second.md"
    lesson.write_text(lesson.read_text() + "\nZanzibar is a word no other lesson has.\n")
    build(source, out, jobs=1)
    assert (out / "pagefind/pagefind-entry.json").read_bytes() != entry
