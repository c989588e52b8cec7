"""``trainkit serve``: a live preview, rebuilt on every save and served from memory.

Three parts: :mod:`trainkit.watch` turns editor saves into rebuilds,
:mod:`trainkit.preview` rebuilds the site in memory through the same stages as
``trainkit build``, and this module answers HTTP requests from the current snapshot,
adding the reload script and the error overlay of :mod:`trainkit.live` to HTML.

Safety: binds 127.0.0.1 by default, serves only files of the built site, answers only
requests addressed to a loopback name or the bound address (against DNS rebinding),
GET and HEAD only.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import mimetypes
import signal
import socket
import sys
import threading
import traceback
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Mapping
from urllib.parse import unquote, urlsplit

import click

from .build import find_source
from .live import (INTERNAL, LIVE_JS, WORKER_JS, error_page, inject, live_script, notice,
                   overlay)
from .preview import Preview, RebuildResult, Snapshot, make_file
from .problems import Problem, UsageError
from .watch import ChangeQueue, Watcher

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD = frozenset({"0.0.0.0", "::", ""})

_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".js": "text/javascript; charset=utf-8", ".json": "application/json",
          ".xml": "application/xml", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8",
          ".webmanifest": "application/manifest+json", ".woff2": "font/woff2",
          ".ico": "image/x-icon", ".pdf": "application/pdf"}


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
            status, name, file = 500, "index.html", make_file(error_page(snapshot.title))
        if file is None:  # a theme without a 404 page
            self._send(404, b"Not found.\n", "text/plain; charset=utf-8")
            return
        ctype = content_type(name)
        if ctype.startswith("text/html"):
            snippet = (overlay(snapshot.errors, bool(snapshot.files)) if snapshot.errors
                       else notice(snapshot.warnings[name]) if name in snapshot.warnings
                       else "")
            if self.server.reload:
                snippet += live_script(snapshot.generation, preview.instance)
            self._send(status, inject(file.content, snippet), ctype, {"Cache-Control": "no-store"})
            preview.page_served(snapshot.generation)
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
    # Watching starts first, so that every change after the first build's reads is seen
    # (rebuilds then look again only at the folders that changed).
    queue = ChangeQueue()
    watcher = Watcher(source, queue)
    watcher.start()
    result = preview.rebuild()
    if result.problems:
        print_result(result, [], first=True)
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
            result = preview.rebuild(changes)
            print_result(result, shown)
            shown = result.problems
        except Exception:  # printing must not end the loop either
            traceback.print_exc(file=sys.stderr)
