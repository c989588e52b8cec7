#!/usr/bin/env python3
"""Save-to-served latency of ``trainkit serve``: how long after a lesson is saved the
server answers with the new page.

    python bench/serve_latency.py --lessons 1000 --edits 20

Generates a corpus with ../shared/bench/gen_corpus.py (on tmpfs when there is one; or
reuses ``--corpus DIR``), starts ``trainkit serve`` on a free port, waits for the first
build and its search index, then saves one lesson ``--edits`` times, each time timing
what an author's open page goes through: the live-reload event stream says the site
changed, and the page is fetched again with the new text. (With ``--poll``, the URL is
fetched every 5 ms until the new text is served instead, as before session 24: those
requests, a thread each in the server, take ~0.1 s of a 10,000-lesson rebuild's time
from it, which no browser does.) Between saves it waits
``--gap`` seconds, as an author would; the search index rebuilt in the background after
each save may still be running when the next one comes, so it is measured as it is.
Prints the median, p95 and worst latency, and the server's peak resident memory.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from run import GEN, REPO, tree_rss


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_for(check: "callable[[], bool]", timeout: float, what: str) -> None:  # type: ignore[valid-type]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.005)


class Events:
    """The server's live-reload event stream, read as the page's worker reads it."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", "/__trainkit/events")
        self.response = self.conn.getresponse()
        self.generation = self.next()

    def next(self) -> int:
        """The site's generation in the next event."""
        while line := self.response.readline():
            if line.startswith(b"data: "):
                return int(json.loads(line[len(b"data: "):])["generation"])
        raise SystemExit("the event stream ended")

    def reloaded(self, port: int, url: str, marker: bytes) -> None:
        """Wait for the site to change, and fetch ``url`` as the page reloads, until
        it holds ``marker``."""
        while True:
            generation = self.next()
            if generation != self.generation:
                self.generation = generation
                if marker in fetch(port, url)[1]:
                    return


class PeakMemory(threading.Thread):
    """Samples a process tree's resident memory every 50 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.peak = max(self.peak, tree_rss(self.pid))


def measure(source: Path, edits: int, gap: float, poll: bool = False,
            ) -> tuple[list[float], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "trainkit", "serve", "--source", str(source),
                             "--port", str(port)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    memory = PeakMemory(proc.pid)
    memory.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "Serving" in line:
                break
        else:
            raise SystemExit("trainkit serve stopped before serving")
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe empty
        wait_for(lambda: fetch(port, "/pagefind/pagefind-entry.json")[0] == 200, 120,
                 "the first search index")
        lessons = sorted((source / "courses").glob("*/*.md"))
        lesson = lessons[len(lessons) // 2]
        url = "/" + lesson.relative_to(source).with_suffix("").as_posix() + "/"
        original = lesson.read_text(encoding="utf-8")
        events = None if poll else Events(port)
        times = []
        for i in range(edits):
            marker = f"Edit number {i} of this run ({time.time_ns()})."
            started = time.perf_counter()
            lesson.write_text(original + f"\n\n{marker}\n", encoding="utf-8")
            if events is not None:
                events.reloaded(port, url, marker.encode())
            else:
                wait_for(lambda: marker.encode() in fetch(port, url)[1], 30, f"edit {i}")
            times.append(time.perf_counter() - started)
            time.sleep(gap)
        lesson.write_text(original, encoding="utf-8")
        return times, memory.peak
    finally:
        memory.stop.set()
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lessons", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between saves")
    parser.add_argument("--corpus", type=Path, help="an existing gen_corpus.py output to use")
    parser.add_argument("--poll", action="store_true",
                        help="fetch the page every 5 ms instead of waiting for the reload event")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    try:
        corpus = args.corpus
        if corpus is None:
            corpus = scratch / "corpus"
            subprocess.run([sys.executable, str(GEN), "--lessons", str(args.lessons), "--out",
                            str(corpus)], check=True, stdout=subprocess.DEVNULL)
        lessons = sum(1 for _ in (corpus / "trainkit" / "courses").glob("*/*.md"))
        times, peak = measure(corpus / "trainkit", args.edits, args.gap, args.poll)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    how = "polled every 5 ms" if args.poll else "as an open page reloads"
    print(f"{lessons:,} lessons, {len(ms)} saves {args.gap} s apart, {how}: save-to-served "
          f"median {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms, worst {ms[-1]:.0f} ms; "
          f"server peak {peak / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
