"""The operational side of running replicas, against real `serve` processes on PostgreSQL:
replicas started together migrate once; /healthz, /readyz and /metrics; the meta-issue
writer (one writer at a time across replicas); graceful SIGTERM with a job in flight; JSON
logs with the delivery id and repo on every job line, and no secret in any log."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.store.migrate import load_migrations
from bot.tracking.checklist import END_MARKER, START_MARKER
from tests.replicas.replica_world import (
    REPO,
    job_lines_without_context,
    make_world,
    module_path,
    module_source,
    open_pr,
    problems_of_pr,
    secrets_in_logs,
)
from tests.support.cluster import BotCluster

METRICS = (
    "isolation_bot_deliveries_total",
    "isolation_bot_webhook_ack_seconds",
    "isolation_bot_queue_depth",
    "isolation_bot_queue_oldest_age_seconds",
    "isolation_bot_job_duration_seconds",
    "isolation_bot_jobs_total",
    "isolation_bot_github_api_calls_total",
    "isolation_bot_github_rate_limit_remaining",
    "isolation_bot_analysis_seconds",
)

pytestmark = pytest.mark.postgres  # skipped (or failed under CI's flag) without it


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as resp:
        return resp.status, await resp.text()


async def test_replicas_operate_together(pg_url: str, tmp_path: Path) -> None:
    emu, app = make_world()
    meta = emu.create_issue(REPO, "Meta issue: per-interpreter GIL", body="Tracking.\n")
    config = tmp_path / "bot.toml"
    config.write_text(f'[meta_issue]\nrepo = "{REPO}"\nnumber = {meta}\n')
    async with emu.serve() as api_url, aiohttp.ClientSession() as http:
        cluster = BotCluster(
            emu,
            app,
            api_url,
            pg_url,
            replicas=2,
            log_dir=tmp_path / "logs",
            env={"ISOLATION_BOT_CONFIG": str(config)},
        )
        await cluster.start()  # both at once: their migrations race on the fresh schema
        first = cluster.replicas[0]
        try:
            db = await cluster.db()
            applied = await db.fetchall("SELECT id FROM schema_migrations ORDER BY id")
            assert [r["id"] for r in applied] == sorted(m.id for m in load_migrations("postgresql"))

            # Traffic: PRs, and pushes to the default branch that both replicas track into
            # the meta issue (its writer holds an advisory lock across replicas).
            numbers = [open_pr(emu, pr) for pr in range(4)]
            for revision in range(1, 4):
                emu.push(REPO, "main", {module_path(5): module_source(5, 99, revision)})
            await cluster.wait_idle(timeout=60)

            for r in cluster.replicas:
                status, text = await _get(http, f"{r.url}/healthz")
                assert status == 200 and '"status": "ok"' in text and '"pending": 0' in text
                status, text = await _get(http, f"{r.url}/readyz")
                assert (status, text) == (200, '{"ready": true}')
            scraped = [(await _get(http, f"{r.url}/metrics"))[1] for r in cluster.replicas]
            for text in scraped:
                assert [m for m in METRICS if f"\n{m}" not in text] == []
            both = "".join(scraped)
            assert 'isolation_bot_deliveries_total{event="pull_request",outcome="queued"}' in both
            assert 'isolation_bot_jobs_total{kind="pull_request",outcome="done"}' in both
            assert 'isolation_bot_github_api_calls_total{method="POST",status="201"}' in both
            observed = {
                name: sum(
                    sample.value
                    for text in scraped
                    for family in text_string_to_metric_families(text)
                    for sample in family.samples
                    if sample.name == name
                )
                for name in (
                    "isolation_bot_analysis_seconds_count",
                    "isolation_bot_webhook_ack_seconds_count",
                    "isolation_bot_job_duration_seconds_count",
                )
            }
            assert all(v > 0 for v in observed.values()), observed

            body = str(emu.issue(REPO, meta)["body"])
            assert body.startswith("Tracking.") and body.count(START_MARKER) == 1
            assert body.count(END_MARKER) == 1

            # Graceful SIGTERM with a job in flight on the first replica: it stops claiming,
            # finishes the job within the grace period and exits 0; nothing is lost.
            emu.faults.add(
                method="PATCH", path=r"/check-runs/\d+$", status=None, delay=1.5, times=None
            )
            late = [open_pr(emu, pr) for pr in range(4, 8)]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                rows = await db.fetchall(
                    "SELECT id FROM jobs WHERE state = 'running' AND worker_id LIKE ?",
                    (f"%-{first.pid}-%",),
                )
                if rows:
                    break
                await asyncio.sleep(0.05)
            assert rows, "the first replica never ran a job"
            in_flight = rows[0]["id"]
            assert await first.terminate() == 0
            assert any("stopping (finishing or releasing" in line for line in first.stdout)
            row = await db.fetchone("SELECT state FROM jobs WHERE id = ?", (in_flight,))
            assert row is not None and row["state"] in ("done", "pending", "superseded")
            emu.faults.clear()
            await cluster.wait_idle(timeout=60)  # the second replica takes the rest
            problems = [p for n in numbers + late for p in problems_of_pr(emu, app, n)]
            assert problems == []
        finally:
            codes = await cluster.stop()
        assert codes == [0, 0]
        assert emu.validation_errors == []
        assert secrets_in_logs(cluster.replicas, app) == []
        assert job_lines_without_context(cluster.replicas)[:5] == []
        records = [rec for r in cluster.replicas for rec in r.log_records()]
        assert records and all("ts" in rec and "level" in rec for rec in records)
