"""What the pull-request check remembers per PR: its check run and where that run is in its
lifecycle (bot.prcheck.lifecycle), its comment, the labels it added, the result."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from bot.store.db import Database, Row

# Where the PR's `isolation` check run is (``PrState.run_state``).
RUN_CREATING = "creating"  # being created for head_sha: its id is not known yet
RUN_OPEN = "in_progress"  # check_run_id is open (in progress on GitHub)
RUN_REPORTED = "reported"  # completed with the check's result (comment and labels may follow)
RUN_ENDED = "ended"  # completed without a result (could not complete, superseded, closed)
UNFINISHED = (RUN_CREATING, RUN_OPEN)


@dataclass
class PrState:
    repo: str
    number: int
    head_sha: str | None = None
    check_run_id: int | None = None
    conclusion: str | None = None
    comment_id: int | None = None
    comment_hash: str | None = None
    labels_added: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None
    run_state: str | None = None  # RUN_* (None: the check never made a run for this PR)
    run_job: str | None = None  # the job that reported the run's result

    @property
    def run_unfinished(self) -> bool:
        """The store knows of a run (or a run being created) that is not completed yet."""
        return self.run_state in UNFINISHED


def _from_row(row: Row) -> PrState:
    try:
        labels = json.loads(row.get("labels_added") or "[]")
    except ValueError:
        labels = []
    try:
        result = json.loads(row["result"]) if row.get("result") else None
    except ValueError:
        result = None
    return PrState(
        repo=str(row["repo"]),
        number=int(row["number"]),
        head_sha=row.get("head_sha"),
        check_run_id=int(row["check_run_id"]) if row.get("check_run_id") is not None else None,
        conclusion=row.get("conclusion"),
        comment_id=int(row["comment_id"]) if row.get("comment_id") is not None else None,
        comment_hash=row.get("comment_hash"),
        labels_added=[str(x) for x in labels if isinstance(x, str)],
        result=result if isinstance(result, dict) else None,
        run_state=row.get("run_state"),
        run_job=row.get("run_job"),
    )


async def get(db: Database, repo: str, number: int) -> PrState:
    """The PR's state; a fresh (empty) one when the bot never reported on it."""
    row = await db.fetchone("SELECT * FROM pr_state WHERE repo = ? AND number = ?", (repo, number))
    return _from_row(row) if row else PrState(repo=repo, number=number)


async def save(db: Database, state: PrState) -> None:
    await db.execute(
        "INSERT INTO pr_state (repo, number, head_sha, check_run_id, conclusion, comment_id,"
        " comment_hash, labels_added, result, run_state, run_job, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (repo, number) DO UPDATE SET head_sha = excluded.head_sha,"
        " check_run_id = excluded.check_run_id, conclusion = excluded.conclusion,"
        " comment_id = excluded.comment_id, comment_hash = excluded.comment_hash,"
        " labels_added = excluded.labels_added, result = excluded.result,"
        " run_state = excluded.run_state, run_job = excluded.run_job,"
        " updated_at = excluded.updated_at",
        (
            state.repo,
            state.number,
            state.head_sha,
            state.check_run_id,
            state.conclusion,
            state.comment_id,
            state.comment_hash,
            json.dumps(sorted(set(state.labels_added))),
            json.dumps(state.result) if state.result is not None else None,
            state.run_state,
            state.run_job,
            time.time(),
        ),
    )


async def numbers_with_head(db: Database, repo: str, head_sha: str) -> list[int]:
    """The pull requests of ``repo`` the check last ran on ``head_sha``, newest first.

    How a re-run finds its PR when GitHub's payload cannot say (a head in a fork)."""
    rows = await db.fetchall(
        "SELECT number FROM pr_state WHERE repo = ? AND head_sha = ? ORDER BY number DESC",
        (repo, head_sha),
    )
    return [int(row["number"]) for row in rows]


async def unfinished_runs(db: Database, *, untouched_since: float) -> list[PrState]:
    """PRs whose run the store knows as not completed (open, or being created) and whose
    state nobody saved since ``untouched_since`` (epoch seconds): the sweep's candidates."""
    rows = await db.fetchall(
        "SELECT * FROM pr_state WHERE run_state IN (?, ?) AND updated_at < ? ORDER BY updated_at",
        (*UNFINISHED, untouched_since),
    )
    return [_from_row(row) for row in rows]
