"""One store test suite, run against both engines.

``db_url`` is parametrised: a SQLite file in tmp_path, and PostgreSQL on a schema of the test
server created for this test run (``CREATE SCHEMA test_<random>``, migrated once, emptied after
each test, dropped at the end; tests.support.store.ReusableSchema), which skips with the reason
when the server is unreachable, or fails when ISOLATION_BOT_REQUIRE_POSTGRES=1 (CI).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.store import Database, open_database
from tests.support.store import FakeClock, ReusableSchema, postgres_unavailable_reason, skip_or_fail


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[ReusableSchema]:
    """One migrated schema per test run; tests share it, emptied between them."""
    reason = asyncio.run(postgres_unavailable_reason())
    if reason is not None:
        skip_or_fail(reason)
    schema = ReusableSchema.create()
    try:
        yield schema
    finally:
        schema.drop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store.sqlite3"
        return
    schema: ReusableSchema = request.getfixturevalue("postgres_schema")
    try:
        yield schema.url
    finally:
        schema.reset()


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = await open_database(db_url)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def db2(db_url: str, db: Database) -> AsyncIterator[Database]:
    """A second, independent connection (pool) to the same store: another process's view."""
    database = await open_database(db_url)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
