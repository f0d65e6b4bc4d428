"""The caches the running service owns, handed to every job through its JobContext.

One ``ServiceCaches`` per service (bot.service.state.ServiceState builds it from Settings);
a context built without one (a test, a CLI command) gets a fresh set. Nothing is cached in
module globals: two services in one process (the tests, the demo) never share an answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import Settings
from bot.github.gitdata import GitData
from bot.github.permissions import PermissionChecker
from bot.store.analysis_cache import AnalysisCache


@dataclass
class ServiceCaches:
    git: GitData = field(default_factory=GitData)  # blobs and tree listings by SHA
    analysis: AnalysisCache = field(default_factory=AnalysisCache)  # reports by blob + path
    permissions: PermissionChecker = field(default_factory=PermissionChecker)  # maintainers

    @classmethod
    def for_settings(cls, settings: Settings) -> ServiceCaches:
        ttl = float(settings.commands.permission_cache_seconds)
        return cls(permissions=PermissionChecker(ttl))

    def sizes(self) -> dict[str, tuple[int, int | None]]:
        """{cache: (entries, bytes)} for the metrics; bytes only where the bound is in bytes."""
        return {
            "blobs": (len(self.git.blobs), int(self.git.blobs.currsize)),
            "trees": (len(self.git.trees), None),
            "analyses": (len(self.analysis.memory), None),
            "permissions": (self.permissions.size(), None),
        }

    def clear(self) -> None:
        """Forget everything kept in memory (the benchmark's cold-cache figure)."""
        self.git.clear()
        self.analysis.clear()
        self.permissions.clear()
