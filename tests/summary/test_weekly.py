"""The once-per-ISO-week guarantee, with a controllable clock and a fake GitHub issue.

Restarts and replicas are separate Database connections on one store (SQLite file locks are
per connection, as between processes; PostgreSQL advisory locks are per session)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings
from bot.service.scheduler import WeeklySummaryScheduler
from bot.store import Database, open_database
from bot.summary.render import marker
from bot.summary.seed import make_event, make_snapshot, seed_store
from bot.summary.source import MemorySource
from bot.summary.weekly import Outcome
from tests.summary.sumtest_support import REPO, FakeIssue, FakePoster, mod

W48_SLOT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday of 2026-W48, 09:00 UTC


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def seed(db: Database) -> None:
    src = MemorySource()
    t0 = W48_SLOT - timedelta(weeks=6, days=-1)  # snapshots on Tuesdays
    snaps = [
        make_snapshot(
            REPO,
            f"{i:040x}",
            t0 + timedelta(weeks=i),
            [
                mod("_abc", "done" if i >= 3 else "multi"),
                mod("_csv", "done" if i >= 5 else "single", static=() if i >= 5 else ("Dialect",)),
                mod("readline", "single", static=("RL_Type",)),
            ],
        )
        for i in range(10)
    ]
    events = [
        make_event(REPO, "_abc", "completed", t0 + timedelta(weeks=3), pr=111, author="a"),
        make_event(REPO, "_csv", "completed", t0 + timedelta(weeks=5), pr=222, author="b"),
        # In 2026-W49's window (W48's slot .. W49's slot).
        make_event(REPO, "readline", "multi-phase", W48_SLOT + timedelta(days=2), pr=333),
    ]
    src.add(REPO, snaps, events)
    await seed_store(db, src)


def scheduler(
    db: Database, issue: FakeIssue, clock: Clock, **poster_kw: bool
) -> WeeklySummaryScheduler:
    poster = FakePoster(issue, **poster_kw)

    async def factory() -> FakePoster:
        return poster

    return WeeklySummaryScheduler(db, Settings(), factory, clock=clock, sleep=_no_sleep)


async def _no_sleep(_: float) -> None:
    return None


def weeks_posted(issue: FakeIssue) -> list[str]:
    out = []
    for c in issue.comments:
        first = str(c["body"]).splitlines()[0]
        out.append(first.removeprefix("<!-- isolation-bot:weekly-summary:").removesuffix(" -->"))
    return out


async def posts_row(db: Database, week: str) -> dict[str, object] | None:
    return await db.fetchone(
        "SELECT * FROM summary_posts WHERE repo = ? AND iso_week = ?", (REPO, week)
    )


async def test_once_per_week_across_ticks_and_restarts(db: Database, db_url: str) -> None:
    await seed(db)
    issue = FakeIssue()
    clock = Clock(W48_SLOT - timedelta(minutes=1))
    s = scheduler(db, issue, clock)
    # Before the slot, the due week is W47, whose slot passed a week ago: late catch-up.
    # Start this test from a clean W47 to look at W48 alone.
    await db.execute(
        "INSERT INTO summary_posts (repo, iso_week, target, claimed_at, claimed_by, comment_id)"
        " VALUES (?, '2026-W47', 't', 'x', 'x', 1)",
        (REPO,),
    )
    assert (await s.tick()) == Outcome("already-posted", "2026-W47")
    assert issue.comments == []

    clock.now = W48_SLOT + timedelta(seconds=30)
    first = await s.tick()
    assert first is not None and first.status == "posted" and not first.late
    for minutes in (1, 2, 60, 3 * 24 * 60):
        clock.now = W48_SLOT + timedelta(minutes=minutes)
        assert (await s.tick()).status == "already-posted"  # type: ignore[union-attr]

    # A restart: a new process with its own connection and scheduler.
    db2 = await open_database(db_url)
    try:
        assert (await scheduler(db2, issue, clock).tick()).status == "already-posted"  # type: ignore[union-attr]
        clock.now = W48_SLOT + timedelta(weeks=1, seconds=5)
        assert (await scheduler(db2, issue, clock).tick()).status == "posted"  # type: ignore[union-attr]
    finally:
        await db2.close()
    assert weeks_posted(issue) == ["2026-W48", "2026-W49"]
    row = await posts_row(db, "2026-W48")
    assert row is not None and row["comment_id"] == issue.comments[0]["id"] and row["late"] == 0
    body = str(issue.comments[0]["body"])
    assert body.startswith(marker("2026-W48")) and "Posted late" not in body
    assert "Multi-phase init" in body


async def test_two_replicas_at_once_post_once(db: Database, db_url: str) -> None:
    await seed(db)
    issue = FakeIssue()
    clock = Clock(W48_SLOT + timedelta(seconds=1))
    replicas = [await open_database(db_url) for _ in range(3)]
    try:
        outcomes = await asyncio.gather(
            *(scheduler(r, issue, clock, slow=True).tick() for r in replicas)
        )
    finally:
        for r in replicas:
            await r.close()
    statuses = sorted(o.status for o in outcomes if o is not None)
    assert statuses.count("posted") == 1
    assert set(statuses) <= {"posted", "busy", "already-posted"}
    assert weeks_posted(issue) == ["2026-W48"]
    # The replicas that were busy try again on their next tick and find it done.
    assert (await scheduler(db, issue, clock).tick()).status == "already-posted"  # type: ignore[union-attr]


async def test_redelivered_trigger_posts_once(db: Database) -> None:
    await seed(db)
    issue = FakeIssue()
    s = scheduler(db, issue, Clock(W48_SLOT + timedelta(seconds=1)), slow=True)
    outcomes = await asyncio.gather(s.tick(), s.tick(), s.tick())
    assert [o.status for o in outcomes if o is not None].count("posted") == 1
    assert len(issue.comments) == 1


async def test_crash_between_post_and_record_does_not_post_twice(db: Database) -> None:
    await seed(db)
    issue = FakeIssue()
    clock = Clock(W48_SLOT + timedelta(seconds=1))
    assert await scheduler(db, issue, clock, crash_after_post=True).tick() is None  # logged
    row = await posts_row(db, "2026-W48")
    assert row is not None and row["comment_id"] is None  # claimed, not recorded
    assert len(issue.comments) == 1  # ... but GitHub has it

    clock.now += timedelta(minutes=1)
    outcome = await scheduler(db, issue, clock).tick()
    assert outcome is not None and outcome.status == "recovered"
    assert len(issue.comments) == 1
    row = await posts_row(db, "2026-W48")
    assert row is not None and row["comment_id"] == issue.comments[0]["id"]
    assert row["attempts"] == 2


async def test_week_missed_while_down_is_posted_once_and_marked_late(db: Database) -> None:
    await seed(db)
    issue = FakeIssue()
    clock = Clock(W48_SLOT + timedelta(seconds=1))
    s = scheduler(db, issue, clock)
    assert (await s.tick()).status == "posted"  # type: ignore[union-attr]
    # Down from then until Wednesday of W50: W49 and W50's slots were missed.
    clock.now = W48_SLOT + timedelta(weeks=2, days=2)
    late = await s.tick()
    assert late is not None and late.status == "posted" and late.late and late.week == "2026-W50"
    clock.now += timedelta(hours=1)
    assert (await s.tick()).status == "already-posted"  # type: ignore[union-attr]
    assert weeks_posted(issue) == ["2026-W48", "2026-W50"]  # only the latest missed week
    body = str(issue.comments[1]["body"])
    assert "Posted late" in body and "2026-12-07 09:00 UTC" in body
    # W49 was never posted: W50's post covers it, so its changes are not lost.
    assert "This post covers the last 2 weeks." in body and "### Merged in 2 weeks" in body
    assert "changes from 2026-11-23 09:00 UTC to 2026-12-07 09:00 UTC" in body
    assert "#333" in body and "Title of \\#\u2060333" in body  # titles from GitHub, inert
    assert "#333" not in str(issue.comments[0]["body"])
    row = await posts_row(db, "2026-W50")
    assert row is not None and row["late"] == 1


async def test_on_time_post_is_not_late_even_minutes_after_the_slot(db: Database) -> None:
    await seed(db)
    issue = FakeIssue()
    out = await scheduler(db, issue, Clock(W48_SLOT + timedelta(minutes=59))).tick()
    assert out is not None and out.status == "posted" and not out.late


async def test_nothing_analysed_posts_nothing(db: Database) -> None:
    issue = FakeIssue()
    out = await scheduler(db, issue, Clock(W48_SLOT + timedelta(seconds=1))).tick()
    assert out == Outcome("no-data", "2026-W48")
    assert issue.comments == [] and await posts_row(db, "2026-W48") is None


async def test_summary_content_for_the_week(db: Database) -> None:
    await seed(db)
    issue = FakeIssue()
    # W48's window is W47 Mon 09:00 .. W48 Mon 09:00; _csv was completed (PR 222) on the
    # Tuesday of W47, inside it.
    await scheduler(db, issue, Clock(W48_SLOT + timedelta(seconds=1))).tick()
    body = str(issue.comments[0]["body"])
    assert "### Modules completed (1)" in body and "`_csv`" in body and "#222" in body
    assert "+1 this week" in body


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    from tests.support.store import (
        postgres_unavailable_reason,
        skip_or_fail,
        temporary_postgres_url,
    )

    reason = await postgres_unavailable_reason()
    if reason:
        skip_or_fail(reason)
    async with temporary_postgres_url() as url:
        yield url


@pytest.mark.postgres
async def test_replicas_on_postgresql_post_once(postgres_url: str) -> None:
    first = await open_database(postgres_url)
    replicas = [first] + [await open_database(postgres_url) for _ in range(2)]
    try:
        await seed(first)
        issue = FakeIssue()
        clock = Clock(W48_SLOT + timedelta(seconds=1))
        outcomes = await asyncio.gather(
            *(scheduler(r, issue, clock, slow=True).tick() for r in replicas)
        )
        assert [o.status for o in outcomes if o is not None].count("posted") == 1
        assert weeks_posted(issue) == ["2026-W48"]
        clock.now += timedelta(days=1)
        assert (await scheduler(replicas[1], issue, clock).tick()).status == "already-posted"  # type: ignore[union-attr]
    finally:
        for r in replicas:
            await r.close()
