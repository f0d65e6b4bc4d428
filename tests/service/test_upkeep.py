"""The daily prune the service schedules (bot.service.upkeep)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.service import upkeep
from bot.store import open_database
from bot.store.queue import Queue
from tests.support.store import FakeClock

DAY = 86400.0


async def test_daily_prune_deletes_finished_work_older_than_14_days(tmp_path: Path) -> None:
    db = await open_database(f"sqlite:///{tmp_path / 'q.sqlite3'}")
    clock = FakeClock()
    queue = Queue(db, clock=clock)
    await queue.record_delivery("old", "push", None, "{}", key=None, repo="o/r")
    old = await queue.claim("w")
    assert old is not None
    await queue.complete(old.id, "w")
    dead = await queue.enqueue("sync", "{}")
    assert dead is not None
    job = await queue.claim("w")
    assert job is not None and job.id == dead
    await queue.fail(dead, "w", "broken", retry_in=None)
    clock.advance(15 * DAY)
    await queue.record_delivery("new", "push", None, "{}", key=None, repo="o/r")

    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    await upkeep.run_prune_daily(queue, sleep=sleep, passes=2)
    assert sleeps == [upkeep.FIRST_PRUNE_DELAY_SECONDS, upkeep.PRUNE_EVERY_SECONDS]
    assert await queue.get(old.id) is None
    assert await db.fetchone("SELECT 1 AS x FROM deliveries WHERE delivery_id = 'old'") is None
    assert await db.fetchone("SELECT 1 AS x FROM deliveries WHERE delivery_id = 'new'")
    assert (await queue.get(dead) or {}).get("state") == "dead"  # kept for inspection
    # A redelivery of a recent id is still recognised.
    assert not await queue.record_delivery("new", "push", None, "{}", key=None, repo="o/r")
    await db.close()


async def test_a_failed_prune_is_logged_and_retried_next_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = await open_database(f"sqlite:///{tmp_path / 'q.sqlite3'}")
    queue = Queue(db)
    await db.close()  # every statement now fails
    assert await upkeep.prune_once(queue) is None
    assert "pruning old jobs and deliveries failed" in caplog.text
