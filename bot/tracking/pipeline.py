"""One commit of the default branch end to end: analyse, snapshot, attribute, meta issue.

Used by the push/installation router and by ``isolation-bot sync``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from bot.config import Settings
from bot.render.checklist import render_checklist
from bot.store.db import Database
from bot.tracking.analysis_cache import Analyzer
from bot.tracking.events import (
    Attribution,
    ModuleEvent,
    module_events,
    pr_from_message,
    record_events,
    state_changes,
)
from bot.tracking.meta_issue import WriteResult, write_section
from bot.tracking.snapshots import latest_snapshot
from bot.tracking.state import parse_time
from bot.tracking.tree_sync import UpdateResult, advance_head, update_repository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackResult:
    update: UpdateResult | None  # None when the commit was already the analysed head
    events: tuple[ModuleEvent, ...]
    meta_issue: WriteResult | None


async def attribute(
    gh: GitHubAPI, repo: str, sha: str, message: str | None, author: str | None
) -> Attribution:
    """The merged PR behind commit ``sha``: GitHub's commit->PR association, else "(#NNNN)"."""
    try:
        pulls: Any = await gh.getitem(f"/repos/{repo}/commits/{sha}/pulls")
    except BadRequest as exc:
        log.info("%s@%s: no PR association (%s); using the commit message", repo, sha[:10], exc)
        pulls = []
    merged = (
        [p for p in pulls if isinstance(p, dict) and p.get("merged_at")]
        if isinstance(pulls, list)
        else []
    )
    # Prefer the PR whose merge produced this very commit.
    merged.sort(key=lambda p: p.get("merge_commit_sha") != sha)
    if merged:
        pr = merged[0]
        login = (pr.get("user") or {}).get("login")
        return Attribution(int(pr["number"]), login if isinstance(login, str) else author)
    if message is None:
        data = await gh.getitem(f"/repos/{repo}/git/commits/{sha}")
        message = str(data.get("message") or "")
        author = author or (data.get("author") or {}).get("name")
    return Attribution(pr_from_message(message), author)


async def refresh_meta_issue(gh: GitHubAPI, db: Database, settings: Settings) -> WriteResult:
    """Rewrite the configured meta issue's checklist from the latest snapshot."""
    repo, number = settings.meta_issue.repo, settings.meta_issue.number
    snap = await latest_snapshot(db, repo)
    events = await module_events(db, repo)
    branch = settings.default_branch or "main"
    result = await write_section(
        gh,
        db,
        repo,
        number,
        lambda room: render_checklist(snap, events, branch=branch, max_chars=room),
    )
    log.info("meta issue: %s", result.message)
    return result


async def _older_than_head(db: Database, repo: str, sha: str, head: str) -> bool:
    """A redelivered or late old push: ``sha`` was analysed before and is older than the head.

    Such a push must not move the head back (nor attribute the difference to the wrong
    commit); a force-push back to a known commit passes ``forced`` and may."""
    rows = await db.fetchall(
        "SELECT sha, committed_at FROM tracking_snapshots WHERE repo = ? AND sha IN (?, ?)",
        (repo, sha, head),
    )
    when = {r["sha"]: r["committed_at"] for r in rows}
    return sha in when and head in when and when[sha] <= when[head]


async def track_commit(
    gh: GitHubAPI,
    db: Database,
    settings: Settings,
    repo: str,
    sha: str,
    *,
    committed_at: datetime | None = None,
    message: str | None = None,
    author: str | None = None,
    source: str = "push",
    forced: bool = False,
    analyzer: Analyzer | None = None,
) -> TrackResult:
    """Analyse ``sha`` as the new head (unless already done), attribute, refresh the issue.

    ``forced``: the push rewrote history (payload ``forced``), so a commit analysed before may
    legitimately become the head again."""
    row = await db.fetchone("SELECT sha FROM tracking_heads WHERE repo = ?", (repo,))
    stale = not forced and row is not None and await _older_than_head(db, repo, sha, row["sha"])
    if (row and row["sha"] == sha) or stale:
        # A redelivery, or a sync of an unchanged branch: nothing new to analyse or attribute.
        log.info("%s@%s: already analysed", repo, sha[:10])
        update = None
        events: list[ModuleEvent] = []
    else:
        update = await update_repository(
            gh,
            db,
            repo,
            sha,
            committed_at=committed_at,
            source=source,
            analyzer=analyzer,
            advance=False,
        )
        changes = state_changes(update.previous, update.snapshot)
        events = []
        if changes:
            who = await attribute(gh, repo, sha, message, author)
            events = await record_events(db, repo, sha, update.snapshot.committed_at, changes, who)
            log.info(
                "%s@%s: %d module change(s), PR %s", repo, sha[:10], len(events), who.pr_number
            )
        # Only now: if attribution failed, the retried job redoes it against the same base.
        await advance_head(db, update)
    meta = None
    if settings.meta_issue.repo == repo:
        meta = await refresh_meta_issue(gh, db, settings)
    return TrackResult(update, tuple(events), meta)


async def sync_repository(
    gh: GitHubAPI,
    db: Database,
    settings: Settings,
    repo: str,
    *,
    analyzer: Analyzer | None = None,
) -> TrackResult:
    """Analyse the head of the default branch (installation, ``isolation-bot sync``)."""
    info = await gh.getitem(f"/repos/{repo}")
    branch = settings.default_branch or info.get("default_branch") or "main"
    data = await gh.getitem(f"/repos/{repo}/commits/{branch}")
    commit = data.get("commit") or {}
    when = (commit.get("committer") or {}).get("date")
    return await track_commit(
        gh,
        db,
        settings,
        repo,
        str(data["sha"]),
        committed_at=parse_time(when) if isinstance(when, str) else None,
        message=commit.get("message") if isinstance(commit.get("message"), str) else None,
        author=(data.get("author") or {}).get("login"),
        source="sync",
        analyzer=analyzer,
    )
