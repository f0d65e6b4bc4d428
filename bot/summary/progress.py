"""Pure computations over snapshots and attribution events: module rows, completed modules,
new error findings, the week's merged changes. Shared by the weekly summary and the dashboard so
both say the same thing about a module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from bot.analysis.model import Finding
from bot.summary.model import CompletedModule, ModuleRow, PullRequestChange, direction_of
from bot.tracking.events import ModuleEvent
from bot.tracking.state import Snapshot

# Query-parameter filters of the module table (dashboard and /api/modules).
FILTERS: dict[str, str] = {
    "all": "every module",
    "single-phase": "single-phase init",
    "multi-phase": "multi-phase init",
    "done": "fully isolated",
    "partly": "partly done",
    "not-started": "not started",
    "no-gil-slot": "without the per-interpreter GIL slot",
    "static-types": "with static types left",
    "findings": "with open findings",
    "stdlib": "stdlib only (no test modules)",
}
_FILTER_TESTS: dict[str, Callable[[ModuleRow], bool]] = {
    "all": lambda r: True,
    "single-phase": lambda r: r.init == "single-phase",
    "multi-phase": lambda r: r.init == "multi-phase",
    "done": lambda r: r.status == "done",
    "partly": lambda r: r.status == "partly",
    "not-started": lambda r: r.status == "not-started",
    "no-gil-slot": lambda r: not r.has_gil_slot,
    "static-types": lambda r: bool(r.static_types),
    "findings": lambda r: r.open_findings > 0,
    "stdlib": lambda r: not r.is_test,
}
_STATUS_ORDER = {"not-started": 0, "partly": 1, "done": 2}
_SORT_KEYS: dict[str, Callable[[ModuleRow], tuple[object, ...]]] = {
    "name": lambda r: (r.name.lower(),),
    "path": lambda r: (r.path, r.name.lower()),
    "init": lambda r: (r.init, r.name.lower()),
    "slot": lambda r: (r.slot, r.name.lower()),
    "static_types": lambda r: (len(r.static_types), r.name.lower()),
    "findings": lambda r: (r.open_findings, r.name.lower()),
    "status": lambda r: (_STATUS_ORDER.get(r.status, -1), r.name.lower()),
}
SORT_KEYS = tuple(_SORT_KEYS)


def completing_prs(events: Iterable[ModuleEvent]) -> dict[str, int]:
    """module -> the PR of its latest "completed" event not undone by a later regression."""
    found: dict[str, int] = {}
    for e in events:  # oldest first: later events win
        if e.kind == "completed" and e.pr_number is not None:
            found[e.module] = e.pr_number
        elif direction_of(e.kind) == "backward":
            found.pop(e.module, None)
    return found


def module_rows(snapshot: Snapshot, events: Iterable[ModuleEvent] = ()) -> list[ModuleRow]:
    """One row per module of the snapshot, sorted by name."""
    completed_by = completing_prs(events)
    rows = [
        ModuleRow(
            name=m.name,
            path=m.path,
            init=m.init,
            slot=m.multiple_interpreters or "none",
            static_types=tuple(m.static_types),
            open_findings=m.open_findings,
            error_findings=m.error_findings,
            is_test=m.is_test,
            status=m.status,
            completed_by=completed_by.get(m.name) if m.status == "done" else None,
        )
        for m in snapshot.modules
    ]
    rows.sort(key=lambda r: (r.name.lower(), r.path))
    return rows


def filter_rows(rows: Sequence[ModuleRow], name: str) -> list[ModuleRow]:
    test = _FILTER_TESTS.get(name)
    if test is None:
        raise ValueError(f"unknown filter {name!r}; one of: {', '.join(FILTERS)}")
    return [r for r in rows if test(r)]


def sort_rows(rows: Sequence[ModuleRow], key: str, descending: bool = False) -> list[ModuleRow]:
    keyfunc = _SORT_KEYS.get(key)
    if keyfunc is None:
        raise ValueError(f"unknown sort key {key!r}; one of: {', '.join(SORT_KEYS)}")
    return sorted(rows, key=keyfunc, reverse=descending)


def completed_modules(
    before: Snapshot | None, after: Snapshot, events: Sequence[ModuleEvent] = ()
) -> list[CompletedModule]:
    """Modules done in ``after`` that were not done (or did not exist) in ``before``."""
    done_before = {m.name for m in before.modules if m.status == "done"} if before else set()
    prs = completing_prs(events)
    return sorted(
        (
            CompletedModule(m.name, prs.get(m.name))
            for m in after.modules
            if m.status == "done" and m.name not in done_before
        ),
        key=lambda c: c.name.lower(),
    )


def new_error_findings(before: Snapshot | None, after: Snapshot) -> list[Finding]:
    """Error findings on ``after`` (not suppressed) whose identity was not on ``before``."""
    seen = {f.match_key() for f in before.findings} if before else set()
    found = [
        f
        for f in after.findings
        if f.severity == "error" and f.status != "suppressed" and f.match_key() not in seen
    ]
    return sorted(found, key=lambda f: (f.path, f.line, f.rule, f.symbol))


def group_changes(events: Iterable[ModuleEvent]) -> list[PullRequestChange]:
    """Group attribution events by PR (or by commit when there is no PR), oldest first.

    A PR whose events go both ways counts as backward: a regression must not hide behind
    progress made in the same PR.
    """
    groups: dict[tuple[int | None, str], list[ModuleEvent]] = {}
    for e in events:
        key = (e.pr_number, "" if e.pr_number is not None else e.sha)
        groups.setdefault(key, []).append(e)
    changes = []
    for (pr, _), evs in groups.items():
        backward = any(direction_of(e.kind) == "backward" for e in evs)
        changes.append(
            PullRequestChange(
                number=pr,
                sha=evs[-1].sha,
                author=next((e.author for e in reversed(evs) if e.author), None),
                direction="backward" if backward else "forward",
                modules=tuple(dict.fromkeys(e.module for e in evs)),
                details=tuple(dict.fromkeys(f"{e.module}: {e.detail}" for e in evs)),
            )
        )
    return changes
