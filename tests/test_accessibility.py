"""The default theme passes axe-core with no violations, on a phone, light and dark.

axe-core comes from npm (`.ci/run` installs it into .ci/node_modules); the test is
skipped, with the reason, where it is not installed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trainkit.build import build

REPO = Path(__file__).resolve().parent.parent
PAGES = [
    "",
    "courses/habits-of-leaders/",
    "courses/habits-of-leaders/daily-method-of-operation/",
    "courses/training-your-downline/why-training-multiplies/",
    "paths/your-first-90-days/",
    "links/",
    "search/?q=team",
    "changes/",
    "404.html",
]


def _axe() -> Path | None:
    for candidate in (os.environ.get("TRAINKIT_AXE"), REPO / ".ci/node_modules/axe-core/axe.min.js",
                      REPO / "node_modules/axe-core/axe.min.js"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="module")
def sample_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("a11y") / "site"
    build(REPO, out, jobs=1)
    return out


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_sample_pages_have_no_axe_violations(browser, static_server, sample_site, scheme):
    axe = _axe()
    if axe is None:
        pytest.skip("axe-core is not installed (npm install --prefix .ci axe-core@4)")
    # Served at base_url's path, as published: the 404 page links by that path.
    base = static_server(sample_site, "/team-diamond/")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": scheme}]})
    script = axe.read_text(encoding="utf-8")
    failures = []
    for page in PAGES:
        browser.get(base + page)
        browser.execute_script(script)
        result = browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document).then(r => done(r.violations.map("
            "v => v.id + ': ' + v.help + ' @ ' + v.nodes.map(n => n.target.join(' ')).join(', '))));")
        failures += [f"/{page} ({scheme}): {v}" for v in result]
    assert failures == []
