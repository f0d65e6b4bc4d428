"""The delivery log and job queue, same behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.store import Database
from bot.store.queue import Job, Queue
from tests.support.store import FakeClock


@pytest.fixture
def queue(db: Database, clock: FakeClock) -> Queue:
    return Queue(db, lease_seconds=60, max_attempts=3, clock=clock)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def deliver(
    q: Queue, clock: FakeClock, delivery_id: str, *, key: str | None = None, sha: str = "a"
) -> bool:
    clock.advance(1)  # deliveries arrive one after another
    payload = json.dumps({"pull_request": {"head": {"sha": sha}}})
    return await q.record_delivery(
        delivery_id, "pull_request", "synchronize", payload, key=key, repo="python/cpython"
    )


async def claim(q: Queue, worker: str = "w1") -> Job:
    job = await q.claim(worker)
    assert job is not None, "expected a runnable job"
    return job


async def test_delivery_becomes_a_job_with_its_payload(queue: Queue, clock: FakeClock) -> None:
    assert await deliver(queue, clock, "d-1", key="pr:python/cpython#1", sha="abc")
    job = await claim(queue)
    assert (job.kind, job.delivery_id, job.event, job.action, job.key, job.repo) == (
        "webhook",
        "d-1",
        "pull_request",
        "synchronize",
        "pr:python/cpython#1",
        "python/cpython",
    )
    assert json.loads(job.payload)["pull_request"]["head"]["sha"] == "abc"
    assert job.attempts == 1
    assert job.created_at == clock.now
    assert await queue.claim("w2") is None  # nothing else to do


async def test_duplicate_delivery_is_stored_once(
    queue: Queue, db: Database, clock: FakeClock
) -> None:
    assert await deliver(queue, clock, "dup") is True
    assert await deliver(queue, clock, "dup", sha="other") is False
    assert await db.fetchone("SELECT COUNT(*) AS n FROM jobs") == {"n": 1}
    assert await db.fetchone("SELECT COUNT(*) AS n FROM deliveries") == {"n": 1}
    job = await claim(queue)
    await queue.complete(job.id, "w1")
    # A redelivery after the job finished has no second effect either.
    assert await deliver(queue, clock, "dup") is False
    assert await queue.claim("w1") is None


async def test_older_job_for_the_same_key_is_superseded(queue: Queue, clock: FakeClock) -> None:
    await deliver(queue, clock, "d-old", key="pr:o/r#7", sha="old")
    await deliver(queue, clock, "d-other", key="pr:o/r#8", sha="other")
    await deliver(queue, clock, "d-new", key="pr:o/r#7", sha="new")
    first = await claim(queue)
    second = await claim(queue)
    assert [first.delivery_id, second.delivery_id] == ["d-other", "d-new"]
    assert await queue.claim("w1") is None
    stats = await queue.stats()
    assert (stats.superseded, stats.running, stats.pending) == (1, 2, 0)


async def test_jobs_without_a_key_are_never_superseded(queue: Queue, clock: FakeClock) -> None:
    await deliver(queue, clock, "a")
    await deliver(queue, clock, "b")
    assert {(await claim(queue)).delivery_id, (await claim(queue)).delivery_id} == {"a", "b"}


async def test_a_key_runs_one_job_at_a_time(queue: Queue, clock: FakeClock) -> None:
    await deliver(queue, clock, "first", key="pr:o/r#1")
    running = await claim(queue, "w1")
    await deliver(queue, clock, "second", key="pr:o/r#1")
    # The newer head must wait: two workers on one PR could both create its comment.
    assert await queue.claim("w2") is None
    await queue.complete(running.id, "w1")
    nxt = await claim(queue, "w2")
    assert nxt.delivery_id == "second"


async def test_expired_lease_is_reclaimed_and_the_old_worker_loses_it(
    queue: Queue, clock: FakeClock
) -> None:
    await deliver(queue, clock, "d", key="pr:o/r#1")
    job = await claim(queue, "dead-worker")
    clock.advance(30)
    assert await queue.heartbeat(job.id, "dead-worker")  # lease now ends at +90
    clock.advance(59)
    assert await queue.claim("w2") is None  # still leased (without the heartbeat it would not be)
    clock.advance(30)
    again = await claim(queue, "w2")
    assert (again.id, again.attempts) == (job.id, 2)
    # The first worker comes back: it no longer owns the job and cannot finish it.
    assert await queue.heartbeat(job.id, "dead-worker") is False
    await queue.complete(job.id, "dead-worker")
    row = await queue.get(job.id)
    assert row is not None and (row["state"], row["worker_id"]) == ("running", "w2")
    await queue.complete(job.id, "w2")
    row = await queue.get(job.id)
    assert row is not None and row["state"] == "done"


async def test_job_whose_worker_keeps_dying_ends_dead(queue: Queue, clock: FakeClock) -> None:
    await deliver(queue, clock, "poison")
    for attempt in (1, 2, 3):
        job = await claim(queue, f"w{attempt}")
        assert job.attempts == attempt
        clock.advance(61)
    assert await queue.claim("w4") is None
    row = await queue.get(job.id)
    assert row is not None and row["state"] == "dead"
    assert "lease expired" in row["last_error"]


async def test_fail_retries_later_then_dies(queue: Queue, clock: FakeClock) -> None:
    await deliver(queue, clock, "flaky")
    job = await claim(queue)
    await queue.fail(job.id, "w1", "502 from GitHub", retry_in=30)
    assert await queue.claim("w1") is None  # not before its retry time
    clock.advance(31)
    job = await claim(queue)
    assert job.attempts == 2
    await queue.fail(job.id, "w1", "502 again", retry_in=30)
    clock.advance(31)
    job = await claim(queue)
    await queue.fail(job.id, "w1", "502 a third time", retry_in=30)  # max_attempts=3
    clock.advance(31)
    assert await queue.claim("w1") is None
    row = await queue.get(job.id)
    assert row is not None and (row["state"], row["last_error"]) == ("dead", "502 a third time")
    assert (await queue.stats()).dead == 1


async def test_fail_without_retry_is_permanent(queue: Queue, clock: FakeClock) -> None:
    await deliver(queue, clock, "bad")
    job = await claim(queue)
    await queue.fail(job.id, "w1", "malformed payload", retry_in=None)
    clock.advance(3600)
    assert await queue.claim("w1") is None
    row = await queue.get(job.id)
    assert row is not None and row["state"] == "dead"


async def test_release_puts_the_job_back_without_using_an_attempt(
    queue: Queue, clock: FakeClock
) -> None:
    await deliver(queue, clock, "d", key="pr:o/r#2")
    job = await claim(queue, "stopping")
    await queue.release(job.id, "stopping")
    again = await claim(queue, "next")
    assert (again.id, again.attempts) == (job.id, 1)


async def test_reclaim_all_running_after_a_single_process_restart(
    queue: Queue, clock: FakeClock
) -> None:
    for i in range(3):
        await deliver(queue, clock, f"d{i}")
    for _ in range(2):
        await claim(queue, "old-process")
    assert await queue.reclaim_all_running() == 2
    claimed = [await claim(queue, "new-process") for _ in range(3)]
    assert sorted(j.delivery_id or "" for j in claimed) == ["d0", "d1", "d2"]


async def test_enqueue_internal_jobs_with_dedup_and_not_before(
    queue: Queue, clock: FakeClock
) -> None:
    first = await queue.enqueue("recheck", '{"pr": 5}', key="pr:o/r#5", dedup_id="cmd-123")
    assert first is not None
    assert await queue.enqueue("recheck", '{"pr": 5}', key="pr:o/r#5", dedup_id="cmd-123") is None
    later = await queue.enqueue("sync", "{}", not_before=clock.now + 100)
    job = await claim(queue)
    assert (job.id, job.kind, job.payload, job.delivery_id, job.event) == (
        first,
        "recheck",
        '{"pr": 5}',
        None,
        None,
    )
    assert await queue.claim("w1") is None
    await queue.complete(job.id, "w1")
    clock.advance(101)
    assert (await claim(queue)).id == later


async def test_stats_counts_states_and_oldest_pending_age(queue: Queue, clock: FakeClock) -> None:
    empty = await queue.stats()
    assert (empty.pending, empty.running, empty.oldest_pending_age) == (0, 0, None)
    await deliver(queue, clock, "a")
    await deliver(queue, clock, "b")
    await deliver(queue, clock, "c")
    job = await claim(queue)
    await queue.complete(job.id, "w1")
    await claim(queue)
    clock.advance(10)
    stats = await queue.stats()
    assert (stats.pending, stats.running, stats.done, stats.dead) == (1, 1, 1, 0)
    assert stats.oldest_pending_age == pytest.approx(10)


async def test_once_is_true_the_first_time_only(queue: Queue, db: Database, db2: Database) -> None:
    other = Queue(db2)
    assert await queue.once("weekly:2026-W48") is True
    assert await queue.once("weekly:2026-W48") is False
    assert await other.once("weekly:2026-W48") is False
    assert await other.once("weekly:2026-W49") is True
    await queue.forget("weekly:2026-W48")
    assert await other.once("weekly:2026-W48") is True


async def test_concurrent_once_has_one_winner(db: Database, db2: Database) -> None:
    queues = [Queue(db), Queue(db2)] * 4
    wins = await asyncio.gather(*(q.once("effect") for q in queues))
    assert sorted(wins) == [False] * 7 + [True]


async def test_prune_removes_old_finished_work_only(
    queue: Queue, db: Database, clock: FakeClock
) -> None:
    await deliver(queue, clock, "old-done")
    await deliver(queue, clock, "old-dead")
    done = await claim(queue)
    await queue.complete(done.id, "w1")
    dead = await claim(queue)
    await queue.fail(dead.id, "w1", "x", retry_in=None)
    clock.advance(1000)
    await deliver(queue, clock, "recent")
    assert await queue.prune(older_than_seconds=500) == 1
    left = await db.fetchall("SELECT delivery_id FROM deliveries ORDER BY delivery_id")
    assert left == [{"delivery_id": "old-dead"}, {"delivery_id": "recent"}]


async def test_concurrent_claimers_never_share_a_job(db: Database, db2: Database) -> None:
    producer = Queue(db)
    for i in range(40):
        # Half the jobs share 5 keys, so supersede and per-key waits happen under load.
        key = f"pr:o/r#{(i // 2) % 5}" if i % 2 else None
        await producer.record_delivery(f"d{i}", "pull_request", "opened", "{}", key=key, repo="o/r")
    claimed: list[str] = []
    running_keys: set[str] = set()

    async def worker(q: Queue, name: str) -> None:
        while True:
            job = await q.claim(name)
            if job is None:
                # Nothing runnable now; finished only when nothing is pending either.
                if (await q.stats()).pending == 0:
                    return
                await asyncio.sleep(0.01)
                continue
            claimed.append(job.id)
            if job.key is not None:
                assert job.key not in running_keys, "two jobs of one key ran at once"
                running_keys.add(job.key)
            await asyncio.sleep(0.001)  # let the others try to claim while this job "runs"
            running_keys.discard(job.key or "")
            await q.complete(job.id, name)

    queues = [Queue(db), Queue(db2)]
    await asyncio.wait_for(asyncio.gather(*(worker(queues[i % 2], f"w{i}") for i in range(6))), 60)
    assert len(claimed) == len(set(claimed)), "a job was handed to two workers"
    stats = await producer.stats()
    assert stats.done == len(claimed)
    assert stats.done + stats.superseded == 40
    assert (stats.pending, stats.running, stats.dead) == (0, 0, 0)
