"""Posting the weekly summary on an issue of the GitHub emulator (REST validated against the
OpenAPI description): the post, the marker search after a crash, open-PR confirmation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from gidgethub.aiohttp import GitHubAPI

from bot.config import Settings
from bot.emulator import GitHubEmulator
from bot.store import Database
from bot.summary.model import OpenPullRequest
from bot.summary.render import marker
from bot.summary.seed import make_snapshot, seed_store
from bot.summary.source import MemorySource, StoreSource
from bot.summary.weekly import GitHubIssuePoster, post_weekly_if_due
from tests.summary.sumtest_support import REPO, mod
from tests.support.github import installation_client

SLOT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass
class World:
    emu: GitHubEmulator
    gh: GitHubAPI
    issue: int


@pytest.fixture
async def world() -> AsyncIterator[World]:
    emu = GitHubEmulator()
    app = emu.register_app(slug="isolation-bot")
    emu.create_repo(REPO)
    emu.commit(REPO, "main", {"README.rst": b"x\n"}, message="init", author="guido")
    number = emu.create_issue(REPO, "Meta issue", "The effort.", user="vstinner")
    inst = emu.install(app, account="python")
    async with emu.serve() as url, aiohttp.ClientSession() as session:
        gh = await installation_client(session, url, app, inst)
        yield World(emu, gh, number)
    assert emu.validation_errors == [], emu.validation_errors


async def test_post_then_find_by_marker_and_confirm_open_prs(world: World) -> None:
    poster = GitHubIssuePoster(world.gh, REPO, world.issue)
    since = datetime.now(UTC) - timedelta(days=1)
    assert await poster.find_marked(marker("2026-W48"), since) is None
    world.emu.comment(REPO, world.issue, "vstinner", "unrelated")
    posted = await poster.post(marker("2026-W48") + "\nhello")
    found = await poster.find_marked(marker("2026-W48"), since)
    assert found is not None and found.id == posted.id
    assert await poster.find_marked(marker("2026-W49"), since) is None
    bodies = [c["body"] for c in world.emu.issue_comments(REPO, world.issue)]
    assert bodies[-1] == marker("2026-W48") + "\nhello"

    world.emu.create_branch(REPO, "feature")
    world.emu.commit(REPO, "feature", {"Modules/a.c": b"int a;\n"}, message="a", author="alice")
    open_pr = world.emu.open_pull_request(REPO, "feature", title="Isolate a", user="alice")
    world.emu.create_branch(REPO, "other")
    world.emu.commit(REPO, "other", {"Modules/b.c": b"int b;\n"}, message="b", author="bob")
    closed_pr = world.emu.open_pull_request(REPO, "other", title="Isolate b", user="bob")
    world.emu.close_pull_request(REPO, closed_pr)
    prs = [
        OpenPullRequest(open_pr, improvements=2),
        OpenPullRequest(closed_pr, regressions=1),
        OpenPullRequest(99999, improvements=1),
    ]
    confirmed = await poster.confirm_open(REPO, prs)
    assert confirmed == [OpenPullRequest(open_pr, "Isolate a", "alice", 2, 0)]
    assert await poster.pr_titles(REPO, [open_pr, 99999]) == {open_pr: "Isolate a"}


async def test_weekly_post_on_the_emulator_survives_a_lost_record(
    world: World, db: Database
) -> None:
    src = MemorySource()
    src.add(
        REPO,
        [
            make_snapshot(
                REPO, "a" * 40, SLOT - timedelta(days=3), [mod("_abc"), mod("readline", "single")]
            )
        ],
    )
    await seed_store(db, src)
    settings = Settings()

    async def factory() -> GitHubIssuePoster:
        return GitHubIssuePoster(world.gh, REPO, world.issue)

    now = datetime.now(UTC)  # the emulator stamps comments with wall time
    first = await post_weekly_if_due(db, settings, StoreSource(db), factory, now)
    assert first.status == "posted"
    # The process died after GitHub took the comment, before the store recorded it.
    await db.execute("UPDATE summary_posts SET comment_id = NULL")
    again = await post_weekly_if_due(
        db, settings, StoreSource(db), factory, now + timedelta(minutes=1)
    )
    assert again.status == "recovered" and again.comment_id == first.comment_id
    comments = world.emu.issue_comments(REPO, world.issue)
    assert len(comments) == 1 and "readline" in comments[0]["body"]
