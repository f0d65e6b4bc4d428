"""One store test suite, run against both engines.

``db_url`` is parametrised: a SQLite file in tmp_path, and PostgreSQL on a fresh schema of the
test server (bot.store.testing), which skips with the reason when the server is unreachable,
or fails when ISOLATION_BOT_REQUIRE_POSTGRES=1 (CI).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Database, open_database
from bot.store.testing import (
    FakeClock,
    postgres_unavailable_reason,
    skip_or_fail,
    temporary_postgres_url,
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store.sqlite3"
        return
    reason = await postgres_unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    async with temporary_postgres_url() as url:
        yield url


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
