"""A world for fault tests: the emulator, the service in process on a real port, and helpers
to read what users see (check runs, comments) and what the queue holds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from bot.emulator import GitHubEmulator
from bot.prcheck import blobs
from bot.service.app import STATE, ServiceState
from bot.service.local import bot_on_emulator, until
from tests.support.samples import BASE_SOURCE, HEAD_SOURCE, MODULE_PATH

REPO = "python/cpython"
__all__ = ["BASE_SOURCE", "HEAD_SOURCE", "MODULE_PATH", "REPO", "World", "make_world", "until"]


class World:
    def __init__(self, emu: GitHubEmulator, state: ServiceState, installation: int) -> None:
        self.emu, self.state, self.installation = emu, state, installation

    def runs(self, sha: str) -> list[dict[str, Any]]:
        return list(self.emu.check_runs(REPO, sha))

    def completed(self, sha: str) -> list[dict[str, Any]]:
        return [r for r in self.runs(sha) if r["status"] == "completed"]

    def bot_comments(self, number: int) -> list[Any]:
        return list(self.emu.issue_comments(REPO, number))

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
        """Every delivery sent and every job finished (done, superseded or dead)."""
        await self.emu.wait_for_deliveries()
        return await self.wait_jobs(
            lambda rows: all(r["state"] not in ("pending", "running") for r in rows),
            timeout,
            "an idle queue",
        )

    async def make_due(self) -> None:
        """Move time forward for the queue: every pending job is due now (a job rescheduled
        for a rate-limit reset an hour away runs at once), and the workers are woken."""
        await self.state.db.execute("UPDATE jobs SET not_before = 0 WHERE state = 'pending'")
        self.state.wake_workers()

    def requests_to(self, pattern: str, start: int = 0) -> list[Any]:
        import re

        rx = re.compile(pattern)
        return [r for r in self.emu.requests[start:] if rx.search(f"{r.method} {r.path}")]

    def open_pr(
        self, files: dict[str, bytes | str | None], branch: str = "feature"
    ) -> tuple[int, str]:
        self.emu.create_branch(REPO, branch)
        sha = self.emu.commit(REPO, branch, files)
        return self.emu.open_pull_request(REPO, branch), sha


@contextlib.asynccontextmanager
async def make_world(
    database_url: str, *, workers: int = 2, install_later: bool = False, **settings_extra: Any
) -> AsyncIterator[World]:
    """``install_later``: the App is installed once the service listens (its installation
    delivery reaches the bot); ``settings_extra``: more Settings fields."""
    blobs.clear_caches()
    emu = GitHubEmulator()
    app = emu.register_app("isolation-bot", owner="python")
    emu.create_repo(REPO)
    emu.commit(REPO, "main", {MODULE_PATH: BASE_SOURCE, "Lib/x.py": "x = 1\n"})
    installation = 0 if install_later else emu.install(app, "python")
    async with bot_on_emulator(emu, app, database_url, workers=workers, **settings_extra) as bot:
        runner = bot.runner
        if install_later:
            installation = emu.install(app, "python")
        state = runner.app[STATE]
        assert state.github is not None
        state.github.policy.timeout = 0.5  # timeouts are injected with 1 s delays
        state.github.policy.rate_limit_max_wait = 1.0
        try:
            yield World(emu, state, installation)
        finally:
            emu.faults.clear()
    assert emu.validation_errors == [], emu.validation_errors
