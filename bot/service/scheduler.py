"""The service's background scheduler: the weekly summary, once per ISO week.

``run_scheduler(state)`` is started by bot.service.app as a background task (``state`` is the
ServiceState, or anything with its settings, db, github and instance_id). Every
``TICK_SECONDS`` it asks bot.summary.weekly whether the week's post is due and not yet made;
the store makes that exactly-once across restarts and replicas, so the tick itself can be
naive. The clock and the sleep are injectable for tests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web
from gidgethub import BadRequest

from bot.config import Settings
from bot.github.app import GitHubApp
from bot.service.state import STATE
from bot.store.db import Database
from bot.summary.source import ProgressSource, StoreSource
from bot.summary.weekly import (
    GitHubIssuePoster,
    Outcome,
    Poster,
    post_weekly_if_due,
    summary_target,
)

log = logging.getLogger(__name__)

# Answers of GitHub about the summary's target issue that no retry soon will change.
_TARGET_REFUSED = {
    403: "is locked (or the App lacks issues:write)",
    404: "was not found (deleted, transferred, or no access)",
    410: "was deleted",
    422: "refused the comment",
}

TICK_SECONDS = 60.0
Clock = Callable[[], datetime]


class SchedulerHost(Protocol):
    """What the scheduler reads of the service state (bot.service.state.ServiceState)."""

    settings: Settings
    db: Database
    github: GitHubApp | None
    instance_id: str


def utcnow() -> datetime:
    return datetime.now(UTC)


class WeeklySummaryScheduler:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        poster_factory: Callable[[], Awaitable[Poster]],
        *,
        source: ProgressSource | None = None,
        clock: Clock = utcnow,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        tick_seconds: float = TICK_SECONDS,
        holder: str | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.poster_factory = poster_factory
        self.source = source or StoreSource(db)
        self.clock = clock
        self.sleep = sleep
        self.tick_seconds = tick_seconds
        self.holder = holder

    async def tick(self) -> Outcome | None:
        """One check; never raises (a failed post is retried on a later tick)."""
        try:
            outcome = await post_weekly_if_due(
                self.db,
                self.settings,
                self.source,
                self.poster_factory,
                self.clock(),
                holder=self.holder,
            )
        except asyncio.CancelledError:
            raise
        except BadRequest as exc:
            status = int(exc.status_code)
            reason = _TARGET_REFUSED.get(status)
            if reason is None or "rate limit" in str(exc).lower():
                log.exception("weekly summary: this attempt failed; retrying on a later tick")
                return None
            # The target issue itself refuses the post: say which issue and why, without a
            # traceback; the week's attempts back off (up to 6 hours apart) until someone
            # unlocks it or points [summary] issue elsewhere, and the next week starts afresh.
            repo, issue = summary_target(self.settings)
            log.error(
                "weekly summary not posted: %s#%s %s (HTTP %d: %s); unlock it or set "
                "[summary] issue in the config; retrying on a later tick with backoff",
                repo,
                issue,
                reason,
                status,
                exc,
            )
            return None
        except Exception:
            log.exception("weekly summary: this attempt failed; retrying on a later tick")
            return None
        if outcome.status in ("posted", "recovered"):
            log.info("weekly summary %s: %s", outcome.week, outcome.status)
        return outcome

    async def run(self, ticks: int | None = None) -> None:
        """Tick forever (or ``ticks`` times, for tests)."""
        n = 0
        while ticks is None or n < ticks:
            await self.tick()
            n += 1
            await self.sleep(self.tick_seconds)


def _github_poster_factory(state: SchedulerHost) -> Callable[[], Awaitable[Poster]]:
    settings = state.settings
    repo, issue = summary_target(settings)

    async def factory() -> Poster:
        github = state.github
        if github is None:
            raise RuntimeError("the weekly summary needs the App's credentials to post")
        installation = await github.installation_id_for(repo)
        gh = github.client(installation)
        return GitHubIssuePoster(gh, repo, issue, await github.bot_login())

    return factory


def scheduler_for(state: SchedulerHost, *, clock: Clock = utcnow) -> WeeklySummaryScheduler:
    """A scheduler over the service state."""
    return WeeklySummaryScheduler(
        state.db,
        state.settings,
        _github_poster_factory(state),
        clock=clock,
        holder=state.instance_id,
    )


async def run_scheduler(state: SchedulerHost | web.Application) -> None:
    """Started by the service as a background task; ends only when cancelled.

    Accepts the service state, or the aiohttp Application holding it (under STATE).
    """
    if isinstance(state, web.Application):
        state = state[STATE]
    if state.github is None:
        log.warning("weekly summary disabled: GITHUB_APP_ID / GITHUB_PRIVATE_KEY not set")
        return
    await scheduler_for(state).run()
