"""Which failures are not the job's own (bot.service.faults): the worker postpones those
without spending attempts, and spends attempts on the rest."""

from __future__ import annotations

import sqlite3
from http import HTTPStatus

import aiohttp
import psycopg
import psycopg_pool
from gidgethub import BadRequest, GitHubBroken, RateLimitExceeded
from gidgethub.sansio import RateLimit

from bot.github.client import CallCounter, GitHubUnavailable
from bot.service import faults
from bot.store.db import IntegrityError, StoreError

NOW = 1_800_000_000.0


def _sqlite_error(message: str, code: int) -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError(message)
    exc.sqlite_errorcode = code
    return exc


def test_store_errors() -> None:
    assert faults.is_store_error(_sqlite_error("database or disk is full", sqlite3.SQLITE_FULL))
    assert faults.is_store_error(_sqlite_error("disk I/O error", sqlite3.SQLITE_IOERR_WRITE))
    assert faults.is_store_error(_sqlite_error("database is locked", sqlite3.SQLITE_BUSY))
    assert faults.is_store_error(psycopg.OperationalError("server closed the connection"))
    assert faults.is_store_error(psycopg_pool.PoolTimeout("couldn't get a connection"))
    assert faults.is_store_error(StoreError("the SQLite database is closed"))
    # A bug stays a bug: it spends attempts and ends dead.
    assert not faults.is_store_error(_sqlite_error("no such column: x", sqlite3.SQLITE_ERROR))
    assert not faults.is_store_error(IntegrityError("UNIQUE constraint failed"))
    assert not faults.is_store_error(KeyError("number"))


def test_github_unavailable() -> None:
    assert faults.is_github_unavailable(
        GitHubBroken(HTTPStatus.INTERNAL_SERVER_ERROR, "Server Error")
    )
    assert faults.is_github_unavailable(GitHubUnavailable("GET /x: TimeoutError"))
    assert faults.is_github_unavailable(aiohttp.ClientConnectionError("refused"))
    assert faults.is_github_unavailable(TimeoutError())
    assert not faults.is_github_unavailable(BadRequest(404, "Not Found"))  # type: ignore[arg-type]


def test_primary_rate_limit_waits_for_the_reset() -> None:
    reset = NOW + 1234
    limit = RateLimit(limit=5000, remaining=0, reset_epoch=reset)
    assert not limit  # exhausted limits are falsy: the classifier must not test truthiness
    exc = RateLimitExceeded(limit, "API rate limit exceeded")
    assert faults.rate_limit_until(exc, CallCounter(), NOW) == reset
    # The client saw a later reset (another resource): the later one wins.
    counter = CallCounter(rate_limited_until=reset + 60)
    assert faults.rate_limit_until(exc, counter, NOW) == reset + 60


def test_secondary_rate_limits() -> None:
    counter = CallCounter(rate_limited_until=NOW + 300)  # the client read Retry-After: 300
    for status in (403, 429):
        exc = BadRequest(HTTPStatus(status), "You have exceeded a secondary rate limit")
        assert faults.rate_limit_until(exc, counter, NOW) == NOW + 300
        # Without a Retry-After the client could read: GitHub's advice, a minute.
        assert faults.rate_limit_until(exc, CallCounter(), NOW) == NOW + 60
    forbidden = BadRequest(HTTPStatus.FORBIDDEN, "Resource not accessible by integration")
    assert faults.rate_limit_until(forbidden, CallCounter(), NOW) is None
    assert faults.rate_limit_until(GitHubBroken(HTTPStatus.BAD_GATEWAY, "x"), counter, NOW) is None
