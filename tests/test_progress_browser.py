"""Reader progress in real headless Chromium: ticks persist, counts update, routines
reset with the clock, progress moves between browsers as a code.

Each test builds a small site and serves it on 127.0.0.1 (localStorage on file:// is
unreliable); the clock is the browser's own, overridden before each page loads.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Callable

import pytest


SITE = {
    "courses/basics/course.yaml": "title: Basics\nlessons: [welcome, second, routine]\n",
    "courses/basics/welcome.md": "---\ntitle: Welcome\n---\nHello.\n\n"
                                 "- [ ] Say hello\n- [x] Read the intro\n- [ ] Meet your upline\n",
    "courses/basics/second.md": "---\ntitle: Second\n---\nNo checklist here.\n",
    "courses/basics/routine.md": "---\ntitle: Daily routine\nrepeat: daily\n---\n"
                                 "- [ ] Call two people\n- [ ] Follow up\n",
    "paths/start.yaml": "title: Start here\nsteps:\n  - course: basics\n",
}
WELCOME = "courses/basics/welcome/"
ROUTINE = "courses/basics/routine/"

Driver = Any


@pytest.fixture
def site_url(make_site: Callable[..., Path], cli: Any, static_server: Any) -> str:
    """The built test site, served over http on a free local port."""
    src = make_site(SITE)
    result = cli("build", "--source", src)
    assert result.exit_code == 0, result.output
    return static_server(src / "site")


def text(driver: Driver, selector: str) -> str | None:
    """The text of the first match, or None when there is none or it is hidden."""
    return driver.execute_script(
        "var e = document.querySelector(arguments[0]); return e && !e.closest('[hidden]')"
        " ? e.textContent : null", selector)


def tick(driver: Driver, label: str) -> None:
    """Click the checkbox labelled ``label`` (as a reader does, firing ``change``)."""
    driver.execute_script(
        "var want = arguments[0], l = Array.from(document.querySelectorAll('.task label'))"
        ".find(function (l) { return l.textContent === want; });"
        "document.getElementById(l.htmlFor).click();", label)


def ticked(driver: Driver) -> dict[str, bool]:
    return dict(driver.execute_script(
        "return Array.from(document.querySelectorAll('.task')).map(function (li) {"
        "return [li.querySelector('label').textContent, li.querySelector('input').checked]; })"))


STORAGE_KEY = ("'trainkit:' + new URL('../', document.querySelector("
               "'script[src$=\"trainkit.js\"]').src).pathname")
"""The reader's progress is kept under the path of the site's root."""


def stored(driver: Driver) -> Any:
    raw = driver.execute_script(f"return localStorage.getItem({STORAGE_KEY});")
    return json.loads(raw) if raw else None


def no_console_errors(driver: Driver) -> None:
    errors = [e for e in driver.get_log("browser")
              if e["level"] == "SEVERE" and "favicon.ico" not in e["message"]]
    assert errors == []


def set_clock(driver: Driver, when: dt.datetime, state: dict[str, str]) -> None:
    """Make ``Date`` start at ``when`` (local time) in every page loaded from now on."""
    if "id" in state:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument",
                               {"identifier": state["id"]})
    source = f"""(function () {{
      var Real = Date, start = Real.now(),
          fake = new Real({when.year}, {when.month - 1}, {when.day}, {when.hour}).getTime();
      function now() {{ return fake + (Real.now() - start); }}
      function FakeDate() {{
        var a = Array.prototype.slice.call(arguments);
        if (!(this instanceof FakeDate)) return new Real(now()).toString();
        return a.length ? new (Function.prototype.bind.apply(Real, [null].concat(a)))()
                        : new Real(now());
      }}
      FakeDate.prototype = Real.prototype;
      FakeDate.now = now; FakeDate.UTC = Real.UTC; FakeDate.parse = Real.parse;
      window.Date = FakeDate;
    }})();"""
    state["id"] = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                         {"source": source})["identifier"]


def test_ticks_persist_and_counts_update(browser: Driver, site_url: str) -> None:
    browser.get(site_url + WELCOME)
    assert ticked(browser) == {"Say hello": False, "Read the intro": True,
                               "Meet your upline": False}
    assert text(browser, ".progress-count") == "1 of 3 done"
    tick(browser, "Say hello")
    tick(browser, "Read the intro")  # ticked in the source: the reader's untick must stick
    assert text(browser, ".progress-count") == "1 of 3 done"
    browser.refresh()
    assert ticked(browser) == {"Say hello": True, "Read the intro": False,
                               "Meet your upline": False}
    assert browser.find_element("css selector", ".complete-button") \
        .get_attribute("aria-pressed") == "false"

    browser.get(site_url + "courses/basics/")
    assert text(browser, ".progress-summary").startswith("0 of 3 lessons complete")
    assert text(browser, '[data-lesson="basics/welcome"] .state') == "In progress · 1 of 3"
    assert text(browser, '[data-lesson="basics/second"] .state') == "Not started"

    browser.get(site_url + WELCOME)
    tick(browser, "Read the intro")
    tick(browser, "Meet your upline")  # the last box completes the lesson
    assert text(browser, ".progress-count") == "3 of 3 done · lesson complete"
    assert browser.find_element("css selector", ".complete-button") \
        .get_attribute("aria-pressed") == "true"

    browser.get(site_url + "courses/basics/second/")
    browser.find_element("css selector", ".complete-button").click()
    for page in ("courses/basics/", "paths/start/"):
        browser.get(site_url + page)
        assert text(browser, ".progress-summary").startswith("2 of 3 lessons complete")
        assert text(browser, '[data-lesson="basics/welcome"] .state') == "Done"
        assert text(browser, '[data-lesson="basics/routine"] .state') == "Not started"
    browser.get(site_url)
    assert text(browser, ".course-card .progress-summary").startswith("2 of 3 lessons complete")
    assert text(browser, ".continue a") == "Second"
    browser.find_element("css selector", ".continue a").click()
    assert browser.current_url == site_url + "courses/basics/second/"
    no_console_errors(browser)


def test_course_page_updates_live_from_another_tab(browser: Driver, site_url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(site_url + "courses/basics/")
    course_tab = browser.current_window_handle
    browser.switch_to.new_window("tab")
    browser.get(site_url + WELCOME)
    tick(browser, "Say hello")
    tick(browser, "Meet your upline")
    browser.switch_to.window(course_tab)
    # (the other tab's storage event arrives on its own time: seen late under load)
    WebDriverWait(browser, 5).until(lambda driver: (text(driver, ".progress-summary") or "")
                                    .startswith("1 of 3 lessons complete"))
    assert text(browser, '[data-lesson="basics/welcome"] .state') == "Done"
    no_console_errors(browser)


def test_reopening_a_lesson_writes_nothing(browser: Driver, site_url: str) -> None:
    """Opening a page writes the reader's progress only when the visit changes it: a page
    that opens while another page's tick is still on its way to the store must not put
    back the state it read before that tick."""
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "window.__writes = 0; var set = Storage.prototype.setItem;"
        "Storage.prototype.setItem = function () { window.__writes++;"
        " return set.apply(this, arguments); };")})
    browser.get(site_url + WELCOME)
    assert browser.execute_script("return window.__writes") == 1  # the first visit
    tick(browser, "Say hello")
    browser.get(site_url + "courses/basics/")
    browser.get(site_url + WELCOME)
    assert browser.execute_script("return window.__writes") == 0
    assert ticked(browser)["Say hello"] is True
    browser.get(site_url + "courses/basics/second/")
    assert browser.execute_script("return window.__writes") == 1  # "continue" moves on
    assert stored(browser)["l"] == {"k": "basics/second", "n": "Second"}


def test_daily_routine_resets_each_day_and_counts_the_streak(browser: Driver,
                                                             site_url: str) -> None:
    clock: dict[str, str] = {}
    monday = dt.datetime(2026, 11, 23, 12)
    set_clock(browser, monday, clock)
    browser.get(site_url + ROUTINE)
    assert text(browser, ".streak") == "Current streak: 0 days"
    tick(browser, "Call two people")
    tick(browser, "Follow up")
    assert text(browser, ".progress-count") == "2 of 2 done · done for today"
    assert text(browser, ".streak") == "Current streak: 1 day"

    set_clock(browser, monday + dt.timedelta(days=1), clock)
    browser.get(site_url + ROUTINE)
    assert ticked(browser) == {"Call two people": False, "Follow up": False}
    assert text(browser, ".streak") == "Current streak: 1 day (keep it going today)"
    tick(browser, "Call two people")
    tick(browser, "Follow up")
    assert text(browser, ".streak") == "Current streak: 2 days"
    history = browser.execute_script(
        "return Array.from(document.querySelectorAll('.history li'), function (li) {"
        " return li.className; })")
    assert history == ["missed"] * 5 + ["done", "done"]

    set_clock(browser, monday + dt.timedelta(days=3), clock)  # a day missed
    browser.get(site_url + ROUTINE)
    assert text(browser, ".progress-count") == "0 of 2 done"
    assert text(browser, ".streak") == "Current streak: 0 days"
    assert stored(browser)["h"]["basics/routine"] == ["2026-11-23", "2026-11-24"]
    no_console_errors(browser)


def test_export_then_import_in_a_fresh_profile(browser: Driver, second_browser: Driver,
                                               site_url: str) -> None:
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(site_url + WELCOME)
    tick(browser, "Say hello")
    tick(browser, "Read the intro")
    browser.get(site_url + "courses/basics/second/")
    browser.find_element("css selector", ".complete-button").click()
    browser.get(site_url)
    browser.find_element("css selector", ".progress-tools summary").click()
    browser.find_element("css selector", ".export-button").click()
    code = browser.find_element("css selector", "#export-code").get_attribute("value")
    link = browser.find_element("css selector", ".import-link").get_attribute("href")
    assert code.startswith("tk1.") and link == site_url + "#import=" + code
    before = stored(browser)
    no_console_errors(browser)

    second_browser.get(link)
    WebDriverWait(second_browser, 5).until(expected_conditions.alert_is_present())
    second_browser.switch_to.alert.accept()
    assert text(second_browser, ".progress-message") == "Progress imported."
    assert stored(second_browser) == before
    assert "#import" not in second_browser.current_url
    assert text(second_browser, ".continue a") == "Second"
    second_browser.get(site_url + WELCOME)
    assert ticked(second_browser) == {"Say hello": True, "Read the intro": False,
                                     "Meet your upline": False}
    no_console_errors(second_browser)


def test_bad_or_foreign_code_changes_nothing(browser: Driver, site_url: str) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(site_url + WELCOME)
    tick(browser, "Say hello")
    browser.get(site_url)
    before = stored(browser)
    browser.find_element("css selector", ".progress-tools summary").click()
    foreign = browser.execute_script(
        "return 'tk1.' + btoa(JSON.stringify({v: 1, s: 'other', n: 'Other Team', d: {}}))"
        ".replace(/=+$/, '');")
    for code, message in (("tk1.not-a-code!", "is not a progress code"),
                          ("hello", "is not a progress code"),
                          (foreign, "from a different training site (Other Team)")):
        field = browser.find_element("css selector", "#import-code")
        field.clear()
        field.send_keys(code)
        browser.find_element("css selector", ".import-button").click()
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text
        assert message in text(browser, ".progress-message")
        assert "Nothing was changed" in text(browser, ".progress-message")
        assert stored(browser) == before
    browser.get(site_url + "#import=tk1.garbage")
    WebDriverWait(browser, 5).until(
        lambda d: "is not a progress code" in (text(d, ".progress-message") or ""))
    assert stored(browser) == before
    no_console_errors(browser)


def test_changed_lesson_is_flagged_for_review(browser: Driver, site_url: str, cli: Any,
                                              tmp_path: Path) -> None:
    browser.get(site_url + "courses/basics/second/")
    browser.find_element("css selector", ".complete-button").click()
    browser.refresh()
    assert text(browser, ".review-flag") is None
    src = tmp_path / "src"
    (src / "courses/basics/second.md").write_text("---\ntitle: Second\n---\nRewritten.\n")
    assert cli("build", "--source", src).exit_code == 0
    # A new URL: http.server's one-second Last-Modified could serve the old page.
    browser.get(site_url + "courses/basics/second/?v2")
    assert text(browser, ".review-flag").startswith("Updated since you completed it.")
    browser.get(site_url + "courses/basics/?v2")
    assert text(browser, '[data-lesson="basics/second"] .state') == \
        "Done · updated since you completed it"
    browser.get(site_url + "courses/basics/second/?v2")
    browser.find_element("css selector", ".reviewed-button").click()
    assert text(browser, ".review-flag") is None
    assert browser.find_element("css selector", ".complete-button") \
        .get_attribute("aria-pressed") == "true"
    no_console_errors(browser)


def test_progress_survives_a_new_site_title(browser: Driver, site_url: str, cli: Any,
                                            tmp_path: Path) -> None:
    """Progress is kept by where the site is, not by its title; progress kept by sites
    built before (under a hash of the title) is carried over, and a reset stays reset."""
    from trainkit.markdown_ext.tasklist import item_id

    browser.get(site_url + WELCOME)
    old_key = "trainkit:" + browser.execute_script("return document.documentElement.dataset.site")
    browser.execute_script("localStorage.clear(); localStorage.setItem(arguments[0], arguments[1]);",
                           old_key, json.dumps({"t": {item_id("basics/welcome", "Say hello"): 1}}))
    browser.refresh()
    assert ticked(browser)["Say hello"] is True  # carried over from the old entry
    tick(browser, "Meet your upline")
    assert set(stored(browser)["t"].values()) == {1}

    src = tmp_path / "src"
    (src / "trainkit.yaml").write_text('title: Team Diamond Academy\nversion: "1.0"\n')
    assert cli("build", "--source", src).exit_code == 0
    browser.get(site_url + WELCOME + "?renamed")
    assert browser.find_element("css selector", ".brand").text == "Team Diamond Academy"
    assert ticked(browser) == {"Say hello": True, "Read the intro": True,
                               "Meet your upline": True}

    browser.get(site_url + "?renamed")
    browser.execute_script("window.confirm = function () { return true; };"
                           "document.querySelector('.reset-button').click();")
    browser.get(site_url + WELCOME + "?renamed")
    assert ticked(browser) == {"Say hello": False, "Read the intro": True,
                               "Meet your upline": False}
    no_console_errors(browser)
