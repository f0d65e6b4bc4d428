"""What a strict GitHub (one that follows the REST docs to the letter) sees from our client.

A scripted aiohttp server records the raw request line and headers, and answers as real GitHub
does (headers copied from the recorded traffic in octokit/fixtures): documented media type and
API version, App JWT as ``Bearer``, installation token, Link pagination followed to the exact
URL given (GitHub's "next" links use another path form, /repositories/{id}/...), ETag and 304,
empty 204/202 bodies, Retry-After in seconds (or an HTTP-date), the x-ratelimit-reset epoch,
and label names percent-encoded on the wire.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from email.utils import formatdate
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cachetools import LRUCache

from bot.github import BotGitHubAPI, RetryPolicy
from bot.github.client import API_VERSION, _retry_after_seconds
from tests.support.http import serve_handler

FAST = RetryPolicy(backoff_base=0.001, backoff_cap=0.002, rate_limit_max_wait=5.0, timeout=2.0)

Handler = Callable[[web.Request], web.StreamResponse]


class Recorder:
    def __init__(self) -> None:
        self.routes: list[Handler] = []
        self.seen: list[tuple[str, str, dict[str, str]]] = []  # method, raw path+query, headers

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            (request.method, request.raw_path, {k.lower(): v for k, v in request.headers.items()})
        )
        step = self.routes[min(len(self.seen), len(self.routes)) - 1]
        return step(request)


@pytest.fixture
async def gh_server() -> AsyncIterator[tuple[Recorder, str, aiohttp.ClientSession]]:
    rec = Recorder()
    async with serve_handler(rec.handle) as base, aiohttp.ClientSession() as session:
        yield rec, base, session


def _client(session: aiohttp.ClientSession, base: str, **kw: Any) -> BotGitHubAPI:
    async def token(force: bool) -> str:
        return "ghs_installation"

    return BotGitHubAPI(session, base_url=base, token_provider=token, policy=FAST, **kw)


def _json(body: Any, status: int = 200, **headers: str) -> Handler:
    return lambda r: web.json_response(body, status=status, headers=headers)


async def test_every_call_carries_the_documented_headers(gh_server: Any) -> None:
    rec, base, session = gh_server
    rec.routes = [_json({"id": 1})]
    gh = _client(session, base)
    await gh.getitem("/repos/o/r/issues/1")
    await gh.post("/repos/o/r/issues/1/comments", data={"body": "x"})
    app_gh = BotGitHubAPI(session, base_url=base, policy=FAST)
    await app_gh.getitem("/app", jwt="eyJ.header.sig")
    for _method, _path, headers in rec.seen:
        assert headers["accept"] == "application/vnd.github+json"
        assert headers["x-github-api-version"] == API_VERSION == "2022-11-28"
        assert headers["user-agent"] == "isolation-bot"
    assert rec.seen[0][2]["authorization"] == "token ghs_installation"
    assert rec.seen[1][2]["content-type"].startswith("application/json")
    assert rec.seen[2][2]["authorization"] == "Bearer eyJ.header.sig"


async def test_a_chosen_media_type_is_kept(gh_server: Any) -> None:
    rec, base, session = gh_server
    rec.routes = [lambda r: web.Response(body=b"raw", content_type="application/vnd.github.raw")]
    await _client(session, base).getitem(
        "/repos/o/r/contents/a.c", accept="application/vnd.github.raw"
    )
    assert rec.seen[0][2]["accept"] == "application/vnd.github.raw"


async def test_pagination_follows_the_link_url_exactly(gh_server: Any) -> None:
    rec, base, session = gh_server
    # Real GitHub: page 1 at /repos/{o}/{r}/..., "next" at /repositories/{id}/... with the
    # query (per_page, page, and filters) re-ordered as GitHub likes.
    nxt = f"{base}/repositories/123/issues/7/comments?per_page=100&page=2"
    last = f"{base}/repositories/123/issues/7/comments?per_page=100&page=2"
    rec.routes = [
        _json([{"id": 1}], Link=f'<{nxt}>; rel="next", <{last}>; rel="last"'),
        _json(
            [{"id": 2}],
            Link=f"<{base}/repositories/123/issues/7/comments?per_page=100&page=1>;"
            ' rel="prev", <{base}/x>; rel="first"',
        ),
    ]
    got = [
        c["id"]
        async for c in _client(session, base).getiter("/repos/o/r/issues/7/comments?per_page=100")
    ]
    assert got == [1, 2]
    assert [p for _m, p, _h in rec.seen] == [
        "/repos/o/r/issues/7/comments?per_page=100",
        "/repositories/123/issues/7/comments?per_page=100&page=2",
    ]


async def test_search_style_pages_are_unwrapped(gh_server: Any) -> None:
    rec, base, session = gh_server
    rec.routes = [_json({"total_count": 2, "check_runs": [{"id": 5}, {"id": 6}]})]
    got = [
        r["id"]
        async for r in _client(session, base).getiter(
            "/repos/o/r/commits/abc/check-runs", iterable_key="check_runs"
        )
    ]
    assert got == [5, 6]


async def test_etag_304_serves_the_cached_body(gh_server: Any) -> None:
    rec, base, session = gh_server
    etag = 'W/"7dc470913f1fe9bb6c7355b50a0737bc"'  # the form GitHub sends (recorded traffic)
    rec.routes = [
        _json({"id": 9, "body": "first"}, ETag=etag),
        lambda r: web.Response(status=304, headers={"ETag": etag}),
    ]
    gh = _client(session, base, cache=LRUCache(maxsize=16))
    first = await gh.getitem("/repos/o/r/issues/9")
    second = await gh.getitem("/repos/o/r/issues/9")
    assert first == second == {"id": 9, "body": "first"}
    assert rec.seen[1][2]["if-none-match"] == etag
    assert gh.counter.not_modified == 1


async def test_empty_204_and_202_bodies(gh_server: Any) -> None:
    rec, base, session = gh_server
    rec.routes = [lambda r: web.Response(status=204), lambda r: web.Response(status=202)]
    gh = _client(session, base)
    await gh.delete("/repos/o/r/issues/comments/1/reactions/2")  # no JSON to decode: no error
    assert gh.counter.calls == 1
    assert await gh.getitem("/repos/o/r/stats/contributors") is None


async def test_label_names_are_percent_encoded_on_the_wire(gh_server: Any) -> None:
    from urllib.parse import quote

    rec, base, session = gh_server
    rec.routes = [_json([])]
    name = "isolation: regression/ä {x}"
    await _client(session, base).delete(f"/repos/o/r/issues/3/labels/{quote(name, safe='')}")
    assert rec.seen[0][1] == (
        "/repos/o/r/issues/3/labels/isolation%3A%20regression%2F%C3%A4%20%7Bx%7D"
    )


async def test_secondary_rate_limit_waits_retry_after_seconds(gh_server: Any) -> None:
    rec, base, session = gh_server
    waited: list[float] = []
    rec.routes = [
        _json(
            {"message": "You have exceeded a secondary rate limit."}, 403, **{"Retry-After": "3"}
        ),
        _json({"id": 1}),
    ]
    gh = _client(session, base)

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    gh.sleep = sleep  # type: ignore[method-assign]
    assert await gh.getitem("/repos/o/r") == {"id": 1}
    assert waited == [3.0]


async def test_primary_rate_limit_waits_until_the_reset_epoch(gh_server: Any) -> None:
    rec, base, session = gh_server
    waited: list[float] = []
    reset = int(time.time()) + 2
    rec.routes = [
        _json(
            {"message": "API rate limit exceeded for installation ID 1."},
            403,
            **{
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": "5000",
                "x-ratelimit-reset": str(reset),
                "x-ratelimit-resource": "core",
            },
        ),
        _json({"id": 1}),
    ]
    gh = _client(session, base)

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    gh.sleep = sleep  # type: ignore[method-assign]
    assert await gh.getitem("/repos/o/r") == {"id": 1}
    assert len(waited) == 1 and 0.0 < waited[0] <= 2.0


def test_retry_after_forms() -> None:
    now = time.time()
    assert _retry_after_seconds({"retry-after": "60"}, now) == 60.0
    http_date = formatdate(now + 30, usegmt=True)
    assert 28.0 <= (_retry_after_seconds({"retry-after": http_date}, now) or 0) <= 30.0
    assert _retry_after_seconds({"retry-after": "soon"}, now) is None
    assert _retry_after_seconds({"retry-after": "inf"}, now) is None
    assert _retry_after_seconds(
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 10)}, now
    ) == pytest.approx(10.0, abs=1.0)
    # Remaining calls left: the reset time is no reason to wait.
    assert (
        _retry_after_seconds(
            {"x-ratelimit-remaining": "12", "x-ratelimit-reset": str(int(now) + 10)}, now
        )
        is None
    )


async def test_422_with_errors_array_raises_a_clear_error(gh_server: Any) -> None:
    from gidgethub import BadRequest

    rec, base, session = gh_server
    # The body shape of recorded-api/errors.json (a real 422).
    rec.routes = [
        _json(
            {
                "message": "Validation Failed",
                "errors": [{"resource": "Label", "code": "invalid", "field": "color"}],
                "documentation_url": "https://docs.github.com/rest/issues/labels#create-a-label",
            },
            422,
        )
    ]
    with pytest.raises(BadRequest) as info:
        await _client(session, base).post("/repos/o/r/labels", data={"name": "x", "color": "?"})
    assert info.value.status_code == 422
    assert "color" in str(info.value)


async def test_app_routes_use_a_bearer_jwt_and_a_missing_slug_is_a_clear_error(
    gh_server: Any,
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from bot.config import Settings
    from bot.github import AuthError, GitHubApp

    rec, base, session = gh_server
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    app = GitHubApp(Settings(app_id="7", private_key=pem, api_url=base), session)
    rec.routes = [_json({"id": 7, "name": "isolation-bot"})]  # no "slug"
    with pytest.raises(AuthError, match="slug"):
        await app.bot_login()
    method, path, headers = rec.seen[0]
    assert (method, path) == ("GET", "/app")
    assert headers["authorization"].startswith("Bearer ey")
    assert headers["x-github-api-version"] == API_VERSION


def test_same_origin_keeps_path_and_query_exactly() -> None:
    from bot.github.client import same_origin

    base = "http://127.0.0.1:8080"
    assert same_origin("/repos/o/r", base) == "/repos/o/r"
    own = f"{base}/repositories/1/issues?per_page=100&page=2"
    assert same_origin(own, base) == own
    assert same_origin("https://api.github.com/repositories/1/labels/a%3Ab?page=2", base) == (
        f"{base}/repositories/1/labels/a%3Ab?page=2"
    )
