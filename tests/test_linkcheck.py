"""trainkit check --links against a local HTTP server (no internet needed)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from trainkit.linkcheck import CACHE_FILE, LinkUse, USER_AGENT, check_links


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers by path; records every request as (method, path, user agent)."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, str]] = []

    def do_HEAD(self) -> None:
        self.answer(body=False)

    def do_GET(self) -> None:
        self.answer(body=True)

    def answer(self, body: bool) -> None:
        self.seen.append((self.command, self.path, self.headers.get("User-Agent", "")))
        path = self.path.partition("?")[0]
        if path == "/ok":
            return self.send(200, body)
        if path == "/gone":
            return self.send(410, body)
        if path == "/head-refused":
            return self.send(405 if self.command == "HEAD" else 200, body)
        if path == "/slow":
            time.sleep(1.5)
            return self.send(200, body)
        if path == "/moved":
            return self.send(301, body, "/hop")
        if path == "/hop":
            return self.send(302, body, "/ok")
        if path == "/temporary":
            return self.send(307, body, "/ok")
        if path == "/loop-a":
            return self.send(302, body, "/loop-b")
        if path == "/loop-b":
            return self.send(302, body, "/loop-a")
        if path == "/reset-once":
            if sum(1 for s in self.seen if s[1] == "/reset-once") == 1:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return None
            return self.send(200, body)
        return self.send(404, body)

    def send(self, status: int, body: bool, location: str | None = None) -> None:
        content = b"hello\n"
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if body:
            self.wfile.write(content)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Handler.seen = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def link_file(url: str) -> str:
    return f"---\ntitle: A link\nurl: {url}\ntags: [t]\n---\nWhy read it.\n"


def uses(*urls: str) -> list[LinkUse]:
    return [LinkUse(url, f"links/l{i}.md", 3) for i, url in enumerate(urls)]


def by_path(report) -> dict[str, tuple[str, str]]:
    return {p.path: (p.severity, p.message) for p in report.problems}


def test_each_kind_of_answer(server: str, tmp_path: Path) -> None:
    port = closed_port()
    report = check_links(tmp_path, uses(
        f"{server}/ok", f"{server}/missing", f"{server}/gone", f"{server}/moved",
        f"{server}/loop-a", f"{server}/head-refused", f"{server}/not-used",
        f"http://127.0.0.1:{port}/", f"{server}/temporary", f"{server}/reset-once",
    ), timeout=5)
    found = by_path(report)
    assert "links/l0.md" not in found
    assert found["links/l1.md"][0] == "error" and "404 Not Found" in found["links/l1.md"][1]
    assert found["links/l2.md"][0] == "error" and "410 Gone" in found["links/l2.md"][1]
    assert found["links/l3.md"] == ("warning", f"the curated link {server}/moved has moved "
                                    f"permanently to {server}/ok: use the new address")
    assert found["links/l4.md"][0] == "error" and "redirect loop" in found["links/l4.md"][1]
    assert "links/l5.md" not in found
    assert found["links/l7.md"][0] == "error" and "connection refused" in found["links/l7.md"][1]
    assert "links/l8.md" not in found  # a temporary redirect is fine
    assert "links/l9.md" not in found  # one reset is retried
    assert report.dead == 5 and report.urls == 10  # 404, 410, loop, not-used, refused
    assert ("HEAD", "/head-refused", USER_AGENT) in Handler.seen
    assert ("GET", "/head-refused", USER_AGENT) in Handler.seen


def test_a_slow_answer_past_the_timeout_is_dead(server: str, tmp_path: Path) -> None:
    report = check_links(tmp_path, uses(f"{server}/slow"), timeout=0.5)
    assert [(p.severity, p.line) for p in report.problems] == [("error", 3)]
    assert "(no answer within 0.5 s)" in report.problems[0].message and report.dead == 1


def test_the_command_reports_dead_links_at_their_url_line(server, make_site, cli) -> None:
    source = make_site({
        "links/alive.md": link_file(f"{server}/ok"),
        "courses/basics/links/dead.md": "---\ntitle: Dead\n\nurl: " + f"{server}/missing\n---\nx\n",
        "courses/basics/second.md": "---\ntitle: Second\n---\nMore.\n\n"
                                    f"See [this]({server}/gone) and <{server}/ok>.\n",
    })
    result = cli("check", "--source", source, "--links")
    assert result.exit_code == 1
    assert f"courses/basics/links/dead.md:4: error: the curated link {server}/missing is dead " \
           "(404 Not Found)" in result.output
    assert "second.md" not in result.output  # lesson texts only with --external
    result = cli("check", "--source", source, "--external", "--fresh")
    assert result.exit_code == 1
    assert f"courses/basics/second.md:6: error: the link to {server}/gone is dead (410 Gone)" \
           in result.output
    assert "Checked 3 links: 2 dead." in result.output


def test_successes_are_cached_for_a_day(server: str, tmp_path: Path) -> None:
    links = uses(f"{server}/ok", f"{server}/missing")
    first = check_links(tmp_path, links, now=1_000_000.0)
    assert first.from_cache == 0 and len(Handler.seen) >= 2
    saved = json.loads((tmp_path / CACHE_FILE).read_text())
    assert list(saved["ok"]) == [f"{server}/ok"]
    Handler.seen.clear()
    again = check_links(tmp_path, links, now=1_000_000.0 + 3600)
    assert again.from_cache == 1 and again.dead == 1
    assert [path for _, path, _ in Handler.seen] == ["/missing", "/missing"]  # HEAD, then GET
    Handler.seen.clear()
    check_links(tmp_path, links, now=1_000_000.0 + 3600, fresh=True)
    assert ("HEAD", "/ok", USER_AGENT) in Handler.seen
    Handler.seen.clear()
    check_links(tmp_path, links, now=1_000_000.0 + 2 * 86400)
    assert ("HEAD", "/ok", USER_AGENT) in Handler.seen  # a day later it is asked again


def test_the_whole_run_has_a_deadline(server: str, tmp_path: Path) -> None:
    started = time.monotonic()
    report = check_links(tmp_path, uses(*(f"{server}/slow?{i}" for i in range(6))),
                         jobs=2, timeout=5, deadline=1.0)
    assert time.monotonic() - started < 4
    assert report.dead == 0
    assert all(p.severity == "warning" and "was not checked" in p.message
               for p in report.problems) and report.problems
