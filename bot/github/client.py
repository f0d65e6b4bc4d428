"""The gidgethub client every part of the bot uses: retries, rate limits, pacing, ETags.

``BotGitHubAPI`` is a ``gidgethub.aiohttp.GitHubAPI``; callers use the plain gidgethub methods
(getitem, getiter, post, patch, put, delete). gidgethub (>= 6) runs every attempt through two
public hooks and the transport:

- ``manage_rate_limit`` (before each attempt): waits out the installation's pause (shared by
  every worker and, through the store, every replica; bot.github.pacing), takes a write token
  for POST/PATCH/PUT/DELETE (about one a second per installation, serial). A pause longer than
  ``RetryPolicy.rate_limit_max_wait`` raises ``GitHubPaused`` without sending anything: the
  worker reschedules the job for the pause's end;
- ``handle_rate_limit_error`` (after a 403/429 rate limit): pauses the installation for
  ``Retry-After``, else until ``x-ratelimit-reset`` when ``x-ratelimit-remaining`` is 0, else
  at least 60 s doubled on repeats (GitHub's guide); a pause short enough is waited out and
  the request retried, a longer one ends the request (the job runs again after it);
- ``_request`` (the transport gidgethub asks subclasses for): the installation token added per
  attempt (a 401 mints once and retries), concurrent reads capped per installation, bounded
  retries with jittered backoff for 5xx and timeouts (not for POST, which may have taken
  effect: the job retries and finds its earlier effect), 404 retried briefly inside
  ``with gh.retry_not_found():``, every attempt counted in the ``CallCounter`` the worker
  reads and in Prometheus (``isolation_bot_github_api_calls_total``, rate limit remaining);
- ETags: gidgethub's own conditional-request cache (If-None-Match, 304 -> cached body), given
  a bounded ``cachetools.LRUCache`` shared per installation.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
from collections import Counter
from collections.abc import (
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    MutableMapping,
)
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from gidgethub import BadRequest, HTTPException, sansio
from gidgethub import aiohttp as gh_aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from bot.github.pacing import WRITE_METHODS, Gate, GitHubPaused, Pacing, PacingPolicy
from bot.telemetry import metrics

USER_AGENT = "isolation-bot"
# GitHub's documented media type and the REST API version the bot was written against: a
# request without the version header gets GitHub's default version, which may change.
ACCEPT = "application/vnd.github+json"
API_VERSION = "2022-11-28"
# gidgethub's default Accept ("application/vnd.github.v3+json", the v3 media type GitHub's
# docs no longer name): replaced by ACCEPT; any other Accept a caller chose is kept.
_GIDGETHUB_DEFAULT_ACCEPT = "application/vnd.github.v3+json"

# Refreshes the token: called with force=True after a 401.
TokenProvider = Callable[[bool], Awaitable[str]]


@dataclass
class RetryPolicy:
    max_attempts: int = 4  # per logical request, for 5xx / timeouts / connection errors
    backoff_base: float = 0.5  # seconds; doubled per attempt, full jitter
    backoff_cap: float = 8.0
    # Wait a rate limit (or the installation's pause) out in place up to this long; a longer
    # one ends the request and the job is rescheduled for the pause's end.
    rate_limit_max_wait: float = 15.0
    rate_limit_max_attempts: int = 3
    not_found_attempts: int = 4  # inside retry_not_found()
    not_found_delay: float = 0.5
    timeout: float = 30.0  # per attempt

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the attempt that just failed (1-based)."""
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))


@dataclass
class CallCounter:
    """API calls made for one job (the worker logs it; the benchmark reports it)."""

    calls: int = 0
    by_route: Counter[str] = field(default_factory=Counter)
    not_modified: int = 0  # 304 answers served from the ETag cache
    # Epoch seconds GitHub asked us to wait until, when a rate limit was too long to wait out
    # in place: the worker reschedules the job for then instead of retrying it sooner.
    rate_limited_until: float | None = None

    def record(self, method: str, url: str, status: int | None) -> None:
        self.calls += 1
        path = url.split("?", 1)[0]
        self.by_route[f"{method} {path}"] += 1
        if status == 304:
            self.not_modified += 1


def _retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """How long GitHub asks us to wait, from Retry-After then x-ratelimit-reset."""
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        # GitHub sends delta-seconds; HTTP also allows an HTTP-date (a proxy may send one).
        with contextlib.suppress(ValueError):
            seconds = float(retry_after)
            if math.isfinite(seconds):
                return max(0.0, seconds)
        with contextlib.suppress(TypeError, ValueError, IndexError):
            return max(0.0, parsedate_to_datetime(retry_after).timestamp() - now)
    reset = headers.get("x-ratelimit-reset")
    if reset is not None and headers.get("x-ratelimit-remaining") == "0":
        with contextlib.suppress(ValueError):
            epoch = float(reset)
            if not math.isfinite(epoch):
                return None
            if epoch > 1e11:  # milliseconds (some proxies and recorded fixtures), not seconds
                epoch /= 1000.0
            return max(0.0, epoch - now)
    return None


_RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def sane_rate_headers(headers: CIMultiDictProxy[str]) -> Mapping[str, str]:
    """The answer's headers, with rate-limit headers gidgethub can read.

    gidgethub parses them on every answer and raises ValueError (which fails the job for good)
    on a reset in milliseconds (octokit's recorded fixtures, some proxies: "year 49745 is out
    of range") or a non-number. A reset in milliseconds becomes seconds; unreadable ones go."""
    values = [headers.get(name) for name in _RATE_HEADERS]
    if any(v is None for v in values):
        return headers
    try:
        int(values[0] or ""), int(values[1] or "")  # what gidgethub will parse
        reset = float(values[2] or "")
    except ValueError:
        reset = math.nan
    if math.isfinite(reset) and 0 <= reset <= 1e11:
        return headers  # the usual case: epoch seconds, as GitHub sends them
    fixed = CIMultiDict(headers)
    if math.isfinite(reset) and 0 <= reset < 1e14:
        fixed["x-ratelimit-reset"] = str(int(reset / 1000.0))
    else:
        for name in _RATE_HEADERS:
            fixed.popall(name, None)
    return fixed


def same_origin(url: str, base_url: str) -> str:
    """``url`` on the API's own scheme and host.

    Pagination follows the URLs GitHub puts in ``Link``; one naming another host (a proxy or
    a test double that writes api.github.com into its links) would otherwise receive the
    installation token. Its path and query are kept exactly."""
    target, base = urlsplit(url), urlsplit(base_url)
    if not target.netloc or (target.scheme, target.netloc) == (base.scheme, base.netloc):
        return url
    return urlunsplit((base.scheme, base.netloc, target.path, target.query, target.fragment))


def wire_url(url: str) -> URL | str:
    """The URL exactly as built (our percent-encoding) or as GitHub gave it (a Link header).

    aiohttp would otherwise re-quote it, decoding e.g. ``%3A`` in a label name back to ``:``.
    A URL holding characters that must be encoded (a space, non-ASCII) is left to aiohttp."""
    if url.isascii() and url.isprintable() and " " not in url:
        return URL(url, encoded=True)
    return url


def is_rate_limited(status: int, headers: Mapping[str, str], body: bytes | str) -> bool:
    """429, or a 403 that is a (primary or secondary) rate limit rather than a permission error.

    ``body``: the answer's bytes, or the message gidgethub already read from them."""
    if status == 429:
        return True
    if status != 403:
        return False
    if "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0":
        return True
    if isinstance(body, str):
        message = body.lower()
    else:
        try:
            message = str(json.loads(body or b"{}").get("message", "")).lower()
        except (ValueError, AttributeError):
            return False
    return "rate limit" in message or "abuse" in message


def github_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The request headers GitHub documents for every REST call: its JSON media type and the
    pinned API version (gidgethub sends neither; a strict server may insist on both)."""
    out = {k.lower(): v for k, v in headers.items()}
    if out.get("accept", _GIDGETHUB_DEFAULT_ACCEPT) == _GIDGETHUB_DEFAULT_ACCEPT:
        out["accept"] = ACCEPT
    out.setdefault("x-github-api-version", API_VERSION)
    out.setdefault("user-agent", USER_AGENT)
    auth = out.get("authorization", "")
    if auth[:7].lower() == "bearer ":  # gidgethub writes "bearer"; GitHub documents "Bearer"
        out["authorization"] = "Bearer " + auth[7:]
    return out


_REDIRECTS = (301, 302, 303, 307, 308)


class RedirectRefused(Exception):
    """A route expected to redirect (an archive) answered otherwise, or not at all."""


class BotGitHubAPI(gh_aiohttp.GitHubAPI):
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        token_provider: TokenProvider | None = None,
        cache: MutableMapping[Any, Any] | None = None,
        counter: CallCounter | None = None,
        policy: RetryPolicy | None = None,
        requester: str = USER_AGENT,
        pacing: Pacing | None = None,
        installation_id: int = 0,
    ) -> None:
        """``pacing``: the replica's gates (GitHubApp shares one); without it the client
        paces nothing but still pauses itself on rate limits. ``installation_id``: whose
        gate (0 for App-level calls made with ``jwt=``)."""
        super().__init__(session, requester, cache=cache, base_url=base_url.rstrip("/"))
        self.token_provider = token_provider
        self.counter = counter if counter is not None else CallCounter()
        self.policy = policy or RetryPolicy()
        self.pacing = pacing or Pacing(PacingPolicy(writes_per_second=0))
        self.installation_id = installation_id
        self._retry_not_found = False
        # The end of the pause the last rate-limit retry already slept through (its own sleep),
        # and the one cleared for the attempt being sent.
        self._waited_until = self._cleared_until = 0.0

    async def redirect_location(self, url: str) -> str:
        """Where GitHub redirects ``url`` (an archive route) to, the redirect not followed: the
        link goes to another host, which must not see the installation token. Like every API
        call: the installation's pause and read cap, counted, retried on 5xx and timeouts.
        Raises RedirectRefused when the answer is not a redirect."""
        policy = self.policy
        for attempt in range(1, policy.max_attempts + 1):
            created = sansio.create_headers(self.requester, oauth_token=self.oauth_token)
            headers = github_headers(created)
            if self.token_provider is not None and "authorization" not in headers:
                headers["authorization"] = f"token {await self.token_provider(False)}"
            # The installation's pause (a rate limit: GitHubPaused when too long) and read cap.
            await self.manage_rate_limit(method="GET", url=url)
            try:
                async with (
                    self.gate.reads,
                    self._session.get(
                        wire_url(self.base_url + url),
                        headers=headers,
                        allow_redirects=False,
                        timeout=aiohttp.ClientTimeout(total=policy.timeout),
                    ) as response,
                ):
                    status, location = response.status, response.headers.get("location")
                    remaining = response.headers.get("x-ratelimit-remaining")
                    await response.read()
            except (TimeoutError, aiohttp.ClientError) as exc:
                self.counter.record("GET", url, None)
                metrics.observe_github_call("GET", None)
                if attempt >= policy.max_attempts:
                    raise RedirectRefused(f"GET {url}: {type(exc).__name__}: {exc}") from exc
                await self.sleep(policy.backoff(attempt))
                continue
            self.counter.record("GET", url, status)
            metrics.observe_github_call("GET", status, remaining)
            if status >= 500 and attempt < policy.max_attempts:
                await self.sleep(policy.backoff(attempt))
                continue
            if status in _REDIRECTS and location:
                return location
            raise RedirectRefused(f"GET {url}: {status}, not a redirect to the archive")
        raise RedirectRefused(f"GET {url}: no answer")  # pragma: no cover - loop always returns

    def download(
        self, location: str, timeout: aiohttp.ClientTimeout
    ) -> aiohttp.client._RequestContextManager:
        """GET a download link from :meth:`redirect_location` on the client's session, with
        no Authorization header (the link carries its own token) and no further redirect."""
        return self._session.get(
            wire_url(location),
            headers={"user-agent": self.requester},
            timeout=timeout,
            allow_redirects=False,
        )

    @contextlib.contextmanager
    def retry_not_found(self) -> Iterator[None]:
        """Retry 404s briefly inside this block: GitHub is eventually consistent just after a
        pull request opens or a push lands (files, blobs, commits may 404 for a moment)."""
        previous, self._retry_not_found = self._retry_not_found, True
        try:
            yield
        finally:
            self._retry_not_found = previous

    @property
    def gate(self) -> Gate:
        return self.pacing.gate(self.installation_id)

    async def manage_rate_limit(self, *, method: str, url: str) -> None:
        """Before every attempt: no request while the installation is paused; writes paced."""
        self._cleared_until, self._waited_until = self._waited_until, 0.0
        gate, max_wait = self.gate, self.policy.rate_limit_max_wait
        try:
            await gate.wait_pause(max_wait, self._cleared_until)
            if method.upper() in WRITE_METHODS:
                await gate.take_write()
                # The write may have queued behind a pause that began meanwhile.
                await gate.wait_pause(max_wait, self._cleared_until)
        except GitHubPaused as exc:
            self._note_rate_limited(exc.until)
            raise

    async def handle_rate_limit_error(
        self, *, method: str, url: str, exception: HTTPException, attempt: int
    ) -> bool:
        """A 403/429 rate limit pauses the installation (every worker, every replica); the
        request is retried when the pause is short enough to wait out here."""
        if not isinstance(exception, BadRequest):
            return False
        headers = exception.headers
        if not is_rate_limited(int(exception.status_code), headers, str(exception)):
            return False
        gate, now = self.gate, self.pacing.clock.time()
        until = await gate.pause(_retry_after_seconds(headers, now), now)
        if until - now > self.policy.rate_limit_max_wait or (
            attempt > self.policy.rate_limit_max_attempts
        ):
            self._note_rate_limited(until)
            return False  # gidgethub raises; the job runs again after the pause
        await self.sleep(until - now)
        self._waited_until = until
        return True

    async def sleep(self, seconds: float) -> None:
        """Every wait of the client (backoffs, rate limits) on the pacing's clock."""
        await self.pacing.clock.sleep(seconds)

    async def _hold_if_paused(self) -> None:
        """The replica's own pause, checked again right before sending (no store read)."""
        gate, clock = self.gate, self.pacing.clock
        while gate.pause_until > max(clock.time(), self._cleared_until):
            now = clock.time()
            if gate.pause_until - now > self.policy.rate_limit_max_wait:
                self._note_rate_limited(gate.pause_until)
                raise GitHubPaused(self.installation_id, gate.pause_until, now)
            await clock.sleep(gate.pause_until - now)

    def _note_rate_limited(self, until: float) -> None:
        # The worker reads this (epoch seconds) to reschedule the job for the pause's end.
        wall = time.time() + max(0.0, until - self.pacing.clock.time())
        self.counter.rate_limited_until = max(wall, self.counter.rate_limited_until or 0.0)

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        if method.upper() in WRITE_METHODS:
            return await self._send(method, url, headers, body)
        async with self.gate.reads:  # concurrent reads capped per installation
            return await self._send(method, url, headers, body)

    async def _send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        policy = self.policy
        attempt = not_found = 0
        refreshed = False
        # A POST that failed with 5xx or a timeout may have taken effect (a comment created):
        # retrying it here could duplicate it. The job is retried instead, and the handlers
        # look for their earlier effect first (the sticky comment is found by its marker).
        max_attempts = policy.max_attempts if method != "POST" else 1
        while True:
            attempt += 1
            request_headers = github_headers(headers)
            if self.token_provider is not None and "authorization" not in request_headers:
                token = await self.token_provider(refreshed)
                request_headers["authorization"] = f"token {token}"
            await self._hold_if_paused()  # a limit answered while this one waited to be sent
            try:
                async with self._session.request(
                    method,
                    wire_url(same_origin(url, self.base_url)),
                    headers=request_headers,
                    data=body,
                    timeout=aiohttp.ClientTimeout(total=policy.timeout),
                ) as response:
                    status, resp_headers, data = (
                        response.status,
                        sane_rate_headers(response.headers),
                        await response.read(),
                    )
            except (TimeoutError, aiohttp.ClientError) as exc:
                self.counter.record(method, url, None)
                metrics.observe_github_call(method, None)
                if attempt >= max_attempts:
                    raise GitHubUnavailable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
                await self.sleep(policy.backoff(attempt))
                continue
            self.counter.record(method, url, status)
            metrics.observe_github_call(method, status, resp_headers.get("x-ratelimit-remaining"))
            if (
                status == 401
                and not refreshed
                and self.token_provider is not None
                and "authorization" not in headers
            ):
                refreshed = True  # the cached token was revoked or expired early: mint once
                continue
            if is_rate_limited(status, resp_headers, data):
                # gidgethub raises; handle_rate_limit_error decides (and pauses everyone).
                return status, resp_headers, data
            if status >= 500 and attempt < max_attempts:
                await self.sleep(policy.backoff(attempt))
                continue
            if status == 404 and self._retry_not_found and not_found < policy.not_found_attempts:
                not_found += 1
                await self.sleep(policy.not_found_delay * not_found)
                continue
            return status, resp_headers, data


class GitHubUnavailable(Exception):
    """GitHub could not be reached after the bounded retries (timeouts, connection errors)."""
