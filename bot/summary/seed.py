"""Seed data for the dashboard and the summary: a JSON seed format, a synthetic demo history,
and writing either into the real store (bot.tracking tables).

Seed JSON (one repository)::

    {"repo": "python/cpython",
     "snapshots": [{"sha": "...", "committed_at": "2026-11-02T10:00:00Z",
                    "modules": [ModuleState dicts], "findings": [Finding dicts]}],
     "events": [{"module": "_abc", "kind": "completed", "pr_number": 12345, "sha": "...",
                 "author": "someone", "at": "...", "detail": "..."}],
     "open_prs": [{"number": 12400, "title": "...", "author": "...", "improvements": 1}]}

A snapshot's metrics are computed from its modules when it has no "summary".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.analysis.model import Finding, Metric, Ratio, Summary
from bot.store.db import Database
from bot.summary.model import OpenPullRequest
from bot.summary.source import MemorySource
from bot.tracking.events import ModuleEvent, event_id, save_events
from bot.tracking.state import ModuleState, Snapshot, format_time, parse_time


class SeedError(ValueError):
    """A malformed seed document, with the place of the problem."""


def _ratio(done: int, total: int) -> Ratio:
    return Ratio(done, total)


def summary_of(modules: Sequence[ModuleState]) -> Summary:
    """Metrics from module states (the definitions of docs/metrics: per module init function;
    heap types over heap + static types)."""

    def metric(mods: Sequence[ModuleState]) -> tuple[Metric, Metric, Metric]:
        stdlib = [m for m in mods if not m.is_test]

        def three(ms: Sequence[ModuleState]) -> tuple[Ratio, Ratio, Ratio]:
            heap = sum(len(m.heap_types) for m in ms)
            static = sum(len(m.static_types) for m in ms)
            return (
                _ratio(sum(m.multi_phase for m in ms), len(ms)),
                _ratio(heap, heap + static),
                _ratio(sum(m.per_interpreter_gil for m in ms), len(ms)),
            )

        a, s = three(mods), three(stdlib)
        return Metric(a[0], s[0]), Metric(a[1], s[1]), Metric(a[2], s[2])

    mp, ht, gil = metric(modules)
    return Summary(multi_phase=mp, heap_types=ht, per_interpreter_gil=gil)


def make_snapshot(
    repo: str,
    sha: str,
    committed_at: datetime,
    modules: Iterable[ModuleState],
    findings: Iterable[Finding] = (),
    source: str = "push",
) -> Snapshot:
    mods = tuple(sorted(modules, key=lambda m: m.name))
    return Snapshot(
        repo=repo,
        sha=sha,
        committed_at=committed_at,
        summary=summary_of(mods),
        modules=mods,
        findings=tuple(findings),
        source=source,
        created_at=committed_at,
    )


def make_event(
    repo: str,
    module: str,
    kind: str,
    at: datetime,
    *,
    pr: int | None = None,
    author: str | None = None,
    sha: str = "",
    detail: str = "",
) -> ModuleEvent:
    sha = sha or hashlib.sha1(f"{module}{kind}{at}".encode()).hexdigest()
    detail = detail or kind
    return ModuleEvent(
        id=event_id(repo, module, kind, sha, detail),
        repo=repo,
        module=module,
        kind=kind,
        pr_number=pr,
        sha=sha,
        author=author,
        at=at,
        detail=detail,
    )


def _field(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise SeedError(f"{where}: missing {key!r}")
    return d[key]


def load_seed(data: dict[str, Any], source: MemorySource | None = None) -> MemorySource:
    """A MemorySource from a seed document (see the module docstring)."""
    source = source or MemorySource()
    if not isinstance(data, dict):
        raise SeedError("seed: expected a JSON object")
    repo = str(_field(data, "repo", "seed"))
    snaps, events, prs = [], [], []
    try:
        for i, s in enumerate(data.get("snapshots", [])):
            where = f"snapshots[{i}]"
            mods = [ModuleState.from_dict(m) for m in _field(s, "modules", where)]
            findings = [Finding.from_dict(f) for f in s.get("findings", [])]
            snap = make_snapshot(
                repo,
                str(_field(s, "sha", where)),
                parse_time(str(_field(s, "committed_at", where))),
                mods,
                findings,
            )
            if "summary" in s:
                snap = replace(snap, summary=Summary.from_dict(s["summary"]))
            snaps.append(snap)
        for i, e in enumerate(data.get("events", [])):
            where = f"events[{i}]"
            events.append(
                make_event(
                    repo,
                    str(_field(e, "module", where)),
                    str(_field(e, "kind", where)),
                    parse_time(str(_field(e, "at", where))),
                    pr=e.get("pr_number"),
                    author=e.get("author"),
                    sha=str(e.get("sha", "")),
                    detail=str(e.get("detail", "")),
                )
            )
        for i, p in enumerate(data.get("open_prs", [])):
            prs.append(
                OpenPullRequest(
                    number=int(_field(p, "number", f"open_prs[{i}]")),
                    title=p.get("title"),
                    author=p.get("author"),
                    improvements=int(p.get("improvements", 0)),
                    regressions=int(p.get("regressions", 0)),
                )
            )
    except SeedError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SeedError(f"seed: malformed entry: {exc!r}") from exc
    source.add(repo, snaps, events, prs)
    return source


def dump_seed(source: MemorySource, repo: str) -> dict[str, Any]:
    """The seed document of one repository of ``source`` (``load_seed`` reads it back)."""
    return {
        "repo": repo,
        "snapshots": [
            {
                "sha": s.sha,
                "committed_at": format_time(s.committed_at),
                "summary": s.summary.to_dict(),
                "modules": [m.to_dict() for m in s.modules],
                "findings": [f.to_dict() for f in s.findings],
            }
            for s in source.snapshots.get(repo, [])
        ],
        "events": [
            {k: v for k, v in e.to_dict().items() if k != "repo"}
            for e in source.events.get(repo, [])
        ],
        "open_prs": [
            {
                "number": p.number,
                "title": p.title,
                "author": p.author,
                "improvements": p.improvements,
                "regressions": p.regressions,
            }
            for p in source.open_prs.get(repo, [])
        ],
    }


def load_seed_file(path: str | Path) -> MemorySource:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SeedError(f"cannot read seed file {path}: {exc}") from exc
    return load_seed(data)


# A synthetic effort: module names and how far along each is at the start.
_DEMO_MODULES = [
    ("_abc", "Modules/_abc.c"),
    ("_asyncio", "Modules/_asynciomodule.c"),
    ("_bisect", "Modules/_bisectmodule.c"),
    ("_csv", "Modules/_csv.c"),
    ("_curses", "Modules/_cursesmodule.c"),
    ("_curses_panel", "Modules/_curses_panel.c"),
    ("_datetime", "Modules/_datetimemodule.c"),
    ("_decimal", "Modules/_decimal/_decimal.c"),
    ("_elementtree", "Modules/_elementtree.c"),
    ("_json", "Modules/_json.c"),
    ("_pickle", "Modules/_pickle.c"),
    ("_sqlite3", "Modules/_sqlite/module.c"),
    ("_ssl", "Modules/_ssl.c"),
    ("_tkinter", "Modules/_tkinter.c"),
    ("array", "Modules/arraymodule.c"),
    ("faulthandler", "Modules/faulthandler.c"),
    ("math", "Modules/mathmodule.c"),
    ("readline", "Modules/readline.c"),
    ("select", "Modules/selectmodule.c"),
    ("_testcapi", "Modules/_testcapimodule.c"),
]


def _demo_state(name: str, path: str, stage: int) -> ModuleState:
    """stage 0: single-phase with static types ... 3: done."""
    is_test = name.startswith("_test")
    static = (f"{name}_Type", f"{name}_IterType") if stage < 2 else ()
    heap = (f"{name}_spec",) if stage >= 1 else ()
    return ModuleState(
        name=name,
        path=path,
        init="multi-phase" if stage >= 1 else "single-phase",
        multiple_interpreters="per-interpreter-gil"
        if stage >= 3
        else ("supported" if stage >= 1 else None),
        is_test=is_test,
        static_types=static,
        heap_types=heap,
        open_findings=max(0, 3 - stage),
        error_findings=1 if stage == 0 else 0,
    )


def demo_source(repo: str, until: datetime, weeks: int = 16) -> MemorySource:
    """A plausible history: one snapshot per week, one module moving forward most weeks, one
    regression, two open PRs. Deterministic for a given ``until``."""
    stages = {name: (i * 7) % 4 for i, (name, _) in enumerate(_DEMO_MODULES)}
    stages["readline"] = 0
    stages["_tkinter"] = 0
    authors = ("ericsnowcurrently", "encukou", "erlend-aasland", "vstinner", "kumaraditya303")
    snaps, events = [], []
    start = until - timedelta(weeks=weeks)
    names = [n for n, _ in _DEMO_MODULES]
    for w in range(weeks):
        at = start + timedelta(weeks=w, days=2)
        if w:
            name = names[(w * 7) % len(names)]
            old = stages[name]
            pr = 110000 + w
            sha = hashlib.sha1(f"demo{w}".encode()).hexdigest()
            if w == weeks // 2:  # one regression, to show it: a module that has progress
                name = next((n for n in names if stages[n] >= 2), name)
                old = stages[name]
                stages[name] = max(0, old - 1)
                if stages[name] != old:
                    events.append(
                        make_event(
                            repo,
                            name,
                            "regression",
                            at,
                            pr=pr,
                            author=authors[w % 5],
                            sha=sha,
                            detail="back to single-phase init",
                        )
                    )
            elif old < 3:
                stages[name] = old + 1
                kind = ("multi-phase", "heap-types", "completed")[old]
                events.append(
                    make_event(
                        repo,
                        name,
                        kind,
                        at,
                        pr=pr,
                        author=authors[w % 5],
                        sha=sha,
                        detail=f"{kind} ({name})",
                    )
                )
        mods = [_demo_state(n, p, stages[n]) for n, p in _DEMO_MODULES]
        findings = [
            Finding(
                "ISO005",
                "global-object",
                "error",
                p,
                10 + w,
                1,
                10 + w,
                20,
                f"{n}_state",
                "mutable global object pointer",
            )
            for n, p in _DEMO_MODULES
            if stages[n] == 0
        ]
        sha = hashlib.sha1(f"snap{w}".encode()).hexdigest()
        snaps.append(make_snapshot(repo, sha, at, mods, findings))
    source = MemorySource()
    source.add(
        repo,
        snaps,
        events,
        [
            OpenPullRequest(120001, "gh-103092: Isolate the readline module", "someone", 2, 0),
            OpenPullRequest(120002, "Add a static cache to _json", "another", 0, 1),
        ],
    )
    return source


async def seed_store(db: Database, source: MemorySource) -> None:
    """Write a MemorySource's snapshots and events into the store's tracking tables."""
    from bot.tracking.snapshots import save_snapshot

    for snaps in source.snapshots.values():
        for snap in snaps:
            await save_snapshot(db, snap)
    for evs in source.events.values():
        await save_events(db, evs)
