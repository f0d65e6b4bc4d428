"""The whole service in-process against the emulator: signed installation and push deliveries
go through /webhook, the store and a worker to the push router; the meta issue gets its
checklist and the merged PR its credit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.config import MetaIssue
from bot.emulator import GitHubEmulator
from bot.service.local import bot_on_emulator, until
from bot.tracking.checklist import START_MARKER
from tests.tracking.tracktest_support import module_c

REPO = "python/cpython"


async def wait_until(predicate: Callable[[], Any], what: str) -> None:
    await until(predicate, 30.0, what, interval=0.05)


async def test_install_then_merged_pr_through_the_service(tmp_path: Path) -> None:
    emu = GitHubEmulator()
    app_record = emu.register_app(slug="isolation-bot")
    emu.create_repo(REPO, default_branch="main")
    emu.commit(
        REPO,
        "main",
        {
            "Modules/_abc.c": module_c("_abc", multi=False, pig=False),
            "Modules/_json.c": module_c("_json", heap=("scanner_spec",)),
        },
        message="init",
        author="guido",
    )
    meta = emu.create_issue(REPO, "Meta issue", "People's text.\r\n", user="vstinner")

    def body() -> str:
        return str(emu.issue(REPO, meta)["body"])

    database_url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    meta_issue = MetaIssue(repo=REPO, number=meta)
    async with bot_on_emulator(emu, app_record, database_url, workers=2, meta_issue=meta_issue):
        emu.install(app_record, account="python")
        await emu.wait_for_deliveries()
        await wait_until(lambda: START_MARKER in body(), "the checklist after installation")
        assert body().startswith("People's text.\r\n")
        assert "- [ ] `_abc`" in body() and "- [x] `_json`" in body()

        emu.create_branch(REPO, "isolate-abc", "main")
        emu.commit(REPO, "isolate-abc", {"Modules/_abc.c": module_c("_abc")}, "Isolate")
        pr = emu.open_pull_request(REPO, "isolate-abc", title="Isolate _abc", user="porter")
        emu.merge_pull_request(REPO, pr, user="ericsnowcurrently")
        await emu.wait_for_deliveries()
        await wait_until(lambda: f"(#{pr})" in body(), "the merged PR's credit")
        assert f"- [x] `_abc`: multi-phase, no static types, per-interpreter GIL (#{pr})" in (
            body()
        )
        assert body().startswith("People's text.\r\n")
        assert len(emu.issue_body_edits(REPO, meta)) == 2
    assert emu.validation_errors == [], emu.validation_errors
