"""A seeded progress history for the dashboard tests (hand-built, deterministic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.analysis.model import Finding
from bot.summary.seed import make_event, make_snapshot
from bot.summary.source import MemorySource
from bot.tracking.state import ModuleState

REPO = "python/cpython"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday in 2026-W48


def state(name: str, stage: int, *, is_test: bool = False) -> ModuleState:
    """stage 0 single-phase with static types, 1 multi-phase, 2 + heap types, 3 done."""
    return ModuleState(
        name=name,
        path=f"Modules/{name.strip('_')}module.c",
        init="multi-phase" if stage >= 1 else "single-phase",
        multiple_interpreters="per-interpreter-gil"
        if stage >= 3
        else ("supported" if stage else None),
        is_test=is_test,
        static_types=() if stage >= 2 else (f"{name}_Type",),
        heap_types=(f"{name}_spec",) if stage >= 1 else (),
        open_findings=3 - stage,
        error_findings=1 if stage == 0 else 0,
    )


def seeded_source() -> MemorySource:
    """Eight weekly snapshots; _abc completed by PR 4242 in the last week, a regression of
    _json the week before; a module name carrying HTML to check escaping."""
    start = NOW - timedelta(weeks=8)
    stages = {"_abc": 2, "_json": 3, "readline": 0, "_csv": 3, "math": 1, "_testcapi": 0, "<b>x": 0}
    snaps, events = [], []
    for w in range(8):
        at = start + timedelta(weeks=w, days=1)
        if w == 6:
            stages["_json"] = 1
            events.append(
                make_event(
                    REPO,
                    "_json",
                    "regression",
                    at,
                    pr=4100,
                    author="bob",
                    detail="back to single-phase? no: new static types",
                )
            )
        if w == 7:
            stages["_abc"] = 3
            events.append(
                make_event(
                    REPO,
                    "_abc",
                    "completed",
                    at,
                    pr=4242,
                    author="alice",
                    detail="multi-phase, heap types, per-interpreter GIL",
                )
            )
        mods = [state(n, s, is_test=n.startswith("_test")) for n, s in stages.items()]
        findings = [
            Finding(
                "ISO005",
                "global-object",
                "error",
                "Modules/readlinemodule.c",
                10,
                1,
                10,
                9,
                "rl_state",
                "global",
            )
        ]
        snaps.append(make_snapshot(REPO, f"{w:02d}" + "ab" * 19, at, mods, findings))
    src = MemorySource()
    src.add(REPO, snaps, events)
    return src
