"""Router for the pull-request check.

Triggers: ``pull_request`` opened / synchronize / reopened / ready_for_review, and edited when
the base branch changed; ``check_run`` rerequested for this App's ``isolation`` run ("Re-run");
``check_suite`` rerequested for this App's suite ("Re-run all checks"); and the internal job
kind ``pr_check`` (bot.prcheck.jobs) that ``/isolation recheck`` enqueues, run by
:func:`run_pr_check_job`. All the work is in bot.prcheck.run.

Which pull request a re-run is for: GitHub leaves ``pull_requests`` empty in check run and
check suite payloads when the head is in a fork (nearly every CPython PR), and
``GET /repos/{o}/{r}/commits/{sha}/pulls`` on the base repository answers ``[]`` for such a
head. So, in order: the run's ``external_id`` (``owner/repo#number``, written by the check;
the repository must be this one), the payload's ``pull_requests``, the suite's own runs (their
``external_id``), the stored PR state by head SHA, and last the commit's pulls.

A PR named by the payload itself already has its coalescing key on the delivery (the intake
asks :func:`coalescing_key`) and is checked in the delivery's job; a PR found any other way is
checked in a ``pr_check`` job (:func:`bot.prcheck.jobs.pr_check_job`), which carries the PR's
key, so a re-run never runs beside another check of the same PR.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import gidgethub
from gidgethub import routing, sansio

from bot.jobs import JobContext, PermanentJobError
from bot.prcheck import store as pr_state
from bot.prcheck.check_run import CHECK_NAME
from bot.prcheck.jobs import PrCheckRequest, pr_check_job, pr_key
from bot.prcheck.lifecycle import pr_of_external_id
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
    if event in ("check_run", "check_suite"):
        return payload.get("action") == "rerequested"
    return False


def _numbers(pull_requests: Any, repo: str) -> list[int]:
    """The numbers of a payload's ``pull_requests`` whose base is ``repo`` (GitHub lists the
    open PRs whose head matches, which may be PRs into another repository)."""
    out: list[int] = []
    for pr in pull_requests if isinstance(pull_requests, list) else []:
        if not isinstance(pr, dict):
            continue
        number = pr.get("number")
        base = pr.get("base")
        base_repo = base.get("repo") if isinstance(base, dict) else None
        url = base_repo.get("url") if isinstance(base_repo, dict) else None
        if isinstance(url, str) and not url.lower().endswith(f"/repos/{repo.lower()}"):
            continue
        if isinstance(number, int) and not isinstance(number, bool) and number > 0:
            out.append(number)
    return out


def payload_pr(event: str, payload: dict[str, Any]) -> int | None:
    """The one PR a check trigger's payload names itself, or None (a fork's re-run).

    For a re-run: the run's ``external_id`` first (it names the PR the run was made for),
    then the first of ``pull_requests``. The delivery's coalescing key is this PR's key."""
    if not triggers_check(event, payload):
        return None
    repository = payload.get("repository")
    repo = repository.get("full_name") if isinstance(repository, dict) else None
    if not isinstance(repo, str):
        return None
    if event == "pull_request":
        pr = payload.get("pull_request")
        number = pr.get("number") if isinstance(pr, dict) else None
        ok = isinstance(number, int) and not isinstance(number, bool) and number > 0
        return number if ok else None
    body = payload.get(event)
    if not isinstance(body, dict):
        return None
    if event == "check_run" and (number := pr_of_external_id(body.get("external_id"), repo)):
        return number
    numbers = _numbers(body.get("pull_requests"), repo)
    return numbers[0] if numbers else None


def coalescing_key(event: str, payload: dict[str, Any]) -> str | None:
    """Key for intake: PR check triggers share their PR's key; everything else has none."""
    number = payload_pr(event, payload)
    if number is None:
        return None
    return pr_key(str(payload["repository"]["full_name"]), number)


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
            job=ctx.delivery_id,  # the same on the job's retries
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


def _is_our_suite(suite: dict[str, Any], app_id: str | None) -> bool:
    app = suite.get("app")
    return app_id is None or (isinstance(app, dict) and str(app.get("id")) == str(app_id))


@router.register("check_run", action="rerequested")
async def on_check_run_rerequested(event: sansio.Event, ctx: JobContext) -> None:
    check_run = event.data.get("check_run")
    if not isinstance(check_run, dict) or not _is_ours(check_run, ctx.settings.app_id):
        return
    repo = ctx.repo
    numbers: list[int] = []
    if (named := pr_of_external_id(check_run.get("external_id"), repo)) is not None:
        numbers.append(named)
    elif check_run.get("external_id"):
        log.warning(
            "re-run of check run %s: external_id %r names no PR of %s; ignoring it",
            check_run.get("id"),
            check_run.get("external_id"),
            repo,
        )
    numbers += _numbers(check_run.get("pull_requests"), repo)
    await _rerun(ctx, event, repo, numbers, check_run.get("head_sha"), "check run")


@router.register("check_suite", action="rerequested")
async def on_check_suite_rerequested(event: sansio.Event, ctx: JobContext) -> None:
    """ "Re-run all checks": GitHub sends it only to the suite's App; the suite is ours when
    its ``app`` is this App. Its PRs are in ``pull_requests`` unless the head is in a fork;
    then the ``external_id`` of our runs in the suite names them."""
    suite = event.data.get("check_suite")
    if not isinstance(suite, dict) or not _is_our_suite(suite, ctx.settings.app_id):
        return
    repo = ctx.repo
    numbers = _numbers(suite.get("pull_requests"), repo)
    suite_id = suite.get("id")
    if not numbers and isinstance(suite_id, int) and not isinstance(suite_id, bool):
        try:
            runs = await ctx.gh.getitem(
                f"/repos/{repo}/check-suites/{suite_id}/check-runs"
                f"?check_name={quote(CHECK_NAME)}&filter=all&per_page=100"
            )
        except gidgethub.BadRequest as exc:
            if int(exc.status_code) != 404:
                raise
            runs = None  # the suite is gone: the stored PR state may still know the head
        listed = runs.get("check_runs") if isinstance(runs, dict) else None
        for run in listed if isinstance(listed, list) else []:
            named = (
                pr_of_external_id(run.get("external_id"), repo) if isinstance(run, dict) else None
            )
            if named is not None and named not in numbers:
                numbers.append(named)
    await _rerun(ctx, event, repo, numbers, suite.get("head_sha"), "check suite")


async def _rerun(
    ctx: JobContext,
    event: sansio.Event,
    repo: str,
    numbers: list[int],
    head_sha: Any,
    what: str,
) -> None:
    """Check ``numbers`` again (found by SHA when empty): the PR the delivery is keyed by in
    this job, every other one in a ``pr_check`` job of its own key."""
    if not numbers and isinstance(head_sha, str) and head_sha:
        numbers = await _prs_with_head(ctx, repo, head_sha)
    if not numbers:
        log.warning("re-run of a %s on %s in %s: no pull request found", what, head_sha, repo)
        return
    keyed = payload_pr(event.event, event.data)
    for number in dict.fromkeys(numbers):
        if number == keyed:
            await _check(ctx, repo, number, None)
            continue
        job = pr_check_job(
            repo,
            number,
            ctx.installation_id,
            dedup_id=f"rerun:{event.delivery_id}:{repo}#{number}",
        )
        await ctx.enqueue(job)
        log.info("re-run of a %s: %s#%d queued under its key", what, repo, number)


async def _prs_with_head(ctx: JobContext, repo: str, head_sha: str) -> list[int]:
    """The PRs whose head is ``head_sha``: the stored PR state first (it knows fork heads),
    then GitHub's commit pulls (open PRs only; ``[]`` for a head in a fork)."""
    numbers = await pr_state.numbers_with_head(ctx.db, repo, head_sha)
    if numbers:
        return numbers
    pulls = await ctx.gh.getitem(f"/repos/{repo}/commits/{quote(head_sha, safe='')}/pulls")
    return [int(p["number"]) for p in pulls if p.get("state") == "open"]


async def run_pr_check_job(payload: dict[str, Any], ctx: JobContext) -> None:
    """The internal ``pr_check`` job (bot.prcheck.jobs): re-read the PR and check its head."""
    request = PrCheckRequest.from_payload(payload)
    await _check(ctx, request.repo, request.number, None)
