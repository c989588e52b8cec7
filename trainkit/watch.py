"""Watching a site's source for saves, for ``trainkit serve``.

Editors do not simply write a file: Vim renames the old one away and writes a new one
(after probing the folder with a file called ``4913``), JetBrains writes
``x___jb_tmp___`` and renames it over, Emacs makes ``.#x`` lock links and ``#x#``
autosaves, gedit writes ``.goutputstream-*``, ``sed -i`` writes ``sedXXXXXX``, and a
``git checkout`` touches hundreds of files at once. :func:`is_ignored` drops the
temporary names, and :class:`ChangeQueue` turns each burst into one rebuild: it waits
for a short quiet period, but never longer than a second in all.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from watchdog.events import (DirCreatedEvent, DirDeletedEvent, DirModifiedEvent, DirMovedEvent,
                             FileClosedEvent, FileCreatedEvent, FileDeletedEvent,
                             FileModifiedEvent, FileMovedEvent, FileSystemEvent,
                             FileSystemEventHandler)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

IGNORED_FOLDERS = frozenset({"site", "__pycache__", "node_modules"})
"""Top-level folders that are not content: ``site/`` is the default build output.
(Hidden folders such as ``.git`` and ``.trainkit-cache`` are ignored everywhere.)"""

_TEMP_SUFFIXES = ("~", ".swp", ".swx", ".swo", ".tmp", ".bak", "___jb_tmp___",
                  "___jb_old___", ".crswap")
_SED_TEMP = re.compile(r"^sed[A-Za-z0-9]{6}$")
_CHANGE_EVENTS = frozenset({"created", "deleted", "modified", "moved", "closed"})
"""Reads by the build itself cause ``opened``/``closed_no_write`` events: never a change."""
_WATCHED = [FileCreatedEvent, DirCreatedEvent, FileDeletedEvent, DirDeletedEvent,
            FileModifiedEvent, DirModifiedEvent, FileMovedEvent, DirMovedEvent, FileClosedEvent]
"""What the observer asks the system for: not the opens and reads of every file each
rebuild makes (thousands of events, handled while the rebuild runs)."""


def is_ignored(relative: str) -> bool:
    """Whether a path (relative to the source, with ``/``) is not content worth a rebuild."""
    parts = [p for p in relative.split("/") if p]
    if not parts or parts[0] in IGNORED_FOLDERS:
        return True
    if any(p.startswith(".") for p in parts):  # .git, .#lock, .goutputstream-*, .x.swp
        return True
    name = parts[-1]
    return (name == "4913" or name.endswith(_TEMP_SUFFIXES)
            or (name.startswith("#") and name.endswith("#")) or bool(_SED_TEMP.match(name)))


class ChangeQueue:
    """Collects changed paths and hands them out a burst at a time."""

    def __init__(self, quiet: float = 0.1, longest: float = 1.0) -> None:
        self.quiet, self.longest = quiet, longest
        self._pending: set[str] = set()
        self._first = self._last = 0.0
        self._cond = threading.Condition()

    def add(self, path: str) -> None:
        with self._cond:
            now = time.monotonic()
            if not self._pending:
                self._first = now
            self._pending.add(path)
            self._last = now
            self._cond.notify_all()

    def wait(self, stop: threading.Event) -> set[str] | None:
        """The next burst of changes once it has settled, or None when ``stop`` is set.

        Changes that arrive while the caller rebuilds are kept for the next call, so the
        last save always gets a rebuild of its own.
        """
        with self._cond:
            while not self._pending:
                if stop.is_set():
                    return None
                self._cond.wait(0.25)
            while True:
                now = time.monotonic()
                left = min(self._last + self.quiet, self._first + self.longest) - now
                if left <= 0 or stop.is_set():
                    break
                self._cond.wait(left)
            changes, self._pending = self._pending, set()
            return changes


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: "Watcher") -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _CHANGE_EVENTS:
            return
        if event.is_directory and event.event_type in ("modified", "closed"):
            return  # a folder's mtime changes with every file made in it
        for path in (event.src_path, getattr(event, "dest_path", "")):
            if path:
                self.watcher.seen(Path(str(path)), event)


class Watcher:
    """A watchdog observer over a site's source, feeding a :class:`ChangeQueue`.

    The root is watched on its own and each top-level content folder recursively, so
    the build output (``site/``, possibly thousands of folders) and ``.git`` cost no
    watches; a top-level folder that appears later (``git checkout``) is added then.
    """

    def __init__(self, source: Path, queue: ChangeQueue) -> None:
        self.source = source.resolve()
        self.queue = queue
        self._handler = _Handler(self)
        self._observer: BaseObserver = Observer()
        self._folders: dict[str, ObservedWatch] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self._observer.schedule(self._handler, str(self.source), recursive=False,
                                event_filter=_WATCHED)
        for child in sorted(self.source.iterdir()):
            if child.is_dir() and not is_ignored(child.name):
                self._watch_folder(child.name)
        self._observer.daemon = True
        self._observer.start()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=2)

    def seen(self, path: Path, event: FileSystemEvent) -> None:
        try:
            relative = path.relative_to(self.source).as_posix()
        except ValueError:
            return
        if is_ignored(relative):
            return
        if "/" not in relative and event.is_directory and event.event_type in ("created", "moved"):
            if (self.source / relative).is_dir():
                self._watch_folder(relative)
        self.queue.add(relative)

    def _watch_folder(self, name: str) -> None:
        """(Re)watch a top-level folder; a folder deleted and made again needs a new watch."""
        with self._lock:
            old = self._folders.pop(name, None)
            if old is not None:
                try:
                    self._observer.unschedule(old)
                except (KeyError, OSError):
                    pass
            try:
                self._folders[name] = self._observer.schedule(
                    self._handler, str(self.source / name), recursive=True,
                    event_filter=_WATCHED)
            except OSError:
                pass  # gone again already; its deletion is an event of the root watch
