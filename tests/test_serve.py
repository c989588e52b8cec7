"""``trainkit serve``: a real server in a subprocess on a free port, against a site in a
temporary folder. Waits are polls with timeouts, never long sleeps."""

from __future__ import annotations

import concurrent.futures
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from conftest import MINIMAL, write_files

WELCOME = "courses/basics/welcome.md"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a new server could listen there (as trainkit does, with SO_REUSEADDR,
    since the closed connections' TIME_WAIT would hold the port otherwise)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
            return True
        except OSError:
            return False


def wait_until(check: Callable[[], object], timeout: float = 10.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.05)


class Server:
    """A running ``trainkit serve`` and everything it printed."""

    def __init__(self, source: Path, *args: str) -> None:
        self.source, self.port = source, free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.output: list[str] = []
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trainkit.cli", "serve", "--source", str(source),
             "--port", str(self.port), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        threading.Thread(target=self._read, daemon=True).start()
        wait_until(lambda: self.printed("Serving") or self.proc.poll() is not None,
                   what="the server to start")
        assert self.proc.poll() is None, self.text()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def text(self) -> str:
        return "".join(self.output)

    def printed(self, needle: str) -> bool:
        return needle in self.text()

    def get(self, path: str, method: str = "GET", headers: dict[str, str] | None = None,
            ) -> tuple[int, http.client.HTTPMessage, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def body(self, path: str) -> str:
        return self.get(path)[2].decode("utf-8")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def serve(make_site: Callable[..., Path]) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(files: dict[str, str | bytes | None] | None = None, *args: str) -> Server:
        server = Server(make_site(files), *args)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the tests that only read."""
    root = tmp_path_factory.mktemp("shared")
    (root / "secret.txt").write_text("TOP SECRET", encoding="utf-8")
    source = write_files(root / "src", {**MINIMAL, "static/img/a.svg": "<svg/>",
                                        "static/notes.txt": "plain"})
    server = Server(source)
    yield server
    server.stop()


def raw_status(port: int, target: str, host: str | None = None) -> tuple[int, bytes]:
    """Send a request line byte for byte (http.client and browsers would clean it up)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {host or f'127.0.0.1:{port}'}\r\n"
                  "Connection: close\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data


# --- without a server ----------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "site/index.html", ".git/index", ".trainkit-cache/x", "courses/a/.lesson.md.swp",
    "courses/a/.lesson.md.swx", "courses/a/4913", "courses/a/lesson.md~",
    "courses/a/lesson.md___jb_tmp___", "courses/a/lesson.md___jb_old___", "courses/a/.#lesson.md",
    "courses/a/#lesson.md#", "courses/a/lesson.md.tmp", "courses/a/.goutputstream-X1Y2Z3",
    "courses/a/sedAb12Cd", ".site.new-123/index.html"])
def test_editor_and_output_files_are_ignored(name: str) -> None:
    from trainkit.watch import is_ignored

    assert is_ignored(name)


@pytest.mark.parametrize("name", ["trainkit.yaml", "courses/a/lesson.md", "courses/a/course.yaml",
                                  "links/x.md", "static/img/site.png", "themes/mine/base.html",
                                  "uplines/maria/sections/tip.md", "versions/2026.09/trainkit.yaml"])
def test_content_files_are_watched(name: str) -> None:
    from trainkit.watch import is_ignored

    assert not is_ignored(name)


def test_a_burst_of_changes_is_one_batch() -> None:
    from trainkit.watch import ChangeQueue

    queue, stop = ChangeQueue(quiet=0.05, longest=0.5), threading.Event()
    for i in range(10):
        queue.add(f"courses/a/l{i}.md")
    assert queue.wait(stop) == {f"courses/a/l{i}.md" for i in range(10)}
    stop.set()
    assert queue.wait(stop) is None


# --- rebuilding on save ---------------------------------------------------------------------

def test_edit_lesson_serves_new_content(serve: Callable[..., Server]) -> None:
    server = serve()
    assert "Hello team." in server.body("/courses/basics/welcome/")
    (server.source / WELCOME).write_text("---\ntitle: Welcome\n---\nFreshly edited.\n")
    wait_until(lambda: "Freshly edited." in server.body("/courses/basics/welcome/"))
    wait_until(lambda: server.printed("Rebuilt"), what="a rebuild line")
    assert "Rebuilt" in server.text() and " page" in server.text()


def test_editor_rename_saves(serve: Callable[..., Server]) -> None:
    server = serve()
    lesson = server.source / WELCOME
    # Vim: probe the folder, move the original away, write anew, drop the backup.
    (lesson.parent / "4913").write_text("")
    (lesson.parent / "4913").unlink()
    lesson.rename(lesson.parent / "welcome.md~")
    lesson.write_text("---\ntitle: Welcome\n---\nSaved by vim.\n")
    (lesson.parent / "welcome.md~").unlink()
    wait_until(lambda: "Saved by vim." in server.body("/courses/basics/welcome/"))
    # JetBrains / gedit: write a temporary file, rename it over the lesson.
    temp = lesson.parent / "welcome.md___jb_tmp___"
    temp.write_text("---\ntitle: Welcome\n---\nSaved by an IDE.\n")
    os.replace(temp, lesson)
    wait_until(lambda: "Saved by an IDE." in server.body("/courses/basics/welcome/"))
    assert "error" not in server.text()


def test_twenty_rapid_saves_the_last_wins(serve: Callable[..., Server]) -> None:
    server = serve()
    lesson = server.source / WELCOME
    for i in range(20):
        lesson.write_text(f"---\ntitle: Welcome\n---\nSave number {i}.\n")
        time.sleep(0.01 * (i % 4))
    wait_until(lambda: "Save number 19." in server.body("/courses/basics/welcome/"))
    time.sleep(0.4)  # a stale rebuild finishing late would show here
    assert "Save number 19." in server.body("/courses/basics/welcome/")
    rebuilds = server.text().count("Rebuilt")
    assert 1 <= rebuilds < 20, server.text()


def test_broken_front_matter_shows_an_overlay_until_fixed(serve: Callable[..., Server]) -> None:
    server = serve()
    lesson = server.source / WELCOME
    lesson.write_text("---\ntitle: [Welcome\n---\nBroken.\n")
    wait_until(lambda: "trainkit-errors" in server.body("/courses/basics/second/"))
    page = server.body("/courses/basics/welcome/")
    assert "courses/basics/welcome.md:2: error:" in page
    assert "Hello team." in page  # the last good page, underneath
    assert server.proc.poll() is None
    wait_until(lambda: server.printed("courses/basics/welcome.md:2: error:"))
    lesson.write_text("---\ntitle: Welcome\n---\nFixed now.\n")
    wait_until(lambda: "Fixed now." in server.body("/courses/basics/welcome/"))
    assert "trainkit-errors" not in server.body("/courses/basics/second/")


def test_a_lessons_warnings_show_folded_at_its_foot(serve: Callable[..., Server]) -> None:
    """An author who pastes an image from another host sees a link in the preview; the
    warning saying why is on that page, not only in the terminal."""
    server = serve({WELCOME: "---\ntitle: Welcome\n---\n![Chart](https://example.com/c.png)\n"})
    page = server.body("/courses/basics/welcome/")
    assert '<details id="trainkit-warnings"><summary>trainkit: 1 warning about this ' in page
    assert ("courses/basics/welcome.md:4: warning: image &#x27;https://example.com/c.png&#x27; "
            "is on another host") in page
    assert "trainkit-warnings" not in server.body("/courses/basics/second/")
    (server.source / WELCOME).write_text("---\ntitle: Welcome\n---\nNo image now.\n")
    wait_until(lambda: "trainkit-warnings" not in server.body("/courses/basics/welcome/"))


def test_a_first_build_with_errors_serves_the_errors(serve: Callable[..., Server]) -> None:
    server = serve({WELCOME: "---\ntitle: [Welcome\n---\nBroken.\n"})
    status, _, body = server.get("/")
    assert status == 500 and b"courses/basics/welcome.md:2: error:" in body
    (server.source / WELCOME).write_text("---\ntitle: Welcome\n---\nWorks.\n")
    wait_until(lambda: server.get("/")[0] == 200)


def test_drafts_are_served_with_a_badge_and_only_served_pages_get_the_script(
        serve: Callable[..., Server], cli: Callable[..., object]) -> None:
    server = serve({"courses/basics/second.md": "---\ntitle: Second\ndraft: true\n---\nWIP.\n"})
    page = server.body("/courses/basics/second/")
    assert 'class="badge draft"' in page and "/__trainkit/live.js" in page
    cli("build", "--source", server.source)
    built = (server.source / "site" / "courses/basics/welcome/index.html").read_text()
    assert "__trainkit" not in built
    assert not (server.source / "site/courses/basics/second").exists()


def test_open_opens_the_served_site_in_the_browser(serve: Callable[..., Server], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Python's webbrowser runs what $BROWSER names: here, a script that notes the address.
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "fake-browser"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    monkeypatch.setenv("BROWSER", f"{browser} %s")
    server = serve(None, "--open")
    wait_until(opened.exists, what="the browser to be opened")
    url = wait_until(lambda: opened.read_text().strip(), what="the address")
    assert url == server.url
    assert "Test Team" in server.body("/")


def test_no_reload_leaves_the_script_out(serve: Callable[..., Server]) -> None:
    server = serve(None, "--no-reload")
    assert "__trainkit" not in server.body("/")


# --- safety ---------------------------------------------------------------------------------

TRAVERSALS = [
    "/../secret.txt", "/../../secret.txt", "/courses/../../secret.txt",
    "/%2e%2e/secret.txt", "/%2E%2E/%2e%2e/secret.txt", "/..%2fsecret.txt",
    "/%2e%2e%2fsecret.txt", "/..%5csecret.txt", "/%2e%2e%5csecret.txt",
    "/..\\secret.txt", "/courses\\..\\..\\secret.txt", "//secret.txt", "/courses//basics/",
    "/%00", "/index.html%00.css", "/%252e%252e/secret.txt", "/./index.html",
    "/%c0%ae%c0%ae/secret.txt", "/trainkit.yaml", "/courses/basics/welcome.md",
    "/static/notes.txt", "http://evil.example/../secret.txt",
]


def test_path_traversal_is_refused(shared: Server) -> None:
    for target in TRAVERSALS:
        status, data = raw_status(shared.port, target)
        assert status in (400, 404), (target, status)
        assert b"TOP SECRET" not in data and b"version:" not in data, target


def test_requests_for_other_hosts_are_forbidden(shared: Server) -> None:
    port = shared.port
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}",
                 f"127.0.0.1:{port + 1}"):
        assert raw_status(port, "/", host)[0] == 403, host
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost"):
        assert raw_status(port, "/", host)[0] == 200, host


def test_event_stream_rejects_foreign_origins(shared: Server) -> None:
    status, headers, _ = shared.get("/__trainkit/events", headers={"Origin": "http://evil.example"})
    assert status == 403 and headers.get("Access-Control-Allow-Origin") is None
    conn = http.client.HTTPConnection("127.0.0.1", shared.port, timeout=5)
    conn.request("GET", "/__trainkit/events", headers={"Origin": shared.url.rstrip("/")})
    response = conn.getresponse()
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert b'"generation"' in response.fp.readline() + response.fp.readline() \
        + response.fp.readline()
    conn.close()


def test_sharing_on_the_network_warns_and_still_checks_hosts(serve: Callable[..., Server]) -> None:
    server = serve(None, "--host", "0.0.0.0")
    assert server.printed("warning: --host 0.0.0.0 makes this preview")
    assert raw_status(server.port, "/", f"evil.example:{server.port}")[0] == 403
    assert raw_status(server.port, "/", f"192.0.2.7:{server.port}")[0] == 200


def test_binds_loopback_by_default(shared: Server) -> None:
    assert shared.printed(f"Serving Test Team at http://127.0.0.1:{shared.port}/ (Ctrl-C to stop)")
    listening = [line.split()[1] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
                 if line.split()[3] == "0A"]
    assert f"0100007F:{shared.port:04X}" in listening


def test_methods_types_and_status_codes(shared: Server) -> None:
    status, headers, _ = shared.get("/", method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    assert shared.get("/", method="DELETE")[0] == 405
    status, headers, body = shared.get("/", method="HEAD")
    assert status == 200 and body == b"" and headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-store"
    status, headers, _ = shared.get("/_trainkit/style.css")
    assert status == 200 and headers["Content-Type"] == "text/css; charset=utf-8"
    assert shared.get("/_trainkit/style.css", headers={"If-None-Match": headers["ETag"]})[0] == 304
    assert shared.get("/img/a.svg")[1]["Content-Type"] == "image/svg+xml"
    status, headers, _ = shared.get("/courses/basics?x=1")
    assert status == 301 and headers["Location"] == "/courses/basics/?x=1"
    status, headers, body = shared.get("/no/such/page/")
    assert status == 404 and b"Page not found" in body
    for path in ("/", "/_trainkit/style.css", "/__trainkit/status", "/nope"):
        assert "Access-Control-Allow-Origin" not in shared.get(path)[1]


def test_port_in_use_is_a_usage_error(make_site: Callable[..., Path]) -> None:
    source = make_site()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "trainkit.cli", "serve", "--source",
                               str(source), "--port", str(port)],
                              capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert f"port {port} is already in use" in done.stderr and "Traceback" not in done.stderr


def test_ctrl_c_stops_cleanly(serve: Callable[..., Server]) -> None:
    server = serve()
    server.get("/")
    assert server.stop() == 0
    assert "Traceback" not in server.text()
    assert port_is_free(server.port)


# --- load -----------------------------------------------------------------------------------

def test_many_concurrent_clients(shared: Server) -> None:
    idle = socket.create_connection(("127.0.0.1", shared.port))  # says nothing, ever
    streams = []
    for _ in range(8):  # open tabs' event streams must not block pages either
        conn = http.client.HTTPConnection("127.0.0.1", shared.port, timeout=5)
        conn.request("GET", "/__trainkit/events")
        streams.append(conn)
    paths = ["/", "/courses/basics/", "/courses/basics/welcome/", "/_trainkit/style.css",
             "/links/", "/nope"]

    def fetch(i: int) -> tuple[int, float]:
        started = time.perf_counter()
        status = shared.get(paths[i % len(paths)])[0]
        return status, time.perf_counter() - started

    try:
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            results = list(pool.map(fetch, range(400)))
    finally:
        idle.close()
        for conn in streams:
            conn.close()
    assert all(status == (404 if i % len(paths) == 5 else 200)
               for i, (status, _) in enumerate(results))
    times = sorted(seconds for _, seconds in results)
    p95 = times[int(len(times) * 0.95)]
    print(f"p95 {p95 * 1000:.1f} ms")
    assert p95 < 0.25


# --- the reader's browser -------------------------------------------------------------------

def test_an_open_page_reloads_after_a_save(serve: Callable[..., Server], browser: object) -> None:
    from selenium.common.exceptions import (NoSuchElementException,
                                            StaleElementReferenceException)
    from selenium.webdriver.common.by import By

    server = serve()
    browser.get(server.url + "courses/basics/welcome/")  # type: ignore[attr-defined]
    browser.execute_script("window.notReloaded = true;")  # type: ignore[attr-defined]
    (server.source / WELCOME).write_text("---\ntitle: Welcome\n---\nReloaded by itself.\n")

    def reloaded() -> bool:
        try:
            text = browser.find_element(By.TAG_NAME, "main").text  # type: ignore[attr-defined]
        except StaleElementReferenceException:  # it reloaded between finding and reading
            return False
        except NoSuchElementException:  # the new page is still loading
            return False
        return "Reloaded by itself." in text

    wait_until(reloaded, timeout=15, what="the page to reload")
    assert browser.execute_script("return window.notReloaded === undefined;")  # type: ignore[attr-defined]


def test_twenty_tabs_share_one_event_stream(serve: Callable[..., Server], browser: object) -> None:
    """Browsers allow ~6 connections per host: a stream per tab would starve navigation."""
    import json

    server = serve()
    driver = browser  # type: ignore[assignment]
    driver.get(server.url)  # type: ignore[attr-defined]
    for _ in range(19):
        driver.switch_to.new_window("tab")  # type: ignore[attr-defined]
        driver.get(server.url + "courses/basics/")  # type: ignore[attr-defined]
    started = time.perf_counter()
    driver.get(server.url + "courses/basics/welcome/")  # type: ignore[attr-defined]
    assert "Hello team." in driver.page_source  # type: ignore[attr-defined]
    assert time.perf_counter() - started < 5
    streams = wait_until(lambda: json.loads(server.body("/__trainkit/status"))["streams"])
    assert streams == 1


def test_an_upline_sections_warnings_show_on_the_lesson_it_is_in(make_site) -> None:
    """In the preview, a warning about an upline's section is at the foot of the lesson
    page that shows the section, with the lesson's own; other pages have none."""
    from trainkit.build import check
    from trainkit.preview import page_warnings

    image = "![Chart](https://example.com/c.png)\n"
    source = make_site({
        "trainkit.yaml": 'title: T\nversion: "1.0"\nuplines:\n  - name: Maria\n'
                         "    path: uplines/maria\n",
        "courses/basics/welcome.md": f"---\ntitle: Welcome\n---\n{image}",
        "uplines/maria/sections/tip.md": f"---\nfor: basics/welcome\n---\n{image}",
    })
    site, _, problems, _ = check(source, include_drafts=True, search=False)
    assert site is not None
    found = page_warnings(site, problems)
    assert list(found) == ["courses/basics/welcome/index.html"]
    assert [line.split(": warning:")[0] for line in found["courses/basics/welcome/index.html"]] \
        == ["courses/basics/welcome.md:4", "uplines/maria/sections/tip.md:4"]


def test_the_search_index_follows_each_save_and_leaves_unsaved_pages_as_indexed(
        make_site) -> None:
    """serve rebuilds the search index in the background after each save: a word saved
    into a lesson is found in the new index; pages carried unchanged from the rebuild
    before keep what the index had for them."""
    import gzip

    from trainkit.preview import Preview
    from trainkit.search import BUNDLE

    def indexed_text(preview: Preview, word: str) -> str:
        """The text of the index's page fragments, once one of them holds ``word``."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            files = preview.current().files
            text = "\n".join(gzip.decompress(f.content).decode("utf-8", "replace")
                             for path, f in files.items()
                             if path.startswith(BUNDLE) and path.endswith(".pf_fragment"))
            if word in text:
                return text
            time.sleep(0.05)
        raise AssertionError(f"{word!r} never reached the search index")

    lesson = "courses/basics/welcome.md"
    source = make_site()
    preview = Preview(source)
    try:
        assert not preview.rebuild().failed
        before = indexed_text(preview, "Welcome")
        text = (source / lesson).read_text(encoding="utf-8")
        for word in ("Zanzibarish", "Quetzalcoatlish"):
            (source / lesson).write_text(text + f"\n{word} is the word.\n", encoding="utf-8")
            assert not preview.rebuild({lesson}).failed
            after = indexed_text(preview, word)
        assert "Zanzibarish" not in after  # (the first save's word went with it)
        assert before.count('"url":') == after.count('"url":')  # every other page, still there
    finally:
        preview.close()


def test_an_open_page_gets_a_saves_new_version_before_the_tidying_after_it(
        make_site, monkeypatch) -> None:
    """After the swap, a rebuild frees the last one's leftovers and runs the cycle
    collector, holding the interpreter; with a page open, that waits until the page has
    fetched the new version (or a quarter of a second), so its reload is not held up."""
    from trainkit import preview as preview_module
    from trainkit.preview import Preview

    lesson = "courses/basics/welcome.md"
    source = make_site()
    preview = Preview(source)
    assert not preview.rebuild().failed
    order: list[str] = []
    monkeypatch.setattr(preview_module.gc, "collect", lambda *a: order.append("tidy") or 0)
    monkeypatch.setattr(preview_module.Preview, "_index", lambda self, *a: order.append("index"))

    def open_page() -> None:
        snapshot = preview.wait_for_change(preview.current().generation, timeout=10)
        time.sleep(0.05)  # (the page reloads, a moment after its event)
        order.append("page")
        preview.page_served(snapshot.generation)

    preview.count_stream(+1)  # a page is open
    page = threading.Thread(target=open_page)
    page.start()
    text = (source / lesson).read_text(encoding="utf-8")
    (source / lesson).write_text(text + "\nA new line.\n", encoding="utf-8")
    assert not preview.rebuild({lesson}).failed
    page.join()
    assert order == ["page", "index", "tidy"]

    order.clear()  # a page that never comes is not waited for long
    monkeypatch.setattr(preview_module, "RELOAD_WAIT", 0.2)
    (source / lesson).write_text(text + "\nAnother line.\n", encoding="utf-8")
    started = time.monotonic()
    assert not preview.rebuild({lesson}).failed
    assert order == ["index", "tidy"] and time.monotonic() - started < 5
    preview.close()
