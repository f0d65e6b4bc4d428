"""Fixtures for the summary tests: a store file (several connections = several processes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Database, open_database


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.sqlite3'}"


@pytest.fixture
async def db(store_url: str) -> AsyncIterator[Database]:
    database = await open_database(store_url)
    try:
        yield database
    finally:
        await database.close()
