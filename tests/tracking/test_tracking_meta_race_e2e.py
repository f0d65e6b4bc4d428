"""The whole service against the emulator: a person edits the meta issue between the bot's
read and its write (the emulator runs the edit just before the bot's PATCH is handled). The
write overwrites it; the ``issues.edited`` delivery of that write names the overwritten body,
and the service puts the person's text back with the new checklist applied."""

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


async def test_an_edit_overwritten_by_the_bot_is_restored(tmp_path: Path) -> None:
    emu = GitHubEmulator()
    app = emu.register_app(slug="isolation-bot")
    emu.create_repo(REPO, default_branch="main")
    emu.commit(REPO, "main", {"Modules/_abc.c": module_c("_abc", multi=False, pig=False)})
    meta = emu.create_issue(REPO, "Meta issue", "People's text.\r\n", user="vstinner")

    def body() -> str:
        return str(emu.issue(REPO, meta)["body"])

    database_url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    async with bot_on_emulator(
        emu, app, database_url, workers=2, meta_issue=MetaIssue(repo=REPO, number=meta)
    ):
        emu.install(app, account="python")
        await emu.wait_for_deliveries()
        await wait_until(lambda: START_MARKER in body(), "the checklist after installation")
        assert "- [ ] `_abc`" in body()

        def person_edits() -> None:  # lands after the bot's read, before its write
            emu.edit_issue_body(REPO, meta, "Added by a person.\r\n" + body(), user="vstinner")

        emu.faults.add(
            method="PATCH", path=rf"/issues/{meta}$", status=None, times=1, before=person_edits
        )
        emu.push(REPO, "main", {"Modules/_abc.c": module_c("_abc")}, author="guido")
        await wait_until(lambda: "- [x] `_abc`" in body(), "the new checklist")
        await wait_until(lambda: "Added by a person." in body(), "the person's text restored")
        await emu.wait_for_deliveries()
        final = body()
        assert final.startswith("Added by a person.\r\nPeople's text.\r\n")
        assert "- [x] `_abc`" in final and final.count(START_MARKER) == 1
        edits = emu.issue_body_edits(REPO, meta)
        # installation write, the person's edit, the bot's write over it, the restore
        assert len(edits) == 4
        assert edits[1].startswith("Added by a person.") and "- [ ] `_abc`" in edits[1]
        assert not edits[2].startswith("Added by a person.") and "- [x] `_abc`" in edits[2]
        assert edits[3] == final
    assert emu.validation_errors == [], emu.validation_errors
