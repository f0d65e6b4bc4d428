"""Claimers in separate OS processes (replicas, or a restart overlapping a shutdown) never get
the same job, on either engine."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from bot.store import Database
from bot.store.queue import Queue

ROOT = Path(__file__).resolve().parents[2]

CLAIMER = """
import asyncio, sys
from bot.store import open_database
from bot.store.queue import Queue

async def main(url, name):
    db = await open_database(url)
    q = Queue(db)
    idle = 0
    while idle < 20:
        job = await q.claim(name)
        if job is None:
            idle += 1
            await asyncio.sleep(0.02)
            continue
        idle = 0
        print(job.id, flush=True)
        await q.complete(job.id, name)
    await db.close()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_two_processes_share_the_queue_without_overlap(db_url: str, db: Database) -> None:
    queue = Queue(db)
    expected = set()
    for i in range(60):
        job_id = await queue.enqueue("sync", "{}", dedup_id=f"job-{i}")
        assert job_id is not None
        expected.add(job_id)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CLAIMER,
            db_url,
            f"proc-{n}",
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(2)
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 120)
    claimed: list[str] = []
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
        claimed.extend(out.decode().split())
    assert len(claimed) == len(set(claimed)), "a job was claimed by both processes"
    assert set(claimed) == expected
    stats = await queue.stats()
    assert (stats.done, stats.pending, stats.running) == (60, 0, 0)
