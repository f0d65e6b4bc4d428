"""The SQLite store's disk full, then space comes back.

Two ways: ``PRAGMA max_page_count`` pinned to the file's current size (real SQLITE_FULL for
every write that needs a new page; small in-place updates still fit, as on a real full disk),
and, for a job caught in the middle, every write refused with SQLITE_FULL (a disk with not one
free page). The intake answers 503 and stores nothing of that delivery (GitHub records it as
failed; its redelivery is then taken); a job that cannot record its outcome pauses its worker,
which retries the update; once space returns everything resumes without a manual step."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

import bot.store.sqlite as sqlite_engine
from tests.support.world import HEAD_SOURCE, MODULE_PATH, World, until

UNLIMITED_PAGES = 1_073_741_823


async def _fill_disk(world: World) -> None:
    row = await world.state.db.fetchone("PRAGMA page_count")
    assert row is not None
    await world.state.db.fetchone(f"PRAGMA max_page_count = {int(row['page_count'])}")


async def _free_disk(world: World) -> None:
    await world.state.db.fetchone(f"PRAGMA max_page_count = {UNLIMITED_PAGES}")


class NoFreePage:
    """Every write statement fails with SQLITE_FULL while ``full`` is set (reads still work)."""

    def __init__(self) -> None:
        self.full = False
        self.refused = 0
        self._real = sqlite_engine._rowcount

    def __call__(self, c: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
        if self.full and not sql.lstrip().upper().startswith(("SELECT", "PRAGMA", "ROLLBACK")):
            self.refused += 1
            exc = sqlite3.OperationalError("database or disk is full")
            exc.sqlite_errorcode = sqlite3.SQLITE_FULL
            raise exc
        return self._real(c, sql, params)


@pytest.fixture
def no_free_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[NoFreePage]:
    disk = NoFreePage()
    monkeypatch.setattr(sqlite_engine, "_rowcount", disk)
    yield disk
    disk.full = False


async def test_the_fill_makes_writes_fail_with_sqlite_full(world: World) -> None:
    await _fill_disk(world)
    with pytest.raises(sqlite3.OperationalError, match="full"):
        await world.state.queue.enqueue("noop", "{}" + " " * 20_000)
    await _free_disk(world)
    assert await world.state.queue.enqueue("noop", "{}", not_before=2e9) is not None


async def test_intake_answers_503_and_stores_nothing_until_space_returns(world: World) -> None:
    emu, db = world.emu, world.state.db
    await _fill_disk(world)
    number, head = world.open_pr({MODULE_PATH: HEAD_SOURCE})
    await emu.wait_for_deliveries()
    (refused,) = [d for d in emu.deliveries if d.event == "pull_request"]
    assert refused.status == 503
    # Nothing half-stored: neither the delivery nor a job.
    assert await db.fetchall("SELECT 1 FROM deliveries WHERE delivery_id = ?", (refused.id,)) == []
    assert await db.fetchall("SELECT 1 FROM jobs WHERE delivery_id = ?", (refused.id,)) == []
    assert world.runs(head) == []

    await _free_disk(world)
    await emu.redeliver(refused.id)  # GitHub's redelivery of the failed delivery
    await emu.redeliver(refused.id)  # ... and a second one changes nothing
    assert [d.status for d in emu.deliveries if d.id == refused.id] == [503, 202, 202]
    rows = await world.idle()
    assert [r["state"] for r in rows if r["event"] == "pull_request"] == ["done"]
    (run,) = world.runs(head)
    assert run["conclusion"] == "failure"
    assert len(world.bot_comments(number)) == 1


async def test_worker_pauses_mid_job_and_resumes(
    world: World, no_free_page: NoFreePage, caplog: pytest.LogCaptureFixture
) -> None:
    emu = world.emu
    # A check in flight when the disk fills: it reaches GitHub, then cannot record its state.
    emu.faults.add(method="GET", path=r"/pulls/\d+/files$", status=None, delay=0.4)
    number, head = world.open_pr({MODULE_PATH: HEAD_SOURCE})
    await until(lambda: world.runs(head), what="the check running")
    no_free_page.full = True
    await until(lambda: world.completed(head), what="the check run completed on GitHub")
    await until(lambda: "could not record the outcome" in caplog.text, what="the worker paused")
    refused = no_free_page.refused
    await until(lambda: no_free_page.refused > refused, what="the worker trying again")
    rows = await world.jobs("event = 'pull_request'")
    assert [r["state"] for r in rows] == ["running"], rows  # still leased: nobody else runs it

    no_free_page.full = False
    rows = await world.idle()
    assert not [r for r in rows if r["state"] == "dead"], rows
    (job,) = [r for r in rows if r["event"] == "pull_request"]
    assert job["state"] == "done"
    # The check failed while the store was full and GitHub completed the run "could not
    # complete" before the store could record it: that run is final, so the retry reported
    # in a new run (the newest, which GitHub shows), and found its own comment.
    *earlier, run = world.runs(head)
    assert run["conclusion"] == "failure"
    assert len(earlier) <= 1
    assert all(r["status"] == "completed" for r in earlier)
    assert all("could not complete" in r["output"]["summary"] for r in earlier)
    assert len(world.bot_comments(number)) == 1
