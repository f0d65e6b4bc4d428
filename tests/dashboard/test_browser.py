"""The dashboard in a real browser: headless Chromium (Debian's chromium + chromium-driver)
driven by Selenium against the running server over a seeded store.

Skips with the reason when Chromium or its driver is missing, unless
ISOLATION_BOT_REQUIRE_BROWSER=1 (then it fails). Screenshots go to
$ISOLATION_BOT_TEST_OUTPUT (default: test-output/) as dashboard.png and dashboard-phone.png.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.dashboard.routes import CLOCK_KEY, setup_routes
from bot.store import open_database
from bot.summary.seed import seed_store
from tests.dashboard.dashtest_support import NOW, seeded_source

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _binary(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("ISOLATION_BOT_REQUIRE_BROWSER", "") not in ("", "0"):
        pytest.fail(f"{reason} (ISOLATION_BOT_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


def output_dir() -> Path:
    out = Path(os.environ.get("ISOLATION_BOT_TEST_OUTPUT", "test-output"))
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
async def server_url(tmp_path: Path) -> AsyncIterator[str]:
    """The dashboard mounted as the service mounts it, over a seeded SQLite store."""
    db = await open_database(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    await seed_store(db, seeded_source())
    app = web.Application()
    app[CLOCK_KEY] = lambda: NOW
    setup_routes(app, db)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        await db.close()


@pytest.fixture
def driver(tmp_path: Path) -> Any:
    chromium = _binary("chromium", "chromium-browser", "google-chrome")
    chromedriver = _binary("chromedriver")
    if chromium is None or chromedriver is None:
        _skip_or_fail("headless Chromium not installed (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _skip_or_fail("selenium is not installed (pip install selenium)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path, prefix='chromium-')}")
    options.add_argument("--window-size=1280,2000")
    # An explicit driver path: Selenium Manager never tries to download anything.
    d = webdriver.Chrome(service=Service(executable_path=str(chromedriver)), options=options)
    d.set_page_load_timeout(30)
    try:
        yield d
    finally:
        d.quit()


def _follow(d: Any, element: Any) -> None:
    """Click a link or a submit button and wait for the new page: a click returns before
    the navigation it starts has finished."""
    from selenium.webdriver.support.ui import WebDriverWait

    before = d.current_url
    element.click()
    WebDriverWait(d, 10).until(
        lambda _: (
            d.current_url != before and d.execute_script("return document.readyState") == "complete"
        )
    )


def _browse(d: Any, url: str) -> None:
    """Everything a person would do, in the browser (blocking: run in a thread)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    def follow(element: Any) -> None:
        _follow(d, element)

    def row_names() -> list[str]:
        rows = d.find_elements(By.CSS_SELECTOR, "#module-table tbody tr[data-name]")
        return [r.get_attribute("data-name") for r in rows if r.is_displayed()]

    d.get(url + "/")
    assert d.find_element(By.TAG_NAME, "h1").text == "Subinterpreter isolation progress"
    assert d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    # The table, with every module.
    assert row_names() == ["<b>x", "_abc", "_csv", "_json", "_testcapi", "math", "readline"]
    headers = [h.text for h in d.find_elements(By.CSS_SELECTOR, "#module-table thead th")]
    assert headers[0].startswith("Module") and "Completed by" in headers
    # The charts: rendered SVG with an accessible name and a drawn line.
    charts = d.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) == 3
    for chart in charts:
        assert chart.size["width"] > 200 and chart.size["height"] > 50
        assert chart.find_element(By.TAG_NAME, "title").get_attribute("textContent")
        assert chart.find_elements(By.TAG_NAME, "polyline")
    bars = d.find_elements(By.TAG_NAME, "progress")
    assert [b.get_attribute("value") for b in bars] == ["57.1", "44.4", "28.6"]
    badge = d.find_element(By.CSS_SELECTOR, "img[src='/badge/multi-phase.svg']")
    assert d.execute_script("return arguments[0].naturalWidth", badge) > 0  # it loaded
    # Links: the code on GitHub at the analysed commit, the completing PR, module pages.
    code = d.find_element(By.LINK_TEXT, "Modules/abcmodule.c").get_attribute("href")
    assert code.startswith("https://github.com/python/cpython/blob/07abab")
    assert d.find_element(By.LINK_TEXT, "#4242").get_attribute("href").endswith("/pull/4242")
    d.save_screenshot(str(output_dir() / "dashboard.png"))

    # Sorting by clicking a header (server-side, no JS needed), then again to reverse.
    follow(d.find_element(By.LINK_TEXT, "Open findings"))
    assert row_names()[-1] in ("<b>x", "_testcapi", "readline")
    follow(d.find_element(By.LINK_TEXT, "Open findings"))
    assert row_names()[0] in ("<b>x", "_testcapi", "readline")
    # Filtering with the form.
    Select(d.find_element(By.NAME, "filter")).select_by_value("done")
    follow(d.find_element(By.CSS_SELECTOR, ".table-controls button"))
    assert "filter=done" in d.current_url
    assert sorted(row_names()) == ["_abc", "_csv"]
    # Progressive enhancement: typing filters the rows at once.
    d.get(url + "/")
    box = d.find_element(By.NAME, "q")
    box.send_keys("re")
    assert row_names() == ["readline"]
    assert d.find_element(By.ID, "row-count").text.startswith("1 of")
    # A module page from the table.
    box.clear()
    d.get(url + "/")
    follow(d.find_element(By.LINK_TEXT, "_json"))
    assert d.find_element(By.TAG_NAME, "h1").text == "Module _json"
    assert "regression" in d.find_element(By.TAG_NAME, "main").text
    # On a phone: the layout fits the width (no horizontal page scroll).
    d.set_window_size(390, 844)
    d.get(url + "/")
    overflow = d.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1
    d.save_screenshot(str(output_dir() / "dashboard-phone.png"))


async def test_dashboard_in_headless_chromium(server_url: str, driver: Any) -> None:
    await asyncio.to_thread(_browse, driver, server_url)
    assert (output_dir() / "dashboard.png").stat().st_size > 10_000


def _browse_rules(d: Any, url: str) -> None:
    """The rule docs as a reader opens them from a link in a PR comment."""
    from selenium.webdriver.common.by import By

    d.set_window_size(1280, 2000)
    d.get(url + "/rules")
    assert d.find_element(By.TAG_NAME, "h1").text == "Rules"
    rows = d.find_elements(By.CSS_SELECTOR, "table.rules tbody tr")
    assert len(rows) >= 19
    _follow(d, d.find_element(By.LINK_TEXT, "ISO005"))
    assert d.current_url.endswith("/rules/ISO005")
    assert d.find_element(By.TAG_NAME, "h1").text == "ISO005 global-object"
    # The examples: two code blocks, highlighted on the server (colours differ by token).
    blocks = d.find_elements(By.CSS_SELECTOR, "figure.example pre code")
    assert len(blocks) == 2 and all(b.is_displayed() for b in blocks)
    keyword = d.find_element(By.CSS_SELECTOR, "figure.example.bad .c-kw")
    plain = d.find_element(By.CSS_SELECTOR, "figure.example.bad pre code")
    assert keyword.value_of_css_property("color") != plain.value_of_css_property("color")
    headings = [h.text for h in d.find_elements(By.TAG_NAME, "h2")]
    assert headings[:3] == ["Why this breaks isolation", "Example", "How to fix"]
    # A rule by name lands on its page (the id's address).
    d.get(url + "/rules/static-type")
    assert d.current_url.endswith("/rules/ISO001")
    d.save_screenshot(str(output_dir() / "rule-page.png"))


async def test_rule_pages_in_headless_chromium(server_url: str, driver: Any) -> None:
    await asyncio.to_thread(_browse_rules, driver, server_url)


def _read_comment(d: Any, page: Path) -> None:
    """The four-module PR comment, rendered by a CommonMark renderer, read in the browser."""
    from selenium.webdriver.common.by import By

    d.set_window_size(1280, 1000)
    d.get(page.as_uri())
    table = d.find_element(By.TAG_NAME, "table")
    assert table.is_displayed() and table.location["y"] < 1000  # on the first screen
    assert "converted to multi-phase init" in table.text
    details = d.find_element(By.TAG_NAME, "details")
    assert details.get_attribute("open") is None  # the fixed list starts folded ...
    hidden = details.find_elements(By.TAG_NAME, "li")
    assert hidden and not any(li.is_displayed() for li in hidden)
    new = [li for li in d.find_elements(By.CSS_SELECTOR, "body > ul > li") if li.is_displayed()]
    assert new and all("at Modules/" in li.text for li in new[:9])
    details.find_element(By.TAG_NAME, "summary").click()  # ... and opens on a click
    assert all(li.is_displayed() for li in hidden[:5])
    d.save_screenshot(str(output_dir() / "pr-comment.png"))


async def test_pr_comment_reads_well_in_headless_chromium(tmp_path: Path, driver: Any) -> None:
    from markdown_it import MarkdownIt

    from bot.prcheck import comment
    from tests.support.conversions import pr_check_result

    body = comment.render(pr_check_result())
    html = MarkdownIt("commonmark", {"html": True}).enable(["table"]).render(body)
    page = tmp_path / "comment.html"
    page.write_text(f'<!doctype html><meta charset="utf-8"><body>{html}</body>', "utf-8")
    await asyncio.to_thread(_read_comment, driver, page)
