"""What the service dispatches, listed explicitly: the features' routers and job handlers.

Each feature package owns a ``gidgethub.routing.Router`` named ``router`` in its ``router``
module; the worker dispatches every stored webhook to the combined :data:`router` by event
and action, and the intake stores only deliveries it :func:`handles`. Internal jobs are not
webhooks: :data:`JOB_HANDLERS` maps each internal job kind to the feature's handler.
"""

from __future__ import annotations

from gidgethub import routing, sansio

from bot.commands.router import router as commands_router
from bot.jobs import JobHandler
from bot.prcheck.jobs import PR_CHECK
from bot.prcheck.router import router as prcheck_router
from bot.prcheck.router import run_pr_check_job
from bot.prcheck.sweep import PR_RUN_SETTLE, run_settle_job
from bot.tracking.router import router as tracking_router

router = routing.Router(prcheck_router, commands_router, tracking_router)

JOB_HANDLERS: dict[str, JobHandler] = {
    PR_CHECK: run_pr_check_job,
    PR_RUN_SETTLE: run_settle_job,
}


def handles(event: sansio.Event) -> bool:
    """Whether any handler would run for this event (event name AND action)."""
    return bool(router.fetch(event))
