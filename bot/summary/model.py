"""Plain values the weekly summary and the dashboard are rendered from.

Snapshots, module states and attribution events are the tracking part's own values
(bot.tracking.state.Snapshot / ModuleState, bot.tracking.events.ModuleEvent); this module holds
what the summary derives from them, so the pure renderers can be tested with hand-built data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.analysis.model import Finding, Summary

Direction = Literal["forward", "backward"]

# Attribution event kinds (bot.tracking.events.EVENT_KINDS) that undo isolation work.
BACKWARD_KINDS = frozenset({"regression"})


def direction_of(kind: str) -> Direction:
    k = kind.lower()
    return "backward" if k in BACKWARD_KINDS or "regress" in k else "forward"


@dataclass(frozen=True, slots=True)
class OpenPullRequest:
    """An open PR whose last check found isolation changes (from the PR-check state)."""

    number: int
    title: str | None = None
    author: str | None = None
    improvements: int = 0
    regressions: int = 0
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PullRequestChange:
    """One merged PR (or direct push) of the week and what it did, grouped from its events."""

    number: int | None  # None: a push without an associated PR
    sha: str
    author: str | None
    direction: Direction
    modules: tuple[str, ...]
    details: tuple[str, ...]
    title: str | None = None


@dataclass(frozen=True, slots=True)
class ModuleRow:
    """One line of the dashboard's module table (and of the remaining-work lists)."""

    name: str
    path: str
    init: str  # "multi-phase" | "single-phase"
    slot: str  # the Py_mod_multiple_interpreters value; "none" when not declared
    static_types: tuple[str, ...]
    open_findings: int
    error_findings: int
    is_test: bool
    status: str  # "done" | "partly" | "not-started" (ModuleState.status)
    completed_by: int | None = None  # the PR that completed the module, when known

    @property
    def has_gil_slot(self) -> bool:
        return self.slot == "per-interpreter-gil"


@dataclass(frozen=True, slots=True)
class TrendPoint:
    label: str  # "2026-W48"
    at: datetime
    summary: Summary


@dataclass(frozen=True, slots=True)
class CompletedModule:
    name: str
    pr: int | None = None


@dataclass(slots=True)
class WeeklyData:
    """Everything the weekly summary shows, assembled by bot.summary.assemble."""

    repo: str
    week: str  # "2026-W48"
    since: datetime
    until: datetime
    current: Summary | None  # None: nothing analysed yet
    previous: Summary | None  # at the start of the window; None when there was no snapshot
    sha: str | None = None
    changes: list[PullRequestChange] = field(default_factory=list)
    completed: list[CompletedModule] = field(default_factory=list)
    new_errors: list[Finding] = field(default_factory=list)
    open_prs: list[OpenPullRequest] = field(default_factory=list)
    # False when open_prs were not confirmed with GitHub (CLI preview): recently checked PRs.
    open_prs_confirmed: bool = True
    single_phase: list[ModuleRow] = field(default_factory=list)
    static_types_left: list[ModuleRow] = field(default_factory=list)
    without_gil_slot: list[ModuleRow] = field(default_factory=list)
    trend: list[TrendPoint] = field(default_factory=list)
    late: bool = False
    scheduled_at: datetime | None = None
    # More than 1 when earlier weeks' posts were missed and this one covers them too.
    weeks_covered: int = 1
