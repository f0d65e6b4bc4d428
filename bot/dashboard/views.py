"""What the dashboard pages and the JSON API show, built from a ProgressSource (no HTTP here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from bot.analysis.model import METRIC_NAMES, Summary
from bot.config import Settings
from bot.dashboard.charts import line_chart_svg, progress_color
from bot.summary.assemble import tracked_repo, weekly_trend
from bot.summary.model import ModuleRow, PullRequestChange, TrendPoint, direction_of
from bot.summary.progress import (
    FILTERS,
    SORT_KEYS,
    filter_rows,
    group_changes,
    module_rows,
    sort_rows,
)
from bot.summary.render import METRIC_LABELS
from bot.summary.source import ProgressSource
from bot.summary.weeks import IsoWeek, due_week
from bot.tracking.state import format_time

DASHBOARD_TREND_WEEKS = 26
END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)
RECENT_WEEKS = 4
# URL slugs of the metrics (badges, anchors) -> Summary attribute.
METRIC_SLUGS = {
    "multi-phase": "multi_phase",
    "heap-types": "heap_types",
    "per-interpreter-gil": "per_interpreter_gil",
}
SLUG_OF = {v: k for k, v in METRIC_SLUGS.items()}
SORT_LABELS = {
    "name": "Module",
    "status": "Status",
    "init": "Init",
    "slot": "Multiple interpreters slot",
    "static_types": "Static types left",
    "findings": "Open findings",
    "path": "File",
}


class BadQuery(ValueError):
    """A query parameter the page cannot use (shown to the user, HTTP 400)."""


@dataclass(frozen=True)
class TableQuery:
    sort: str = "name"
    descending: bool = False
    filter: str = "all"
    search: str = ""

    @classmethod
    def parse(cls, params: Any) -> TableQuery:
        sort = params.get("sort", "name") or "name"
        descending = False
        if sort.startswith("-"):
            sort, descending = sort[1:], True
        order = params.get("order", "")
        if order not in ("", "asc", "desc"):
            raise BadQuery(f"order must be asc or desc, not {order!r}")
        if order:
            descending = order == "desc"
        if sort not in SORT_KEYS:
            raise BadQuery(f"unknown sort {sort!r}; use one of: {', '.join(SORT_KEYS)}")
        flt = params.get("filter", "all") or "all"
        if flt not in FILTERS:
            raise BadQuery(f"unknown filter {flt!r}; use one of: {', '.join(FILTERS)}")
        search = (params.get("q", "") or "").strip()[:100]
        return cls(sort, descending, flt, search)

    def apply(self, rows: list[ModuleRow]) -> list[ModuleRow]:
        rows = filter_rows(rows, self.filter)
        if self.search:
            needle = self.search.lower()
            rows = [r for r in rows if needle in r.name.lower() or needle in r.path.lower()]
        return sort_rows(rows, self.sort, self.descending)

    def link(self, **changes: str) -> str:
        """A query string for this table state with ``changes`` applied."""
        params = {
            "sort": self.sort,
            "order": "desc" if self.descending else "asc",
            "filter": self.filter,
        }
        if self.search:
            params["q"] = self.search
        params.update(changes)
        return "?" + "&".join(f"{k}={quote(v)}" for k, v in params.items())

    def sort_link(self, key: str) -> str:
        """Clicking a column header sorts by it; clicking the sorted column flips the order."""
        desc = not self.descending if key == self.sort else False
        return self.link(sort=key, order="desc" if desc else "asc") + "#modules"

    def aria_sort(self, key: str) -> str:
        if key != self.sort:
            return "none"
        return "descending" if self.descending else "ascending"


@dataclass
class Links:
    html_url: str
    repo: str
    sha: str | None

    def code(self, path: str, line: int | None = None) -> str | None:
        if not self.sha or not path:
            return None
        anchor = f"#L{line}" if line else ""
        return f"{self.html_url}/{self.repo}/blob/{self.sha}/{quote(path)}{anchor}"

    def pr(self, number: int) -> str:
        return f"{self.html_url}/{self.repo}/pull/{number}"

    def commit(self, sha: str) -> str:
        return f"{self.html_url}/{self.repo}/commit/{quote(sha)}"

    def user(self, login: str) -> str:
        return f"{self.html_url}/{quote(login)}"


@dataclass
class MetricView:
    slug: str
    label: str
    all_done: int
    all_total: int
    all_percent: float
    stdlib_done: int
    stdlib_total: int
    stdlib_percent: float
    color: str
    chart_svg: str


@dataclass
class WeekChanges:
    week: str
    changes: list[PullRequestChange] = field(default_factory=list)


def metric_views(summary: Summary, trend: list[TrendPoint]) -> list[MetricView]:
    views = []
    for name in METRIC_NAMES:
        m = getattr(summary, name)
        label = METRIC_LABELS[name]
        points = [(p.label, getattr(p.summary, name).all.percent) for p in trend]
        views.append(
            MetricView(
                slug=SLUG_OF[name],
                label=label,
                all_done=m.all.done,
                all_total=m.all.total,
                all_percent=m.all.percent,
                stdlib_done=m.stdlib.done,
                stdlib_total=m.stdlib.total,
                stdlib_percent=m.stdlib.percent,
                color=progress_color(m.all.percent),
                chart_svg=line_chart_svg(
                    points, title=f"{label}: % of all modules, by week", chart_id=SLUG_OF[name]
                ),
            )
        )
    return views


async def recent_changes(
    source: ProgressSource, repo: str, now: datetime, settings: Settings
) -> list[WeekChanges]:
    """The last weeks' merged changes, newest week first (weeks as the summary counts them)."""
    wd, hour = settings.summary.weekday, settings.summary.hour
    current = due_week(now, wd, hour).shift(1)
    since = current.shift(-RECENT_WEEKS).slot(wd, hour)
    events = await source.module_events(repo, since=since, until=now)
    out = []
    for i in range(RECENT_WEEKS + 1):
        week = current.shift(-i)
        start, end = week.slot(wd, hour) - timedelta(weeks=1), week.slot(wd, hour)
        evs = [e for e in events if start < e.at <= end]
        if evs:
            out.append(WeekChanges(str(week), list(reversed(group_changes(evs)))))
    return out


async def dashboard_context(
    source: ProgressSource,
    settings: Settings,
    query: TableQuery,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    repo = tracked_repo(settings)
    snap = await source.latest_snapshot(repo)
    ctx: dict[str, Any] = {"repo": repo, "snapshot": snap, "query": query, "filters": FILTERS}
    if snap is None:
        return ctx
    events = await source.module_events(repo)
    rows = module_rows(snap, events)
    last = due_week(now, settings.summary.weekday, settings.summary.hour).shift(1)
    trend = await weekly_trend(source, repo, last, settings, DASHBOARD_TREND_WEEKS, until=now)
    ctx.update(
        links=Links(settings.html_url, repo, snap.sha),
        committed_at=format_time(snap.committed_at),
        metrics=metric_views(snap.summary, trend),
        recent=await recent_changes(source, repo, now, settings),
        rows=query.apply(rows),
        total_rows=len(rows),
        sort_labels=SORT_LABELS,
        status_counts={
            s: sum(r.status == s for r in rows) for s in ("done", "partly", "not-started")
        },
    )
    return ctx


def row_dict(row: ModuleRow, links: Links | None = None) -> dict[str, Any]:
    return {
        "name": row.name,
        "path": row.path,
        "status": row.status,
        "init": row.init,
        "multiple_interpreters": None if row.slot == "none" else row.slot,
        "static_types": list(row.static_types),
        "static_types_left": len(row.static_types),
        "open_findings": row.open_findings,
        "error_findings": row.error_findings,
        "is_test": row.is_test,
        "completed_by": row.completed_by,
        "code_url": links.code(row.path) if links else None,
    }


async def progress_json(
    source: ProgressSource, settings: Settings, now: datetime | None = None
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    repo = tracked_repo(settings)
    snap = await source.latest_snapshot(repo)
    if snap is None:
        return {"repo": repo, "sha": None, "committed_at": None, "metrics": None, "trend": []}
    last = due_week(now, settings.summary.weekday, settings.summary.hour).shift(1)
    trend = await weekly_trend(source, repo, last, settings, DASHBOARD_TREND_WEEKS, until=now)
    return {
        "repo": repo,
        "sha": snap.sha,
        "committed_at": format_time(snap.committed_at),
        "metrics": snap.summary.to_dict(),
        "status_counts": {
            s: sum(m.status == s for m in snap.modules) for s in ("done", "partly", "not-started")
        },
        "trend": [
            {"week": p.label, "at": format_time(p.at), "metrics": p.summary.to_dict()}
            for p in trend
        ],
    }


async def modules_json(
    source: ProgressSource, settings: Settings, query: TableQuery
) -> dict[str, Any]:
    repo = tracked_repo(settings)
    snap = await source.latest_snapshot(repo)
    base = {
        "repo": repo,
        "filter": query.filter,
        "sort": query.sort,
        "order": "desc" if query.descending else "asc",
    }
    if snap is None:
        return {**base, "sha": None, "count": 0, "total": 0, "modules": []}
    events = await source.module_events(repo)
    rows = module_rows(snap, events)
    links = Links(settings.html_url, repo, snap.sha)
    shown = query.apply(rows)
    return {
        **base,
        "sha": snap.sha,
        "count": len(shown),
        "total": len(rows),
        "modules": [row_dict(r, links) for r in shown],
    }


async def module_context(
    source: ProgressSource, settings: Settings, name: str
) -> dict[str, Any] | None:
    """One module's page; None when the module was never seen."""
    repo = tracked_repo(settings)
    history = await source.module_history(repo, name)
    snap = await source.latest_snapshot(repo)
    row = None
    events = await source.module_events(repo, module=name)
    if snap is not None:
        row = next((r for r in module_rows(snap, events) if r.name == name), None)
    if row is None and not history:
        return None
    # Keep the points where the state changed: the module's story, not every commit.
    changes = []
    previous: Any = object()
    for p in history:
        key = (
            None
            if p.state is None
            else (p.state.status, p.state.init, p.state.multiple_interpreters, p.state.static_types)
        )
        if key != previous:
            changes.append(p)
            previous = key
    return {
        "repo": repo,
        "name": name,
        "row": row,
        "links": Links(settings.html_url, repo, snap.sha if snap else None),
        "history": list(reversed(changes)),
        "events": [
            {"event": e, "backward": direction_of(e.kind) == "backward"} for e in reversed(events)
        ],
    }


def badge_values(summary: Summary | None, slug: str, variant: str) -> tuple[str, str, str]:
    """(label, message, colour) of a badge; raises BadQuery for an unknown metric/variant."""
    name = METRIC_SLUGS.get(slug)
    if name is None:
        raise BadQuery(f"unknown metric {slug!r}; use one of: {', '.join(METRIC_SLUGS)}")
    if variant not in ("all", "stdlib"):
        raise BadQuery(f"variant must be all or stdlib, not {variant!r}")
    label = slug if variant == "all" else f"{slug} (stdlib)"
    if summary is None:
        return label, "no data", "#9f9f9f"
    ratio = getattr(getattr(summary, name), variant)
    return label, f"{ratio.percent:g}%", progress_color(ratio.percent)


def current_week(now: datetime) -> str:
    return str(IsoWeek.of(now))
