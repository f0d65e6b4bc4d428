"""Default-branch tracking: ``push`` to the default branch, and new installations.

- ``push`` whose ref is the default branch (the config's ``default_branch`` or the repository's
  own): analyse the new head, store its snapshot, attribute module changes, update the meta
  issue. Branch deletions, tags and other branches are ignored.
- ``installation`` (created / new_permissions_accepted) and ``installation_repositories``
  (added): analyse the head of each repository's default branch once, so the store has a
  present from the first day.
- ``issues`` edited: for the bot's own write of the meta issue, restore a person's edit the
  write overwrote (bot.tracking.meta_issue.check_own_edit); every other edit is ignored.
"""

from __future__ import annotations

import logging
from typing import Any

from gidgethub import routing, sansio

from bot.config import Settings
from bot.jobs import JobContext
from bot.tracking.meta_issue import check_own_edit, is_meta_issue_edit_by_a_bot
from bot.tracking.pipeline import PushCommit, sync_repository, track_commit
from bot.tracking.state import parse_time

log = logging.getLogger(__name__)

router = routing.Router()

_NULL_SHA = "0" * 40


def default_branch_of(payload: dict[str, Any], configured: str | None) -> str | None:
    if configured:
        return configured
    repo = payload.get("repository") or {}
    branch = repo.get("default_branch") or repo.get("master_branch")
    return str(branch) if branch else None


@router.register("push")
async def on_push(event: sansio.Event, ctx: JobContext) -> None:
    payload = event.data
    branch = default_branch_of(payload, ctx.settings.default_branch)
    if branch is None or payload.get("ref") != f"refs/heads/{branch}":
        return
    after = payload.get("after")
    if payload.get("deleted") or not isinstance(after, str) or after == _NULL_SHA:
        return
    repo = (payload.get("repository") or {}).get("full_name")
    if not isinstance(repo, str) or "/" not in repo:
        log.warning("push delivery %s without a repository name: ignored", ctx.delivery_id)
        return
    head = payload.get("head_commit") or {}
    if not isinstance(head, dict):
        head = {}
    when = head.get("timestamp") if head.get("id") == after else None
    try:
        committed_at = parse_time(when) if isinstance(when, str) else None
    except ValueError:
        committed_at = None
    author = head.get("author") if isinstance(head.get("author"), dict) else {}
    await track_commit(
        ctx.gh,
        ctx.db,
        ctx.settings,
        repo,
        after,
        committed_at=committed_at,
        message=head.get("message") if head.get("id") == after else None,
        author=(author or {}).get("username") or (author or {}).get("name"),
        source="push",
        forced=bool(payload.get("forced")),
        before=payload.get("before") if isinstance(payload.get("before"), str) else None,
        commits=[
            c for c in map(PushCommit.from_payload, payload.get("commits") or []) if c is not None
        ],
        cache=ctx.caches.analysis,
    )


def _installed_repos(payload: dict[str, Any], key: str) -> list[str]:
    repos = payload.get(key) or []
    return [r["full_name"] for r in repos if isinstance(r, dict) and r.get("full_name")]


async def _sync_all(ctx: JobContext, repos: list[str]) -> None:
    for repo in repos:
        # One failing repository must not keep the others from their first snapshot.
        try:
            await sync_repository(ctx.gh, ctx.db, ctx.settings, repo, cache=ctx.caches.analysis)
        except Exception:
            log.exception("initial sync of %s failed", repo)
            if len(repos) == 1:
                raise


@router.register("installation", action="created")
@router.register("installation", action="new_permissions_accepted")
async def on_installation(event: sansio.Event, ctx: JobContext) -> None:
    await _sync_all(ctx, _installed_repos(event.data, "repositories"))


@router.register("installation_repositories", action="added")
async def on_repositories_added(event: sansio.Event, ctx: JobContext) -> None:
    await _sync_all(ctx, _installed_repos(event.data, "repositories_added"))


def wants_issue_event(payload: dict[str, Any], settings: Settings) -> bool:
    """Before storing an ``issues`` delivery: only a bot's edit of the meta issue can matter."""
    meta = settings.meta_issue
    return is_meta_issue_edit_by_a_bot(payload, meta.repo, meta.number)


@router.register("issues", action="edited")
async def on_issue_edited(event: sansio.Event, ctx: JobContext) -> None:
    meta = ctx.settings.meta_issue
    result = await check_own_edit(
        ctx.gh, ctx.db, event.data, bot_login=ctx.bot_login, repo=meta.repo, number=meta.number
    )
    if result.outcome not in ("not-ours", "kept", "restore-echo"):
        log.info("issues.edited %s: %s", event.delivery_id, result.message)
