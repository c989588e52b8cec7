"""Themes: where templates and assets come from.

Lookup order for a template: the site's own ``themes/<name>/templates``, then the
built-in default theme. An override can extend the template it replaces with
``{% extends "default/lesson.html" %}``. Assets (CSS, JS, images) follow the same order
and are written to ``_trainkit/`` in the output.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING


from .problems import UsageError

if TYPE_CHECKING:
    import jinja2

PACKAGE_DIR = Path(__file__).resolve().parent


def default_theme_dir() -> Path:
    """The built-in theme: inside the installed package, or at the repository root
    when trainkit runs from a source checkout."""
    for candidate in (PACKAGE_DIR / "themes" / "default", PACKAGE_DIR.parent / "themes" / "default"):
        if (candidate / "templates").is_dir():
            return candidate
    raise UsageError("trainkit's default theme is missing from this installation; reinstall trainkit")


@dataclass(frozen=True, slots=True)
class Theme:
    """The folders a site's theme is made of, most specific first."""

    name: str
    folders: tuple[Path, ...]

    def template_dirs(self) -> list[str]:
        return [str(f / "templates") for f in self.folders if (f / "templates").is_dir()]

    def assets(self) -> dict[str, Path]:
        """Output name (relative to ``_trainkit/``) → the file that provides it."""
        found: dict[str, Path] = {}
        for folder in reversed(self.folders):
            top = folder / "assets"
            if top.is_dir():
                for file in sorted(top.rglob("*")):
                    if file.is_file() and not file.name.startswith("."):
                        found[file.relative_to(top).as_posix()] = file
        return dict(sorted(found.items()))

    def fingerprint(self) -> str:
        """A hash of every template and asset, for caches keyed on the theme."""
        digest = hashlib.sha256()
        for folder in self.folders:
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    digest.update(file.relative_to(folder).as_posix().encode())
                    digest.update(file.read_bytes())
        return digest.hexdigest()


def find_theme(source: Path, name: str) -> Theme:
    default = default_theme_dir()
    own = source / "themes" / name
    if name != "default" and not own.is_dir():
        raise UsageError(f"trainkit.yaml: theme '{name}' not found (expected a folder "
                         f"themes/{name}/ with templates/)")
    folders = (own, default) if own.is_dir() and own.resolve() != default.resolve() else (default,)
    return Theme(name, folders)


def environment(theme: Theme, compiled: Path | None = None) -> jinja2.Environment:
    """The theme's templates; with ``compiled``, a folder where Jinja keeps each
    template compiled, by the hash of its text (compiling the theme's took 0.1 s of
    every build)."""
    import jinja2

    default = default_theme_dir()
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(theme.template_dirs()),
        jinja2.PrefixLoader({"default": jinja2.FileSystemLoader(str(default / "templates"))}),
    ])
    bytecode = None
    if compiled is not None:
        try:
            compiled.mkdir(parents=True, exist_ok=True)
            bytecode = jinja2.FileSystemBytecodeCache(str(compiled))
        except OSError:
            pass  # (compiled each time, as without a cache)
    env = jinja2.Environment(
        loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        bytecode_cache=bytecode,
        # A theme's edit makes a new environment (its fingerprint changes: see
        # BodyCache.environment), so Jinja need not stat each template again on every
        # page: 21,000 stats in a 10,000-lesson build.
        auto_reload=False,
    )
    env.filters["minutes"] = format_minutes
    return env


def format_minutes(total: int | None) -> str:
    """``95`` → ``1 h 35 min``."""
    if not total:
        return ""
    hours, minutes = divmod(int(total), 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"
