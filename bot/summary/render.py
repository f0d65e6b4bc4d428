"""The weekly summary comment (PURE): WeeklyData -> GitHub markdown.

Everything that comes from PRs or code (titles, logins, module and file names, finding messages)
goes through bot.render.escape, so it renders as inert text: no markdown, HTML, @-mentions or
#references. The result always fits in a GitHub comment: long lists are cut with "and N more",
and the cut gets harsher until the whole text is under ``MAX_CHARS``; long lists of modules
(completed, still to do) fold into a collapsed ``<details>`` under their count.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from bot.analysis.model import METRIC_NAMES, Metric, Ratio
from bot.render import escape
from bot.summary.model import (
    CompletedModule,
    ModuleRow,
    OpenPullRequest,
    PullRequestChange,
    TrendPoint,
    WeeklyData,
)

GITHUB_COMMENT_LIMIT = 65_536
MAX_CHARS = 60_000  # margin under GitHub's limit (it counts UTF-16 code units, we count chars)
MARKER_PREFIX = "<!-- isolation-bot:weekly-summary:"
METRIC_LABELS = {
    "multi_phase": "Multi-phase init",
    "heap_types": "Heap types",
    "per_interpreter_gil": "Per-interpreter GIL",
}
# Lists of modules longer than this fold into a collapsed <details> under their count.
FOLD_AFTER = 10
# Items per list, tried in order until the summary fits.
_CAPS = (50, 25, 10, 5, 2, 0)
T = TypeVar("T")
_WEEK_RE = re.compile(r"\d{4}-W\d{2}")


def marker(week: str) -> str:
    """The hidden marker that identifies a week's post (found again after a crash)."""
    return f"{MARKER_PREFIX}{escape.html_comment_safe(week)} -->"


def _week_label(week: str) -> str:
    return week if _WEEK_RE.fullmatch(week) else escape.text(week)


def pct(ratio: Ratio) -> str:
    return f"{ratio.percent:g}%"


def _delta(now: Ratio, before: Ratio | None, period: str) -> str:
    if before is None:
        return f"new {period}"
    diff = now.done - before.done
    if diff == 0:
        return f"no change {period}"
    return f"{diff:+d} {period}".replace("-", "−")


def _metric_line(name: str, now: Metric, before: Metric | None, period: str) -> str:
    label = METRIC_LABELS[name]
    return (
        f"- **{label}**: {pct(now.all)} ({now.all.done}/{now.all.total}), "
        f"{_delta(now.all, before.all if before else None, period)} · "
        f"stdlib {pct(now.stdlib)} ({now.stdlib.done}/{now.stdlib.total}), "
        f"{_delta(now.stdlib, before.stdlib if before else None, period)}"
    )


def _cut(items: Sequence[T], cap: int, show: Callable[[T], str]) -> list[str]:
    lines = [show(i) for i in items[:cap]]
    if len(items) > cap:
        lines.append(f"- … and {len(items) - cap} more")
    return lines


def _inline_cut(names: Sequence[str], cap: int) -> str:
    shown = ", ".join(names[:cap])
    rest = len(names) - cap
    if rest > 0:
        return f"{shown} and {rest} more" if shown else f"{rest} modules"
    return shown


class _Links:
    def __init__(self, html_url: str, repo: str, sha: str | None) -> None:
        self.base = f"{html_url.rstrip('/')}/{escape.url_path(repo)}"
        self.sha = sha

    def pr(self, number: int) -> str:
        return f"[#{number}]({self.base}/pull/{number})"

    def commit(self, sha: str) -> str:
        return f"[{escape.link_text(sha[:10])}]({self.base}/commit/{escape.url_path(sha)})"

    def user(self, login: str | None) -> str:
        if not login:
            return "unknown author"
        # A link to the profile instead of "@login": shows who, without pinging anyone.
        return (
            f"[{escape.link_text(login)}]({self.base.rsplit('/', 2)[0]}/{escape.url_path(login)})"
        )

    def module(self, row: ModuleRow) -> str:
        name = escape.code(row.name)
        if not self.sha or not row.path:
            return name
        return f"[{name}]({self.base}/blob/{escape.url_path(self.sha)}/{escape.url_path(row.path)})"


def _change_line(c: PullRequestChange, links: _Links, cap: int) -> str:
    who = links.pr(c.number) if c.number is not None else f"commit {links.commit(c.sha)}"
    title = f" {escape.text(c.title, limit=120)}" if c.title else ""
    details = [escape.text(d, limit=160) for d in c.details]
    what = "; ".join(details[: max(cap, 1)])
    if len(details) > max(cap, 1):
        what += f"; and {len(details) - max(cap, 1)} more"
    return f"- {who}{title} by {links.user(c.author)}: {what}"


def _open_pr_line(p: OpenPullRequest, links: _Links) -> str:
    title = f" {escape.text(p.title, limit=120)}" if p.title else ""
    counts = []
    if p.improvements:
        counts.append(f"{p.improvements} improvement{'s' if p.improvements != 1 else ''}")
    if p.regressions:
        counts.append(f"{p.regressions} regression{'s' if p.regressions != 1 else ''}")
    what = f": {', '.join(counts)}" if counts else ""
    return f"- {links.pr(p.number)}{title} by {links.user(p.author)}{what}"


def _completed_line(c: CompletedModule, links: _Links) -> str:
    return f"- {escape.code(c.name)}" + (f" ({links.pr(c.pr)})" if c.pr is not None else "")


def _fmt_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


def mermaid_chart(trend: Sequence[TrendPoint]) -> list[str]:
    """A Mermaid xychart-beta of the "all" percentages (GitHub renders Mermaid in comments)."""
    labels = ", ".join(f'"{p.label}"' for p in trend)
    lines = [
        "```mermaid",
        "xychart-beta",
        '    title "Isolation progress, % (all modules)"',
        f"    x-axis [{labels}]",
        '    y-axis "percent" 0 --> 100',
    ]
    for name in METRIC_NAMES:
        values = ", ".join(f"{getattr(p.summary, name).all.percent:g}" for p in trend)
        lines.append(f"    line [{values}]")
    lines.append("```")
    return lines


def _folded_names(names: Sequence[str], cap: int) -> str:
    """A list of module names: inline when short, else folded under its count."""
    shown = _inline_cut(names, cap)
    if len(names) <= FOLD_AFTER or not shown:
        return shown
    return f"<details><summary>{len(names)} modules</summary>{shown}</details>"


def _remaining(data: WeeklyData, cap: int, links: _Links) -> list[str]:
    out: list[str] = []
    if data.single_phase:
        names = [links.module(r) for r in data.single_phase]
        out.append(f"- **Still single-phase ({len(names)})**: {_folded_names(names, cap)}")
    if data.static_types_left:
        rows = sorted(data.static_types_left, key=lambda r: (-len(r.static_types), r.name))
        total = sum(len(r.static_types) for r in rows)
        names = [f"{links.module(r)} ({len(r.static_types)})" for r in rows]
        out.append(
            f"- **Static types left ({total} in {len(rows)} modules)**: {_folded_names(names, cap)}"
        )
    if data.without_gil_slot:
        names = [links.module(r) for r in data.without_gil_slot]
        out.append(
            f"- **Without the per-interpreter GIL slot ({len(names)})**: "
            f"{_folded_names(names, cap)}"
        )
    return out


def _render(
    data: WeeklyData, html_url: str, cap: int, with_marker: bool, dashboard_url: str | None
) -> str:
    links = _Links(html_url, data.repo, data.sha)
    lines = [marker(data.week)] if with_marker else []
    lines += [f"## Isolation progress: week {_week_label(data.week)}", ""]
    where = escape.code(data.repo)
    at = f" at {links.commit(data.sha)}" if data.sha else ""
    lines.append(f"_{where}{at}, changes from {_fmt_time(data.since)} to {_fmt_time(data.until)}._")
    if data.late:
        when = f" ({_fmt_time(data.scheduled_at)})" if data.scheduled_at else ""
        covers = (
            f" This post covers the last {data.weeks_covered} weeks."
            if data.weeks_covered > 1
            else ""
        )
        lines += [
            "",
            f"> [!NOTE]\n> Posted late: the bot was not running at the scheduled time{when}."
            + covers,
        ]
    lines.append("")
    if data.current is None:
        lines += ["Nothing has been analysed on the default branch yet.", ""]
        return "\n".join(lines)

    period = "this week" if data.weeks_covered <= 1 else f"in {data.weeks_covered} weeks"
    lines.append("### Headline")
    lines += [
        _metric_line(
            n,
            getattr(data.current, n),
            getattr(data.previous, n) if data.previous else None,
            period,
        )
        for n in METRIC_NAMES
    ]
    lines.append("")

    forward = [c for c in data.changes if c.direction == "forward"]
    backward = [c for c in data.changes if c.direction == "backward"]
    lines.append("### Merged this week" if data.weeks_covered <= 1 else f"### Merged {period}")
    if not data.changes:
        lines.append("No merged change moved isolation this week.")
    if forward:
        lines += ["", f"**Forward ({len(forward)})**", ""]
        lines += _cut(forward, cap, lambda c: _change_line(c, links, cap))
    if backward:
        lines += ["", f"**Backward ({len(backward)})**", ""]
        lines += _cut(backward, cap, lambda c: _change_line(c, links, cap))
    lines.append("")

    if data.completed:
        lines += [f"### Modules completed ({len(data.completed)})", ""]
        completed = _cut(data.completed, cap, lambda c: _completed_line(c, links))
        if len(data.completed) > FOLD_AFTER:  # a long list folds away under its count
            summary = f"<details><summary>{len(data.completed)} modules</summary>"
            completed = [summary, "", *completed, "", "</details>"]
        lines += completed
        lines.append("")

    if data.new_errors:
        lines += [f"### New error findings on main ({len(data.new_errors)})", ""]
        lines += _cut(
            data.new_errors,
            cap,
            lambda f: (
                f"- {escape.code(f.rule)} {escape.code(f'{f.path}:{f.line}')} "
                f"{escape.code(f.symbol)}: {escape.text(f.message, limit=200)}"
            ),
        )
        lines.append("")

    if data.open_prs:
        heading = (
            "Open PRs with isolation changes"
            if data.open_prs_confirmed
            else "PRs with isolation changes checked recently (open state not confirmed)"
        )
        lines += [f"### {heading} ({len(data.open_prs)})", ""]
        lines += _cut(data.open_prs, cap, lambda p: _open_pr_line(p, links))
        lines.append("")

    remaining = _remaining(data, cap, links)
    if remaining:
        lines += ["### Biggest remaining work", "", *remaining, ""]

    if len(data.trend) >= 2:
        lines += [f"### The last {len(data.trend)} weeks", ""]
        lines += mermaid_chart(data.trend)
        lines += [
            "",
            "Lines from first to last: multi-phase init, heap types, per-interpreter GIL.",
            "",
        ]
    if dashboard_url:
        lines += [f"Every module's state: [the dashboard]({dashboard_url.rstrip('/')}/).", ""]
    return "\n".join(lines)


def render_weekly_summary(
    data: WeeklyData,
    *,
    html_url: str = "https://github.com",
    with_marker: bool = True,
    dashboard_url: str | None = None,
) -> str:
    """The weekly summary comment; always at most ``MAX_CHARS`` characters.

    ``with_marker=False`` for previews (CLI, slash-command replies): the hidden marker is what
    identifies the week's real post, and a preview carrying it would count as that post."""
    text = ""
    for cap in _CAPS:
        text = _render(data, html_url, cap, with_marker, dashboard_url)
        if len(text) <= MAX_CHARS:
            return text
    # Only reachable with absurd inputs (every list already empty): cut, keep the marker.
    notice = "\n\n… (cut: too long for one comment)\n"
    return text[: MAX_CHARS - len(notice)] + notice
