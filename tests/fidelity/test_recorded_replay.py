"""Our client against real GitHub answers, replayed byte for byte (status, headers, body).

The exchanges are octokit/fixtures recordings (tests/data/github/recorded-subset.json and
tests/fidelity/data/recorded-paginate-issues.json, see tests/data/SOURCES.md): a five-page
issue list whose "next" links point at another path form
(/repositories/{id}/issues) on the absolute api.github.com URL, a real 422 with an ``errors``
array, label calls with their 200/201/204 answers. The replay server swaps the recorded
``https://api.github.com`` for its own address, nothing else.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from gidgethub import InvalidField

from bot.github import BotGitHubAPI, RetryPolicy
from bot.github.client import _retry_after_seconds
from tests.support.http import serve_handler

DATA = Path(__file__).resolve().parents[1] / "data" / "github" / "recorded-subset.json"
# All five pages (the shared subset keeps the first only).
PAGES = Path(__file__).parent / "data" / "recorded-paginate-issues.json"
FAST = RetryPolicy(backoff_base=0.001, backoff_cap=0.002, timeout=2.0)
SKIP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


def recorded() -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = json.loads(DATA.read_text("utf-8"))
    data["paginate-issues"] = json.loads(PAGES.read_text("utf-8"))
    return data


class Replay:
    def __init__(self, exchanges: list[dict[str, Any]]) -> None:
        self.exchanges = exchanges
        self.base = ""
        self.seen: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(f"{request.method} {request.raw_path}")
        for x in self.exchanges:
            if x["method"].upper() == request.method and x["path"] == request.raw_path:
                headers = {
                    k: str(v).replace("https://api.github.com", self.base)
                    for k, v in x["headers"].items()
                    if k.lower() not in SKIP_HEADERS
                }
                response = x.get("response")
                body = b"" if response in (None, "") else json.dumps(response).encode()
                return web.Response(status=x["status"], body=body, headers=headers)
        return web.json_response({"message": "Not Found"}, status=404)


@pytest.fixture
async def replay() -> AsyncIterator[tuple[Replay, BotGitHubAPI]]:
    everything = [x for xs in recorded().values() for x in xs]
    rep = Replay(everything)

    async def token(force: bool) -> str:
        return "ghs_x"

    async with serve_handler(rep.handle) as base, aiohttp.ClientSession() as session:
        rep.base = base
        yield rep, BotGitHubAPI(session, base_url=rep.base, token_provider=token, policy=FAST)


async def test_five_real_pages_are_followed_through_their_link_urls(replay: Any) -> None:
    rep, gh = replay
    pages = recorded()["paginate-issues"]
    assert len(pages) == 5
    items = [i async for i in gh.getiter(pages[0]["path"])]
    assert len(items) == sum(len(p["response"]) for p in pages)
    assert rep.seen == [f"GET {p['path']}" for p in pages]  # exactly the recorded requests
    assert gh.counter.calls == 5


async def test_links_naming_another_host_stay_on_the_api_host(replay: Any) -> None:
    """The recorded links name https://api.github.com; served as recorded (not rewritten),
    they are followed on our API host, path and query exactly: the token goes nowhere else."""
    rep, gh = replay
    rep.base = "https://api.github.com"  # the replay now leaves the recorded links alone
    pages = recorded()["paginate-issues"]
    items = [i async for i in gh.getiter(pages[0]["path"])]
    assert len(items) == sum(len(p["response"]) for p in pages)
    assert rep.seen == [f"GET {p['path']}" for p in pages]


async def test_a_real_422_raises_with_the_field_named(replay: Any) -> None:
    rep, gh = replay
    (x,) = recorded()["errors"]
    with pytest.raises(InvalidField) as info:
        await gh.post(x["path"], data=x["body"])
    assert info.value.status_code == 422
    assert rep.seen == [f"POST {x['path']}"]  # a 422 is final: not retried


async def test_real_label_answers_200_201_and_empty_204(replay: Any) -> None:
    _rep, gh = replay
    by_method = {x["method"].upper(): x for x in recorded()["labels"]}
    created = await gh.post(by_method["POST"]["path"], data=by_method["POST"]["body"])
    assert created["name"] == by_method["POST"]["response"]["name"]
    await gh.delete(by_method["DELETE"]["path"])  # 204, no body, no content type
    added = recorded()["add-labels-to-issue"][1]
    labels = await gh.post(added["path"], data=added["body"])  # 200 with the labels
    assert isinstance(labels, list) and labels


def test_recorded_rate_limit_reset_in_milliseconds_is_understood() -> None:
    # octokit/fixtures normalise x-ratelimit-reset to milliseconds; GitHub sends seconds.
    headers = recorded()["labels"][0]["headers"]
    now = time.time()
    wait_ms = _retry_after_seconds(
        {**headers, "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now + 20) * 1000)},
        now,
    )
    wait_s = _retry_after_seconds(
        {**headers, "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now + 20))}, now
    )
    assert wait_ms is not None and wait_s is not None
    assert 18 <= wait_ms <= 21 and 18 <= wait_s <= 21


def test_unreadable_rate_headers_are_dropped_and_milliseconds_become_seconds() -> None:
    from multidict import CIMultiDict, CIMultiDictProxy

    from bot.github.client import sane_rate_headers

    def proxy(**h: str) -> CIMultiDictProxy[str]:
        return CIMultiDictProxy(CIMultiDict({k.replace("_", "-"): v for k, v in h.items()}))

    ms = sane_rate_headers(
        proxy(
            x_ratelimit_limit="5000",
            x_ratelimit_remaining="1",
            x_ratelimit_reset="1507651200000",
            etag='"a"',
        )
    )
    assert ms["x-ratelimit-reset"] == "1507651200" and ms["etag"] == '"a"'
    junk = sane_rate_headers(
        proxy(
            x_ratelimit_limit="5000",
            x_ratelimit_remaining="n/a",
            x_ratelimit_reset="soon",
            etag='"a"',
        )
    )
    assert "x-ratelimit-reset" not in junk and junk["etag"] == '"a"'
    for odd in ("inf", "nan", "-5", "1e30"):
        dropped = sane_rate_headers(
            proxy(x_ratelimit_limit="5000", x_ratelimit_remaining="1", x_ratelimit_reset=odd)
        )
        assert "x-ratelimit-reset" not in dropped, odd
    seconds = proxy(
        x_ratelimit_limit="5000", x_ratelimit_remaining="1", x_ratelimit_reset="1507651200"
    )
    assert sane_rate_headers(seconds) is seconds
