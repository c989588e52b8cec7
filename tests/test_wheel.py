"""The built wheel carries the default theme, so a plain (non-editable) install builds
sites. Runs in CI with the rest of the suite; it takes a few seconds.

The wheel is built from a copy of the project (the checkout stays clean). When the
installed setuptools can build wheels by itself, the build is not isolated, so nothing is
downloaded; otherwise ``build`` fetches the build backend the way ``pip install`` does.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
THEME = "trainkit/themes/default/"


def _can_build_offline() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("build") is None:
        pytest.fail("the 'build' package is missing: pip install -e '.[test]'")
    project = tmp_path_factory.mktemp("project")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, project / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("trainkit", "themes"):
        shutil.copytree(REPO / name, project / name, ignore=ignore)
    dist = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(project)]
    if _can_build_offline():
        command.insert(4, "--no-isolation")
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [built] = dist.glob("trainkit-*.whl")
    return built


def test_wheel_contains_the_default_theme(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("templates/base.html", "templates/lesson.html", "templates/home.html",
                 "templates/course.html", "templates/library.html", "templates/404.html",
                 "templates/partials/reading.html", "assets/style.css"):
        assert THEME + name in names


def test_wheel_contains_the_scaffold_and_the_console_script(wheel):
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    assert "trainkit/scaffold/trainkit.yaml" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "trainkit = trainkit.cli:main" in archive.read(entry_points).decode()


def test_wheel_does_not_ship_the_sample_site_or_tests(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.startswith(("courses/", "tests/", "links/", "site/"))]


def test_installed_wheel_builds_a_site_outside_the_checkout(wheel, tmp_path):
    """Unpacked (as pip would install it) and run from elsewhere, trainkit finds its
    theme inside the package, not at the repository root."""
    installed = tmp_path / "installed"
    zipfile.ZipFile(wheel).extractall(installed)
    env = {**os.environ, "PYTHONPATH": str(installed)}
    script = ("import sys, trainkit, trainkit.theme as t; print(trainkit.__file__); "
              "print(t.default_theme_dir()); from trainkit.cli import main; "
              "sys.argv = ['trainkit'] + sys.argv[1:]; main()")
    new = subprocess.run([sys.executable, "-c", script, "new", "site-src"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, env=env)
    assert new.returncode == 0, new.stderr
    where, theme = new.stdout.splitlines()[:2]
    assert where.startswith(str(installed)) and theme.startswith(str(installed))
    built = subprocess.run([sys.executable, "-c", script, "build", "--source", "site-src",
                            "--out", "out"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=120, env=env)
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "out/_trainkit/style.css").is_file()
    assert "<!doctype html>" in (tmp_path / "out/index.html").read_text(encoding="utf-8")
