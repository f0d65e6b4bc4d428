"""One commit of the default branch end to end: analyse, snapshot, attribute, meta issue.

Used by the push/installation router and by ``isolation-bot sync``.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from bot.config import Settings
from bot.store.analysis_cache import AnalysisCache, Analyzer
from bot.store.db import Database
from bot.tracking.checklist import render_checklist
from bot.tracking.events import (
    Attribution,
    Change,
    ModuleEvent,
    module_events,
    pr_from_message,
    record_events,
    state_changes,
)
from bot.tracking.meta_issue import WriteResult, write_section
from bot.tracking.snapshots import latest_snapshot
from bot.tracking.state import parse_time
from bot.tracking.tree_sync import UpdateResult, advance_head, head_sha, update_repository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackResult:
    update: UpdateResult | None  # None when the commit was already the analysed head
    events: tuple[ModuleEvent, ...]
    meta_issue: WriteResult | None


@dataclass(frozen=True)
class PushCommit:
    """One commit of a push payload (GitHub lists up to 20, oldest first)."""

    sha: str
    message: str
    author: str | None
    at: datetime | None
    files: frozenset[str]

    @classmethod
    def from_payload(cls, d: Any) -> PushCommit | None:
        if not isinstance(d, dict) or not isinstance(d.get("id"), str):
            return None
        files: set[str] = set()
        for key in ("added", "modified", "removed"):
            value = d.get(key)
            if isinstance(value, list):
                files.update(f for f in value if isinstance(f, str))
        who = d.get("author") if isinstance(d.get("author"), dict) else {}
        try:
            at = parse_time(d["timestamp"]) if isinstance(d.get("timestamp"), str) else None
        except ValueError:
            at = None
        return cls(
            sha=d["id"],
            message=d["message"] if isinstance(d.get("message"), str) else "",
            author=(who or {}).get("username") or (who or {}).get("name"),
            at=at,
            files=frozenset(files),
        )


def _touches(commit: PushCommit, path: str) -> bool:
    if path in commit.files:
        return True
    # Modules spread over a folder (Modules/_io/, Modules/_sqlite/): any file of the folder.
    folder = posixpath.dirname(path)
    return folder.count("/") >= 1 and any(posixpath.dirname(f) == folder for f in commit.files)


def _by_commit(
    changes: Sequence[Change], update: UpdateResult, commits: Sequence[PushCommit], head: str
) -> dict[str, list[Change]]:
    """Group changes by the commit to credit: the last pushed commit touching the module."""
    groups: dict[str, list[Change]] = {}
    for change in changes:
        state = update.snapshot.module(change.module) or (
            update.previous.module(change.module) if update.previous else None
        )
        by = head
        if state is not None:
            touching = [c for c in commits if _touches(c, state.path)]
            if touching:
                by = touching[-1].sha
        groups.setdefault(by, []).append(change)
    return groups


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
    if merged and isinstance(merged[0].get("number"), int):
        pr = merged[0]
        user = pr.get("user") if isinstance(pr.get("user"), dict) else {}
        login = (user or {}).get("login")
        return Attribution(pr["number"], login if isinstance(login, str) else author)
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


async def _is_late(gh: GitHubAPI, repo: str, head: str, sha: str) -> bool:
    """Whether ``sha`` is already part of the analysed head's history (a late or redelivered
    old push, which must not move the head back nor attribute the difference to itself)."""
    try:
        data = await gh.getitem(f"/repos/{repo}/compare/{head}...{sha}")
    except BadRequest as exc:  # the old head was force-pushed away and collected
        log.info("%s: cannot compare %s...%s (%s); analysing", repo, head[:10], sha[:10], exc)
        return False
    return isinstance(data, dict) and data.get("status") in ("behind", "identical")


async def _advance(
    gh: GitHubAPI,
    db: Database,
    repo: str,
    sha: str,
    committed_at: datetime | None,
    message: str | None,
    author: str | None,
    source: str,
    forced: bool,
    before: str | None,
    commits: Sequence[PushCommit],
    analyzer: Analyzer | None,
    cache: AnalysisCache | None,
) -> tuple[UpdateResult | None, list[ModuleEvent]]:
    head = await head_sha(db, repo)
    # The push was not made on top of the analysed head: it may be late (another worker, a
    # redelivery) or we missed pushes; GitHub's compare says which. Force-pushes always count.
    late = (
        head is not None
        and before is not None
        and before != head
        and head != sha
        and not forced
        and await _is_late(gh, repo, head, sha)
    )
    if head == sha or late:
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
            cache=cache,
        )
        changes = state_changes(update.previous, update.snapshot)
        events = []
        for by, group in _by_commit(changes, update, commits, sha).items():
            pushed = next((c for c in commits if c.sha == by), None)
            if pushed is None:
                who = await attribute(gh, repo, sha, message, author)
                at = update.snapshot.committed_at
            else:
                who = await attribute(gh, repo, by, pushed.message, pushed.author)
                at = pushed.at or update.snapshot.committed_at
            events += await record_events(db, repo, by, at, group, who)
            log.info("%s@%s: %d module change(s), PR %s", repo, by[:10], len(group), who.pr_number)
        # Only now: if attribution failed, the retried job redoes it against the same base.
        await advance_head(db, update)
    return update, events


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
    before: str | None = None,
    commits: Sequence[PushCommit] = (),
    analyzer: Analyzer | None = None,
    cache: AnalysisCache | None = None,
) -> TrackResult:
    """Analyse ``sha`` as the new head (unless already done), attribute, refresh the issue.

    ``before``/``forced``: the push payload's, to recognise a late push (see ``_is_late``);
    a sync passes neither: the branch's current head is always the one to analyse.
    ``commits``: the push's commits; a module change is credited to the last of them that
    touched the module's files (a push of several commits), else to ``sha``."""
    # One update per repository at a time (several workers, several replicas): two pushes
    # analysed against the same base would attribute the first one's changes to both.
    async with db.lock(f"tracking:{repo}"):
        update, events = await _advance(
            gh,
            db,
            repo,
            sha,
            committed_at,
            message,
            author,
            source,
            forced,
            before,
            commits,
            analyzer,
            cache,
        )
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
    cache: AnalysisCache | None = None,
) -> TrackResult:
    """Analyse the head of the default branch (installation, ``isolation-bot sync``)."""
    info = await gh.getitem(f"/repos/{repo}")
    branch = settings.default_branch or info.get("default_branch") or "main"
    # A branch name may hold "/": one path segment for {ref}, as the REST description has it.
    data = await gh.getitem(f"/repos/{repo}/commits/{quote(branch, safe='')}")
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
        cache=cache,
    )
