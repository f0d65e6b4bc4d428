"""The sweep that ends check runs whose job is gone.

A run is ended by the try that created it, by a retry of its job, or by the PR's next check
(bot.prcheck.lifecycle). None of these comes when the job is gone: dead (its workers kept
dying, or it failed for good before it could end the run) or superseded while nothing else
checks that PR. Periodically (:func:`run_periodically`, started by the service on every
replica) :func:`sweep_once` looks for runs the store knows as not completed and untouched for
longer than a job's lease plus a margin, whose PR has no job pending or running; for each it
queues one ``pr_run_settle`` job under the PR's coalescing key (so it never runs beside a
check of that PR, and a newer check of the PR supersedes it). The job re-reads the PR and
ends the run: "superseded by <sha>", "pull request closed", or "did not finish" on a head
still current. Queued at most once per run (a dedup id), so replicas sweeping at the same
time queue nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gidgethub import BadRequest

from bot.jobs import Enqueue, InternalJob, JobContext, PermanentJobError, installation_of_job
from bot.prcheck import lifecycle
from bot.prcheck import store as pr_state
from bot.prcheck.jobs import pr_key
from bot.store.db import Database

log = logging.getLogger(__name__)

PR_RUN_SETTLE = "pr_run_settle"  # the internal job kind
MARGIN_SECONDS = 60.0  # beyond the lease: a job that just lost its worker is reclaimed first
EVERY_SECONDS = 300.0
FIRST_SWEEP_DELAY_SECONDS = 90.0

InstallationFor = Callable[[str], Awaitable[int | None]]


@dataclass(frozen=True)
class SettleRequest:
    """End the run the store knew as unfinished on ``head_sha`` (``check_run_id`` None: its
    creation was under way and its id never saved)."""

    repo: str
    number: int
    head_sha: str
    check_run_id: int | None

    def fields(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "number": self.number,
            "head_sha": self.head_sha,
            "check_run_id": self.check_run_id,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> SettleRequest:
        repo, number = payload.get("repo"), payload.get("number")
        head, run_id = payload.get("head_sha"), payload.get("check_run_id")
        if not isinstance(repo, str) or repo.count("/") != 1 or not all(repo.split("/")):
            raise PermanentJobError(f"malformed {PR_RUN_SETTLE} job: repo is {repo!r}")
        if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
            raise PermanentJobError(f"malformed {PR_RUN_SETTLE} job: number is {number!r}")
        if not isinstance(head, str) or not head:
            raise PermanentJobError(f"malformed {PR_RUN_SETTLE} job: head_sha is {head!r}")
        if run_id is not None and (not isinstance(run_id, int) or isinstance(run_id, bool)):
            raise PermanentJobError(f"malformed {PR_RUN_SETTLE} job: check_run_id is {run_id!r}")
        return cls(repo, number, head, run_id)


async def _job_active(db: Database, key: str) -> bool:
    """Whether a job of coalescing ``key`` is pending or running (bot.store.queue's table):
    that job, or its retry, ends the run itself."""
    row = await db.fetchone(
        "SELECT id FROM jobs WHERE job_key = ? AND state IN ('pending', 'running') LIMIT 1",
        (key,),
    )
    return row is not None


async def sweep_once(
    db: Database,
    enqueue: Enqueue,
    installation_for: InstallationFor,
    *,
    older_than: float,
    now: float | None = None,
) -> int:
    """One pass: queue a settle job for every unfinished run untouched for ``older_than``
    seconds whose PR has no active job; the number of jobs queued. A repository whose
    installation cannot be found is skipped (logged) until the next pass."""
    now = time.time() if now is None else now
    queued = 0
    installations: dict[str, int | None] = {}
    unknown: set[str] = set()
    for state in await pr_state.unfinished_runs(db, untouched_since=now - older_than):
        key = pr_key(state.repo, state.number)
        if state.head_sha is None or state.repo in unknown or await _job_active(db, key):
            continue
        if state.repo not in installations:
            try:
                installations[state.repo] = await installation_for(state.repo)
            except Exception as exc:  # the App lost access, GitHub down: next pass
                log.warning("check-run sweep: no installation for %s: %s", state.repo, exc)
                unknown.add(state.repo)
                continue
        installation = installations[state.repo]
        request = SettleRequest(state.repo, state.number, state.head_sha, state.check_run_id)
        job = InternalJob(
            PR_RUN_SETTLE,
            request.fields(),
            installation_id=installation,
            key=key,
            dedup_id=f"settle:{state.repo}#{state.number}:{state.head_sha}:{state.check_run_id}",
            repo=state.repo,
        )
        if await enqueue(job) is not None:
            queued += 1
            log.info(
                "check-run sweep: run %s of %s#%d on %s has no job: ending it",
                state.check_run_id,
                state.repo,
                state.number,
                state.head_sha[:12],
            )
    return queued


async def run_settle_job(payload: dict[str, Any], ctx: JobContext) -> None:
    """The ``pr_run_settle`` job: end the run if the store still knows it as unfinished
    (a check of the PR may have ended or reused it since the sweep looked)."""
    installation_of_job(payload)
    request = SettleRequest.from_payload(payload)
    state = await pr_state.get(ctx.db, request.repo, request.number)
    if (
        not state.run_unfinished
        or state.head_sha != request.head_sha
        or state.check_run_id != request.check_run_id
    ):
        return
    try:
        pr = await ctx.gh.getitem(f"/repos/{request.repo}/pulls/{request.number}")
    except BadRequest as exc:
        if int(exc.status_code) not in (404, 410):
            raise
        pr = {"state": "closed"}  # the PR (or the repository) is gone
    if pr.get("state") != "open":
        reason = lifecycle.CLOSED
    elif str((pr.get("head") or {}).get("sha")) != request.head_sha:
        reason = lifecycle.superseded(str(pr["head"]["sha"]))
    else:
        reason = lifecycle.INTERRUPTED
    await lifecycle.end_run(ctx.gh, ctx.db, state, reason)


async def run_periodically(
    db: Database,
    enqueue: Enqueue,
    installation_for: InstallationFor,
    *,
    lease_seconds: float,
    every: float = EVERY_SECONDS,
    first_delay: float = FIRST_SWEEP_DELAY_SECONDS,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> None:
    """Sweep after ``first_delay``, then every ``every`` seconds, for runs untouched for the
    lease plus :data:`MARGIN_SECONDS`; ends only when cancelled. A failed pass is logged and
    the next one tries again."""
    await sleep(first_delay)
    while True:
        try:
            await sweep_once(
                db, enqueue, installation_for, older_than=lease_seconds + MARGIN_SECONDS
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("check-run sweep failed; trying again next time")
        await sleep(every)
