"""GitHub down while the real server process is killed and restarted: the postponed job is
in the store, not in the process; it survives the restart, is still not dead, and completes
once GitHub is back (the e2e harness runs ``isolation-bot serve``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.emulator import GitHubEmulator
from tests.support.bot_process import REPO, BotProcess, setup_repo, wait_until
from tests.support.samples import BASE_SOURCE, HEAD_SOURCE, MODULE_PATH


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[GitHubEmulator, BotProcess]]:
    emu = GitHubEmulator()
    app = setup_repo(emu, {MODULE_PATH: BASE_SOURCE})
    async with emu.serve() as api_url:
        bot = BotProcess(emu, app, api_url, tmp_path / "bot.sqlite3")
        await bot.start()
        try:
            yield emu, bot
        finally:
            emu.faults.clear()
            code = await bot.stop()
        assert code == 0, bot.log()
        assert emu.validation_errors == [], emu.validation_errors


def _job(bot: BotProcess) -> dict[str, Any] | None:
    rows = bot.rows("SELECT state, attempts, last_error FROM jobs WHERE event = 'pull_request'")
    return rows[0] if rows else None


async def test_outage_survives_a_restart_then_recovers(
    served: tuple[GitHubEmulator, BotProcess],
) -> None:
    emu, bot = served
    emu.faults.add(path=".", status=502, times=None)
    emu.create_branch(REPO, "feature")
    head = emu.commit(REPO, "feature", {MODULE_PATH: HEAD_SOURCE})
    number = emu.open_pull_request(REPO, "feature")
    await wait_until(
        lambda: (job := _job(bot)) and "GitHub unreachable" in str(job["last_error"]),
        what="the job waiting for GitHub",
    )
    probes = sum(1 for r in emu.requests if r.path == "/rate_limit")
    await wait_until(
        lambda: sum(1 for r in emu.requests if r.path == "/rate_limit") >= probes + 3,
        what="a few tries postponed",
    )
    await bot.kill()
    job = _job(bot)
    assert job is not None and job["state"] in ("pending", "running"), job
    await bot.start()
    await wait_until(
        lambda: sum(1 for r in emu.requests if r.path == "/rate_limit") >= probes + 4,
        what="the restarted process trying the job",
    )
    assert (job := _job(bot)) is not None and job["state"] != "dead", job
    emu.faults.clear()
    await wait_until(lambda: (_job(bot) or {}).get("state") == "done", what="the job done")
    (run,) = emu.check_runs(REPO, head)
    assert run["status"] == "completed" and run["conclusion"] == "failure"
    assert len(emu.issue_comments(REPO, number)) == 1
