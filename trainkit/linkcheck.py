"""``trainkit check --links``: is every curated link (and, with ``--external``, every web
link in a lesson) still alive?

Standard library only: urllib for requests, a thread pool for bounded concurrency.
Each URL is asked for once however often it is used, HEAD first and GET when the server
refuses HEAD, following redirects by hand so a permanent one (301/308) can be reported
with its new address and a loop is caught. A reset connection is retried once. Every
request has a timeout and the whole run a deadline, so a hanging server cannot hold up
a leader who is about to publish.

Successes are remembered in ``.trainkit-cache/links.json`` inside the source for a day,
so running the check again right after fixing one link asks only about the rest.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urljoin, urlsplit

from . import __version__
from .markdown_ext import line_of
from .model import Site
from .problems import Problem, error, warning

USER_AGENT = f"trainkit/{__version__} (link checker)"
CACHE_FILE = Path(".trainkit-cache") / "links.json"
FRESH_FOR = 24 * 3600.0
"""Seconds a success is trusted without asking again."""
MAX_REDIRECTS = 10
DEADLINE_TIMEOUTS = 30
"""The whole run stops after this many per-request timeouts (300 s at the default 10 s)."""
_PERMANENT = (301, 308)
_REDIRECT = (301, 302, 303, 307, 308)


@dataclass(frozen=True, slots=True)
class LinkUse:
    """One place a URL is used: a curated link's ``url:`` line or a line of a lesson."""

    url: str
    path: str
    line: int
    in_text: bool = False
    """True for a link in a lesson's text (``--external``), False for a curated link."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What asking for one URL found."""

    alive: bool
    reason: str = ""
    """Why it is dead ("404 Not Found", "connection refused"), or a warning's text."""
    moved_to: str | None = None
    """The final address when the URL is permanently redirected."""
    status: int | None = None
    unchecked: bool = False
    """Not an answer about the link (rate-limited, out of time): a warning, not an error."""


@dataclass(frozen=True, slots=True)
class LinkReport:
    problems: list[Problem]
    urls: int
    """Distinct URLs."""
    from_cache: int
    """URLs skipped because they were fine less than a day ago."""
    dead: int


Probe = Callable[[str, float], Outcome]


def link_uses(site: Site, external: bool = False) -> list[LinkUse]:
    """Every curated link, and with ``external`` every http(s) URL in lesson texts."""
    uses = [LinkUse(link.url, link.source, link.url_line) for link in site.links]
    if external:
        bodies = [(l.source, l.body, l.body_line) for l in site.lessons.values()]
        bodies += [(s.source, s.body, s.body_line) for g in site.sections.values() for s in g]
        for source, body, first_line in bodies:
            for url in dict.fromkeys(_urls_in(body)):
                uses.append(LinkUse(url, source, line_of(body, url, first_line), True))
    return uses


_URL = re.compile(r"https?://[^\s<>()\[\]\"'`]+")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def _urls_in(markdown: str) -> Iterable[str]:
    for match in _URL.finditer(_FENCE.sub("", markdown)):
        yield match.group(0).rstrip(".,;:!?*_")


def check_links(source: Path, uses: list[LinkUse], *, fresh: bool = False, jobs: int = 8,
                timeout: float = 10.0, deadline: float | None = None,
                probe: Probe | None = None, now: float | None = None) -> LinkReport:
    """Ask about each distinct URL once and report every use of a dead one."""
    now = time.time() if now is None else now
    cache = {} if fresh else _read_cache(source / CACHE_FILE, now)
    urls = list(dict.fromkeys(use.url for use in uses))
    asked = [url for url in urls if url not in cache]
    outcomes = _ask_all(asked, probe or _probe, jobs, timeout,
                        deadline if deadline is not None else DEADLINE_TIMEOUTS * timeout)
    _write_cache(source / CACHE_FILE, cache, outcomes, now)
    problems = [p for use in uses if use.url in outcomes
                for p in _problems(use, outcomes[use.url])]
    dead = sum(1 for o in outcomes.values() if not o.alive and not o.unchecked)
    return LinkReport(sorted(problems), len(urls), len(urls) - len(asked), dead)


def _problems(use: LinkUse, outcome: Outcome) -> list[Problem]:
    where = "the link to" if use.in_text else "the curated link"
    fix = ("fix or remove the link" if use.in_text
           else "fix url: or remove the link's file")
    if outcome.unchecked:
        return [warning(use.path, use.line, f"{where} {use.url} was not checked: "
                        f"{outcome.reason}")]
    if not outcome.alive:
        return [error(use.path, use.line, f"{where} {use.url} is dead ({outcome.reason}): "
                      f"{fix}")]
    if outcome.moved_to:
        return [warning(use.path, use.line, f"{where} {use.url} has moved permanently to "
                        f"{outcome.moved_to}: use the new address")]
    return []


def _ask_all(urls: list[str], probe: Probe, jobs: int, timeout: float,
             deadline: float) -> dict[str, Outcome]:
    """Probe URLs ``jobs`` at a time; whatever is not done by the deadline is unchecked."""
    if not urls:
        return {}
    ends = time.monotonic() + deadline

    def ask(url: str) -> Outcome:
        left = ends - time.monotonic()
        if left <= 0:
            return _out_of_time(deadline)
        outcome = probe(url, min(timeout, left))
        if not outcome.alive and time.monotonic() >= ends:
            return _out_of_time(deadline)  # cut short by the deadline: no verdict
        return outcome

    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="linkcheck")
    futures: dict[Future[Outcome], str] = {pool.submit(ask, url): url for url in urls}
    outcomes: dict[str, Outcome] = {}
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=max(0.0, ends - time.monotonic()) + timeout,
                             return_when=FIRST_COMPLETED)
        if not done:
            break  # past the deadline, and a request ignores its own timeout
        for future in done:
            outcomes[futures[future]] = future.result()
    pool.shutdown(wait=False, cancel_futures=True)
    for future in pending:
        outcomes[futures[future]] = _out_of_time(deadline)
    return outcomes


def _out_of_time(deadline: float) -> Outcome:
    return Outcome(False, f"the check stopped after {deadline:g} s in all; run it again, "
                   "or raise --timeout", unchecked=True)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by hand, to see each hop."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _probe(url: str, timeout: float) -> Outcome:
    """HEAD, then GET when the server refuses HEAD; redirects followed."""
    try:
        status, chain = _follow(url, "HEAD", timeout)
        if status >= 400:
            status, chain = _follow(url, "GET", timeout)
    except _Dead as exc:
        return Outcome(False, str(exc))
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return Outcome(False, _reason(exc, timeout))
    if status == 429:
        return Outcome(False, "the server asked us to slow down (429 Too Many Requests)",
                       status=status, unchecked=True)
    if status >= 400:
        return Outcome(False, _status_text(status), status=status)
    moved = chain[-1] if len(chain) > 1 and chain[0][1] in _PERMANENT else None
    return Outcome(True, status=status, moved_to=moved[0] if moved else None)


class _Dead(Exception):
    """A redirect loop or chain too long to follow."""


def _follow(url: str, method: str, timeout: float) -> tuple[int, list[tuple[str, int]]]:
    """The final status, and each address visited with the status it answered."""
    chain: list[tuple[str, int]] = []
    while True:
        status, location = _request(url, method, timeout)
        chain.append((url, status))
        if status not in _REDIRECT or not location:
            return status, chain
        url = urljoin(url, location)
        if any(seen == url for seen, _ in chain):
            hops = " → ".join([*(seen for seen, _ in chain), url])
            raise _Dead(f"redirect loop: {hops}")
        if len(chain) > MAX_REDIRECTS:
            raise _Dead(f"more than {MAX_REDIRECTS} redirects")


def _request(url: str, method: str, timeout: float) -> tuple[int, str | None]:
    """One request, retried once if the connection is reset."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise _Dead(f"only http and https links can be checked, not {url}")
    request = urllib.request.Request(url, method=method, headers={
        "User-Agent": USER_AGENT, "Accept": "*/*"})
    for attempt in (1, 2):
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                return response.status, None
        except urllib.error.HTTPError as answer:
            with answer:
                return answer.code, answer.headers.get("Location")
        except (ConnectionResetError, urllib.error.URLError) as exc:
            reset = isinstance(exc, ConnectionResetError) or isinstance(
                getattr(exc, "reason", None), ConnectionResetError)
            if not reset or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _reason(exc: BaseException, timeout: float) -> str:
    cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(cause, socket.gaierror):
        return "its host name was not found"
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, (TimeoutError, socket.timeout)):
        return f"no answer within {timeout:g} s"
    if isinstance(cause, ConnectionResetError):
        return "the connection was reset, twice"
    if isinstance(cause, ssl.SSLError):
        return f"its secure connection failed ({getattr(cause, 'reason', None) or cause})"
    return str(cause) or type(cause).__name__


def _status_text(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _read_cache(file: Path, now: float) -> dict[str, float]:
    """URLs that were fine less than FRESH_FOR ago, with when they were checked."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        entries = data["ok"] if data.get("version") == 1 else {}
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return {}  # no cache yet, or a damaged one: check everything
    return {url: float(at) for url, at in entries.items()
            if isinstance(at, (int, float)) and 0 <= now - at < FRESH_FOR}


def _write_cache(file: Path, cache: dict[str, float], outcomes: dict[str, Outcome],
                 now: float) -> None:
    """Keep the still-fresh successes and add this run's clean ones."""
    from .write import save_cache

    entries = dict(cache)
    for url, outcome in outcomes.items():
        if outcome.alive and not outcome.moved_to:
            entries[url] = now
        else:
            entries.pop(url, None)
    payload = json.dumps({"version": 1, "ok": dict(sorted(entries.items()))}, indent=1)
    save_cache(file, payload.encode("utf-8"))
