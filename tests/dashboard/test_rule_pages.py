"""The rule documentation pages served by the dashboard: /rules and /rules/<id-or-name>."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from aiohttp.test_utils import TestClient

from bot.analysis.catalog import load_catalog
from bot.dashboard.rules import highlight_c, inline

Client = TestClient[Any, Any]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.spans: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        if tag == "span" and a.get("class"):
            self.spans.append(str(a["class"]))
        if tag == "script":
            self.scripts.append(str(a.get("src")))


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


async def test_rules_index_lists_every_rule(client: Client) -> None:
    resp = await client.get("/rules")
    assert resp.status == 200 and resp.content_type == "text/html"
    html = await resp.text()
    page = _parse(html)
    for rule in load_catalog().rules():
        assert f"/rules/{rule.id}" in page.links
        assert rule.name in html
    assert 'href="/rules"' in html  # the site navigation links the rules


async def test_every_rule_page_shows_its_documentation_with_highlighted_examples(
    client: Client,
) -> None:
    for rule in load_catalog().rules():
        resp = await client.get(f"/rules/{rule.id}")
        assert resp.status == 200, rule.id
        html = await resp.text()
        page = _parse(html)
        assert f"{rule.id} <code>{rule.name}</code>" in html
        for heading in ("Why this breaks isolation", "Example", "How to fix", "References"):
            assert heading in html, (rule.id, heading)
        assert "c-kw" in page.spans and "c-api" in page.spans  # highlighted on the server
        assert html.count('<pre><code class="language-c">') == 2  # bad and fixed
        for link in rule.links:
            assert link.url in page.links
        if getattr(rule, "known_problems", ""):
            assert "Known problems" in html


async def test_rule_by_name_redirects_to_its_id_and_unknown_is_404(client: Client) -> None:
    resp = await client.get("/rules/static-type", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/rules/ISO001"
    assert (await client.get("/rules/iso001", allow_redirects=False)).status == 302
    missing = await client.get("/rules/<b>nope")
    assert missing.status == 404
    assert "<b>nope" not in await missing.text()


def test_highlighting_escapes_and_marks_tokens() -> None:
    html = str(highlight_c('#include "Python.h"\nstatic int x = 1; /* <b> */\nPy_INCREF(o);'))
    assert '<span class="c-pre">#include &#34;Python.h&#34;</span>' in html
    assert '<span class="c-kw">static</span>' in html and '<span class="c-num">1</span>' in html
    assert '<span class="c-comment">/* &lt;b&gt; */</span>' in html
    assert '<span class="c-api">Py_INCREF</span>' in html


def test_prose_keeps_code_spans_and_escapes_html() -> None:
    assert str(inline("Use `PyType_FromSpec` <script>")) == (
        "Use <code>PyType_FromSpec</code> &lt;script&gt;"
    )
