"""The service in process against the GitHub emulator over loopback HTTP, with the sample C
module on python/cpython's main branch, and helpers to read what users see (check runs,
comments) and what the queue holds.

    async with make_world(f"sqlite:///{tmp_path}/bot.sqlite3") as world:
        number, head = world.open_pr({MODULE_PATH: HEAD_SOURCE})
        await world.idle()
        assert world.completed(head)

The root conftest's ``world`` fixture is this on a SQLite file; the fault tests override it
with ``fault_policy=True`` (short GitHub timeouts, for injected delays).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from bot.emulator import GitHubEmulator
from bot.github.pacing import ScaledClock
from bot.service.local import bot_on_emulator, until
from bot.service.state import STATE, ServiceState
from tests.support.samples import BASE_SOURCE, HEAD_SOURCE, MODULE_PATH

REPO = "python/cpython"
PACING_SPEEDUP = 50.0
__all__ = [
    "BASE_SOURCE",
    "HEAD_SOURCE",
    "MODULE_PATH",
    "REPO",
    "World",
    "make_world",
    "open_pr",
    "until",
]


class World:
    def __init__(self, emu: GitHubEmulator, state: ServiceState, installation: int) -> None:
        self.emu, self.state, self.installation = emu, state, installation

    def runs(self, sha: str) -> list[dict[str, Any]]:
        return list(self.emu.check_runs(REPO, sha))

    def completed(self, sha: str) -> list[dict[str, Any]]:
        return [r for r in self.runs(sha) if r["status"] == "completed"]

    def bot_comments(self, number: int) -> list[Any]:
        return list(self.emu.issue_comments(REPO, number))

    def calls(self, start: int) -> list[str]:
        """The REST calls the emulator received since request number ``start``."""
        return [f"{r.method} {r.path}" for r in self.emu.requests[start:]]

    def requests_to(self, pattern: str, start: int = 0) -> list[Any]:
        rx = re.compile(pattern)
        return [r for r in self.emu.requests[start:] if rx.search(f"{r.method} {r.path}")]

    async def jobs(
        self, where: str = "1 = 1", params: tuple[Any, ...] = ()
    ) -> list[dict[str, Any]]:
        return await self.state.db.fetchall(
            "SELECT id, kind, event, action, state, attempts, not_before, last_error FROM jobs "
            f"WHERE {where} ORDER BY created_at",
            params,
        )

    async def wait_jobs(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 20.0,
        what: str = "",
    ) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        rows: list[dict[str, Any]] = []
        while loop.time() < deadline:
            with contextlib.suppress(Exception):  # the store may be failing on purpose
                rows = await self.jobs()
                if predicate(rows):
                    return rows
            await asyncio.sleep(0.03)
        raise AssertionError(f"timed out waiting for {what or predicate}: {rows}")

    async def idle(self, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Every delivery sent and every job finished (done, superseded or dead), also the
        jobs of deliveries that finished jobs caused (the bot's own comments, say); returns
        the jobs."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            sent = len(self.emu.deliveries)
            await self.emu.wait_for_deliveries()
            rows = await self.wait_jobs(
                lambda rows: all(r["state"] not in ("pending", "running") for r in rows),
                max(0.0, deadline - loop.time()),
                "an idle queue",
            )
            if len(self.emu.deliveries) == sent:  # the finished jobs caused no new event
                return rows

    async def make_due(self) -> None:
        """Move time forward for the queue: every pending job is due now (a job rescheduled
        for a rate-limit reset an hour away runs at once, the installation's pause is over),
        and the workers are woken."""
        await self.state.db.execute("UPDATE jobs SET not_before = 0 WHERE state = 'pending'")
        if self.state.github is not None:  # ... and any GitHub rate-limit pause has ended
            await self.state.github.pacing.clear()
        self.state.wake_workers()

    def open_pr(
        self, files: dict[str, bytes | str | None], branch: str = "feature"
    ) -> tuple[int, str]:
        return open_pr(self.emu, files, branch)


def open_pr(
    emu: GitHubEmulator,
    files: dict[str, bytes | str | None],
    branch: str = "feature",
    head: str | None = None,
) -> tuple[int, str]:
    """A branch with ``files`` committed, and a pull request from it: (number, head sha)."""
    emu.create_branch(REPO, branch)
    sha = emu.commit(REPO, branch, files)
    return emu.open_pull_request(REPO, head or branch), sha


@contextlib.asynccontextmanager
async def make_world(
    database_url: str,
    *,
    workers: int = 2,
    install_later: bool = False,
    fault_policy: bool = False,
    **settings_extra: Any,
) -> AsyncIterator[World]:
    """``install_later``: the App is installed once the service listens (its installation
    delivery reaches the bot); ``fault_policy``: GitHub calls time out after 0.5 s and wait
    at most 1 s for a rate limit (faults inject 1 s delays); ``settings_extra``: more
    Settings fields. Ends asserting the emulator saw no invalid request or response."""
    emu = GitHubEmulator()
    app = emu.register_app("isolation-bot", owner="python")
    emu.create_repo(REPO)
    emu.commit(REPO, "main", {MODULE_PATH: BASE_SOURCE, "Lib/x.py": "x = 1\n"})
    installation = 0 if install_later else emu.install(app, "python")
    async with bot_on_emulator(emu, app, database_url, workers=workers, **settings_extra) as bot:
        if install_later:
            installation = emu.install(app, "python")
        state = bot.runner.app[STATE]
        if state.github is not None:
            # GitHub's pacing (a write a second) at the real rate would make a test with a
            # hundred writes take minutes: the bot's pacing clock runs PACING_SPEEDUP times
            # faster (waits for rate limits too; jobs are still rescheduled in real seconds).
            state.github.pacing.use_clock(ScaledClock(PACING_SPEEDUP))
        if fault_policy:
            assert state.github is not None
            state.github.policy.timeout = 0.5
            state.github.policy.rate_limit_max_wait = 1.0
        try:
            yield World(emu, state, installation)
        finally:
            emu.faults.clear()
    assert emu.validation_errors == [], emu.validation_errors
