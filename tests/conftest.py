"""Shared fixtures: small sites written from ``{path: text}``, the CLI, and a real
headless Chromium for what readers do in the browser."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Callable, Iterator

import pytest
from click.testing import CliRunner, Result

from trainkit.cli import main

MINIMAL = {
    "trainkit.yaml": 'title: Test Team\nversion: "1.0"\n',
    "courses/basics/course.yaml": "title: Basics\nlessons: [welcome, second]\n",
    "courses/basics/welcome.md": "---\ntitle: Welcome\nsummary: Start here.\nduration: 5\n---\n"
                                 "Hello team.\n\n## First steps\n\n- [ ] Say hello\n- [ ] Read on\n",
    "courses/basics/second.md": "---\ntitle: Second\nduration: 10\n---\nMore.\n",
}

SiteFactory = Callable[..., Path]


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(textwrap.dedent(content) if content.startswith("\n") else content,
                              encoding="utf-8")
    return root


@pytest.fixture
def make_site(tmp_path: Path) -> SiteFactory:
    """``make_site({...})`` writes MINIMAL plus/overridden by the given files; a value of
    None removes a MINIMAL file. Returns the source folder."""

    def make(files: dict[str, str | bytes | None] | None = None, base: bool = True) -> Path:
        root = tmp_path / "src"
        merged: dict[str, str | bytes | None] = {**(MINIMAL if base else {}), **(files or {})}
        write_files(root, {k: v for k, v in merged.items() if v is not None})
        return root

    return make


@pytest.fixture
def cli() -> Callable[..., Result]:
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return run


def _chromium() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def new_browser(profile: Path) -> object:
    """A headless Chromium with its own profile folder (so its own localStorage)."""
    found = _chromium()
    if found is None:
        pytest.skip("no Chromium and chromedriver installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=390,900",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.unhandled_prompt_behavior = "ignore"
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    driver.set_page_load_timeout(30)
    return driver


def _browser_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    driver = new_browser(tmp_path_factory.mktemp("profile"))
    try:
        yield driver
    finally:
        driver.quit()  # type: ignore[attr-defined]


@pytest.fixture
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A fresh headless Chromium profile per test (so localStorage starts empty)."""
    yield from _browser_session(tmp_path_factory)


@pytest.fixture
def second_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Another browser with a profile of its own: the reader's other device."""
    yield from _browser_session(tmp_path_factory)


@pytest.fixture
def static_server() -> Iterator[Callable[[Path, str], str]]:
    """``static_server(folder, prefix="/")`` serves a built site on 127.0.0.1 under a
    sub-path and returns its base URL (http://127.0.0.1:PORT/prefix/)."""
    import functools
    import http.server
    import threading

    servers = []

    def start(folder: Path, prefix: str = "/") -> str:
        prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"

        class Handler(http.server.SimpleHTTPRequestHandler):
            def translate_path(self, path: str) -> str:
                if not path.startswith(prefix):
                    return str(folder / "__missing__")
                return super().translate_path("/" + path[len(prefix):])

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}{prefix}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
