"""A replica killed at the worst moment of a PR check: right after GitHub created the check
run, before the store recorded its id. The next try (on another replica, after the lease)
must find that run and finish it, not leave it spinning beside a second one. In-process on
SQLite: the window is too narrow to hit reliably with real processes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Settings
from bot.emulator import GitHubEmulator
from bot.github.app import GitHubApp
from bot.prcheck.check_run import CHECK_NAME
from bot.prcheck.run import run_pr_check
from bot.store import open_database
from tests.support.samples import BASE_SOURCE, HEAD_SOURCE, MODULE_PATH

REPO = "python/cpython"


class DiesAfterCreatingTheRun:
    """A GitHub client whose process 'dies' (the task is cancelled, as a SIGKILL would end it)
    once the check-run creation has reached GitHub."""

    def __init__(self, gh: Any) -> None:
        self._gh = gh

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gh, name)

    async def post(self, url: str, *args: Any, **kwargs: Any) -> Any:
        answer = await self._gh.post(url, *args, **kwargs)
        if url.endswith("/check-runs"):
            raise asyncio.CancelledError("killed after creating the check run")
        return answer


async def test_a_run_created_by_a_killed_try_is_reused(tmp_path: Path) -> None:
    emu = GitHubEmulator()
    app = emu.register_app("isolation-bot", owner="python")
    emu.create_repo(REPO)
    emu.commit(REPO, "main", {MODULE_PATH: BASE_SOURCE})
    installation = emu.install(app, "python")
    emu.create_branch(REPO, "feature")
    head = emu.commit(REPO, "feature", {MODULE_PATH: HEAD_SOURCE}, author="contributor")
    number = emu.open_pull_request(REPO, "feature", user="contributor")
    db = await open_database(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    async with emu.serve() as api_url, aiohttp.ClientSession() as session:
        settings = Settings(
            app_id=str(app.id),
            private_key=app.private_key_pem,
            api_url=api_url,
            database_url="sqlite:///unused",
        )
        github = GitHubApp(settings, session)
        gh = github.client(installation)
        with pytest.raises(asyncio.CancelledError):
            await run_pr_check(
                DiesAfterCreatingTheRun(gh),
                db,
                settings,
                repo=REPO,
                number=number,  # type: ignore[arg-type]
                bot_login=app.bot_login,
            )
        (orphan,) = emu.check_runs(REPO, head)
        assert orphan["status"] == "in_progress"

        result = await run_pr_check(
            gh, db, settings, repo=REPO, number=number, bot_login=app.bot_login
        )
        assert result is not None
        runs = [r for r in emu.check_runs(REPO, head) if r["name"] == CHECK_NAME]
        assert [(r["id"], r["status"]) for r in runs] == [(orphan["id"], "completed")]
        assert runs[0]["conclusion"] == result.conclusion

        # A later push gets a new run as usual (the lookup happens only after a killed try).
        head2 = emu.push(REPO, "feature", {MODULE_PATH: BASE_SOURCE + "\n"}, author="contributor")
        await run_pr_check(gh, db, settings, repo=REPO, number=number, bot_login=app.bot_login)
        assert [r["status"] for r in emu.check_runs(REPO, head2)] == ["completed"]
        lookups = [r for r in emu.requests if r.path.endswith(f"/commits/{head2}/check-runs")]
        assert lookups == []
    await db.close()
    assert emu.validation_errors == []
