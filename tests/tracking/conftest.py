"""Fixtures for the tracking tests: an in-memory store."""

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
