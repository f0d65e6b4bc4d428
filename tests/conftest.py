"""Fixtures shared by every test folder.

Store: ``db_url`` is parametrised over both engines: a SQLite file in tmp_path, and PostgreSQL
on one schema of the test server created for the whole run (``CREATE SCHEMA test_<random>``,
migrated once, emptied after each test, dropped at the end; tests.support.store.ReusableSchema).
The PostgreSQL cases skip with the reason when the server is unreachable, or fail when
ISOLATION_BOT_REQUIRE_POSTGRES=1 (CI). ``db`` is a Database on it, ``db2`` a second,
independent connection to the same store (another process's view), ``clock`` a FakeClock.

GitHub: ``emulator`` is a fresh GitHubEmulator that must end the test without validation
errors; ``world`` is the service in process against the emulator (tests.support.world) on a
SQLite file. Folders whose tests need another kind of world define their own ``world``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.emulator import GitHubEmulator
from bot.store import Database, open_database
from tests.support.store import FakeClock, ReusableSchema, postgres_unavailable_reason, skip_or_fail

if TYPE_CHECKING:  # imported when used: the service's modules are not every test's business
    from tests.support.world import World


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


@pytest.fixture
def emulator() -> Iterator[GitHubEmulator]:
    emu = GitHubEmulator()
    yield emu
    assert emu.validation_errors == [], emu.validation_errors


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    from tests.support.world import make_world

    async with make_world(f"sqlite:///{tmp_path}/bot.sqlite3") as w:
        yield w
