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
from collections.abc import AsyncIterator, Callable
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


class ReusableSchema:
    """One schema for a whole test session, emptied between tests instead of recreated.

    Migrating a fresh schema costs a few hundred milliseconds; a suite with dozens of
    PostgreSQL tests migrates once, then ``reset()`` after each test drops the tables the
    test created, empties the migrated ones and forgets test-only migrations. Synchronous
    (plain psycopg), so it fits a session-scoped sync fixture:

        schema = ReusableSchema.create()      # migrated once
        ... tests open_database(schema.url) ...
        schema.reset()                        # after each test
        schema.drop()                         # at session end
    """

    def __init__(self, base_url: str, name: str) -> None:
        self.base_url = base_url
        self.name = name
        self.url = with_search_path(base_url, name)
        self._baseline: set[str] = set()
        self._migration_ids: list[str] = []

    @classmethod
    def create(cls, base_url: str | None = None) -> ReusableSchema:
        import asyncio
        import threading

        from bot.store import open_database
        from bot.store.migrate import load_migrations

        base_url = base_url or postgres_test_server_url()
        schema = cls(base_url, f"test_{uuid.uuid4().hex[:12]}")
        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema.name}"')

        async def migrate() -> None:
            db = await open_database(schema.url)
            await db.close()

        # In a thread: the caller may be inside a running event loop (an async test's setup).
        errors: list[BaseException] = []
        worker = threading.Thread(target=lambda: _capture(errors, lambda: asyncio.run(migrate())))
        worker.start()
        worker.join()
        if errors:
            schema.drop()
            raise errors[0]
        schema._migration_ids = [m.id for m in load_migrations("postgresql")]
        schema._baseline = schema._tables()
        return schema

    def _tables(self) -> set[str]:
        with psycopg.connect(self.base_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (self.name,),
            ).fetchall()
        return {r[0] for r in rows}

    def reset(self) -> None:
        tables = self._tables()
        with psycopg.connect(self.base_url, autocommit=True) as conn, conn.transaction():
            for extra in sorted(tables - self._baseline):
                conn.execute(f'DROP TABLE IF EXISTS "{self.name}"."{extra}" CASCADE')
            # DELETE, not TRUNCATE: far cheaper on small tables. Foreign-key triggers are
            # off for this session (the test server's user is a superuser), so order is free.
            kept = sorted((tables & self._baseline) - {"schema_migrations"})
            try:
                with conn.transaction():
                    conn.execute("SET LOCAL session_replication_role = replica")
                deletes = True
            except psycopg.errors.InsufficientPrivilege:
                deletes = False
            if deletes:
                for table in kept:
                    conn.execute(f'DELETE FROM "{self.name}"."{table}"')
            elif kept:
                names = ", ".join(f'"{self.name}"."{t}"' for t in kept)
                conn.execute(f"TRUNCATE {names} CASCADE")
            conn.execute(
                f'DELETE FROM "{self.name}".schema_migrations WHERE NOT (id = ANY(%s))',
                (self._migration_ids,),
            )

    def drop(self) -> None:
        with psycopg.connect(self.base_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')


def _capture(errors: list[BaseException], fn: Callable[[], object]) -> None:
    try:
        fn()
    except BaseException as exc:
        errors.append(exc)
