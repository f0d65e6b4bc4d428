"""Assemble a week's WeeklyData (and the trend) from a ProgressSource."""

from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.summary.model import TrendPoint, WeeklyData
from bot.summary.progress import (
    completed_modules,
    group_changes,
    module_rows,
    new_error_findings,
)
from bot.summary.source import ProgressSource
from bot.summary.weeks import WEEK, IsoWeek, as_utc, window

TREND_WEEKS = 12


def tracked_repo(settings: Settings) -> str:
    """The repository whose default branch is tracked: the effort's meta-issue repository."""
    return settings.meta_issue.repo


async def weekly_trend(
    source: ProgressSource,
    repo: str,
    last: IsoWeek,
    settings: Settings,
    weeks: int = TREND_WEEKS,
    until: datetime | None = None,
) -> list[TrendPoint]:
    """The metrics at the end of each of ``weeks`` weeks up to ``last`` (weeks with no snapshot
    yet are left out)."""
    wd, hour = settings.summary.weekday, settings.summary.hour
    bounds = []
    for i in range(weeks - 1, -1, -1):
        week = last.shift(-i)
        end = window(week, wd, hour)[1]
        if until is not None and end > as_utc(until):
            end = as_utc(until)
        bounds.append((week, end))
    summaries = await source.metrics_at(repo, [end for _, end in bounds])
    points = [
        TrendPoint(str(week), end, summary)
        for (week, end), summary in zip(bounds, summaries, strict=True)
        if summary is not None
    ]
    return points


async def weekly_data(
    source: ProgressSource,
    settings: Settings,
    week: IsoWeek,
    *,
    now: datetime | None = None,
    repo: str | None = None,
    confirmed_prs: bool = True,
    since: datetime | None = None,
) -> WeeklyData:
    """What week ``week``'s post shows: the window ending at its slot (or at ``now`` when the
    slot is still ahead, for a preview of the current week). ``since`` widens the window back
    to an earlier time (the last post's slot, when weeks were missed). ``confirmed_prs``:
    whether the source's open PRs are known to be open (the weekly post confirms them)."""
    repo = repo or tracked_repo(settings)
    start, until = window(week, settings.summary.weekday, settings.summary.hour)
    # A wider window when earlier weeks' posts were missed: their changes are reported here.
    since = min(as_utc(since), start) if since is not None else start
    if now is not None and as_utc(now) < until:
        until = as_utc(now)
    current = await source.snapshot_at(repo, until)
    previous = await source.snapshot_at(repo, since)
    data = WeeklyData(
        repo=repo,
        week=str(week),
        weeks_covered=max(1, round((start - since) / WEEK) + 1),
        since=since,
        until=until,
        current=current.summary if current else None,
        previous=previous.summary if previous else None,
        sha=current.sha if current else None,
    )
    if current is None:
        return data
    history = await source.module_events(repo, until=until)
    # (since, until]: the state at ``since`` is the week before's, like snapshot_at's.
    in_window = [e for e in history if since < as_utc(e.at) <= until]
    data.changes = group_changes(in_window)
    data.completed = completed_modules(previous, current, history)
    data.new_errors = new_error_findings(previous, current)
    data.open_prs = await source.open_pull_requests(repo)
    data.open_prs_confirmed = confirmed_prs
    rows = [r for r in module_rows(current, history) if not r.is_test]
    data.single_phase = [r for r in rows if r.init == "single-phase"]
    data.static_types_left = [r for r in rows if r.static_types]
    data.without_gil_slot = [r for r in rows if r.init == "multi-phase" and not r.has_gil_slot]
    data.trend = await weekly_trend(source, repo, week, settings, until=until)
    return data
