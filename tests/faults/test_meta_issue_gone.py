"""The meta issue locked or deleted, for the weekly summary (a comment on the meta issue).

A clear log line naming the issue and the reason, no crash, no traceback, and no retry storm:
the week's attempts back off (bot.summary.weekly.retry_delay) and the post goes out once the
issue takes comments again. (The checklist writer, which edits the issue's body, is covered
in tests/tracking/test_tracking_meta_issue.py: deleted is reported, locked is still edited.)"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.config import MetaIssue, Settings
from bot.emulator import GitHubEmulator
from bot.service import scheduler as sched
from bot.store import Database, open_database
from bot.summary.seed import make_snapshot, seed_store
from bot.summary.source import MemorySource
from bot.summary.weekly import GitHubIssuePoster
from bot.tracking.state import ModuleState
from tests.support.github import installation_client

REPO = "python/cpython"
SLOT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass
class SummaryWorld:
    emu: GitHubEmulator
    db: Database
    issue: int
    scheduler: sched.WeeklySummaryScheduler
    now: list[datetime]

    def comments(self) -> list[dict[str, object]]:
        return list(self.emu.issue_comments(REPO, self.issue))

    def posts(self) -> int:
        return sum(
            1 for r in self.emu.requests if r.method == "POST" and r.path.endswith("/comments")
        )


@pytest.fixture
async def sworld(tmp_path: Path) -> AsyncIterator[SummaryWorld]:
    emu = GitHubEmulator()
    app = emu.register_app(slug="isolation-bot")
    emu.create_repo(REPO)
    emu.commit(REPO, "main", {"README.rst": b"x\n"}, message="init")
    number = emu.create_issue(REPO, "Meta issue", "The effort.", user="vstinner")
    inst = emu.install(app, account="python")
    db = await open_database(f"sqlite:///{tmp_path}/bot.sqlite3")
    module = ModuleState(
        name="_abc",
        path="Modules/_abc.c",
        init="multi-phase",
        multiple_interpreters="per-interpreter-gil",
        is_test=False,
        static_types=(),
        heap_types=("_abc_spec",),
        open_findings=0,
    )
    source = MemorySource()
    source.add(REPO, [make_snapshot(REPO, "a" * 40, SLOT - timedelta(days=2), [module])])
    await seed_store(db, source)
    try:
        async with emu.serve() as url, aiohttp.ClientSession() as session:
            gh = await installation_client(session, url, app, inst)

            async def poster() -> GitHubIssuePoster:
                return GitHubIssuePoster(gh, REPO, number)

            clock = [SLOT + timedelta(seconds=1)]
            settings = Settings(meta_issue=MetaIssue(REPO, number))
            scheduler = sched.WeeklySummaryScheduler(db, settings, poster, clock=lambda: clock[0])
            yield SummaryWorld(emu, db, number, scheduler, clock)
    finally:
        await db.close()
    assert emu.validation_errors == [], emu.validation_errors


@pytest.mark.parametrize(
    ("break_issue", "reason"),
    [("lock_issue", "is locked"), ("delete_issue", "was deleted")],
)
async def test_summary_on_a_locked_or_deleted_issue(
    sworld: SummaryWorld, caplog: pytest.LogCaptureFixture, break_issue: str, reason: str
) -> None:
    w = sworld
    getattr(w.emu, break_issue)(REPO, w.issue)
    with caplog.at_level(logging.ERROR, logger="bot.service.scheduler"):
        assert await w.scheduler.tick() is None  # no crash
    (record,) = [r for r in caplog.records if r.name == "bot.service.scheduler"]
    assert f"{REPO}#{w.issue} {reason}" in record.getMessage()
    assert record.exc_info is None  # a clear line, not a traceback
    # No retry storm: ticks within the backoff do not touch GitHub.
    requests = len(w.emu.requests)
    for _ in range(5):
        w.now[0] += timedelta(seconds=10)
        outcome = await w.scheduler.tick()
        assert outcome is not None and outcome.status == "backoff"
    assert len(w.emu.requests) == requests
    row = await w.db.fetchone("SELECT comment_id, attempts FROM summary_posts")
    assert row == {"comment_id": None, "attempts": 1}


async def test_summary_posted_once_the_issue_is_unlocked(sworld: SummaryWorld) -> None:
    w = sworld
    w.emu.lock_issue(REPO, w.issue)
    assert await w.scheduler.tick() is None
    assert w.comments() == []
    with w.emu.lock:
        w.emu.issue_record(REPO, w.issue).locked = False  # a maintainer unlocks it
    w.now[0] += timedelta(minutes=2)
    outcome = await w.scheduler.tick()
    assert outcome is not None and outcome.status == "posted"
    assert len(w.comments()) == 1
    w.now[0] += timedelta(minutes=2)
    outcome = await w.scheduler.tick()
    assert outcome is not None and outcome.status == "already-posted"
    assert len(w.comments()) == 1


@pytest.mark.parametrize("gone", ["delete_issue", "lock_issue"])
async def test_checklist_writer_through_the_service(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, gone: str
) -> None:
    """Tracking jobs (installation, then a merged PR's push) with the meta issue deleted end
    done on their first try with a clear log line; a locked one still gets its checklist."""
    from bot.tracking.checklist import START_MARKER
    from tests.support.world import HEAD_SOURCE, MODULE_PATH, make_world

    meta = 1  # the repository's first issue, created once the service runs
    async with make_world(
        f"sqlite:///{tmp_path}/bot.sqlite3",
        install_later=True,
        fault_policy=True,
        meta_issue=MetaIssue(REPO, meta),
    ) as world:
        assert world.emu.create_issue(REPO, "Meta issue", "People's text.\r\n") == meta
        getattr(world.emu, gone)(REPO, meta)
        # A merged PR's push makes the writer update the checklist.
        world.emu.create_branch(REPO, "isolate")
        world.emu.commit(REPO, "isolate", {MODULE_PATH: HEAD_SOURCE}, "Isolate")
        number = world.emu.open_pull_request(REPO, "isolate", title="Isolate", user="porter")
        await world.idle()
        world.emu.merge_pull_request(REPO, number, user="ericsnowcurrently")
        rows = await world.idle()
        push_jobs = [r for r in rows if r["event"] in ("push", "installation")]
        assert push_jobs, rows
        assert [(r["state"], r["attempts"]) for r in push_jobs] == [("done", 1)] * len(push_jobs)
        body = str(world.emu.issue(REPO, meta)["body"]) if gone == "lock_issue" else ""
    if gone == "delete_issue":
        assert "checklist not updated" in caplog.text
    else:
        assert body.startswith("People's text.\r\n") and START_MARKER in body
