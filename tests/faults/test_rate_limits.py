"""Rate limits: the bot waits a short limit out in place, and reschedules the job for after a
long one (a primary limit's x-ratelimit-reset, a secondary limit's Retry-After) instead of
spinning; the attempts are not spent and nothing is posted twice."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from unittest import mock

import aiohttp
import pytest
from gidgethub import BadRequest

from bot.emulator import GitHubEmulator
from bot.github.client import BotGitHubAPI, RetryPolicy
from bot.github.pacing import Gate, ScaledClock
from tests.support.world import HEAD_SOURCE, MODULE_PATH, REPO, World


async def _postponed(world: World) -> dict[str, object]:
    rows = await world.wait_jobs(
        lambda rows: any(
            r["state"] == "pending" and "rate limited" in str(r["last_error"]) for r in rows
        ),
        what="the job rescheduled",
    )
    (job,) = [r for r in rows if r["event"] == "pull_request"]
    return job


async def _no_spinning(world: World, route: str) -> None:
    """Woken workers leave a rescheduled job alone: no request reaches the route."""
    before = len(world.requests_to(route))
    for _ in range(5):
        world.state.wake_workers()
        await asyncio.sleep(0.05)
    assert len(world.requests_to(route)) == before


async def test_primary_limit_exhausted_reschedules_after_the_reset(world: World) -> None:
    emu = world.emu
    emu.rate_limit = 0  # every budget is spent until the next hour
    number, head = world.open_pr({MODULE_PATH: HEAD_SOURCE})
    job = await _postponed(world)
    reset = time.time() // 3600 * 3600 + 3600  # the emulator's x-ratelimit-reset
    assert float(job["not_before"]) >= reset - 1  # type: ignore[arg-type]
    assert job["attempts"] == 0  # waiting for a reset is not a try
    await _no_spinning(world, r".")
    emu.rate_limit = 5000  # the new window
    await world.make_due()  # ... and the clock reaches the reset
    rows = await world.idle()
    assert [r["state"] for r in rows if r["event"] == "pull_request"] == ["done"]
    (run,) = world.runs(head)
    assert run["conclusion"] == "failure"
    assert len(world.bot_comments(number)) == 1


async def test_short_secondary_limit_is_waited_out_in_place(world: World) -> None:
    world.emu.faults.add(method="POST", path=r"/issues/\d+/comments$", status=403, retry_after=0)
    world.emu.faults.add(method="GET", path=r"/pulls/\d+/files$", status=429, retry_after=1)
    number, head = world.open_pr({MODULE_PATH: HEAD_SOURCE})
    rows = await world.idle()
    assert world.runs(head)[0]["conclusion"] == "failure"
    # One try: the client waited 0-1 s and went on.
    assert [(r["state"], r["attempts"]) for r in rows if r["event"] == "pull_request"] == [
        ("done", 1)
    ]
    assert len(world.bot_comments(number)) == 1
    assert len(world.requests_to(r"^POST /repos/.+/issues/\d+/comments$")) == 2


async def test_long_secondary_limit_on_the_comment_reschedules_the_job(world: World) -> None:
    route = r"^POST /repos/.+/issues/\d+/comments$"
    world.emu.faults.add(method="POST", path=r"/issues/\d+/comments$", status=403, retry_after=300)
    number, head = world.open_pr({MODULE_PATH: HEAD_SOURCE})
    started = time.time()
    job = await _postponed(world)
    assert float(job["not_before"]) >= started + 299  # type: ignore[arg-type]
    assert len(world.requests_to(route)) == 1
    await _no_spinning(world, route)
    await world.make_due()
    rows = await world.idle()
    assert [r["state"] for r in rows if r["event"] == "pull_request"] == ["done"]
    (run,) = world.runs(head)  # the retry reused the check run
    assert run["conclusion"] == "failure"
    assert len(world.bot_comments(number)) == 1
    assert len(world.requests_to(route)) == 2


async def test_429_on_the_files_pauses_the_installation_until_retry_after(world: World) -> None:
    """GitHub: do not retry before Retry-After has elapsed. Nothing is sent while paused, not
    even the neutral "could not complete" update of the run: it shows the result afterwards."""
    world.emu.faults.add(method="GET", path=r"/pulls/\d+/files$", status=429, retry_after=600)
    number, head = world.open_pr({MODULE_PATH: HEAD_SOURCE})
    await _postponed(world)
    (limited,) = [i for i, r in enumerate(world.emu.requests) if r.status == 429]
    await _no_spinning(world, r".")
    assert world.calls(limited + 1) == []  # no request during the secondary limit
    assert world.completed(head) == []
    await world.make_due()  # ... the 600 s are over
    await world.idle()
    (run,) = world.runs(head)
    assert run["conclusion"] == "failure"
    assert len(world.bot_comments(number)) == 1


def busiest_minute(times: list[float]) -> int:
    """The most writes in any 60 s window."""
    return max((sum(1 for t in times if s <= t < s + 60) for s in times), default=0)


async def test_a_backlog_of_20_prs_is_written_at_about_one_a_second(world: World) -> None:
    """After an outage, 20 PRs wait: the workers take them at once, but writes reach GitHub
    paced (about one a second after a burst of 5): never GitHub's 80 a minute, which the
    emulator enforces here with a secondary limit. Time runs 40 times faster for the bot's
    pacing and the emulator's record alike."""
    clock = ScaledClock(40.0)
    world.emu.clock = clock.time
    assert world.state.github is not None
    world.state.github.pacing.use_clock(clock)
    world.emu.write_limit = (80, 60.0)
    numbers = [world.open_pr({MODULE_PATH: HEAD_SOURCE}, branch=f"b{i}")[0] for i in range(20)]
    rows = await world.idle(timeout=120)
    assert {r["state"] for r in rows} <= {"done", "superseded"}
    assert all(len(world.bot_comments(n)) == 1 for n in numbers)
    writes = world.emu.write_times(world.installation)
    assert len(writes) >= 20 * 3  # check run created, completed, the comment
    assert busiest_minute(writes) <= 65  # 5 at once, then 60 a minute
    assert [r for r in world.emu.requests if r.status in (403, 429)] == []


async def test_the_emulator_enforces_githubs_content_limit_without_retry_after() -> None:
    """The emulator follows GitHub: past 80 writes a minute for an installation, a write is
    answered 403 with the secondary-limit message and no Retry-After."""

    emu = GitHubEmulator()
    app = emu.register_app("isolation-bot", owner="python")
    emu.create_repo(REPO)
    emu.commit(REPO, "main", {"README": "x"})
    installation = emu.install(app, "python")
    emu.write_limit = (80, 60.0)
    token = emu.issue_token(installation).token
    async with emu.serve() as api, aiohttp.ClientSession() as session:

        async def fixed(force: bool) -> str:
            return token

        policy = RetryPolicy(rate_limit_max_wait=0.0, timeout=5.0)
        gh = BotGitHubAPI(session, base_url=api, token_provider=fixed, policy=policy)
        for i in range(80):
            await gh.post(f"/repos/{REPO}/labels", data={"name": f"l{i}", "color": "ffffff"})
        with pytest.raises(BadRequest) as refused:
            await gh.post(f"/repos/{REPO}/labels", data={"name": "l80", "color": "ffffff"})
        assert refused.value.status_code == 403
        assert "secondary rate limit" in str(refused.value)
        assert "retry-after" not in {k.lower() for k in refused.value.headers}
    assert len(emu.write_times(installation)) == 81


async def test_secondary_limit_without_retry_after_pauses_every_worker_a_minute(
    world: World,
) -> None:
    """GitHub's guide: without Retry-After (and with requests remaining) wait at least a
    minute. The one 403 pauses the installation: no worker sends anything until it ends."""
    route = r"^POST /repos/.+/issues/\d+/comments$"
    sent: list[float] = []  # when the bot's HTTP session sent each request
    paused: list[float] = []  # when the bot learned of the limit
    session = world.state.session
    send, pause = session._request, Gate.pause

    async def stamp_send(*args: Any, **kwargs: Any) -> Any:
        sent.append(time.monotonic())
        return await send(*args, **kwargs)

    async def stamp_pause(self: Gate, *args: Any) -> float:
        paused.append(time.monotonic())
        return await pause(self, *args)

    world.emu.faults.secondary_limit(method="POST", path=r"/issues/\d+/comments$")
    started = time.time()
    with (
        mock.patch.object(session, "_request", stamp_send),
        mock.patch.object(Gate, "pause", stamp_pause),
    ):
        numbers = [world.open_pr({MODULE_PATH: HEAD_SOURCE}, branch=f"s{i}")[0] for i in range(3)]

        def settled(rows: list[dict[str, Any]]) -> bool:
            # Each PR's job finished (its requests were on their way before the 403 came
            # back) or was rescheduled by the pause; at least the refused one was.
            prs = [r for r in rows if r["event"] == "pull_request"]
            waiting = [r for r in prs if "rate limited" in str(r["last_error"])]
            return (
                len(prs) == 3
                and bool(waiting)
                and all(r["state"] == "done" or r in waiting for r in prs)
                and all(r["state"] == "pending" for r in waiting)
            )

        rows = await world.wait_jobs(settled, what="every PR's job finished or rescheduled")
        # Rescheduled for the pause's end: 60 s of the bot's pacing clock, real seconds here.
        assert all(float(r["not_before"]) >= started + 59 for r in rows if r["state"] == "pending")
        await _no_spinning(world, r".")
        assert len(paused) == 1
        assert [t for t in sent if t > paused[0]] == []  # sent during the secondary limit: none
    await world.make_due()
    await world.idle()
    assert all(len(world.bot_comments(n)) == 1 for n in numbers)
    assert len(world.requests_to(route)) == 4  # the refused one, then one per PR
