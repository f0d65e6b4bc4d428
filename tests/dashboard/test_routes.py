"""Dashboard pages, JSON API and badges through aiohttp's test client."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.dashboard.routes import CLOCK_KEY, setup_routes
from bot.dashboard.standalone import make_app
from bot.store import open_database
from bot.summary.seed import seed_store
from bot.summary.source import MemorySource
from tests.dashboard.dashtest_support import NOW, seeded_source

Client = TestClient[Any, Any]


class Table(HTMLParser):
    """The module table's row names (first cell, a <th scope=row>) in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self._in_row_header = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr" and dict(attrs).get("data-name") is not None:
            self.names.append(str(dict(attrs)["data-name"]))


def names(html: str) -> list[str]:
    t = Table()
    t.feed(html)
    return t.names


async def test_index_shows_metrics_charts_changes_and_table(client: Client) -> None:
    resp = await client.get("/")
    assert resp.status == 200 and resp.content_type == "text/html"
    html = await resp.text()
    assert '<html lang="en">' in html and 'name="viewport"' in html
    assert html.count("<progress") == 3
    assert html.count('role="img"') == 3 and "<title id=" in html and "<desc id=" in html
    assert '<th scope="col"' in html and '<th scope="row">' in html
    assert names(html) == ["<b>x", "_abc", "_csv", "_json", "_testcapi", "math", "readline"]
    assert "&lt;b&gt;x" in html and "<b>x<" not in html  # escaped
    assert 'href="https://github.com/python/cpython/pull/4242"' in html  # completing PR
    assert "https://github.com/python/cpython/blob/07abab" in html  # code links at the sha
    assert "Week 2026-W48" in html and "backward" in html  # recent changes
    assert 'href="/modules/_abc"' in html


async def test_table_sort_and_filter_by_query(client: Client) -> None:
    html = await (await client.get("/?sort=name&order=desc&filter=stdlib")).text()
    assert names(html) == ["readline", "math", "_json", "_csv", "_abc", "<b>x"]
    html = await (await client.get("/?filter=single-phase")).text()
    assert names(html) == ["<b>x", "_testcapi", "readline"]
    html = await (await client.get("/?filter=done")).text()
    assert names(html) == ["_abc", "_csv"]
    html = await (await client.get("/?sort=-static_types&filter=stdlib")).text()
    assert names(html)[-1] in ("_abc", "_csv", "_json") and names(html)[0] == "readline"
    html = await (await client.get("/?q=cs")).text()
    assert names(html) == ["_csv"]
    assert 'aria-sort="ascending"' in html


async def test_bad_query_is_a_clear_400(client: Client) -> None:
    resp = await client.get("/?sort=evil")
    assert resp.status == 400 and "unknown sort" in await resp.text()
    resp = await client.get("/api/modules?filter=nope")
    assert resp.status == 400 and "unknown filter" in (await resp.json())["error"]


async def test_module_page_and_404(client: Client) -> None:
    resp = await client.get("/modules/_json")
    html = await resp.text()
    assert resp.status == 200
    assert "Module <code>_json</code>" in html and "regression" in html and "#4100" in html
    assert "<caption>" in html
    resp = await client.get("/modules/nope")
    assert resp.status == 404 and "No module named" in await resp.text()


async def test_api_progress_and_modules(client: Client) -> None:
    data = await (await client.get("/api/progress")).json()
    assert data["repo"] == "python/cpython" and data["sha"].startswith("07")
    assert set(data["metrics"]) == {"multi_phase", "heap_types", "per_interpreter_gil"}
    assert data["metrics"]["multi_phase"]["all"] == {"done": 4, "total": 7, "percent": 57.1}
    assert data["trend"] and data["trend"][-1]["week"] == "2026-W49"
    assert data["status_counts"] == {"done": 2, "partly": 2, "not-started": 3}
    mods = await (await client.get("/api/modules?filter=done&sort=name")).json()
    assert [m["name"] for m in mods["modules"]] == ["_abc", "_csv"]
    assert mods["count"] == 2 and mods["total"] == 7
    abc = mods["modules"][0]
    assert abc["completed_by"] == 4242 and abc["multiple_interpreters"] == "per-interpreter-gil"
    assert abc["code_url"].endswith("/Modules/abcmodule.c")


async def test_badge_is_svg_with_percentage(client: Client) -> None:
    resp = await client.get("/badge/multi-phase.svg")
    assert resp.status == 200 and resp.content_type == "image/svg+xml"
    svg = ET.fromstring(await resp.text())
    assert svg.get("aria-label") == "multi-phase: 57.1%"
    resp = await client.get("/badge/heap-types.svg?variant=stdlib")
    assert "heap-types (stdlib)" in await resp.text()
    assert (await client.get("/badge/bogus.svg")).status == 404


async def test_static_css_is_served(client: Client) -> None:
    resp = await client.get("/static/dashboard/dashboard.css")
    assert resp.status == 200 and "@media" in await resp.text()


async def test_empty_store_pages_still_work() -> None:
    async with TestClient(TestServer(make_app(MemorySource()))) as c:
        html = await (await c.get("/")).text()
        assert "Nothing has been analysed" in html
        assert (await (await c.get("/api/progress")).json())["metrics"] is None
        assert (await (await c.get("/api/modules")).json())["modules"] == []
        assert "no data" in await (await c.get("/badge/multi-phase.svg")).text()


async def test_mounted_on_a_service_app_over_a_real_store(tmp_path: Any) -> None:
    """What bot.service.app does: setup_routes(app, db) on its app, data from the store."""
    db = await open_database(f"sqlite:///{tmp_path / 's.sqlite3'}")
    try:
        await seed_store(db, seeded_source())
        app = web.Application()
        app[CLOCK_KEY] = lambda: NOW
        setup_routes(app, db)
        async with TestClient(TestServer(app)) as c:
            html = await (await c.get("/")).text()
            assert names(html)[:2] == ["<b>x", "_abc"]
            data = await (await c.get("/api/modules?filter=done")).json()
            assert [m["name"] for m in data["modules"]] == ["_abc", "_csv"]
            assert data["modules"][0]["completed_by"] == 4242
            hist = await (await c.get("/modules/_abc")).text()
            assert re.search(r"<td>done</td>", hist) and re.search(r"<td>partly</td>", hist)
    finally:
        await db.close()


async def test_served_by_the_service_app(tmp_path: Any) -> None:
    """The real service (bot.service.app.create_app) mounts the dashboard over its store."""
    from dataclasses import replace

    from bot.config import Settings
    from bot.service.app import create_app

    url = f"sqlite:///{tmp_path / 'svc.sqlite3'}"
    db = await open_database(url)
    try:
        await seed_store(db, seeded_source())
    finally:
        await db.close()
    settings = replace(
        Settings(), webhook_secret="s3cret", database_url=url, html_url="https://ghe.example"
    )
    app = await create_app(settings, workers=1)
    async with TestClient(TestServer(app)) as c:
        html = await (await c.get("/")).text()
        assert "Subinterpreter isolation progress" in html and "_abc" in html
        # The service's settings (from its state) are the dashboard's: links go to its GitHub.
        assert 'href="https://ghe.example/python/cpython/pull/4242"' in html
        progress = await (await c.get("/api/progress")).json()
        assert progress["sha"].startswith("07")
        assert (await c.get("/healthz")).status == 200  # the service's own routes still there


async def test_hostile_names_and_queries_are_escaped(client: Client) -> None:
    resp = await client.get("/modules/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    html = await resp.text()
    assert resp.status == 404 and "<script>alert" not in html and "&lt;script&gt;" in html
    resp = await client.get("/?q=%3Cimg%20src%3Dx%3E" + "a" * 500)
    html = await resp.text()
    assert resp.status == 200 and "<img src=x>" not in html
    assert 'value="&lt;img src=x&gt;' in html  # echoed back escaped, and cut to 100 chars
    assert "a" * 101 not in html
    resp = await client.get("/modules/%3Cb%3Ex")  # a real module with markup in its name
    assert resp.status == 200 and "Module <code>&lt;b&gt;x</code>" in await resp.text()
