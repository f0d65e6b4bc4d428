"""Which job failures are not the job's own: GitHub down, rate limits, the store failing.

The worker (bot.service.worker) spends a job's attempts only on failures that may be the job's
own; these classifiers name the others, which postpone the job instead (``Queue.defer``).
"""

from __future__ import annotations

import sqlite3

import aiohttp
from gidgethub import BadRequest, GitHubBroken, RateLimitExceeded

from bot.github.client import CallCounter, GitHubUnavailable
from bot.github.pacing import GitHubPaused
from bot.store.db import IntegrityError, StoreError

# SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOMEM, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN
_SQLITE_TRANSIENT = frozenset({5, 6, 7, 10, 13, 14})
# GitHub's advice for a secondary rate limit without Retry-After: wait at least a minute.
SECONDARY_RATE_LIMIT_DEFAULT_SECONDS = 60.0


def rate_limit_until(exc: BaseException, counter: CallCounter, now: float) -> float | None:
    """Epoch seconds to wait until when ``exc`` is a GitHub rate limit, else None.

    The client notes on the job's counter how long GitHub asked to wait (Retry-After or
    x-ratelimit-reset) when that was too long to wait in place; gidgethub's
    RateLimitExceeded carries the primary limit's reset as well; GitHubPaused (nothing sent:
    the installation is paused by an earlier limit) its end."""
    if isinstance(exc, GitHubPaused):
        return counter.rate_limited_until or exc.until  # the client's note is wall-clock
    if isinstance(exc, RateLimitExceeded):
        limit = exc.rate_limit  # falsy when exhausted (RateLimit.__bool__): test for None
        reset = limit.reset_datetime.timestamp() if limit is not None else None
        candidates = [t for t in (reset, counter.rate_limited_until) if t is not None]
        return max(candidates) if candidates else now + SECONDARY_RATE_LIMIT_DEFAULT_SECONDS
    if isinstance(exc, BadRequest) and int(exc.status_code) in (403, 429):
        if counter.rate_limited_until is not None:
            return counter.rate_limited_until
        if "rate limit" in str(exc).lower():
            return now + SECONDARY_RATE_LIMIT_DEFAULT_SECONDS
    return None


def is_github_unavailable(exc: BaseException) -> bool:
    """5xx answers after the client's retries, timeouts, connection errors."""
    return isinstance(exc, (GitHubBroken, GitHubUnavailable, aiohttp.ClientError, TimeoutError))


def _postgres_operational(exc: BaseException) -> bool:
    try:
        import psycopg
        import psycopg_pool
    except ImportError:  # pragma: no cover - the PostgreSQL extra is not installed
        return False
    return isinstance(exc, (psycopg.OperationalError, psycopg_pool.PoolTimeout))


def is_store_error(exc: BaseException) -> bool:
    """The store failed underneath the job (SQLite disk full or I/O error, a PostgreSQL
    connection lost to a restart): the job is fine, the store will be back."""
    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, StoreError):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        # Only the store's condition (not "no such column": a bug must still end dead).
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        return code in _SQLITE_TRANSIENT
    return _postgres_operational(exc)
