"""Fixtures for the command tests (the store fixtures are the root conftest's)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.store import Database, open_database


@pytest.fixture
async def replicas(db_url: str) -> AsyncIterator[tuple[Database, Database]]:
    """Two independent connections to one store: what two bot replicas see."""
    a = await open_database(db_url)
    b = await open_database(db_url)
    try:
        yield a, b
    finally:
        await b.close()
        await a.close()
