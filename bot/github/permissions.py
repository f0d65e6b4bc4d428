"""Whether a user maintains a repository: the collaborator permission, cached.

Maintainer-only commands (bot.commands) ask this before they act.

GET /repos/{owner}/{repo}/collaborators/{username}/permission answers ``permission`` (the
legacy level: admin / write / read / none; "maintain" maps to write, "triage" to read) and
``role_name`` (admin / maintain / write / triage / read, or a custom role's name, or missing).
A maintainer has write, maintain or admin in EITHER field. Answers are cached per
(repo, user) for ``settings.commands.permission_cache_seconds``; errors are never cached and
deny (fail closed) with the reason, so the reply can say why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import gidgethub
from cachetools import TTLCache

MAINTAINER_LEVELS = frozenset({"write", "maintain", "admin"})
NEEDED = "write, maintain or admin"


@dataclass(frozen=True)
class PermissionResult:
    allowed: bool
    level: str | None  # the role or permission GitHub reported (None when the call failed)
    error: str | None = None  # why we could not tell (the command is denied)


def is_maintainer_answer(data: Any) -> tuple[bool, str | None]:
    """(maintainer?, the level to show) from the endpoint's JSON. Pure; tolerant of odd shapes."""
    if not isinstance(data, dict):
        return False, None
    role = data.get("role_name")
    permission = data.get("permission")
    role = role.lower() if isinstance(role, str) else None
    permission = permission.lower() if isinstance(permission, str) else None
    allowed = role in MAINTAINER_LEVELS or permission in MAINTAINER_LEVELS
    return allowed, role or permission


class PermissionChecker:
    """The cached maintainer check; the running service owns one (bot.caches.ServiceCaches),
    built with the configured cache lifetime."""

    def __init__(
        self,
        ttl_seconds: float = 300.0,
        *,
        maxsize: int = 4096,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._cache: TTLCache[tuple[str, str], PermissionResult] = TTLCache(
            maxsize=maxsize, ttl=ttl_seconds, timer=timer
        )

    def size(self) -> int:
        """Answers held (expired ones are dropped first)."""
        self._cache.expire()
        return len(self._cache)

    async def check(self, gh: Any, repo: str, user: str) -> PermissionResult:
        key = (repo.lower(), user.lower())
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        url = f"/repos/{repo}/collaborators/{quote(user, safe='')}/permission"
        try:
            data = await gh.getitem(url)
        except gidgethub.BadRequest as exc:  # 4xx (404: not a collaborator / no such user)
            status = getattr(exc, "status_code", None)
            code = int(status) if status is not None else 0
            return PermissionResult(
                False, None, f"GitHub answered {code} to the permission check for @{user}"
            )
        except Exception as exc:  # any failure (5xx after retries, network, bad JSON): deny
            return PermissionResult(
                False, None, f"the permission check failed ({type(exc).__name__})"
            )
        allowed, level = is_maintainer_answer(data)
        result = PermissionResult(allowed, level)
        self._cache[key] = result
        return result

    def clear(self) -> None:
        """Forget every cached answer (after an operator changes permissions)."""
        self._cache.clear()
