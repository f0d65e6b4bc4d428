"""What `/isolation status` reads: the analysis of the default branch, behind a small Protocol.

The tracking part (bot/tracking/snapshots.py, bot/tracking/events.py) stores a snapshot per
analysed commit of the default branch and attribution events (which PR changed a module).
:class:`TrackingStatusSource` adapts those; tests and other callers may pass anything that
satisfies :class:`StatusSource`. ``latest_snapshot`` returns None when the default branch has
not been analysed yet (the reply then says to run ``isolation-bot sync``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.analysis.model import Finding, Summary, TypeInfo
from bot.store.db import Database
from bot.tracking.events import module_events
from bot.tracking.snapshots import latest_snapshot


@dataclass(frozen=True)
class ModuleView:
    """One module's isolation state on the default branch (what the reply shows)."""

    name: str
    path: str
    init: str  # "multi-phase" | "single-phase"
    multiple_interpreters: str | None  # None for single-phase modules (no slots)
    static_types: tuple[str, ...] = ()
    heap_types: tuple[str, ...] = ()
    is_test: bool = False


@dataclass(frozen=True)
class BranchSnapshot:
    """The latest analysed commit of the default branch."""

    sha: str
    summary: Summary
    modules: tuple[ModuleView, ...]
    types: tuple[TypeInfo, ...] = ()
    findings: tuple[Finding, ...] = ()  # open findings
    committed_at: datetime | None = None

    def module(self, name: str) -> ModuleView | None:
        for m in self.modules:
            if m.name == name:
                return m
        lowered = name.lower()
        for m in self.modules:
            if m.name.lower() == lowered:
                return m
        return None


@dataclass(frozen=True)
class ModuleChange:
    """A recorded change of a module's isolation state (attributed to a PR when known)."""

    kind: str  # "multi-phase", "heap-types", "per-interpreter-gil", "completed", "regression"
    sha: str
    pr_number: int | None = None
    author: str | None = None
    at: datetime | None = None
    detail: str = ""


class StatusSource(Protocol):
    async def latest_snapshot(self, repo: str) -> BranchSnapshot | None: ...

    async def module_events(self, repo: str, module: str) -> list[ModuleChange]: ...


@dataclass
class TrackingStatusSource:
    """The store-backed source: the tracking part's snapshot and event queries."""

    db: Database
    _notes: list[str] = field(default_factory=list)

    async def latest_snapshot(self, repo: str) -> BranchSnapshot | None:
        snap = await latest_snapshot(self.db, repo)
        if snap is None:
            return None
        return BranchSnapshot(
            sha=snap.sha,
            summary=snap.summary,
            modules=tuple(_module_view(m) for m in snap.modules),
            types=tuple(snap.types),
            findings=tuple(snap.findings),
            committed_at=snap.committed_at,
        )

    async def module_events(self, repo: str, module: str) -> list[ModuleChange]:
        events = await module_events(self.db, repo, module)
        return [
            ModuleChange(
                kind=e.kind,
                sha=e.sha,
                pr_number=e.pr_number,
                author=e.author,
                at=e.at,
                detail=e.detail,
            )
            for e in events
        ]


def _module_view(m: Any) -> ModuleView:
    return ModuleView(
        name=str(m.name),
        path=str(m.path),
        init=str(m.init),
        multiple_interpreters=m.multiple_interpreters,
        static_types=tuple(m.static_types),
        heap_types=tuple(m.heap_types),
        is_test=bool(m.is_test),
    )
