"""The `isolation` check run's lifecycle: every run the check creates ends completed, and a
completed run is never reopened.

GitHub makes a completed check run final: its status and conclusion cannot change again (a
PATCH that tries answers 422); a re-run is a new run, and GitHub shows the newest run of a
name. The store (bot.prcheck.store, ``PrState.run_state``) follows each PR's run:

- :func:`open_run`: a try of the check reuses the run an interrupted try of the same head left
  open (the store has its id; or a marker says its creation was under way, and the run is
  found on GitHub by its ``external_id``); otherwise it creates a new run, also when an
  earlier try completed the run of this head (neutral "could not complete", or with a
  result). A run the store knows as open is read first: an interrupted try may have
  completed it just before it died; :func:`report` then adopts it when it shows exactly the
  result (conclusion, title, summary, number of annotations), else reports in a new run.
- :func:`report`: the result completes the run together with its first annotations, the other
  annotation batches follow, and then the store records the run as reported: before the
  comment and the labels, so a retry of the same job (:func:`reported_by`) goes on with them
  and never sends the run's annotations again.
- :func:`end_run`: a run completed without a result (the check failed and is retried, the PR
  moved on or was closed, the job is gone) says why; the store records it as ended.
- A completing PATCH that GitHub refuses because the run is already completed (a killed try,
  or the sweep, got there first) is no error: a result then goes to a new run.

Who ends runs left open: the next check of the PR ends the open run of an older head
("superseded by <sha>") or of a closed PR, a reclaimed job does the same for its own run, and
the periodic sweep (bot.prcheck.sweep) ends any run whose job is gone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from bot.prcheck import check_run as check_render
from bot.prcheck import store as pr_state
from bot.prcheck.model import CheckResult
from bot.store.db import Database

log = logging.getLogger(__name__)


def external_id(repo: str, number: int) -> str:
    """What the check writes as its runs' ``external_id``: the PR it was made for."""
    return f"{repo}#{number}"


def pr_of_external_id(value: Any, repo: str) -> int | None:
    """The PR number a check run's ``external_id`` names ("owner/repo#number", as the check
    writes it), when it names a PR of ``repo`` (compared case-insensitively); else None."""
    if not isinstance(value, str):
        return None
    named, sep, number = value.rpartition("#")
    if not sep or named.lower() != repo.lower() or not number.isascii():
        return None
    if not number.isdigit() or len(number) > 9 or int(number) <= 0:
        return None
    return int(number)


def superseded(new_head: str) -> tuple[str, str, str]:
    """(conclusion, title, summary) of a run whose head is no longer the PR's."""
    return (
        "cancelled",
        "Superseded",
        f"Superseded by {new_head}: the pull request moved on to a new head, which gets "
        "its own check run.",
    )


CLOSED = (
    "neutral",
    "Pull request closed",
    "The pull request was closed (or its branch deleted) before the check finished: no result "
    "is reported. Reopening it runs the check again.",
)
INTERRUPTED = (
    "neutral",
    "Isolation check did not finish",
    "The check of this commit stopped before it finished (the process running it ended) and "
    "is not retried automatically. Press Re-run, or comment `/isolation recheck`, to run it "
    "again.",
)


def could_not_complete(exc: BaseException) -> tuple[str, str, str]:
    """(conclusion, title, summary) of a run whose check failed and is retried."""
    return (
        "neutral",
        "Isolation check could not complete",
        f"The check could not complete: {type(exc).__name__}: {str(exc)[:500]}\n\nIt is "
        "retried automatically (for as long as GitHub is down or rate-limited, a few times "
        "otherwise), in a new check run; comment `/isolation recheck` to run it again later.",
    )


async def find_open_run(gh: GitHubAPI, repo: str, number: int, head_sha: str) -> int | None:
    """This PR's `isolation` run on ``head_sha`` that is still in progress, if any."""
    url = (
        f"/repos/{repo}/commits/{quote(head_sha, safe='')}/check-runs"
        f"?check_name={quote(check_render.CHECK_NAME)}&status=in_progress&filter=all&per_page=100"
    )
    answer = await gh.getitem(url)
    for run in answer.get("check_runs") or []:
        if run.get("external_id") == external_id(repo, number):
            return int(run["id"])
    return None


async def _complete(gh: GitHubAPI, repo: str, run_id: int, body: dict[str, Any]) -> bool:
    """PATCH ``body`` (status completed, a conclusion) onto the run; False when GitHub refuses
    because the run is already completed (it is final), any other failure raised."""
    try:
        await gh.patch(f"/repos/{repo}/check-runs/{run_id}", data=body)
        return True
    except BadRequest as exc:
        if int(exc.status_code) != 422:
            raise
        run = await gh.getitem(f"/repos/{repo}/check-runs/{run_id}")
        if run.get("status") != "completed":
            raise
        log.info(
            "check run %s of %s was already completed (%s)", run_id, repo, run.get("conclusion")
        )
        return False


@dataclass(frozen=True)
class OpenRun:
    """The run a try reports on. ``completed``: GitHub's answer when the run the store knew
    as open turned out completed (an interrupted try completed it just before it died)."""

    id: int
    completed: dict[str, Any] | None = None


async def open_run(
    gh: GitHubAPI, db: Database, state: pr_state.PrState, head_sha: str, job: str | None
) -> OpenRun:
    """The run this try reports on: the one an interrupted try of ``head_sha`` left open,
    else a new one. The store knows it before GitHub does (a marker), and its id as soon as
    GitHub answers."""
    repo, number = state.repo, state.number
    found = None
    if state.head_sha == head_sha and state.run_state == pr_state.RUN_OPEN and state.check_run_id:
        # An interrupted try (killed, lease lost) left it open, as far as the store knows;
        # that try may have completed it just before it died (then it is final: see report).
        run = await gh.getitem(f"/repos/{repo}/check-runs/{state.check_run_id}")
        if run.get("status") == "completed":
            return OpenRun(state.check_run_id, completed=run)
        return OpenRun(state.check_run_id)
    if state.head_sha == head_sha and state.run_state == pr_state.RUN_CREATING:
        # An earlier try died between creating the run and saving its id: find that run
        # rather than leave it spinning beside a new one.
        found = await find_open_run(gh, repo, number, head_sha)
    if found is None:
        state.head_sha, state.check_run_id, state.conclusion = head_sha, None, None
        state.run_state, state.run_job = pr_state.RUN_CREATING, job
        await pr_state.save(db, state)  # the marker: a run for this head is being created
        run = await gh.post(
            f"/repos/{repo}/check-runs",
            data={
                "name": check_render.CHECK_NAME,
                "head_sha": head_sha,
                "status": "in_progress",
                "external_id": external_id(repo, number),
            },
        )
        found = int(run["id"])
    state.head_sha, state.check_run_id, state.conclusion = head_sha, found, None
    state.run_state, state.run_job = pr_state.RUN_OPEN, job
    await pr_state.save(db, state)
    return OpenRun(found)


async def end_run(
    gh: GitHubAPI, db: Database, state: pr_state.PrState, reason: tuple[str, str, str]
) -> None:
    """Complete the PR's unfinished run without a result, saying why (``reason``: conclusion,
    title, summary), and record it as ended. Nothing to do when the store knows no unfinished
    run; a run being created whose id was never saved is looked up on GitHub first."""
    if not state.run_unfinished or state.head_sha is None:
        return
    conclusion, title, summary = reason
    run_id = state.check_run_id
    if run_id is None:
        run_id = await find_open_run(gh, state.repo, state.number, state.head_sha)
    if run_id is not None:
        body = {
            "status": "completed",
            "conclusion": conclusion,
            "output": {"title": title, "summary": summary},
        }
        if await _complete(gh, state.repo, run_id, body):
            log.info(
                "check run %s of %s#%d on %s ended %s: %s",
                run_id,
                state.repo,
                state.number,
                state.head_sha[:12],
                conclusion,
                title,
            )
    state.check_run_id, state.conclusion = run_id, conclusion
    state.run_state = pr_state.RUN_ENDED
    await pr_state.save(db, state)


def reported_by(state: pr_state.PrState, head_sha: str, job: str | None) -> bool:
    """Whether ``job`` already completed the run of ``head_sha`` with its result (this is
    its retry: the comment or the labels failed): the run is not touched again."""
    return (
        job is not None
        and state.run_state == pr_state.RUN_REPORTED
        and state.head_sha == head_sha
        and state.run_job == job
    )


def _holds(run: dict[str, Any], first: dict[str, Any], annotations: int) -> bool:
    """Whether a completed ``run`` already shows the result whose first PATCH is ``first``
    with all its ``annotations`` (an interrupted try sent it all, then died)."""
    output = run.get("output") or {}
    return (
        run.get("conclusion") == first["conclusion"]
        and output.get("title") == first["output"].get("title")
        and output.get("summary") == first["output"].get("summary")
        and output.get("annotations_count") == annotations
    )


async def report(
    gh: GitHubAPI,
    db: Database,
    state: pr_state.PrState,
    run: OpenRun,
    result: CheckResult,
    *,
    rules_url: str,
    html_url: str,
    job: str | None,
) -> int:
    """Complete the run with ``result`` (all its annotations), then record it as reported;
    the id of the run that holds the result. A run found completed already is adopted when
    it shows exactly this result, and otherwise the result goes to a new run (a completed
    run is final)."""
    repo = state.repo
    annotations = check_render.annotations_for(result, rules_url=rules_url)
    batches = check_render.batches(annotations) or [[]]
    outputs = [
        check_render.output(result, batch, rules_url=rules_url, html_url=html_url)
        for batch in batches
    ]
    final = {"status": "completed", "conclusion": result.conclusion, "output": outputs[0]}
    run_id = run.id
    if run.completed is not None and _holds(run.completed, final, len(annotations)):
        outputs = []  # nothing left to send
    elif run.completed is not None or not await _complete(gh, repo, run_id, final):
        # Completed by someone else (an interrupted try, the sweep): it is final, so the
        # result goes to a new run, which GitHub shows as the newest.
        created = await gh.post(
            f"/repos/{repo}/check-runs",
            data={
                "name": check_render.CHECK_NAME,
                "head_sha": result.head_sha,
                "external_id": external_id(repo, result.number),
                **final,
            },
        )
        run_id = int(created["id"])
    for output in outputs[1:]:
        await gh.patch(f"/repos/{repo}/check-runs/{run_id}", data={"output": output})
    state.head_sha, state.check_run_id = result.head_sha, run_id
    state.conclusion, state.run_state, state.run_job = result.conclusion, pr_state.RUN_REPORTED, job
    await pr_state.save(db, state)
    return run_id
