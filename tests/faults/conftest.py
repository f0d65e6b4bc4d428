"""The service in process against the emulator, with short backoffs (tests/faults)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.world import World, make_world


@pytest.fixture(autouse=True)
def short_backoffs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISOLATION_BOT_JOB_RETRY_SECONDS", "0.02")
    monkeypatch.setenv("ISOLATION_BOT_GITHUB_BACKOFF_SECONDS", "0.005")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with make_world(f"sqlite:///{tmp_path}/bot.sqlite3", fault_policy=True) as w:
        yield w
