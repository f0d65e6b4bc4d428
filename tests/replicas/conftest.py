"""Several `isolation-bot serve` processes on one PostgreSQL store (tests.support.cluster).

Without PostgreSQL at 127.0.0.1:5432 these tests skip with the reason, or fail when
ISOLATION_BOT_REQUIRE_POSTGRES=1 (CI)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.store import postgres_unavailable_reason, skip_or_fail, temporary_postgres_url


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A DATABASE_URL on a fresh, empty schema (replicas migrate it themselves)."""
    reason = await postgres_unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    async with temporary_postgres_url() as url:
        yield url
