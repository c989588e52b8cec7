"""The persistent cache of rendered Markdown, in ``.trainkit-cache/`` inside the source.

Markdown is most of a build's cost, so a body whose text, place and link targets are
unchanged is not rendered again. Entries are keyed by a hash of everything the
rendering reads; the trainkit and Markdown versions name the file, so an upgrade starts
afresh. The cache never changes results, and deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import markdown

from . import __version__

if TYPE_CHECKING:
    from .markdown_ext import Rendered
    from .render import BodyJob

CACHE_DIR = ".trainkit-cache"


def job_key(job: "BodyJob") -> str:
    digest = hashlib.sha256()
    for part in (job.text, job.source, str(job.body_line), job.page_url, job.owner,
                 str(job.sanitize)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass(slots=True)
class BodyCache:
    """Rendered bodies by job key; ``used`` collects what this build needed."""

    file: Path | None
    """Where it is kept (None: in memory only, as in tests)."""
    entries: dict[str, "Rendered"] = field(default_factory=dict)
    used: dict[str, "Rendered"] = field(default_factory=dict)
    changed: bool = False
    index_file: Path | None = None
    """Where the last search index is kept, with the hash of the pages it indexed."""
    index: tuple[str, dict[str, bytes]] | None = None
    index_changed: bool = False

    @classmethod
    def open(cls, source: Path) -> "BodyCache":
        name = f"bodies-{__version__}-md{markdown.__version__}.pickle"
        file = source / CACHE_DIR / name
        try:
            with file.open("rb") as f:
                entries = pickle.load(f)
            if not isinstance(entries, dict):
                entries = {}
        except Exception:  # a missing, old or damaged cache is simply rebuilt
            entries = {}
        index_file = source / CACHE_DIR / f"search-{__version__}.pickle"
        try:
            with index_file.open("rb") as f:
                key, files = pickle.load(f)
            index = (str(key), dict(files))
        except Exception:
            index = None
        return cls(file, entries, index_file=index_file, index=index)

    def get(self, key: str, targets: Mapping[str, str]) -> "Rendered | None":
        found = self.entries.get(key)
        if found is None or not found.still_valid(targets):
            return None
        self.used[key] = found
        return found

    def put(self, key: str, rendered: "Rendered") -> None:
        self.used[key] = rendered
        self.changed = True

    def search_index(self, key: str) -> dict[str, bytes] | None:
        """The search index files made last time from pages hashing to ``key``."""
        return self.index[1] if self.index is not None and self.index[0] == key else None

    def put_search_index(self, key: str, files: dict[str, bytes]) -> None:
        self.index, self.index_changed = (key, files), True

    def index_payload(self) -> bytes | None:
        if not self.index_changed or self.index is None:
            return None
        return pickle.dumps(self.index, protocol=pickle.HIGHEST_PROTOCOL)

    def payload(self) -> bytes | None:
        """What to save (only what this build used, so stale entries go), or None
        when nothing changed."""
        if not self.changed and len(self.used) == len(self.entries):
            return None
        return pickle.dumps(self.used, protocol=pickle.HIGHEST_PROTOCOL)
