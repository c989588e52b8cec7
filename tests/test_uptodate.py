"""A build with nothing changed since the last one renders and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainkit import uptodate

WARNED = {"courses/basics/welcome.md": "---\ntitle: Welcome\ntitel: Oops\n---\nHello.\n"}


@pytest.fixture
def trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust files saved just now too (normally a file saved in the two seconds before a
    build is always looked at again), so a test need not wait."""
    monkeypatch.setattr(uptodate, "RECENT_NS", -1)


def _mtimes(out: Path) -> dict[str, int]:
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*")
            if p.is_file()}


def test_nothing_changed_means_nothing_is_done(make_site, cli, tmp_path, trusted):
    source, out = make_site(WARNED), tmp_path / "out"
    first = cli("build", "--source", source, "--out", out)
    assert first.exit_code == 0 and "Built 9 pages" in first.output
    before = _mtimes(out)
    again = cli("build", "--source", source, "--out", out)
    assert again.exit_code == 0
    assert "Nothing changed since the last build: 9 pages (1 course, 2 lessons)" in again.output
    assert "welcome.md:3: warning: unknown key 'titel'" in again.output  # said again
    assert _mtimes(out) == before


@pytest.mark.parametrize("change", ["edit", "theme", "output", "strict", "other-out"])
def test_any_change_builds_again(make_site, cli, tmp_path, trusted, change):
    source, out = make_site(WARNED), tmp_path / "out"
    assert cli("build", "--source", source, "--out", out).exit_code == 0
    args = ["build", "--source", source, "--out", out]
    if change == "edit":
        lesson = source / "courses/basics/second.md"
        lesson.write_text(lesson.read_text() + "\nA brand new line.\n")
    elif change == "theme":
        (source / "themes/default/templates").mkdir(parents=True)
        (source / "themes/default/templates/404.html").write_text(
            '{% extends "default/404.html" %}{% block title %}Lost here{% endblock %}')
    elif change == "output":
        (out / "courses/basics/second/index.html").unlink()
    elif change == "strict":
        args.append("--strict")
    else:
        args[-1] = tmp_path / "elsewhere"
    result = cli(*args)
    assert "Nothing changed" not in result.output
    if change == "strict":  # the warning now fails the build
        assert result.exit_code == 1
        return
    assert result.exit_code == 0 and "Built 9 pages" in result.output
    built = Path(args[-1])
    lesson = (built / "courses/basics/second/index.html").read_text()
    assert ("A brand new line." in lesson) == (change == "edit")
    if change == "theme":
        assert "Lost here" in (built / "404.html").read_text()


def test_an_upgraded_dependency_builds_again(make_site, cli, tmp_path, trusted, monkeypatch):
    """After ``pip install -U markdown`` (or nh3, Jinja, PyYAML, Pagefind), the site is
    built again, not reported unchanged: the new version may render it differently."""
    package = tmp_path / "libs/fake_markdown"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("VERSION = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "libs"))
    monkeypatch.setattr(uptodate, "DEPENDENCIES", ("fake_markdown",))
    source, out = make_site(WARNED), tmp_path / "out"
    assert cli("build", "--source", source, "--out", out).exit_code == 0
    assert "Nothing changed" in cli("build", "--source", source, "--out", out).output
    (package / "__init__.py.new").write_text("VERSION = 2\n")  # as pip writes it: anew
    (package / "__init__.py.new").replace(package / "__init__.py")
    again = cli("build", "--source", source, "--out", out)
    assert again.exit_code == 0 and "Built 9 pages" in again.output


def test_a_file_saved_just_before_a_build_is_looked_at_next_time(make_site, cli, tmp_path):
    # Without the fixture: every file was saved a moment ago, within the file system's
    # timestamp resolution of what the build read, so none is trusted to be unchanged.
    source, out = make_site(), tmp_path / "out"
    assert cli("build", "--source", source, "--out", out).exit_code == 0
    again = cli("build", "--source", source, "--out", out)
    assert again.exit_code == 0 and "Built 9 pages" in again.output


def test_only_the_files_saved_just_before_a_build_are_taken_as_changed(make_site, cli,
                                                                      tmp_path, monkeypatch):
    """The others' stat is still recorded: the next build knows that only those changed
    (it then starts no Markdown workers for a one-lesson edit of a large site)."""
    import time

    source, out = make_site(), tmp_path / "out"
    cutoff = time.time_ns()
    monkeypatch.setattr(uptodate, "settled", lambda changed_ns, at_ns=None: changed_ns < cutoff)
    time.sleep(0.05)  # (file times come from a coarser clock)
    lesson = source / "courses/basics/second.md"
    lesson.write_text(lesson.read_text() + "\nSaved just now.\n")
    args = ("build", "--source", source, "--out", out)
    assert "Built 9 pages" in cli(*args).output
    looked = uptodate.look(source, out, False)
    assert not looked.unchanged and looked.changed(".md") == 1
    assert "Built 9 pages" in cli(*args).output  # (it is looked at again)
    assert "Saved just now." in (out / "courses/basics/second/index.html").read_text()


@pytest.mark.parametrize("spare", ["kept", "deleted"])
def test_the_output_recorded_is_the_output_as_it_is_after_an_edit(make_site, cli, tmp_path,
                                                                  trusted, monkeypatch, spare):
    """The stat of each output file is recorded as it is written or kept, so that a
    build after an edit need not look at every file again; when the previous site had
    to be deleted rather than kept for the next build (its links to the new site's files
    going changed their stat), the files are looked at."""
    from trainkit import write

    if spare == "deleted":  # (another spare is there already, so the old site goes)
        swap = write._swap
        monkeypatch.setattr(write, "_swap", lambda staging, out, to: (
            to.mkdir(parents=True, exist_ok=True), swap(staging, out, to))[1])
    source, out = make_site(WARNED), tmp_path / "out"
    args = ("build", "--source", source, "--out", out)
    assert cli(*args).exit_code == 0
    lesson = source / "courses/basics/second.md"
    for line in ("One more line.", "And another."):  # (the second writes into the spare)
        lesson.write_text(lesson.read_text() + f"\n{line}\n")
        assert "Built 9 pages" in cli(*args).output
        assert uptodate.last(source, out).output == uptodate.output_stamps(out)
    assert "Nothing changed" in cli(*args).output
