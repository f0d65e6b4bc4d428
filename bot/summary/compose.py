"""Entry points that render a summary from the store: the CLI and the `summary` slash-command."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.config import Settings
from bot.store.db import Database
from bot.summary.assemble import weekly_data
from bot.summary.render import render_weekly_summary
from bot.summary.source import ProgressSource, StoreSource
from bot.summary.weeks import IsoWeek, due_week


def preview_week(now: datetime, settings: Settings) -> IsoWeek:
    """The week whose post is being accumulated now: the one after the last due week."""
    return due_week(now, settings.summary.weekday, settings.summary.hour).shift(1)


async def render_summary(
    source: ProgressSource,
    settings: Settings,
    week: IsoWeek | str | None = None,
    *,
    now: datetime | None = None,
    repo: str | None = None,
) -> str:
    """The summary of ``week`` (default: the upcoming post, up to now), from ``source``."""
    now = now or datetime.now(UTC)
    if isinstance(week, str):
        week = IsoWeek.parse(week)
    week = week or preview_week(now, settings)
    # Candidates from the PR-check state: not confirmed open without asking GitHub.
    data = await weekly_data(source, settings, week, now=now, repo=repo, confirmed_prs=False)
    # No hidden marker: a preview posted as a command reply must never pass for the week's post.
    return render_weekly_summary(
        data,
        html_url=settings.html_url,
        with_marker=False,
        dashboard_url=settings.public_url,
    )


async def render_summary_now(db: Database, repo: str, settings: Settings) -> str:
    """The `summary` slash-command's reply (bot.commands.handlers calls this by name)."""
    return await render_summary(StoreSource(db), settings, None, repo=repo)
