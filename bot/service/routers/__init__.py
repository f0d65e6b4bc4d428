"""The combined router: every feature module's ``router`` under bot/service/routers/.

Modules are imported by name, so a feature that has not landed yet (or was removed) simply
contributes nothing. Internal job kinds are dispatched through the same router as synthetic
events whose event name is the job kind (``pr_check``), so a feature registers them like a
webhook: ``@router.register("pr_check")``.
"""

from __future__ import annotations

import importlib
import logging

from gidgethub import routing, sansio

log = logging.getLogger(__name__)

ROUTER_MODULES = ("pull_request", "check_run", "commands", "push", "installation")


def _load() -> tuple[routing.Router, list[str]]:
    routers: list[routing.Router] = []
    loaded: list[str] = []
    for name in ROUTER_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise  # the module exists but one of ITS imports is missing: a real bug
            continue
        router = getattr(module, "router", None)
        if isinstance(router, routing.Router):
            routers.append(router)
            loaded.append(name)
    return routing.Router(*routers), loaded


router, LOADED_MODULES = _load()


def _events(r: routing.Router) -> set[str]:
    # gidgethub keeps registrations in these two dicts keyed by event name.
    names = set(getattr(r, "_shallow_routes", {})) | set(getattr(r, "_deep_routes", {}))
    return {n for n in names if isinstance(n, str)}


# Webhook events some router handles (internal job kinds are names without a webhook).
HANDLED_EVENTS: frozenset[str] = frozenset(_events(router))


def handles(event: sansio.Event) -> bool:
    """Whether any handler would run for this event (event name AND action)."""
    return bool(router.fetch(event))
