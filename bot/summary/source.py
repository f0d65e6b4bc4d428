"""What the summary and the dashboard read, as a Protocol, with two implementations.

``StoreSource`` reads the tracking part's tables (bot.tracking.snapshots / bot.tracking.events)
and the PR-check state; ``MemorySource`` keeps hand-made values (tests, the standalone
dashboard over a seed file, see bot.summary.seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.analysis.model import Summary
from bot.store.db import Database
from bot.summary.model import OpenPullRequest
from bot.summary.weeks import as_utc
from bot.tracking.events import ModuleEvent
from bot.tracking.snapshots import ModuleHistoryPoint
from bot.tracking.state import Snapshot


class ProgressSource(Protocol):
    async def latest_snapshot(self, repo: str) -> Snapshot | None:
        """The newest snapshot of the default branch."""

    async def snapshot_at(self, repo: str, when: datetime) -> Snapshot | None:
        """The newest snapshot committed at or before ``when``."""

    async def snapshots_between(
        self, repo: str, since: datetime, until: datetime
    ) -> list[Snapshot]:
        """Snapshots with since <= committed_at <= until, oldest first (metrics and modules;
        types and findings may be left out)."""

    async def module_events(
        self,
        repo: str,
        module: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ModuleEvent]:
        """Attribution events, oldest first."""

    async def open_pull_requests(self, repo: str) -> list[OpenPullRequest]:
        """Open PRs whose last check found isolation changes."""

    async def module_history(self, repo: str, module: str) -> list[ModuleHistoryPoint]:
        """The module's state at every snapshot, oldest first (None where it did not exist);
        empty when the module was never seen."""

    async def metrics_at(self, repo: str, whens: Sequence[datetime]) -> list[Summary | None]:
        """The metrics as of each time (the last snapshot at or before it): trend charts."""


@dataclass
class MemorySource:
    """A ProgressSource over values kept in memory."""

    snapshots: dict[str, list[Snapshot]] = field(default_factory=dict)
    events: dict[str, list[ModuleEvent]] = field(default_factory=dict)
    open_prs: dict[str, list[OpenPullRequest]] = field(default_factory=dict)

    def add(
        self,
        repo: str,
        snapshots: Sequence[Snapshot] = (),
        events: Sequence[ModuleEvent] = (),
        open_prs: Sequence[OpenPullRequest] = (),
    ) -> None:
        snaps = self.snapshots.setdefault(repo, [])
        snaps.extend(snapshots)
        snaps.sort(key=lambda s: as_utc(s.committed_at))
        evs = self.events.setdefault(repo, [])
        evs.extend(events)
        evs.sort(key=lambda e: as_utc(e.at))
        self.open_prs.setdefault(repo, []).extend(open_prs)

    async def latest_snapshot(self, repo: str) -> Snapshot | None:
        snaps = self.snapshots.get(repo, [])
        return snaps[-1] if snaps else None

    async def snapshot_at(self, repo: str, when: datetime) -> Snapshot | None:
        found = None
        for snap in self.snapshots.get(repo, []):
            if as_utc(snap.committed_at) <= as_utc(when):
                found = snap
        return found

    async def snapshots_between(
        self, repo: str, since: datetime, until: datetime
    ) -> list[Snapshot]:
        lo, hi = as_utc(since), as_utc(until)
        return [s for s in self.snapshots.get(repo, []) if lo <= as_utc(s.committed_at) <= hi]

    async def module_events(
        self,
        repo: str,
        module: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ModuleEvent]:
        return [
            e
            for e in self.events.get(repo, [])
            if (module is None or e.module == module)
            and (since is None or as_utc(e.at) >= as_utc(since))
            and (until is None or as_utc(e.at) <= as_utc(until))
        ]

    async def open_pull_requests(self, repo: str) -> list[OpenPullRequest]:
        return list(self.open_prs.get(repo, []))

    async def metrics_at(self, repo: str, whens: Sequence[datetime]) -> list[Summary | None]:
        out = []
        for when in whens:
            snap = await self.snapshot_at(repo, when)
            out.append(snap.summary if snap else None)
        return out

    async def module_history(self, repo: str, module: str) -> list[ModuleHistoryPoint]:
        snaps = self.snapshots.get(repo, [])
        points = [ModuleHistoryPoint(s.sha, s.committed_at, s.module(module)) for s in snaps]
        return points if any(p.state is not None for p in points) else []


class StoreSource:
    """The production source: the tracking part's tables and the PR-check state."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def latest_snapshot(self, repo: str) -> Snapshot | None:
        from bot.tracking import snapshots

        return await snapshots.latest_snapshot(self.db, repo)

    async def snapshot_at(self, repo: str, when: datetime) -> Snapshot | None:
        from bot.tracking import snapshots

        return await snapshots.snapshot_at(self.db, repo, when)

    async def snapshots_between(
        self, repo: str, since: datetime, until: datetime
    ) -> list[Snapshot]:
        from bot.tracking import snapshots

        # The trend needs metrics and modules only: skip decoding types and findings.
        return await snapshots.snapshots_between(self.db, repo, since, until, with_findings=False)

    async def module_events(
        self,
        repo: str,
        module: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ModuleEvent]:
        from bot.tracking import events

        return await events.module_events(self.db, repo, module, since, until)

    async def open_pull_requests(self, repo: str) -> list[OpenPullRequest]:
        from bot.summary.open_prs import candidate_prs

        return await candidate_prs(self.db, repo)

    async def module_history(self, repo: str, module: str) -> list[ModuleHistoryPoint]:
        from bot.tracking import snapshots

        return await snapshots.module_history(self.db, repo, module)

    async def metrics_at(self, repo: str, whens: Sequence[datetime]) -> list[Summary | None]:
        from bot.tracking import snapshots

        return [await snapshots.summary_at(self.db, repo, when) for when in whens]
