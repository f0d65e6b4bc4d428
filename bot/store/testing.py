"""Test helpers for code that needs a real PostgreSQL: a throwaway schema per use.

    async with temporary_postgres_url() as url:      # postgresql://...?options=-csearch_path%3D...
        db = await open_database(url)

The server is ``ISOLATION_BOT_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``). Each use creates ``CREATE SCHEMA test_<random>``,
hands out a URL whose connections default to it (``search_path`` in the connection options, so
child processes given the URL as DATABASE_URL land there too), and drops it afterwards, so
parallel test runs on one database never see each other's tables.

When the server is unreachable, tests call ``skip_or_fail(reason)``: a pytest skip with the
reason, or a failure when ``ISOLATION_BOT_REQUIRE_POSTGRES=1`` (set by CI).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import NoReturn
from urllib.parse import quote

import psycopg

from bot.store.postgres import redact_url

DEFAULT_TEST_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
REQUIRE_ENV = "ISOLATION_BOT_REQUIRE_POSTGRES"


def postgres_test_server_url() -> str:
    return os.environ.get("ISOLATION_BOT_TEST_POSTGRES_URL") or DEFAULT_TEST_POSTGRES_URL


def postgres_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0", "false", "no")


async def postgres_unavailable_reason(url: str | None = None) -> str | None:
    """None when the test server answers; else why not (for the skip message)."""
    url = url or postgres_test_server_url()
    try:
        conn = await psycopg.AsyncConnection.connect(url, connect_timeout=3)
    except (psycopg.Error, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL not reachable at {redact_url(url)} ({first_line})"
    await conn.close()
    return None


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the current test with ``reason``, or fail it when PostgreSQL is required."""
    import pytest  # only ever called from tests

    if postgres_required():
        pytest.fail(f"{reason}; {REQUIRE_ENV}=1 makes this a failure", pytrace=False)
    pytest.skip(reason)


class FakeClock:
    """Epoch seconds that move only when a test says so: pass it as ``Queue(db, clock=...)``
    to expire leases or reach a retry time without sleeping."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def with_search_path(url: str, schema: str) -> str:
    option = quote(f"-csearch_path={schema}", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={option}"


@contextlib.asynccontextmanager
async def temporary_postgres_url(base_url: str | None = None) -> AsyncIterator[str]:
    """A URL on a fresh, empty schema, dropped (with everything in it) on exit.

    Raises psycopg.OperationalError when the server is unreachable; check
    ``postgres_unavailable_reason()`` first to skip cleanly."""
    base_url = base_url or postgres_test_server_url()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(base_url, autocommit=True) as conn:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_search_path(base_url, schema)
    finally:
        async with await psycopg.AsyncConnection.connect(base_url, autocommit=True) as conn:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
