"""The GitHub client against a scripted aiohttp server: retries, rate limits, ETags, tokens."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any
from unittest import mock

import aiohttp
import jwt as pyjwt
import pytest
from aiohttp import web
from cachetools import LRUCache
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gidgethub import BadRequest, GitHubBroken, RateLimitExceeded

from bot.config import ConfigError
from bot.github import (
    BotGitHubAPI,
    CallCounter,
    GitHubUnavailable,
    InstallationTokenCache,
    RetryPolicy,
    app_jwt,
)
from bot.github.pacing import GitHubPaused, Pacing, PacingPolicy
from bot.store.github_pause import StorePauses
from tests.support.http import serve_handler

FAST = RetryPolicy(
    backoff_base=0.001,
    backoff_cap=0.002,
    not_found_delay=0.001,
    rate_limit_max_wait=0.5,
    timeout=0.3,
)

Script = list[Callable[[web.Request], Any]]


class Scripted:
    """A server answering each request with the next scripted response (then the last one)."""

    def __init__(self) -> None:
        self.script: Script = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.clock: Callable[[], float] | None = None  # stamps each request's arrival ...
        self.times: list[float] = []  # ... here

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs, dict(request.headers)))
        if self.clock is not None:
            self.times.append(self.clock())
        step = self.script[min(len(self.requests), len(self.script)) - 1]
        result = step(request)
        if asyncio.iscoroutine(result):
            result = await result
        return result  # type: ignore[no-any-return]


def ok(body: Any, status: int = 200, **headers: str) -> Callable[[web.Request], web.Response]:
    return lambda r: web.json_response(body, status=status, headers=headers)


@pytest.fixture
async def server() -> AsyncIterator[tuple[Scripted, str, aiohttp.ClientSession]]:
    scripted = Scripted()
    async with serve_handler(scripted.handle) as base, aiohttp.ClientSession() as session:
        yield scripted, base, session


def client(session: aiohttp.ClientSession, base: str, **kw: Any) -> BotGitHubAPI:
    async def token(force: bool) -> str:
        return "t-forced" if force else "t-cached"

    return BotGitHubAPI(session, base_url=base, token_provider=token, policy=FAST, **kw)


async def test_retries_5xx_then_succeeds_and_counts_every_attempt(server: Any) -> None:
    scripted, base, session = server
    scripted.script = [ok({"m": "x"}, 502), ok({"m": "x"}, 500), ok({"n": 1})]
    counter = CallCounter()
    gh = client(session, base, counter=counter)
    assert await gh.getitem("/repos/o/r") == {"n": 1}
    assert len(scripted.requests) == 3
    assert counter.calls == 3
    assert scripted.requests[0][2]["Authorization"] == "token t-cached"


async def test_5xx_retries_are_bounded(server: Any) -> None:
    scripted, base, session = server
    scripted.script = [ok({"message": "boom"}, 503)]
    gh = client(session, base)
    with pytest.raises(GitHubBroken):
        await gh.getitem("/x")
    assert len(scripted.requests) == FAST.max_attempts


async def test_timeouts_are_retried_then_reported(server: Any) -> None:
    scripted, base, session = server

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1.0)
        return web.json_response({})

    scripted.script = [slow]
    gh = client(session, base)
    with pytest.raises(GitHubUnavailable, match="TimeoutError"):
        await gh.getitem("/slow")
    assert len(scripted.requests) == FAST.max_attempts


async def test_secondary_rate_limit_honours_retry_after(server: Any) -> None:
    scripted, base, session = server
    slept: list[float] = []
    scripted.script = [
        ok({"message": "You have exceeded a secondary rate limit"}, 403, **{"Retry-After": "0"}),
        ok({"message": "slow down"}, 429, **{"Retry-After": "0"}),
        ok({"done": True}),
    ]
    gh = client(session, base)
    real_sleep = gh.sleep

    async def record(seconds: float) -> None:
        slept.append(seconds)
        await real_sleep(0)

    gh.sleep = record  # type: ignore[method-assign]
    assert await gh.getitem("/x") == {"done": True}
    assert slept == [0.0, 0.0]


async def test_rate_limit_longer_than_the_cap_gives_up(server: Any) -> None:
    scripted, base, session = server
    import time

    reset = str(int(time.time()) + 3600)
    scripted.script = [
        ok(
            {"message": "API rate limit exceeded"},
            403,
            **{
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Limit": "5000",
                "X-RateLimit-Reset": reset,
            },
        )
    ]
    gh = client(session, base)
    with pytest.raises(RateLimitExceeded):
        await gh.getitem("/x")
    assert len(scripted.requests) == 1  # did not sleep an hour


async def test_plain_403_is_not_retried(server: Any) -> None:
    scripted, base, session = server
    scripted.script = [ok({"message": "Resource not accessible by integration"}, 403)]
    gh = client(session, base)
    with pytest.raises(BadRequest):
        await gh.getitem("/x")
    assert len(scripted.requests) == 1


async def test_404_retried_only_when_asked(server: Any) -> None:
    scripted, base, session = server
    scripted.script = [
        ok({"message": "Not Found"}, 404),
        ok({"message": "Not Found"}, 404),
        ok({"number": 1}),
    ]
    gh = client(session, base)
    with pytest.raises(BadRequest):
        await gh.getitem("/pulls/1")
    assert len(scripted.requests) == 1
    with gh.retry_not_found():
        assert await gh.getitem("/pulls/1") == {"number": 1}
    assert len(scripted.requests) == 3


async def test_401_refreshes_the_token_once(server: Any) -> None:
    scripted, base, session = server
    scripted.script = [ok({"message": "Bad credentials"}, 401), ok({"ok": 1})]
    gh = client(session, base)
    assert await gh.getitem("/x") == {"ok": 1}
    assert [r[2]["Authorization"] for r in scripted.requests] == [
        "token t-cached",
        "token t-forced",
    ]
    scripted.requests.clear()
    scripted.script = [ok({"message": "Bad credentials"}, 401)]
    with pytest.raises(BadRequest):
        await gh.getitem("/x")
    assert len(scripted.requests) == 2  # one refresh, not a loop


async def test_etag_cache_sends_if_none_match_and_serves_304(server: Any) -> None:
    scripted, base, session = server

    def first(request: web.Request) -> web.Response:
        return web.json_response({"v": 1}, headers={"ETag": '"abc"'})

    def second(request: web.Request) -> web.Response:
        assert request.headers.get("If-None-Match") == '"abc"'
        return web.Response(status=304, headers={"ETag": '"abc"'})

    scripted.script = [first, second]
    counter = CallCounter()
    gh = client(session, base, cache=LRUCache(maxsize=4), counter=counter)
    assert await gh.getitem("/repos/o/r/pulls/1") == {"v": 1}
    assert await gh.getitem("/repos/o/r/pulls/1") == {"v": 1}
    assert counter.not_modified == 1 and counter.calls == 2


async def test_token_cache_one_refresh_in_flight_and_margin() -> None:
    now = [1000.0]
    minted: list[int] = []

    async def mint(installation_id: int) -> tuple[str, str | None]:
        minted.append(installation_id)
        await asyncio.sleep(0.01)
        from datetime import UTC, datetime

        expires = datetime.fromtimestamp(now[0] + 3600, UTC).isoformat().replace("+00:00", "Z")
        return f"tok{len(minted)}", expires

    cache = InstallationTokenCache(mint, clock=lambda: now[0])
    tokens = await asyncio.gather(*(cache.get(7) for _ in range(20)))
    assert set(tokens) == {"tok1"} and minted == [7]
    now[0] += 3600 - 61  # still more than a minute left
    assert await cache.get(7) == "tok1"
    now[0] += 2  # within the last minute: refresh
    assert await cache.get(7) == "tok2"
    assert await cache.get(8) == "tok3"  # per installation
    forced = await asyncio.gather(*(cache.get(7, force_refresh=True) for _ in range(5)))
    assert set(forced) == {"tok4"}  # concurrent forced refreshes share one mint
    assert len(minted) == 4


def test_app_jwt_claims() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    token = app_jwt("42", pem, now=10_000)
    claims = pyjwt.decode(
        token,
        key.public_key(),
        algorithms=["RS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims == {"iat": 10_000 - 60, "exp": 10_000 + 540, "iss": "42"}


async def test_post_body_survives_a_rate_limit_retry(server: Any) -> None:
    scripted, base, session = server
    bodies: list[Any] = []

    async def capture(request: web.Request) -> web.Response:
        bodies.append(await request.json())
        if len(bodies) == 1:
            return web.json_response(
                {"message": "slow down"}, status=429, headers={"Retry-After": "0"}
            )
        return web.json_response({"m": "x"}, status=201)

    scripted.script = [capture]
    gh = client(session, base)
    assert await gh.post("/repos/o/r/issues/1/comments", data={"body": "hi"}) == {"m": "x"}
    assert bodies == [{"body": "hi"}, {"body": "hi"}]


async def test_post_is_not_retried_on_5xx(server: Any) -> None:
    scripted, base, session = server
    scripted.script = [ok({"message": "boom"}, 502), ok({"id": 1}, 201)]
    gh = client(session, base)
    with pytest.raises(GitHubBroken):
        await gh.post("/repos/o/r/issues/1/comments", data={"body": "hi"})
    assert len(scripted.requests) == 1  # may have been created: the job retries instead


async def test_factories_against_the_emulator() -> None:
    from bot.config import Settings
    from bot.emulator import GitHubEmulator
    from bot.github import GitHubApp, bot_login, installation_client

    emu = GitHubEmulator()
    app = emu.register_app("isolation-bot", owner="python")
    emu.create_repo("python/cpython")
    emu.commit("python/cpython", "main", {"README": "x"})
    emu.install(app, "python")
    async with emu.serve() as api_url, aiohttp.ClientSession() as session:
        settings = Settings(app_id=str(app.id), private_key=app.private_key_pem, api_url=api_url)
        assert await bot_login(settings, session) == "isolation-bot[bot]"
        gh = await installation_client(settings, session, "python/cpython")
        repo = await gh.getitem("/repos/python/cpython")
        assert repo["full_name"] == "python/cpython"
        # An expired token is refreshed once on the 401, transparently.
        github = GitHubApp(settings, session)
        inst = await github.installation_id_for("python/cpython")
        client_ = github.client(inst)
        await client_.getitem("/repos/python/cpython")
        emu.expire_tokens()
        await client_.getitem("/repos/python/cpython/issues")
        assert github.tokens.mints == 2
    assert emu.validation_errors == []


# --- pacing and the shared pause (bot.github.pacing), on a virtual clock ---------------------


class VirtualClock:
    """Epoch seconds that move only when something sleeps: minutes of pacing in a moment."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


SECONDARY = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
WAIT_IN_PLACE = RetryPolicy(backoff_base=0.001, timeout=2.0, rate_limit_max_wait=3600.0)


def paced(
    session: aiohttp.ClientSession,
    base: str,
    pacing: Pacing,
    policy: RetryPolicy = WAIT_IN_PLACE,
    installation_id: int = 7,
) -> BotGitHubAPI:
    async def token(force: bool) -> str:
        return "t"

    return BotGitHubAPI(
        session,
        base_url=base,
        token_provider=token,
        policy=policy,
        pacing=pacing,
        installation_id=installation_id,
    )


def stamped(scripted: Scripted, clock: VirtualClock) -> list[float]:
    """The virtual time each request reached the server."""
    scripted.clock = clock.time
    return scripted.times


async def test_secondary_limit_without_retry_after_waits_a_minute_then_doubles(
    server: Any,
) -> None:
    scripted, base, session = server
    clock = VirtualClock()
    sent = stamped(scripted, clock)
    scripted.script = [ok(SECONDARY, 403), ok(SECONDARY, 403), ok({"done": True})]
    gh = paced(session, base, Pacing(clock=clock))
    assert await gh.getitem("/x") == {"done": True}
    # GitHub's guide: "wait for at least one minute", exponentially longer on repeats.
    assert [round(t - sent[0]) for t in sent] == [0, 60, 180]


async def test_retry_after_and_the_primary_reset_are_waited_exactly(server: Any) -> None:
    scripted, base, session = server
    clock = VirtualClock()
    sent = stamped(scripted, clock)
    reset = int(clock.now) + 900
    scripted.script = [
        ok({"message": "slow down"}, 429, **{"Retry-After": "30"}),
        ok(
            {"message": "API rate limit exceeded"},
            403,
            **{
                "X-RateLimit-Limit": "5000",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset),
            },
        ),
        ok({"done": True}),
    ]
    policy = RetryPolicy(timeout=2.0, rate_limit_max_wait=3600.0)
    gh = paced(session, base, Pacing(clock=clock), policy)
    with mock.patch("time.time", clock.time):  # x-ratelimit-reset is read against the epoch
        assert await gh.getitem("/x") == {"done": True}
    assert [round(t - sent[0]) for t in sent] == [0, 30, reset - round(sent[0])]


async def test_no_request_during_a_secondary_limit_from_any_worker(server: Any) -> None:
    """One worker's limit pauses the installation: other workers (clients sharing the
    replica's pacing) send nothing until it ends; a long pause is not waited out in place."""
    scripted, base, session = server
    clock = VirtualClock()
    pacing = Pacing(clock=clock)
    scripted.script = [ok(SECONDARY, 403), ok({"ok": 1})]
    short = RetryPolicy(timeout=2.0, rate_limit_max_wait=5.0)
    counter = CallCounter()
    first = paced(session, base, pacing, short)
    first.counter = counter
    with pytest.raises(BadRequest):
        await first.post("/repos/o/r/issues/1/comments", data={"body": "x"})
    assert counter.rate_limited_until is not None  # the worker reschedules the job
    assert len(scripted.requests) == 1
    others = [paced(session, base, pacing, short) for _ in range(3)]
    for gh in others:
        with pytest.raises(GitHubPaused):
            await gh.getitem("/repos/o/r")
        with pytest.raises(GitHubPaused):
            await gh.patch("/repos/o/r/check-runs/1", data={})
    assert len(scripted.requests) == 1  # requests sent during the secondary limit: none
    # Another installation is not paused.
    assert await paced(session, base, pacing, short, installation_id=8).getitem("/y") == {"ok": 1}
    clock.now += 60
    assert await others[0].getitem("/repos/o/r") == {"ok": 1}


async def test_the_pause_is_shared_by_replicas_through_the_store(
    server: Any, db: Any, db2: Any
) -> None:
    scripted, base, session = server
    clock = VirtualClock()
    replica_a = Pacing(clock=clock, store=StorePauses(db))
    replica_b = Pacing(clock=clock, store=StorePauses(db2))
    short = RetryPolicy(timeout=2.0, rate_limit_max_wait=5.0)
    scripted.script = [ok(SECONDARY, 403), ok({"ok": 1})]
    with pytest.raises(BadRequest):
        await paced(session, base, replica_a, short).getitem("/x")
    with pytest.raises(GitHubPaused) as paused:
        await paced(session, base, replica_b, short).getitem("/x")
    assert paused.value.until == pytest.approx(clock.now + 60)
    assert len(scripted.requests) == 1
    # A repeat on replica B doubles the wait from the shared count.
    clock.now += 61
    scripted.script = [ok(SECONDARY, 403), ok({"ok": 1})]
    scripted.requests.clear()
    with pytest.raises(BadRequest):
        await paced(session, base, replica_b, short).getitem("/x")
    with pytest.raises(GitHubPaused) as paused:
        await paced(session, base, replica_a, short).getitem("/x")
    assert paused.value.until == pytest.approx(clock.now + 120)
    await replica_a.clear()  # time moved on (an operator or a test)
    replica_b.gate(7).pause_until = 0.0
    assert await paced(session, base, replica_b, short).getitem("/x") == {"ok": 1}


async def test_writes_are_paced_per_installation_and_reads_capped(server: Any) -> None:
    scripted, base, session = server
    clock = VirtualClock()
    sent: list[float] = []  # when each write left the client (the virtual clock runs on
    # while requests are in flight, so the server's arrival times would drift)

    class Stamping(BotGitHubAPI):
        async def _request(
            self, method: str, url: str, headers: Any, body: bytes = b""
        ) -> tuple[int, Any, bytes]:
            sent.append(clock.time())
            return await super()._request(method, url, headers, body)

    scripted.script = [ok({"id": 1}, 201)]
    pacing = Pacing(PacingPolicy(writes_per_second=1.0, write_burst=5), clock=clock)
    workers = [
        Stamping(session, base_url=base, policy=WAIT_IN_PLACE, pacing=pacing, installation_id=7)
        for _ in range(4)
    ]
    start = clock.now

    async def write(i: int) -> None:
        await workers[i % 4].post("/repos/o/r/issues/1/comments", data={"body": str(i)})

    await asyncio.gather(*(write(i) for i in range(100)))
    offsets = sorted(t - start for t in sent)
    assert offsets[:5] == [0.0] * 5  # the burst
    assert all(b - a >= 0.999 for a, b in itertools.pairwise(offsets[4:]))
    per_minute = max(sum(1 for t in offsets if s <= t < s + 60) for s in offsets)
    assert per_minute <= 65 < 80  # GitHub's secondary limit: 80 content writes a minute
    # Reads are not paced, only capped: at most concurrent_reads at once.
    in_flight = peak = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return web.json_response({})

    scripted.script = [slow]
    capped = Pacing(PacingPolicy(concurrent_reads=3), clock=clock)
    readers = [paced(session, base, capped) for _ in range(10)]
    await asyncio.gather(*(gh.getitem(f"/r/{i}") for i, gh in enumerate(readers)))
    assert peak == 3


def test_pacing_knobs_come_from_the_environment() -> None:
    from bot.config import from_env
    from bot.github.app import pacing_for

    settings = from_env(
        {
            "ISOLATION_BOT_GITHUB_WRITES_PER_SECOND": "0.5",
            "ISOLATION_BOT_GITHUB_WRITE_BURST": "2",
            "ISOLATION_BOT_GITHUB_CONCURRENT_READS": "3",
            "ISOLATION_BOT_GITHUB_SECONDARY_WAIT_SECONDS": "90",
            "GITHUB_WEBHOOK_SECRET_PREVIOUS": "old",
        }
    )
    policy = pacing_for(settings).policy
    assert (policy.writes_per_second, policy.write_burst, policy.concurrent_reads) == (0.5, 2, 3)
    assert policy.secondary_wait == 90.0
    assert settings.webhook_secret_previous == "old"
    with pytest.raises(ConfigError, match="below its minimum 60"):
        from_env({"ISOLATION_BOT_GITHUB_SECONDARY_WAIT_SECONDS": "5"})
    with pytest.raises(ConfigError, match="not a number"):
        from_env({"ISOLATION_BOT_GITHUB_WRITE_BURST": "1.5"})


async def test_a_store_that_hangs_or_fails_does_not_stall_requests(
    server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shared pause is best effort: a store that is down (PostgreSQL restarting) costs a
    request at most STORE_TIMEOUT, and the replica's own pause still holds."""
    import bot.github.pacing as pacing_module

    monkeypatch.setattr(pacing_module, "STORE_TIMEOUT", 0.05)

    class Broken:
        async def get_pause(self, installation_id: int) -> tuple[float, int] | None:
            await asyncio.sleep(3600)
            return None

        async def set_pause(self, installation_id: int, until: float, strikes: int) -> None:
            raise OSError("connection lost")

        async def clear_pauses(self) -> None:
            raise OSError("connection lost")

    scripted, base, session = server
    clock = VirtualClock()
    scripted.script = [ok({"ok": 1}), ok(SECONDARY, 403), ok({"ok": 2})]
    short = RetryPolicy(timeout=2.0, rate_limit_max_wait=5.0)
    gh = paced(session, base, Pacing(clock=clock, store=Broken()), short)
    assert await asyncio.wait_for(gh.getitem("/a"), 5) == {"ok": 1}
    with pytest.raises(BadRequest):
        await gh.getitem("/b")
    clock.now += 1  # the next store poll is due: it hangs, and is given up
    with pytest.raises(GitHubPaused):
        await asyncio.wait_for(gh.getitem("/c"), 5)
    assert len(scripted.requests) == 2


async def test_the_pause_holds_other_workers_while_it_is_being_recorded() -> None:
    """The 403 is answered: from that moment no other worker may send, even while the
    shared pause is still being read from the store (an await other workers run during)."""
    reading = asyncio.Event()
    release = asyncio.Event()

    class SlowStore:
        async def get_pause(self, installation_id: int) -> tuple[float, int] | None:
            reading.set()
            await release.wait()
            return None

        async def set_pause(self, installation_id: int, until: float, strikes: int) -> None:
            return None

        async def clear_pauses(self) -> None:
            return None

    clock = VirtualClock()
    gate = Pacing(clock=clock, store=SlowStore()).gate(7)
    recording = asyncio.create_task(gate.pause(None, clock.time()))
    await asyncio.wait_for(reading.wait(), 5)
    # Another worker checks the gate now, before the store answered.
    with pytest.raises(GitHubPaused):
        await gate.wait_pause(max_wait=5.0)
    release.set()
    until = await recording
    assert until - clock.time() >= 60 and gate.strikes == 1
