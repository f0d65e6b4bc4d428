"""What the service dispatches, listed explicitly: the features' routers and job handlers.

Each feature package owns a ``gidgethub.routing.Router`` named ``router`` in its ``router``
module; the worker dispatches every stored webhook to the combined :data:`router` by event
and action, and the intake stores only deliveries it :func:`handles`. Internal jobs are not
webhooks: :data:`JOB_HANDLERS` maps each internal job kind to the feature's handler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gidgethub import routing, sansio

from bot.commands.router import router as commands_router
from bot.config import Settings
from bot.jobs import JobHandler
from bot.prcheck.jobs import PR_CHECK
from bot.prcheck.router import router as prcheck_router
from bot.prcheck.router import run_pr_check_job
from bot.prcheck.sweep import PR_RUN_SETTLE, run_settle_job
from bot.tracking.router import router as tracking_router
from bot.tracking.router import wants_issue_event

router = routing.Router(prcheck_router, commands_router, tracking_router)

JOB_HANDLERS: dict[str, JobHandler] = {
    PR_CHECK: run_pr_check_job,
    PR_RUN_SETTLE: run_settle_job,
}


# Deliveries a feature takes only in part, asked before storing: a busy repository's other
# issue edits are answered 202 "ignored" and cost no job.
PRE_STORE_FILTERS: dict[str, Callable[[dict[str, Any], Settings], bool]] = {
    "issues": wants_issue_event,
}


def handles(event: sansio.Event) -> bool:
    """Whether any handler would run for this event (event name AND action)."""
    return bool(router.fetch(event))


def wanted(event: sansio.Event, settings: Settings) -> bool:
    """Whether the feature handling this (well-formed) delivery wants this very one
    (:data:`PRE_STORE_FILTERS`); asked by the intake after :func:`handles` and the shape check."""
    wants = PRE_STORE_FILTERS.get(event.event)
    return wants is None or wants(event.data, settings)
