"""Router for the pull-request check.

Triggers: ``pull_request`` opened / synchronize / reopened / ready_for_review, and edited when
the base branch changed; ``check_run`` rerequested for this App's ``isolation`` run; and the
internal job kind ``pr_check`` (bot.prcheck.jobs) that ``/isolation recheck`` enqueues, run by
:func:`run_pr_check_job`. All the work is in bot.prcheck.run.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from gidgethub import routing, sansio

from bot.jobs import JobContext, PermanentJobError
from bot.prcheck.check_run import CHECK_NAME
from bot.prcheck.jobs import PrCheckRequest, pr_key
from bot.prcheck.run import StaleResult, run_pr_check

log = logging.getLogger(__name__)

router = routing.Router()

CHECK_ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review")


def triggers_check(event: str, payload: dict[str, Any]) -> bool:
    if event == "pull_request":
        action = payload.get("action")
        if action in CHECK_ACTIONS:
            return True
        return action == "edited" and "base" in (payload.get("changes") or {})
    if event == "check_run":
        return payload.get("action") == "rerequested"
    return False


def coalescing_key(event: str, payload: dict[str, Any]) -> str | None:
    """Key for intake: PR check triggers share their PR's key; everything else has none."""
    if not triggers_check(event, payload):
        return None
    try:
        repo = str(payload["repository"]["full_name"])
        if event == "pull_request":
            return pr_key(repo, int(payload["pull_request"]["number"]))
        prs = payload["check_run"].get("pull_requests") or []
        return pr_key(repo, int(prs[0]["number"])) if prs else None
    except (KeyError, TypeError, ValueError, IndexError):
        return None


async def _check(ctx: JobContext, repo: str, number: int, pr: dict[str, Any] | None) -> None:
    try:
        result = await run_pr_check(
            ctx.gh,
            ctx.db,
            ctx.settings,
            repo=repo,
            number=number,
            bot_login=ctx.bot_login,
            pr=pr,
            caches=ctx.caches,
        )
    except StaleResult as exc:
        log.info("dropped a stale check result: %s", exc)
        return
    if result is None:
        log.info("%s#%d is closed: not checked", repo, number)
    else:
        log.info(
            "%s#%d checked at %s: %s (%d files, %d new, %d fixed)",
            repo,
            number,
            result.head_sha[:12],
            result.conclusion,
            len(result.files_checked),
            len(result.new),
            len(result.fixed),
        )


@router.register("pull_request", action="opened")
@router.register("pull_request", action="synchronize")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="ready_for_review")
@router.register("pull_request", action="edited")
async def on_pull_request(event: sansio.Event, ctx: JobContext) -> None:
    if not triggers_check(event.event, event.data):
        return  # an edit of the title or body: nothing to check
    pr = _pull_request_of(event.data)
    await _check(ctx, ctx.repo, pr["number"], pr)


def _pull_request_of(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload's pull request, with the fields the check reads; PermanentJobError when
    they are missing or of the wrong type (the delivery fails the same way on every try)."""
    pr = payload.get("pull_request")
    if not isinstance(pr, dict):
        raise PermanentJobError(f"malformed payload: pull_request is {type(pr).__name__}")
    number = pr.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        raise PermanentJobError(f"malformed payload: pull_request.number is {number!r}")
    for side in ("head", "base"):
        ref = pr.get(side)
        if not isinstance(ref, dict) or not isinstance(ref.get("sha"), str):
            raise PermanentJobError(f"malformed payload: no pull_request.{side}.sha")
    return pr


def _is_ours(check_run: dict[str, Any], app_id: str | None) -> bool:
    app = check_run.get("app") or {}
    if check_run.get("name") != CHECK_NAME:
        return False
    return app_id is None or str(app.get("id")) == str(app_id)


@router.register("check_run", action="rerequested")
async def on_check_run_rerequested(event: sansio.Event, ctx: JobContext) -> None:
    check_run = event.data.get("check_run") or {}
    if not _is_ours(check_run, ctx.settings.app_id):
        return
    repo = ctx.repo
    numbers = [int(p["number"]) for p in check_run.get("pull_requests") or [] if "number" in p]
    if not numbers:
        # Fork PRs are missing from check_run.pull_requests: ask which PRs have this head.
        sha = str(check_run.get("head_sha") or "")
        pulls = await ctx.gh.getitem(f"/repos/{repo}/commits/{quote(sha, safe='')}/pulls")
        numbers = [int(p["number"]) for p in pulls if p.get("state") == "open"]
    for number in numbers:
        await _check(ctx, repo, number, None)


async def run_pr_check_job(payload: dict[str, Any], ctx: JobContext) -> None:
    """The internal ``pr_check`` job (bot.prcheck.jobs): re-read the PR and check its head."""
    request = PrCheckRequest.from_payload(payload)
    await _check(ctx, request.repo, request.number, None)
