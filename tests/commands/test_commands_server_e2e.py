"""The whole service in-process against the emulator: a signed issue_comment delivery goes
through /webhook, the store and a worker, and the command's reply lands on the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.config import Settings
from bot.emulator import GitHubEmulator
from bot.service.app import create_app

REPO = "python/cpython"


async def wait_until(predicate: Callable[[], Any], what: str, limit: float = 20.0) -> None:
    """Poll the emulator state (the worker runs asynchronously); bounded, not a timing assert."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


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
    async with emu.serve(port=0) as base_url:
        settings = Settings(
            app_id=str(app_record.id),
            private_key=app_record.private_key_pem,
            webhook_secret=app_record.webhook_secret,
            api_url=base_url,
            database_url=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
            workers=2,
        )
        app = await create_app(settings)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        emu.webhook_url = f"http://127.0.0.1:{port}/webhook"
        try:
            yield emu, pr, app_record.bot_login
        finally:
            await runner.cleanup()
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
