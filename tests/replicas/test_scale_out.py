"""Three replicas on one PostgreSQL store, 500 deliveries, one replica SIGKILLed mid-run.

The emulator delivers through a round-robin load balancer (tests.support.cluster); the killed
replica's leased jobs are reclaimed by the others once the (short) lease expires. Afterwards
every PR has exactly one status comment and exactly one completed check run for its last
head, no job is left pending, running or dead, and every delivery was acknowledged.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import pytest

from bot.prcheck.check_run import CHECK_NAME
from bot.store.queue import Queue
from tests.replicas.replica_world import (
    REPO,
    job_lines_without_context,
    make_world,
    open_pr,
    problems_of_pr,
    push_pr,
    secrets_in_logs,
)
from tests.support.cluster import BotCluster

PRS = 80
PUSHES_PER_PR = 4  # synchronize events after the opening one
REDELIVERIES = 100
TOTAL = PRS * (1 + PUSHES_PER_PR) + REDELIVERIES  # 500

pytestmark = pytest.mark.postgres  # skipped (or failed under CI's flag) without it


def _driven(emu: Any) -> list[Any]:
    """The deliveries this test made (the bot's own actions emit webhooks too)."""
    return [
        d
        for d in emu.deliveries
        if d.event == "pull_request" and d.action in ("opened", "synchronize")
    ]


async def _running_on(cluster: BotCluster, pid: int) -> list[str]:
    db = await cluster.db()
    rows = await db.fetchall(
        "SELECT id FROM jobs WHERE state = 'running' AND worker_id LIKE ?", (f"%-{pid}-%",)
    )
    return [r["id"] for r in rows]


async def test_three_replicas_finish_everything_when_one_is_killed(
    pg_url: str, tmp_path: Path
) -> None:
    emu, app = make_world()
    rng = random.Random(7)
    async with emu.serve() as api_url:
        cluster = BotCluster(emu, app, api_url, pg_url, replicas=3, log_dir=tmp_path)
        await cluster.start()
        victim = cluster.replicas[1]
        try:
            numbers = [open_pr(emu, pr) for pr in range(PRS)]

            killed_jobs: list[str] = []

            async def kill_in_the_middle() -> None:
                # Once half the traffic is in and the victim holds a job: SIGKILL it.
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    posted = sum(1 for d in emu.deliveries if d.status is not None)
                    if posted >= TOTAL // 2:
                        running = await _running_on(cluster, victim.pid)
                        if running:
                            await victim.kill()
                            killed_jobs.extend(running)
                            return
                    await asyncio.sleep(0.02)

            killer = asyncio.create_task(kill_in_the_middle())
            for revision in range(1, PUSHES_PER_PR + 1):
                for pr in range(PRS):
                    push_pr(emu, pr, revision)
                    if pr % 10 == 0:
                        await asyncio.sleep(0.05)  # spread the traffic out a little
                driver_ids = [d.id for d in _driven(emu) if not d.redelivery]
                for _ in range(REDELIVERIES // PUSHES_PER_PR):
                    await emu.redeliver(rng.choice(driver_ids), wait=False)
            await asyncio.wait_for(killer, 90)
            stats = await cluster.wait_idle(timeout=90)
        finally:
            codes = await cluster.stop()

        deliveries_in = _driven(emu)
        assert len(deliveries_in) == TOTAL
        assert len({d.id for d in deliveries_in}) == TOTAL - REDELIVERIES
        assert killed_jobs, "the victim was killed before it ran any job: nothing was tested"
        assert not victim.alive and codes[1] is None
        assert [c for i, c in enumerate(codes) if i != 1] == [0, 0], cluster.logs()[-5000:]
        # The balancer took over the dead replica's share: every delivery was acknowledged.
        # (The installation event of the scene was made before any webhook URL existed.)
        posted = [d for d in emu.deliveries if d.event != "installation"]
        unacked = [(d.id, d.event, d.attempts) for d in posted if d.status not in (200, 202)]
        assert unacked == []
        assert cluster.balancer.served[0] > 0 and cluster.balancer.served[2] > 0

        problems = [p for n in numbers for p in problems_of_pr(emu, app, n)]
        assert problems == [], "\n".join(problems)
        # Runs of older heads too, the killed replica's included: none is left in progress.
        spinning = [
            (r["external_id"], r["head_sha"][:8])
            for r in emu.check_runs(REPO)
            if r["name"] == CHECK_NAME and r["status"] != "completed"
        ]
        assert spinning == []
        assert stats.pending == stats.running == stats.dead == 0, stats

        db_cluster = BotCluster(emu, app, api_url, pg_url, replicas=0, log_dir=tmp_path)
        db = await db_cluster.db()
        try:
            queue = Queue(db)
            for job_id in killed_jobs:  # reclaimed after the lease and finished (or coalesced)
                row = await queue.get(job_id)
                assert row is not None and row["state"] in ("done", "superseded"), row
            stored = await db.fetchone("SELECT COUNT(*) AS n FROM deliveries")
            assert stored is not None and stored["n"] >= TOTAL - REDELIVERIES
            not_done = await db.fetchall(
                "SELECT id, state, last_error FROM jobs WHERE state NOT IN ('done', 'superseded')"
            )
            assert not_done == []
        finally:
            await db_cluster.stop()

        assert emu.validation_errors == [], emu.validation_errors[:5]
        assert secrets_in_logs(cluster.replicas, app) == []
        assert job_lines_without_context(cluster.replicas)[:5] == []
        assert REPO  # the scene's repository took all the traffic
