"""Writing the built site: the only module that changes anything on disk.

The new site is written into a temporary folder beside the output and swapped in only
when complete, so readers (and ``serve``) never see half a site and a failed build
leaves the previous one untouched. Files whose bytes did not change are hard-linked
from the previous build, so they keep their modification time.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .problems import UsageError
from .render import Page

MARKER = ".trainkit-site"
"""Written into every output folder; trainkit only ever replaces a folder that has it."""
SOURCE_FOLDERS = ("courses", "links", "paths", "uplines", "versions", "static", "themes",
                  "sections", "trainkit.yaml", ".git")


@dataclass(frozen=True, slots=True)
class WriteStats:
    written: int
    """Files whose bytes changed (or are new)."""
    unchanged: int
    """Files identical to the previous build, kept as they were."""


def check_out_dir(source: Path, out: Path) -> None:
    """Refuse an output folder that would overwrite or delete what the author wrote."""
    src, dst = source.resolve(), out.resolve()
    if dst == src or dst in src.parents:
        raise UsageError(f"--out {out} would replace the folder holding your site; "
                         "choose a folder of its own, such as site/")
    if src in dst.parents and dst.relative_to(src).parts[0] in SOURCE_FOLDERS:
        raise UsageError(f"--out {out} is inside your content ({dst.relative_to(src).parts[0]}/); "
                         "choose a folder of its own, such as site/")
    if dst.exists() and not dst.is_dir():
        raise UsageError(f"--out {out} is a file; choose a folder")
    if dst.is_dir() and any(dst.iterdir()) and not (dst / MARKER).exists():
        raise UsageError(f"--out {out} already holds files that trainkit did not write; "
                         "refusing to replace it (choose another folder, or empty it yourself)")


def write_site(out: Path, pages: Iterable[Page], copies: Iterable[tuple[Path, str]]) -> WriteStats:
    """Write pages and copy files (source path, output name) as the new ``out``."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.new-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    written = unchanged = 0
    made: set[Path] = set()
    try:
        for name, data in _entries(pages, copies):
            target = staging / name
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            if _keep_previous(out / name, target, data):
                unchanged += 1
            else:
                data.write_to(target)
                written += 1
        (staging / MARKER).write_text("This folder is written by `trainkit build`; "
                                      "it is replaced on every build.\n", encoding="utf-8")
        _swap(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return WriteStats(written, unchanged)


class _Data:
    """Bytes to write, either held in memory or read from a source file."""

    def __init__(self, content: bytes | None = None, file: Path | None = None) -> None:
        self.content, self.file = content, file

    def read(self) -> bytes:
        return self.content if self.content is not None else self.file.read_bytes()  # type: ignore[union-attr]

    def size(self) -> int:
        return len(self.content) if self.content is not None else self.file.stat().st_size  # type: ignore[union-attr]

    def write_to(self, target: Path) -> None:
        if self.content is not None:
            target.write_bytes(self.content)
        else:
            shutil.copyfile(self.file, target)  # type: ignore[arg-type]


def _entries(pages: Iterable[Page], copies: Iterable[tuple[Path, str]]):  # type: ignore[no-untyped-def]
    for page in pages:
        yield page.path, _Data(content=page.content)
    for file, name in copies:
        yield name, _Data(file=file)


def _keep_previous(previous: Path, target: Path, data: _Data) -> bool:
    """Hard-link the previous build's file when its bytes are the same."""
    try:
        if previous.stat().st_size != data.size() or previous.read_bytes() != data.read():
            return False
        os.link(previous, target)
        return True
    except OSError:
        return False


def _swap(staging: Path, out: Path) -> None:
    if not out.exists():
        staging.rename(out)
        return
    retired = out.parent / f".{out.name}.old-{os.getpid()}"
    if retired.exists():
        shutil.rmtree(retired)
    out.rename(retired)
    staging.rename(out)
    shutil.rmtree(retired, ignore_errors=True)


def save_cache(file: Path | None, payload: bytes | None) -> None:
    """Replace a cache file atomically; a cache that cannot be written is no error."""
    if file is None or payload is None:
        return
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        if not (file.parent / "CACHEDIR.TAG").exists():
            (file.parent / "CACHEDIR.TAG").write_text(
                "Signature: 8a477f597d28d172789f06886806bc55\n"
                "# trainkit's cache: safe to delete, made again by the next build.\n")
        staging = file.with_name(f".{file.name}.{os.getpid()}")
        staging.write_bytes(payload)
        staging.replace(file)
    except OSError:
        pass
