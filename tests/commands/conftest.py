"""Fixtures for the command tests: an in-memory store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Database, open_database


@pytest.fixture
async def db() -> AsyncIterator[Database]:
    database = await open_database("sqlite:///:memory:")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Both engines: a SQLite file, and a throwaway PostgreSQL schema (skips when no server)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/commands.sqlite3"
        return
    from tests.support.store import (
        postgres_unavailable_reason,
        skip_or_fail,
        temporary_postgres_url,
    )

    reason = await postgres_unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    async with temporary_postgres_url() as url:
        yield url


@pytest.fixture
async def replicas(store_url: str) -> AsyncIterator[tuple[Database, Database]]:
    """Two independent connections to one store: what two bot replicas see."""
    a = await open_database(store_url)
    b = await open_database(store_url)
    try:
        yield a, b
    finally:
        await b.close()
        await a.close()
