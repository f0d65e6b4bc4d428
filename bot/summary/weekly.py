"""Posting the weekly summary exactly once per ISO week.

``post_weekly_if_due`` is called by the scheduler on every tick (and may be called by any number
of replicas, after restarts, or twice for the same trigger). The guarantee comes from the store,
not from process memory:

1. the week that is due is the latest whose slot (``settings.summary`` weekday/hour UTC) has
   passed; a week whose post is already recorded is done;
2. under ``db.try_lock("weekly-summary")`` (one replica at a time; the others skip this tick),
   the week is claimed with a row keyed (repo, iso_week) before anything is posted;
3. before posting, the target issue's comments are searched for the week's hidden marker, so a
   crash between posting and recording never posts twice: the found comment is recorded instead;
4. after posting, the comment id is recorded.

A week missed while the service was down is posted once when it comes back, marked late. When
several weeks were missed only the latest is posted (older summaries would be stale noise), and
its window reaches back to the last post's slot (at most 8 weeks) so no change goes unreported.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from bot.config import Settings
from bot.store.db import Database
from bot.summary.assemble import tracked_repo, weekly_data
from bot.summary.model import OpenPullRequest
from bot.summary.open_prs import confirm_open
from bot.summary.render import marker, render_weekly_summary
from bot.summary.source import ProgressSource
from bot.summary.weeks import IsoWeek, WeekError, as_utc, due_week
from bot.tracking.state import format_time, parse_time

log = logging.getLogger(__name__)

LOCK_NAME = "weekly-summary"
# A post made this long after its slot says so: the service was not running at the time.
LATE_AFTER = timedelta(hours=1)

Status = Literal["posted", "already-posted", "recovered", "busy", "backoff", "no-data"]
MAX_RETRY_DELAY = timedelta(hours=6)
# A catch-up post covers at most this many weeks back to the last post.
MAX_CATCH_UP_WEEKS = 8
# PR titles fetched per post, at most (one GitHub call each).
MAX_TITLES = 50


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after ``attempts`` failed attempts before the next one."""
    if attempts <= 0:
        return timedelta(0)
    return min(timedelta(minutes=2 ** min(attempts - 1, 16)), MAX_RETRY_DELAY)


@dataclass(frozen=True, slots=True)
class PostedComment:
    id: int
    url: str | None = None


class Poster(Protocol):
    """Where the summary goes (a GitHub issue); faked in tests."""

    target: str  # "owner/name#N", recorded with the post

    async def find_marked(self, marker: str, since: datetime) -> PostedComment | None:
        """A comment posted by the bot since ``since`` whose body contains ``marker``."""

    async def post(self, body: str) -> PostedComment: ...

    async def confirm_open(self, repo: str, prs: list[OpenPullRequest]) -> list[OpenPullRequest]:
        """The candidates that are really open, with title and author."""

    async def pr_titles(self, repo: str, numbers: list[int]) -> dict[int, str]:
        """Titles of merged PRs (tracking's events do not keep them); missing ones left out."""


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    week: str
    comment_id: int | None = None
    late: bool = False


def summary_target(settings: Settings) -> tuple[str, int]:
    """The issue the weekly summary is posted on: [summary] repo/issue, else the meta issue."""
    repo = settings.summary.repo or settings.meta_issue.repo
    issue = settings.summary.issue or settings.meta_issue.number
    return repo, issue


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def posted_comment(db: Database, repo: str, week: str) -> int | None:
    row = await db.fetchone(
        "SELECT comment_id FROM summary_posts WHERE repo = ? AND iso_week = ?", (repo, week)
    )
    return None if row is None or row["comment_id"] is None else int(row["comment_id"])


async def post_weekly_if_due(
    db: Database,
    settings: Settings,
    source: ProgressSource,
    poster_factory: Callable[[], Awaitable[Poster]],
    now: datetime,
    *,
    holder: str | None = None,
) -> Outcome:
    """Post the due week's summary unless it is already posted (see the module docstring)."""
    week = due_week(as_utc(now), settings.summary.weekday, settings.summary.hour)
    return await post_week(db, settings, source, poster_factory, now, week, holder=holder)


async def post_week(
    db: Database,
    settings: Settings,
    source: ProgressSource,
    poster_factory: Callable[[], Awaitable[Poster]],
    now: datetime,
    week: IsoWeek,
    *,
    holder: str | None = None,
) -> Outcome:
    """Post ``week``'s summary once (its slot must have passed)."""
    now = as_utc(now)
    slot = week.slot(settings.summary.weekday, settings.summary.hour)
    if slot > now:
        raise WeekError(f"week {week} is not due before {format_time(slot)}")
    repo = tracked_repo(settings)
    label = str(week)
    if await posted_comment(db, repo, label) is not None:  # the common case: no lock needed
        return Outcome("already-posted", label)
    async with db.try_lock(LOCK_NAME) as acquired:
        if not acquired:
            return Outcome("busy", label)
        return await _post_locked(db, settings, source, poster_factory, now, week, holder)


async def _post_locked(
    db: Database,
    settings: Settings,
    source: ProgressSource,
    poster_factory: Callable[[], Awaitable[Poster]],
    now: datetime,
    week: IsoWeek,
    holder: str | None,
) -> Outcome:
    repo = tracked_repo(settings)
    label = str(week)
    existing = await posted_comment(db, repo, label)
    if existing is not None:  # another replica finished it between our check and the lock
        return Outcome("already-posted", label, existing)
    slot = week.slot(settings.summary.weekday, settings.summary.hour)
    late = now - slot > LATE_AFTER
    claim = await db.fetchone(
        "SELECT attempts, last_attempt_at FROM summary_posts WHERE repo = ? AND iso_week = ?",
        (repo, label),
    )
    if claim is not None and claim["last_attempt_at"]:
        # Failed attempts back off (1, 2, 4 ... minutes, at most 6 hours): a post GitHub keeps
        # refusing must not turn into a request every tick.
        wait = retry_delay(int(claim["attempts"]))
        if now < parse_time(claim["last_attempt_at"]) + wait:
            return Outcome("backoff", label)
    # Weeks missed since the last post are not posted one by one (stale noise): this post
    # covers them, from the last post's slot.
    last = await db.fetchone(
        "SELECT MAX(iso_week) AS week FROM summary_posts "
        "WHERE repo = ? AND iso_week < ? AND comment_id IS NOT NULL",
        (repo, label),
    )
    since = None
    if last is not None and last["week"]:
        previous = IsoWeek.parse(str(last["week"]))
        if week.shift(-MAX_CATCH_UP_WEEKS) <= previous < week.shift(-1):
            since = previous.slot(settings.summary.weekday, settings.summary.hour)
    data = await weekly_data(source, settings, week, repo=repo, since=since)
    if data.current is None:
        return Outcome("no-data", label)
    data.late, data.scheduled_at = late, slot
    target = "{}#{}".format(*summary_target(settings))
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO summary_posts (repo, iso_week, target, claimed_at, claimed_by, late) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (repo, iso_week) DO NOTHING",
            (repo, label, target, format_time(now), holder or default_holder(), int(late)),
        )
        await tx.execute(
            "UPDATE summary_posts SET attempts = attempts + 1, last_attempt_at = ? "
            "WHERE repo = ? AND iso_week = ?",
            (format_time(now), repo, label),
        )
    poster = await poster_factory()
    data.open_prs = await poster.confirm_open(repo, data.open_prs)
    data.open_prs_confirmed = True
    numbers = [c.number for c in data.changes if c.number is not None][:MAX_TITLES]
    titles = await poster.pr_titles(repo, numbers) if numbers else {}
    data.changes = [
        replace(c, title=titles[c.number]) if c.number in titles else c for c in data.changes
    ]
    # A previous attempt may have posted and died before recording: never post twice.
    found = await poster.find_marked(marker(label), slot - timedelta(days=1))
    if found is not None:
        await _record(db, repo, label, found, now)
        log.info("weekly summary %s was already on %s: recorded it", label, poster.target)
        return Outcome("recovered", label, found.id)
    body = render_weekly_summary(
        data, html_url=settings.html_url, dashboard_url=settings.public_url
    )
    comment = await poster.post(body)
    await _record(db, repo, label, comment, now, late)
    log.info("posted weekly summary %s on %s%s", label, poster.target, " (late)" if late else "")
    return Outcome("posted", label, comment.id, late)


async def _record(
    db: Database,
    repo: str,
    week: str,
    comment: PostedComment,
    now: datetime,
    late: bool | None = None,
) -> None:
    sql = "UPDATE summary_posts SET comment_id = ?, comment_url = ?, posted_at = ?"
    params: list[Any] = [comment.id, comment.url, format_time(now)]
    if late is not None:
        sql += ", late = ?"
        params.append(int(late))
    await db.execute(sql + " WHERE repo = ? AND iso_week = ?", [*params, repo, week])


class GitHubIssuePoster:
    """Posts on a GitHub issue with a gidgethub client (installation-authenticated)."""

    def __init__(self, gh: Any, repo: str, issue: int, bot_login: str | None = None) -> None:
        self.gh = gh
        self.repo = repo
        self.issue = issue
        self.bot_login = bot_login
        self.target = f"{repo}#{issue}"

    async def find_marked(self, marker: str, since: datetime) -> PostedComment | None:
        url = f"/repos/{self.repo}/issues/{self.issue}/comments?since={format_time(since)}"
        async for c in self.gh.getiter(url):
            body = c.get("body") or ""
            login = (c.get("user") or {}).get("login")
            if marker in body and (self.bot_login is None or login == self.bot_login):
                return PostedComment(int(c["id"]), c.get("html_url"))
        return None

    async def post(self, body: str) -> PostedComment:
        c = await self.gh.post(
            f"/repos/{self.repo}/issues/{self.issue}/comments", data={"body": body}
        )
        return PostedComment(int(c["id"]), c.get("html_url"))

    async def confirm_open(self, repo: str, prs: list[OpenPullRequest]) -> list[OpenPullRequest]:
        return await confirm_open(self.gh, repo, prs)

    async def pr_titles(self, repo: str, numbers: list[int]) -> dict[int, str]:
        titles = {}
        for n in numbers:
            try:
                data = await self.gh.getitem(f"/repos/{repo}/pulls/{n}")
            except Exception as exc:  # a title is nice to have, never worth failing the post
                log.warning("cannot read the title of %s#%s: %s", repo, n, exc)
                continue
            if isinstance(data.get("title"), str):
                titles[n] = data["title"]
        return titles
