"""The service's scheduler loop: ticks on its clock, survives failures, starts from the state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.service import scheduler as sched
from bot.store import Database
from bot.summary.seed import make_snapshot, seed_store
from bot.summary.source import MemorySource
from tests.summary.sumtest_support import REPO, FakeIssue, FakePoster, mod

SLOT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def _seed(db: Database) -> None:
    src = MemorySource()
    src.add(REPO, [make_snapshot(REPO, "a" * 40, SLOT - timedelta(days=2), [mod("_abc")])])
    await seed_store(db, src)


async def test_run_ticks_on_the_injected_clock_and_sleep(db: Database) -> None:
    await _seed(db)
    issue = FakeIssue()
    times = iter([SLOT - timedelta(minutes=1), SLOT, SLOT + timedelta(minutes=1)])
    slept: list[float] = []
    now = [SLOT]

    def clock() -> datetime:
        now[0] = next(times)
        return now[0]

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def factory() -> FakePoster:
        return FakePoster(issue)

    s = sched.WeeklySummaryScheduler(
        db, Settings(), factory, clock=clock, sleep=sleep, tick_seconds=30
    )
    await s.run(ticks=3)
    assert slept == [30, 30, 30]
    # Tick 1 (08:59): W47 is due but nothing was analysed by its end; tick 2 posts W48;
    # tick 3 finds it posted.
    firsts = [str(c["body"]).splitlines()[0] for c in issue.comments]
    assert firsts == ["<!-- isolation-bot:weekly-summary:2026-W48 -->"]


async def test_a_failing_tick_is_logged_and_retried_with_backoff(db: Database, caplog: Any) -> None:
    await _seed(db)
    calls = 0

    async def broken() -> FakePoster:
        nonlocal calls
        calls += 1
        raise ConnectionError("GitHub is down")

    now = [SLOT + timedelta(seconds=1)]
    s = sched.WeeklySummaryScheduler(db, Settings(), broken, clock=lambda: now[0])
    assert await s.tick() is None and calls == 1
    assert "retrying on a later tick" in caplog.text
    # The next tick a few seconds later backs off; a minute later it tries again, then 2 min.
    now[0] += timedelta(seconds=30)
    assert (await s.tick()).status == "backoff"  # type: ignore[union-attr]
    now[0] += timedelta(seconds=30)
    assert await s.tick() is None and calls == 2
    now[0] += timedelta(minutes=1)
    assert (await s.tick()).status == "backoff"  # type: ignore[union-attr]
    now[0] += timedelta(minutes=1)
    assert await s.tick() is None and calls == 3
    row = await db.fetchone("SELECT comment_id, attempts FROM summary_posts")
    assert row == {"comment_id": None, "attempts": 3}
    # GitHub is back: the post goes out, once.
    issue = FakeIssue()

    async def works() -> FakePoster:
        return FakePoster(issue)

    s.poster_factory = works
    now[0] += timedelta(minutes=4)
    assert (await s.tick()).status == "posted"  # type: ignore[union-attr]
    assert len(issue.comments) == 1


def test_retry_delay_grows_and_is_capped() -> None:
    from bot.summary.weekly import retry_delay

    assert [retry_delay(n).total_seconds() for n in range(4)] == [0, 60, 120, 240]
    assert retry_delay(100) == timedelta(hours=6)


@dataclass
class FakeState:
    settings: Settings
    db: Database
    github: Any = None
    instance_id: str = "test-1"


async def test_run_scheduler_without_credentials_returns(db: Database, caplog: Any) -> None:
    await sched.run_scheduler(FakeState(Settings(), db))
    assert "weekly summary disabled" in caplog.text


async def test_run_scheduler_accepts_the_app_holding_the_state(db: Database, caplog: Any) -> None:
    from bot.service.app import STATE

    app = web.Application()
    app[STATE] = FakeState(Settings(), db)  # type: ignore[assignment]
    await sched.run_scheduler(app)
    assert "weekly summary disabled" in caplog.text


async def test_scheduler_for_the_service_state_posts_with_the_app_client(db: Database) -> None:
    await _seed(db)
    posted: list[tuple[str, dict[str, Any]]] = []

    class FakeGh:
        async def getiter(self, url: str) -> Any:
            for c in []:
                yield c

        async def post(self, url: str, data: dict[str, Any]) -> dict[str, Any]:
            posted.append((url, data))
            return {"id": 5, "html_url": "https://github.com/x"}

        async def getitem(self, url: str) -> dict[str, Any]:
            raise AssertionError("no open PR candidates in this store")

    class FakeGitHubApp:
        async def installation_id_for(self, repo: str) -> int:
            assert repo == "python/cpython"
            return 77

        def client(self, installation: int) -> FakeGh:
            assert installation == 77
            return FakeGh()

        async def bot_login(self) -> str:
            return "isolation-bot[bot]"

    state = FakeState(Settings(), db, FakeGitHubApp())
    s = sched.scheduler_for(state, clock=lambda: SLOT + timedelta(seconds=1))
    outcome = await s.tick()
    assert outcome is not None and outcome.status == "posted"
    assert posted[0][0] == "/repos/python/cpython/issues/84692/comments"
    assert "weekly-summary:2026-W48" in posted[0][1]["body"]
