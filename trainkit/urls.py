"""The output URL layout (SPEC.md, "Output") and relative URLs between pages.

Page URLs are directories ending in ``/`` relative to the site root (``courses/a/b/``);
the file written for one is its ``index.html``. Every link in the site is relative, so
the site works from any sub-path.
"""

from __future__ import annotations

import posixpath

HOME = ""
LIBRARY = "links/"
SEARCH = "search/"
FEED = "feed.xml"
ASSETS = "_trainkit/"
"""Where the theme's CSS and JS go in the output."""


def course_url(course: str) -> str:
    return f"courses/{course}/"


def lesson_url(key: str) -> str:
    """``<course>/<lesson>`` → ``courses/<course>/<lesson>/``."""
    return f"courses/{key}/"


def lesson_key(url: str) -> str | None:
    """The ``<course>/<lesson>`` whose page :func:`lesson_url` puts at ``url``, if any."""
    key = url.removeprefix("courses/").removesuffix("/")
    return key if key.count("/") == 1 and lesson_url(key) == url else None


def path_url(path: str) -> str:
    return f"paths/{path}/"


def output_file(url: str) -> str:
    """The file that serves a URL: ``courses/a/`` → ``courses/a/index.html``."""
    return url + "index.html" if url == "" or url.endswith("/") else url


def relative(from_url: str, to_url: str) -> str:
    """A relative link from the page at ``from_url`` to ``to_url`` (both root-relative).

    >>> relative("courses/a/b/", "courses/a/c/")
    '../c/'
    """
    base = from_url if from_url.endswith("/") else posixpath.dirname(from_url)
    path, _, fragment = to_url.partition("#")
    target_dir, name = (path, "") if path.endswith("/") or not path else posixpath.split(path)
    rel = _relpath(target_dir, base)
    rel = "" if rel == "." else rel + "/"
    if name:
        rel += name
    rel = rel or "./"
    return rel + (f"#{fragment}" if fragment else "")


def _relpath(target: str, start: str) -> str:
    """``posixpath.relpath("/" + target, "/" + start)`` for plain folder paths, in a
    fraction of its time (it runs about ten times per page)."""
    to = [part for part in target.split("/") if part]
    base = [part for part in start.split("/") if part]
    if "." in to or ".." in to or "." in base or ".." in base:
        return posixpath.relpath("/" + target, "/" + start)
    common = 0
    for a, b in zip(to, base):
        if a != b:
            break
        common += 1
    return "/".join([".."] * (len(base) - common) + to[common:]) or "."


def root_of(from_url: str) -> str:
    """The relative path from a page to the site root (``../../``, or ``./``)."""
    return relative(from_url, "")
