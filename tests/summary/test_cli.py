"""`isolation-bot summary` and the entry points the slash-command uses."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.cli.summary import render_current_summary
from bot.config import Settings
from bot.store import Database, open_database
from bot.summary.compose import render_summary_now
from bot.summary.seed import make_event, make_snapshot, seed_store
from bot.summary.source import MemorySource
from tests.summary.sumtest_support import REPO, mod

T0 = datetime(2026, 11, 10, 12, tzinfo=UTC)  # Tuesday of 2026-W46


async def seed(db: Database) -> None:
    src = MemorySource()
    src.add(
        REPO,
        [
            make_snapshot(REPO, "1" * 40, T0, [mod("_abc", "multi"), mod("readline", "single")]),
            make_snapshot(
                REPO, "2" * 40, T0 + timedelta(weeks=1), [mod("_abc"), mod("readline", "single")]
            ),
        ],
        [make_event(REPO, "_abc", "completed", T0 + timedelta(weeks=1), pr=4242, author="alice")],
    )
    await seed_store(db, src)


@pytest.fixture
def seeded_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for var in ("DATABASE_URL", "ISOLATION_BOT_CONFIG", "GITHUB_APP_ID", "GITHUB_PRIVATE_KEY"):
        monkeypatch.delenv(var, raising=False)
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"

    async def go() -> None:
        db = await open_database(url)
        try:
            await seed(db)
        finally:
            await db.close()

    asyncio.run(go())
    return url


def test_cli_prints_a_past_week(seeded_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    # W48's window: Monday W47 09:00 .. Monday W48 09:00, which holds the completion.
    assert main(["summary", "--week", "2026-W48", "--database-url", seeded_url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## Isolation progress: week 2026-W48")
    assert "### Modules completed (1)" in out and "#4242" in out
    assert "+1 this week" in out


def test_cli_refuses_a_bad_week(seeded_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "--week", "2026-48", "--database-url", seeded_url]) == 2
    assert "not an ISO week" in capsys.readouterr().err


def test_cli_post_needs_credentials(seeded_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "--post", "--database-url", seeded_url]) == 2
    assert "GITHUB_APP_ID" in capsys.readouterr().err


def test_cli_bad_store_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "--database-url", "mysql://x"]) == 2
    assert "unsupported DATABASE_URL" in capsys.readouterr().err


async def test_slash_command_and_current_summary_entry_points(db: Database) -> None:
    await seed(db)
    text = await render_summary_now(db, REPO, Settings())
    # A reply must not carry the weekly marker: it would pass for the week's post.
    assert text.startswith("## Isolation progress: week ") and "<!--" not in text
    assert "Multi-phase init" in text
    week = await render_current_summary(db, Settings(), "2026-W48")
    assert "#4242" in week
