"""Fixtures for the command tests: an in-memory store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.store import Database, open_database


@pytest.fixture
async def db() -> AsyncIterator[Database]:
    database = await open_database("sqlite:///:memory:")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture(autouse=True)
def _fresh_permission_cache() -> None:
    # The maintainer check is cached process-wide; each test starts from a clean cache.
    from bot.commands.permissions import clear_permission_cache

    clear_permission_cache()
