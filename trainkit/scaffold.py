"""``trainkit new``: a small, working, commented site to start from."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .problems import UsageError

GITIGNORE = "# The built site and trainkit's cache are made again by `trainkit build`.\n/site/\n.trainkit-cache/\n"


def scaffold(directory: Path) -> list[Path]:
    """Write the starter site into ``directory`` (which must be empty or new)."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise UsageError(f"{directory} already exists and is not empty; "
                         "choose a new folder so nothing of yours is overwritten")
    written = []
    root = resources.files("trainkit") / "scaffold"
    for name, data in sorted(_files(root, "")):
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    (directory / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    written.append(directory / ".gitignore")
    return written


def _files(folder, prefix: str):  # type: ignore[no-untyped-def]
    for entry in folder.iterdir():
        if entry.name.startswith(("__", ".")):
            continue
        name = f"{prefix}{entry.name}"
        if entry.is_dir():
            yield from _files(entry, name + "/")
        else:
            yield name, entry.read_bytes()
