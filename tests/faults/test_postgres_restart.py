"""PostgreSQL restarted under the bot: every backend connection of the bot is terminated
(``pg_terminate_backend``), between jobs and while a check is in flight. The pool reconnects
(a checked-out connection is tested first), the intake keeps taking deliveries, the workers
keep claiming, and nothing is lost or posted twice. (A statement cut off mid-way raises
psycopg.OperationalError, which the worker treats as the store failing: the job is postponed
without spending an attempt; tests/faults/test_classify.py and the SQLite disk-full tests
cover that path.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest

import bot.store.postgres as postgres_engine
from bot.service import worker
from tests.support.store import (
    postgres_test_server_url,
    postgres_unavailable_reason,
    skip_or_fail,
    temporary_postgres_url,
)
from tests.support.world import HEAD_SOURCE, MODULE_PATH, World, make_world, until

pytestmark = pytest.mark.postgres


async def restart_database(app_name: str) -> int:
    """Terminate the bot's connections, as a server restart does; how many there were."""
    async with await psycopg.AsyncConnection.connect(
        postgres_test_server_url(), autocommit=True
    ) as conn:
        cur = await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            (app_name,),
        )
        return len(await cur.fetchall())


@pytest.fixture
async def pg_world(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[World, str]]:
    """The world on a fresh PostgreSQL schema; its connections carry a unique
    application_name, so the test kills only the bot's own backends."""
    reason = await postgres_unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    monkeypatch.setenv("ISOLATION_BOT_REDELIVERY_SECONDS", "0.3")  # a refused delivery returns
    # Shorter waits than production's, so recovery takes seconds here.
    monkeypatch.setattr(postgres_engine, "POOL_WAIT_SECONDS", 1.0)
    monkeypatch.setattr(postgres_engine, "RECONNECT_TIMEOUT_SECONDS", 2.0)
    monkeypatch.setattr(worker, "CLAIM_RETRY_CAP_SECONDS", 1.0)
    app_name = f"isolation-bot-faults-{uuid.uuid4().hex[:8]}"
    async with (
        temporary_postgres_url() as url,
        make_world(f"{url}&application_name={app_name}", fault_policy=True) as world,
    ):
        yield world, app_name


async def test_connections_killed_between_and_during_jobs(pg_world: tuple[World, str]) -> None:
    world, app_name = pg_world
    emu = world.emu
    n1, head1 = world.open_pr({MODULE_PATH: HEAD_SOURCE})
    await world.idle()
    assert await restart_database(app_name) > 0

    # The intake right after the restart: stored (the pool replaced its dead connections).
    n2, head2 = world.open_pr({"Objects/other.c": "static int x;\n"}, branch="second")
    await emu.wait_for_deliveries()
    opened = [d for d in emu.deliveries if d.event == "pull_request" and d.action == "opened"]
    assert [d.status for d in opened] == [202, 202]

    # Killed again while a check is in flight (the files listing is held back).
    emu.faults.add(method="GET", path=r"/pulls/\d+/files$", status=None, delay=0.5)
    n3, head3 = world.open_pr({MODULE_PATH: HEAD_SOURCE + "\n/* 3 */\n"}, branch="third")
    await until(lambda: world.runs(head3), what="the third check running")
    assert await restart_database(app_name) > 0
    await restart_database(app_name)

    rows = await world.idle()
    pulls = [r for r in rows if r["event"] == "pull_request" and r["action"] == "opened"]
    assert [r["state"] for r in pulls] == ["done", "done", "done"], rows
    assert not [r for r in rows if r["state"] == "dead"], rows
    for number, head, conclusion in (
        (n1, head1, "failure"),
        (n2, head2, "success"),
        (n3, head3, "failure"),
    ):
        # A check cut off by the restart after it completed its run "could not complete"
        # (neutral) reports in a new run: a completed run is final on GitHub.
        *interrupted, last = [r["conclusion"] for r in world.runs(head)]
        assert last == conclusion and set(interrupted) <= {"neutral"}
        assert len(world.bot_comments(number)) == 1
    # The service still answers its health check on fresh connections.
    assert (await world.state.queue.stats()).dead == 0


async def test_connections_killed_again_and_again_under_traffic(
    pg_world: tuple[World, str],
) -> None:
    """Killed every 30 ms for a while, under traffic: statements are cut off in the intake,
    in claims, in jobs and in their settlement. Every PR still ends checked once."""
    world, app_name = pg_world
    emu = world.emu
    stop = asyncio.Event()
    kills = 0

    async def chaos() -> None:
        nonlocal kills
        while not stop.is_set():
            kills += await restart_database(app_name)
            await asyncio.sleep(0.03)

    task = asyncio.create_task(chaos())
    prs = []
    try:
        for i in range(3):
            prs.append(world.open_pr({MODULE_PATH: HEAD_SOURCE + f"\n/* {i} */\n"}, f"b{i}"))
            await asyncio.sleep(0.1)
        await emu.wait_for_deliveries()
    finally:
        stop.set()
        await task
    assert kills > 0
    # Everything arrives (refused deliveries are redelivered) and ends done, once.
    await until(
        lambda: all(world.completed(head) for _, head in prs), timeout=30, what="every check"
    )
    rows = await world.idle(timeout=30)
    assert not [r for r in rows if r["state"] == "dead"], rows
    for number, head in prs:
        # A completed run is final on GitHub: a check cut off by the store after it completed
        # its run "could not complete" (neutral) reports in a new run, the newest.
        *interrupted, last = [r["conclusion"] for r in world.runs(head)]
        assert last == "failure" and set(interrupted) <= {"neutral"}
        assert len(world.bot_comments(number)) == 1
