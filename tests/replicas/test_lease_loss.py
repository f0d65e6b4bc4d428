"""A worker that lost its job's lease (its process stalled past it, another replica claimed
the job) stops the job at once: two workers never make one job's side effects together."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.github.client import CallCounter
from bot.service.worker import WorkerPool
from bot.store import open_database
from bot.store.queue import Job, Queue
from tests.support.store import FakeClock


class SlowPool(WorkerPool):
    def __init__(self, queue: Queue) -> None:
        super().__init__(queue, workers=0, execute=self.slow, instance_id="a")
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.finished = False

    async def slow(self, job: Job, counter: CallCounter) -> None:
        self.started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        self.finished = True


async def test_a_job_whose_lease_was_taken_is_cancelled(tmp_path: Path) -> None:
    db = await open_database(f"sqlite:///{tmp_path / 'q.sqlite3'}")
    clock = FakeClock()
    queue = Queue(db, lease_seconds=3, clock=clock)  # heartbeats every second (real time)
    pool = SlowPool(queue)
    job_id = await queue.enqueue("sync", "{}", key="pr:o/r#1")
    job = await queue.claim("a-0")
    assert job is not None and job.id == job_id
    task = asyncio.create_task(pool._process(job, "a-0"))
    await asyncio.wait_for(pool.started.wait(), 5)

    clock.advance(10)  # the lease ran out (a stalled process): another replica takes the job
    stolen = await queue.claim("b-0")
    assert stolen is not None and stolen.id == job_id
    await asyncio.wait_for(pool.cancelled.wait(), 5)
    await asyncio.wait_for(task, 5)
    assert not pool.finished
    row = await queue.get(job_id)
    assert row is not None and row["state"] == "running" and row["worker_id"] == "b-0"
    await queue.complete(job_id, "b-0")
    assert (await queue.get(job_id) or {})["state"] == "done"
    await db.close()
