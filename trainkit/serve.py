"""``trainkit serve``: a live preview, rebuilt on every save and served from memory.

Each rebuild runs the same stages as ``trainkit build`` (:func:`trainkit.build.check`
with drafts), then the theme's assets and the static files are added, and the result is
kept as one immutable :class:`Snapshot` (output path → file). A new snapshot replaces
the old one under a lock, so a request during a rebuild gets a whole old or a whole new
page, and nothing is ever written to disk. When the content has errors the last good
snapshot stays, with the errors shown over every page.

Safety: binds 127.0.0.1 by default, serves only files of the built site, answers only
requests addressed to a loopback name or the bound address (against DNS rebinding),
GET and HEAD only.
"""

from __future__ import annotations

import errno
import hashlib
import html
import ipaddress
import json
import mimetypes
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
import webbrowser
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Mapping
from urllib.parse import unquote, urlsplit

import click

from . import urls
from .build import check, find_source
from .problems import Problem, UsageError, error, has_errors
from .watch import ChangeQueue, Watcher

INTERNAL = "/__trainkit/"
"""URLs of the preview itself (reload script, events); never part of a built site."""
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD = frozenset({"0.0.0.0", "::", ""})

_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".js": "text/javascript; charset=utf-8", ".json": "application/json",
          ".xml": "application/xml", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8",
          ".webmanifest": "application/manifest+json", ".woff2": "font/woff2",
          ".ico": "image/x-icon", ".pdf": "application/pdf"}


# --- what is served -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class File:
    """One file of the built site, in memory."""

    content: bytes
    etag: str
    stamp: tuple[int, int] | None = None
    """(mtime_ns, size) of the source file for copied files, to skip re-reading them."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the server answers with: replaced whole, never changed in place."""

    files: Mapping[str, File]
    """The last good build, by output path (``courses/a/index.html``)."""
    errors: tuple[str, ...] = ()
    """``PATH:LINE: error: MESSAGE`` lines of the latest rebuild, shown over every page."""
    generation: int = 0
    """Goes up whenever a page or the errors change; open pages reload when it does."""
    title: str = "trainkit"


def make_file(content: bytes, stamp: tuple[int, int] | None = None) -> File:
    return File(content, '"' + hashlib.blake2b(content, digest_size=12).hexdigest() + '"', stamp)


@dataclass(slots=True)
class RebuildResult:
    changed: list[str]
    pages: int
    problems: list[Problem]
    seconds: float
    failed: bool


@dataclass
class Preview:
    """The site being previewed: rebuilds it and holds the current snapshot."""

    source: Path
    instance: str = field(default_factory=lambda: secrets.token_hex(8))
    """Changes when the server restarts, so open pages reload then too."""
    snapshot: Snapshot = field(default_factory=lambda: Snapshot({}))
    closed: bool = False
    problems: list[Problem] = field(default_factory=list)
    """What the latest rebuild found."""
    streams: int = 0
    """Open event streams: one per browser (its SharedWorker), not one per tab."""
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def current(self) -> Snapshot:
        with self._cond:
            return self.snapshot

    def rebuild(self) -> RebuildResult:
        """Run the pipeline and swap in what changed. Never raises for bad content."""
        started = time.perf_counter()
        old = self.current()
        old_problems, self.problems = self.problems, []
        problems: list[Problem] = []
        files: dict[str, File] | None = None
        title = old.title
        try:
            site, pages, problems, theme = check(self.source, include_drafts=True)
            if site is not None:
                title = site.config.title
            if site is not None and theme is not None and not has_errors(problems):
                files = {page.path: _reuse(old.files.get(page.path), page.content)
                         for page in pages}
                copies = [(self.source / f.source, f.output) for f in site.static]
                copies += [(file, urls.ASSETS + name) for name, file in theme.assets().items()]
                for file, name in copies:
                    files[name] = _copy(old.files.get(name), file)
        except UsageError as exc:
            problems = [error("trainkit.yaml", 1, str(exc))]
        except Exception as exc:  # a bug must not stop the preview: show it, keep serving
            problems = [error("trainkit", 1, f"internal error while rebuilding: "
                              f"{type(exc).__name__}: {exc} (please report this)")]
            if problems != old_problems:  # the details once, not on every save
                traceback.print_exc()
        if files is not None:
            changed = sorted(p for p, f in files.items()
                             if p not in old.files or old.files[p].etag != f.etag)
            changed += sorted(set(old.files) - set(files))
        else:
            files, changed = dict(old.files), []
        self.problems = problems
        errors = tuple(p.format() for p in problems if p.severity == "error")
        self._swap(Snapshot(files, errors, old.generation, title), bool(changed))
        pages = sum(1 for p in changed if p.endswith(".html"))
        return RebuildResult(changed, pages, problems, time.perf_counter() - started,
                             bool(errors))

    def _swap(self, new: Snapshot, changed: bool) -> None:
        with self._cond:
            old = self.snapshot
            generation = old.generation + (1 if changed or new.errors != old.errors else 0)
            self.snapshot = Snapshot(new.files, new.errors, generation, new.title)
            self._cond.notify_all()

    def wait_for_change(self, generation: int, timeout: float) -> Snapshot:
        with self._cond:
            self._cond.wait_for(lambda: self.closed or self.snapshot.generation != generation,
                                timeout)
            return self.snapshot

    def count_stream(self, delta: int) -> None:
        with self._cond:
            self.streams += delta

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


def _reuse(old: File | None, content: bytes) -> File:
    """The previous file when its bytes are the same (no new hash, no reload)."""
    return old if old is not None and old.content == content else make_file(content)


def _copy(old: File | None, path: Path) -> File:
    """A static file or theme asset, read again only when its size or mtime changed."""
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    if old is not None and old.stamp == stamp:
        return old
    content = path.read_bytes()
    if old is not None and old.content == content:
        return File(old.content, old.etag, stamp)
    return make_file(content, stamp)


# --- the injected client ----------------------------------------------------------------

# Why a SharedWorker: browsers open at most ~6 HTTP/1.1 connections per host, so one
# EventSource per tab would leave twenty open tabs with no connection to load a page
# with (MkDocs' livereload hits exactly this). A SharedWorker is one per origin: it holds
# the only event stream and tells every tab the site's generation. Where there is no
# SharedWorker, tabs poll /__trainkit/status once a second instead: short requests that
# hold no connection. A tab reloads when the generation or the server instance differs
# from the one its page was served with (so it also catches up after a server restart);
# a tab in the background reloads when it is shown again.
LIVE_JS = r"""(function () {
  "use strict";
  var me = document.currentScript;
  var instance = me.dataset.instance, generation = me.dataset.generation, stale = false;
  function reload() {
    if (document.hidden) { stale = true; return; }
    location.reload();
  }
  document.addEventListener("visibilitychange", function () {
    if (stale && !document.hidden) location.reload();
  });
  function check(state) {
    if (state && (state.instance !== instance || String(state.generation) !== generation)) reload();
  }
  if (window.SharedWorker) {
    try {
      var worker = new SharedWorker("/__trainkit/worker.js", { name: "trainkit-live" });
      worker.port.onmessage = function (e) { check(e.data); };
      worker.port.start();
      window.addEventListener("pagehide", function () { worker.port.postMessage("bye"); });
      return;
    } catch (e) { /* fall through to polling */ }
  }
  (function poll() {
    fetch("/__trainkit/status", { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(check, function () {})
      .then(function () { setTimeout(poll, 1000); });
  })();
})();
"""

WORKER_JS = r""""use strict";
var ports = [], last = null, source = null;
function connect() {
  source = new EventSource("/__trainkit/events");
  source.onmessage = function (e) {
    last = JSON.parse(e.data);
    ports.forEach(function (p) { p.postMessage(last); });
  };
  source.onerror = function () {
    last = null;  // the server is gone or restarting: wait for its new state
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 1000);
  };
}
onconnect = function (e) {
  var port = e.ports[0];
  ports.push(port);
  port.onmessage = function (m) {
    if (m.data === "bye") ports = ports.filter(function (p) { return p !== port; });
  };
  port.start();
  if (last) port.postMessage(last);
};
connect();
"""

_OVERLAY_STYLE = (
    "#trainkit-errors{position:fixed;left:0;right:0;bottom:0;z-index:2147483647;"
    "max-height:60vh;overflow:auto;margin:0;padding:.8rem 1rem;background:#3b0d0c;"
    "color:#fff;font:14px/1.45 ui-monospace,Menlo,Consolas,monospace;"
    "box-shadow:0 -4px 16px rgba(0,0,0,.35);border-top:4px solid #e5484d}"
    "#trainkit-errors summary{cursor:pointer;font-weight:700;font-family:system-ui,sans-serif}"
    "#trainkit-errors pre{white-space:pre-wrap;margin:.5rem 0 0;font:inherit}"
    "#trainkit-errors p{margin:.4rem 0 0;font-family:system-ui,sans-serif;opacity:.85}")


def overlay(errors: tuple[str, ...], has_page: bool) -> str:
    count = len(errors)
    what = "the last good version is shown underneath" if has_page else "nothing to show yet"
    return (f"<style>{_OVERLAY_STYLE}</style>\n"
            f"<details id=\"trainkit-errors\" role=\"alert\" open><summary>trainkit: "
            f"{count} error{'' if count == 1 else 's'} in the content ({what})</summary>\n"
            f"<pre>{html.escape(chr(10).join(errors))}</pre>\n"
            "<p>Fix the file and save: this page reloads by itself.</p></details>\n")


def live_script(snapshot: Snapshot, instance: str) -> str:
    return (f"<script src=\"{INTERNAL}live.js\" data-instance=\"{instance}\" "
            f"data-generation=\"{snapshot.generation}\"></script>\n")


def inject(page: bytes, snippet: str) -> bytes:
    """Put the preview's snippet just before ``</body>`` (or at the end)."""
    at = page.rfind(b"</body>")
    data = snippet.encode("utf-8")
    return page + data if at < 0 else page[:at] + data + page[at:]


def error_page(snapshot: Snapshot) -> bytes:
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Errors · {html.escape(snapshot.title)}</title></head>\n<body>"
            f"<main style=\"font-family:system-ui,sans-serif;padding:1rem\"><h1>The site has "
            f"errors</h1><p>trainkit could not build the site yet; the errors are listed "
            f"below.</p></main>\n</body></html>\n").encode("utf-8")


# --- requests ---------------------------------------------------------------------------

def site_path(raw: str) -> str | None:
    """The output path a request asks for (``""`` for the root), or None to refuse it.

    Refuses anything that could step outside the site however it is spelled: ``..`` and
    ``.`` segments, encoded slashes and backslashes (``%2f``, ``%5c``), backslashes,
    empty segments (``//``), NUL and undecodable bytes. Files are looked up in memory,
    so nothing on disk is reachable anyway; this is the second lock on the door.
    """
    if not raw.startswith("/"):
        return None
    path = raw.split("#", 1)[0].split("?", 1)[0]
    lowered = path.lower()
    if any(bad in lowered for bad in ("\\", "\x00", "%00", "%2f", "%5c", "//")):
        return None
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None
    if any(bad in decoded for bad in ("\\", "\x00", "//")) or any(ord(c) < 32 for c in decoded):
        return None
    if any(segment in (".", "..") for segment in decoded.split("/")[1:]):
        return None
    return decoded[1:]


def content_type(path: str) -> str:
    suffix = path[path.rfind("."):].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return _TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def split_host(header: str) -> tuple[str, int | None] | None:
    """``"[::1]:8000"`` → ``("::1", 8000)``; None when it does not parse."""
    try:
        parts = urlsplit("//" + header)
        return (parts.hostname or "").rstrip("."), parts.port
    except ValueError:
        return None


class Handler(BaseHTTPRequestHandler):
    server: "PreviewServer"
    server_version = "trainkit"
    sys_version = ""
    timeout = 60
    """Seconds an idle connection may hold its thread before it is dropped."""

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the terminal is for the author's content, not for every request

    def __getattr__(self, name: str) -> Callable[[], None]:
        if name.startswith("do_"):  # any method but GET and HEAD
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self._send(405, b"Only GET and HEAD are allowed.\n", "text/plain; charset=utf-8",
                   {"Allow": "GET, HEAD"})

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if not self.server.host_allowed(self.headers.get("Host")):
            self._send(403, b"Forbidden: this preview only answers requests addressed to "
                       b"localhost.\n", "text/plain; charset=utf-8")
            return
        path = site_path(self.path)
        if path is None:
            self._send(400, b"Bad request path.\n", "text/plain; charset=utf-8")
            return
        if ("/" + path).startswith(INTERNAL):
            self._internal(path[len(INTERNAL) - 1:])
            return
        self._site_file(path)

    def _site_file(self, path: str) -> None:
        preview = self.server.preview
        snapshot = preview.current()
        name = path + "index.html" if path == "" or path.endswith("/") else path
        file = snapshot.files.get(name)
        if file is None and (path + "/index.html") in snapshot.files:
            query = self.path.split("?", 1)[1] if "?" in self.path else ""
            location = "/" + path + "/" + ("?" + query if query else "")
            self._send(301, b"", "text/plain; charset=utf-8",
                       {"Location": location, "Cache-Control": "no-store"})
            return
        status = 200
        if file is None:
            status, name = 404, "404.html"
            file = snapshot.files.get(name)
        if file is None and not snapshot.files:  # the first build failed: no site yet
            status, name, file = 500, "index.html", make_file(error_page(snapshot))
        if file is None:  # a theme without a 404 page
            self._send(404, b"Not found.\n", "text/plain; charset=utf-8")
            return
        ctype = content_type(name)
        if ctype.startswith("text/html"):
            snippet = overlay(snapshot.errors, bool(snapshot.files)) if snapshot.errors else ""
            if self.server.reload:
                snippet += live_script(snapshot, preview.instance)
            self._send(status, inject(file.content, snippet), ctype, {"Cache-Control": "no-store"})
            return
        if status == 200 and self.headers.get("If-None-Match") == file.etag:
            self._send(304, b"", None, {"ETag": file.etag, "Cache-Control": "no-cache"})
            return
        self._send(status, file.content, ctype, {"ETag": file.etag, "Cache-Control": "no-cache"})

    def _internal(self, name: str) -> None:
        preview = self.server.preview
        if name in ("live.js", "worker.js"):
            body = LIVE_JS if name == "live.js" else WORKER_JS
            self._send(200, body.encode("utf-8"), _TYPES[".js"], {"Cache-Control": "no-store"})
        elif name == "status":
            self._send(200, self._state(preview.current()), "application/json",
                       {"Cache-Control": "no-store"})
        elif name == "events":
            self._events()
        else:
            self._send(404, b"Not found.\n", "text/plain; charset=utf-8")

    def _state(self, snapshot: Snapshot) -> bytes:
        return json.dumps({"instance": self.server.preview.instance,
                           "generation": snapshot.generation,
                           "errors": len(snapshot.errors),
                           "streams": self.server.preview.streams}).encode("utf-8")

    def _events(self) -> None:
        """Server-Sent Events: the site's state now, then each time it changes."""
        origin = self.headers.get("Origin")
        if origin is not None and not self.server.origin_allowed(origin, self.headers.get("Host")):
            self._send(403, b"Forbidden origin.\n", "text/plain; charset=utf-8")
            return
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command == "HEAD":
            return
        preview = self.server.preview
        sent: int | None = None
        preview.count_stream(+1)
        try:
            self.wfile.write(b"retry: 1000\n\n")
            snapshot = preview.current()
            while not preview.closed:
                if snapshot.generation != sent:
                    self.wfile.write(b"data: " + self._state(snapshot) + b"\n\n")
                    sent = snapshot.generation
                else:
                    self.wfile.write(b": still here\n\n")  # finds closed tabs
                self.wfile.flush()
                snapshot = preview.wait_for_change(sent, timeout=15)
        except OSError:
            pass  # the browser went away
        finally:
            preview.count_stream(-1)

    def _send(self, status: int, body: bytes, ctype: str | None,
              headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD" and body:
            try:
                self.wfile.write(body)
            except OSError:
                pass


class PreviewServer(ThreadingHTTPServer):
    """One daemon thread per connection, so an idle or long-lived one blocks no one."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, preview: Preview, reload: bool) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.preview, self.reload = preview, reload
        super().__init__((host, port), Handler)
        self.host, self.port = host, self.server_address[1]
        self.names = set(LOOPBACK) | {host.lower()}
        if host in WILDCARD:  # reachable from the network: accept this machine's names too
            self.names |= _own_names()

    def host_allowed(self, header: str | None) -> bool:
        found = split_host(header) if header else None
        if found is None:
            return False
        name, port = found
        if port not in (None, self.port):
            return False
        # Rebinding needs a domain name the attacker controls; an address typed as
        # numbers cannot be rebound, so a server shared on the network accepts them.
        return name.lower() in self.names or (self.host in WILDCARD and _is_address(name))

    def origin_allowed(self, origin: str, host: str | None) -> bool:
        parts = urlsplit(origin)
        return parts.scheme == "http" and host is not None and parts.netloc == host \
            and self.host_allowed(host)


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def _own_names() -> set[str]:
    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            names.add(str(info[4][0]).lower())
    except OSError:
        pass
    return names


# --- the command ------------------------------------------------------------------------

def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in WILDCARD else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def bind(host: str, port: int, preview: Preview, reload: bool) -> PreviewServer:
    try:
        return PreviewServer(host, port, preview, reload)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} is already in use on {host}: stop the other "
                             f"server or choose another port with --port") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise UsageError(f"not allowed to use port {port}: choose a port above 1023 "
                             "with --port") from None
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def print_result(result: RebuildResult, previous: list[Problem], first: bool = False) -> None:
    if result.problems != previous:
        from .cli import report
        report(result.problems)
    if result.failed and first:
        click.echo("The site has errors: the preview shows them until you fix them.")
    elif result.failed:
        click.echo(f"Rebuild failed in {result.seconds:.2f} s: fix the errors above and save "
                   "again (the preview keeps the last good version).")
    elif result.changed:
        count = result.pages
        click.echo(f"Rebuilt {count} page{'' if count == 1 else 's'} in {result.seconds:.2f} s"
                   + (f" ({len(result.changed) - count} other files)"
                      if len(result.changed) > count else ""))
    else:
        click.echo(f"Rebuilt in {result.seconds:.2f} s: no page changed")


def serve(source: Path, host: str = "127.0.0.1", port: int = 8000,
          open_browser: bool = False, reload: bool = True) -> None:
    """Serve ``source`` until SIGINT or SIGTERM. Raises UsageError (exit 2) before serving."""
    find_source(source)
    preview = Preview(source)
    server = bind(host, port, preview, reload)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if host in WILDCARD:
        click.echo(f"warning: --host {host or '0.0.0.0'} makes this preview, drafts included, "
                   "readable by anyone on your network. Leave out --host to keep it on "
                   "this computer.", err=True)
    result = preview.rebuild()
    if result.problems:
        print_result(result, [], first=True)
    queue = ChangeQueue()
    watcher = Watcher(source, queue)
    watcher.start()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                     name="trainkit-http", daemon=True).start()
    threading.Thread(target=_rebuild_loop, args=(preview, queue, stop, result.problems),
                     name="trainkit-rebuild", daemon=True).start()
    url = url_for(host, server.port)
    click.echo(f"Serving {preview.current().title} at {url} (Ctrl-C to stop)")
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        preview.close()
        watcher.stop()
        server.shutdown()
        server.server_close()
        click.echo("Stopped.")


def _rebuild_loop(preview: Preview, queue: ChangeQueue, stop: threading.Event,
                  shown: list[Problem]) -> None:
    while True:
        changes = queue.wait(stop)
        if changes is None:
            return
        try:
            result = preview.rebuild()
            print_result(result, shown)
            shown = result.problems
        except Exception:  # printing must not end the loop either
            traceback.print_exc(file=sys.stderr)
