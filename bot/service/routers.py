"""The service's one router: the features' routers, listed explicitly.

Each feature package owns a ``gidgethub.routing.Router`` named ``router`` in its ``router``
module. Internal job kinds (``pr_check``) are registered on the same routers under the job
kind as event name, so the worker dispatches webhooks and internal jobs the same way.
"""

from __future__ import annotations

from gidgethub import routing, sansio

from bot.commands.router import router as commands_router
from bot.prcheck.router import router as prcheck_router
from bot.tracking.router import router as tracking_router

router = routing.Router(prcheck_router, commands_router, tracking_router)


def handles(event: sansio.Event) -> bool:
    """Whether any handler would run for this event (event name AND action)."""
    return bool(router.fetch(event))
