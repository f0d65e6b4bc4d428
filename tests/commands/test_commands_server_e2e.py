"""The whole service in-process against the emulator: a signed issue_comment delivery goes
through /webhook, the store and a worker, and the command's reply lands on the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.emulator import GitHubEmulator
from bot.service.local import bot_on_emulator, until

REPO = "python/cpython"


async def wait_until(predicate: Callable[[], Any], what: str) -> None:
    await until(predicate, 20.0, what)


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[tuple[GitHubEmulator, int, str]]:
    emu = GitHubEmulator()
    app_record = emu.register_app(slug="isolation-bot")
    emu.install(app_record, account="python")
    emu.create_repo(REPO, default_branch="main")
    emu.commit(REPO, "main", {"README": b"hi\n"}, message="init", author="alice")
    emu.create_branch(REPO, "feature", from_ref="main")
    emu.commit(REPO, "feature", {"README": b"hello\n"}, message="docs", author="alice")
    pr = emu.open_pull_request(REPO, head="feature", base="main", title="t", body="", user="alice")
    emu.add_user("writer")
    emu.set_permission(REPO, "writer", "write")
    database_url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    async with bot_on_emulator(emu, app_record, database_url, workers=2):
        yield emu, pr, app_record.bot_login
    assert emu.validation_errors == []


async def test_commands_through_the_running_service(
    service: tuple[GitHubEmulator, int, str],
) -> None:
    emu, pr, bot_login = service

    def replies() -> list[str]:
        return [c["body"] for c in emu.issue_comments(REPO, pr) if c["user"]["login"] == bot_login]

    cid = emu.comment(REPO, pr, user="writer", body="/isolation help\n/isolation summary")
    await emu.wait_for_deliveries()
    await wait_until(lambda: replies() and "+1" in _reactions(emu, cid), "the reply to help")
    (reply,) = replies()
    assert "> /isolation help" in reply and "> /isolation summary" in reply

    # The bot's own reply was delivered back as an issue_comment too: it must not answer it.
    # An edit that adds a command runs only that command.
    emu.edit_comment(REPO, cid, "/isolation help\n/isolation summary\n/isolation explain ISO001")
    await emu.wait_for_deliveries()
    await wait_until(lambda: len(replies()) == 2, "the reply to the edit")
    assert "ISO001 static-type" in replies()[1]
    assert "> /isolation help" not in replies()[1]

    # A redelivery of the same webhook has no second effect.
    delivery = next(
        d for d in emu.deliveries if d.event == "issue_comment" and d.action == "created"
    )
    await emu.redeliver(delivery.id)
    cid2 = emu.comment(REPO, pr, user="writer", body="/isolation recheck")
    await emu.wait_for_deliveries()
    await wait_until(lambda: "+1" in _reactions(emu, cid2), "the recheck")
    assert len(replies()) == 3


def _reactions(emu: GitHubEmulator, cid: int) -> list[str]:
    return [r["content"] for r in emu.reactions(REPO, cid)]
