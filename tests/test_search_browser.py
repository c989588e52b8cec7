"""Search in a real headless Chromium, with the site served from a sub-path (/team/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainkit.build import build

SITE = {
    "courses/basics/welcome.md": "---\ntitle: Welcome\nsummary: Start here.\n---\n"
                                 "Hello team. Keep a notebook of every conversation.\n",
    "courses/prospecting/course.yaml": "title: Prospecting Basics\nlessons: [warm-market]\n",
    "courses/prospecting/warm-market.md": "---\ntitle: Your warm market\ntags: [prospecting]\n---\n"
                                          "Write down fifty names, then call the xylophonist first.\n",
}


@pytest.fixture
def served(make_site, tmp_path: Path, static_server) -> str:
    """The site served under /team/ only, as a shared host would."""
    out = tmp_path / "out"
    build(make_site(SITE), out)
    return static_server(out, "/team/")


def _wait_for(driver, css: str, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 15).until(
        lambda d: any(text in e.text for e in d.find_elements(By.CSS_SELECTOR, css)))


def test_header_box_finds_a_lesson_by_a_word_of_its_body(browser, served) -> None:
    from selenium.webdriver.common.by import By

    browser.get(served + "courses/basics/welcome/")
    box = browser.find_element(By.CSS_SELECTOR, ".site-search input[name=q]")
    box.click()
    box.send_keys("xylophonist")
    _wait_for(browser, ".search-panel .search-result", "Your warm market")
    result = browser.find_element(By.CSS_SELECTOR, ".search-panel .search-result")
    assert "Prospecting Basics" in result.text
    link = result.find_element(By.TAG_NAME, "a")
    assert link.get_attribute("href") == served + "courses/prospecting/warm-market/"
    link.click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "Your warm market"


def test_the_form_goes_to_the_search_page_with_results(browser, served) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(served + "courses/basics/")
    box = browser.find_element(By.CSS_SELECTOR, ".site-search input[name=q]")
    box.send_keys("notebook conversation", Keys.ENTER)
    _wait_for(browser, ".search-results .search-result", "Welcome")
    assert browser.current_url.startswith(served + "search/")
    first = browser.find_element(By.CSS_SELECTOR, ".search-results .search-result")
    assert "Welcome" in first.text and "Basics" in first.text
    errors = [e for e in browser.get_log("browser")
              if e["level"] == "SEVERE" and "favicon.ico" not in e["message"]]
    assert errors == []


def test_nothing_is_loaded_from_another_host_and_lesson_pages_stay_small(served, tmp_path) -> None:
    lesson = (tmp_path / "out/courses/basics/welcome/index.html").read_text()
    assert "http://" not in lesson.replace('xmlns="http://', "") and "https://" not in lesson
    assets = tmp_path / "out/_trainkit"
    eager = len(lesson) + sum((assets / n).stat().st_size for n in
                              ("style.css", "trainkit.js", "search.js"))
    assert eager < 60_000


def test_the_search_page_filters_by_course(browser, make_site, tmp_path, static_server) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    out = tmp_path / "filtered"
    build(make_site({**SITE, "courses/basics/second.md":
                     "---\ntitle: Second\n---\nCall the xylophonist too.\n"}), out)
    base = static_server(out, "/team/")
    browser.get(base + "search/?q=xylophonist")
    _wait_for(browser, ".search-results .search-result", "Your warm market")
    _wait_for(browser, ".search-results .search-result", "Second")
    WebDriverWait(browser, 15).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".search-filters").is_displayed())
    Select(browser.find_element(By.CSS_SELECTOR, "select[name=course]")) \
        .select_by_value("Prospecting Basics")
    WebDriverWait(browser, 15).until(
        lambda d: [e.text.split("\n")[0] for e in
                   d.find_elements(By.CSS_SELECTOR, ".search-results .search-result a")]
        == ["Your warm market"])


PARTED = {**SITE,
          "courses/closing/course.yaml": "title: Closing\nlessons: [follow-up]\n",
          "courses/closing/follow-up.md": "---\ntitle: The follow-up\n---\n"
                                          "Send the zeppelin summary within a day.\n",
          "courses/recruiting/course.yaml": "title: Recruiting\nlessons: [first-call]\n",
          "courses/recruiting/first-call.md": "---\ntitle: The first call\n---\n"
                                              "Open with the quokka question.\n"}


def test_a_large_site_index_in_parts_is_searched_as_one(browser, make_site, tmp_path,
                                                        static_server, monkeypatch) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from trainkit import search

    monkeypatch.setattr(search, "PART_PAGES", 3)  # a "large" site: parts of about 3 pages
    out = tmp_path / "parted"
    build(make_site(PARTED), out)
    parts = (out / "pagefind/trainkit-parts.json").read_text()
    assert "part-1/" in parts and (out / "pagefind/part-1/pagefind-entry.json").is_file()
    base = static_server(out, "/team/")
    for word, title in (("xylophonist", "Your warm market"), ("zeppelin", "The follow-up"),
                        ("quokka", "The first call"), ("notebook", "Welcome")):
        browser.get(base + f"search/?q={word}")
        _wait_for(browser, ".search-results .search-result", title)
    WebDriverWait(browser, 15).until(  # every part's courses are offered as filters
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "select[name=course] option")) == 5)
