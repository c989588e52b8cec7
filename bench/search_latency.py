"""How long a reader waits for search: from typing a word in the header's search box
to the first result, in headless Chromium, against a built site.

    python bench/search_latency.py SITE_DIR [--delay 0.05] [--words objection,follow]

SITE_DIR is a built site (``trainkit build --out SITE_DIR``). It is served on 127.0.0.1
with ``--delay`` seconds added to every request, a phone's round trip, and opened at
its fourth course page in a fresh browser profile; each word is typed into the search
box and timed until a result is shown. The count of requests the search made is
printed too (a large site's index comes in parts: more parts, more requests).
Needs Chromium, chromedriver and selenium, as the browser tests do.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--delay", type=float, default=0.05,
                        help="seconds added to every request (default 0.05)")
    parser.add_argument("--words", default="objection,follow")
    args = parser.parse_args()

    from conftest import new_browser  # the tests' headless Chromium
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    requests = [0]
    delay = args.delay

    class Slow(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def do_GET(self) -> None:
            requests[0] += 1
            time.sleep(delay)
            super().do_GET()

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Slow, directory=str(args.site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    course = sorted(p.name for p in (args.site / "courses").iterdir() if p.is_dir())[3]
    with tempfile.TemporaryDirectory() as profile:
        driver = new_browser(Path(profile))
        try:
            for word in args.words.split(","):
                driver.get(f"{base}courses/{course}/")
                before = requests[0]
                box = driver.find_element(By.CSS_SELECTOR, ".site-search input[name=q]")
                started = time.perf_counter()
                box.click()
                box.send_keys(word)
                WebDriverWait(driver, 60).until(
                    lambda d: d.find_elements(By.CSS_SELECTOR, ".search-panel .search-result"))
                print(f"{word}: first result after {time.perf_counter() - started:.2f} s, "
                      f"{requests[0] - before} requests")
        finally:
            driver.quit()
    server.shutdown()


if __name__ == "__main__":
    main()
