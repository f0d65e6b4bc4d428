"""Per-module isolation state and snapshots as plain values (pure: no I/O).

A ``Snapshot`` is what the bot knows about one commit of the default branch: the metrics, one
``ModuleState`` per module, the types and the open findings. ``snapshot_from_tree`` derives it
from the analysis core's ``TreeReport``; ``bot.tracking.snapshots`` stores and queries them.
"""

from __future__ import annotations

import posixpath
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from bot.analysis.model import Finding, Summary, TreeReport, TypeInfo
from bot.store.db import format_time as format_time  # the store's timestamp text

ModuleStatus = Literal["done", "partly", "not-started"]

# Rules about process-wide C state; shown as "global state" work left in the checklist.
GLOBAL_STATE_RULES = frozenset({"ISO005", "ISO006", "ISO012", "ISO013", "ISO018"})


def parse_time(text: str) -> datetime:
    """Parse GitHub / git / stored timestamps ("Z" or "+hh:mm" offsets) into aware UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class ModuleState:
    """One module's isolation state at one commit."""

    name: str
    path: str
    init: str  # "multi-phase" | "single-phase"
    multiple_interpreters: str | None  # ModuleInfo.multiple_interpreters
    is_test: bool
    static_types: tuple[str, ...] = ()
    heap_types: tuple[str, ...] = ()
    open_findings: int = 0  # findings not suppressed (new + known)
    error_findings: int = 0
    global_state_findings: int = 0  # ISO005/006/012/013/018

    @property
    def multi_phase(self) -> bool:
        return self.init == "multi-phase"

    @property
    def heap_types_done(self) -> bool:
        return not self.static_types

    @property
    def per_interpreter_gil(self) -> bool:
        return self.multiple_interpreters == "per-interpreter-gil"

    @property
    def status(self) -> ModuleStatus:
        if self.multi_phase and self.heap_types_done and self.per_interpreter_gil:
            return "done"
        # Nothing of the work started: still single-phase and no type converted yet.
        if not self.multi_phase and not self.heap_types:
            return "not-started"
        return "partly"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["static_types"] = list(self.static_types)
        d["heap_types"] = list(self.heap_types)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModuleState:
        return cls(
            name=str(d["name"]),
            path=str(d.get("path", "")),
            init=str(d.get("init", "single-phase")),
            multiple_interpreters=d.get("multiple_interpreters"),
            is_test=bool(d.get("is_test", False)),
            static_types=tuple(d.get("static_types", ())),
            heap_types=tuple(d.get("heap_types", ())),
            open_findings=int(d.get("open_findings", 0)),
            error_findings=int(d.get("error_findings", 0)),
            global_state_findings=int(d.get("global_state_findings", 0)),
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state of one analysed commit of a repository's default branch."""

    repo: str
    sha: str
    committed_at: datetime
    summary: Summary
    modules: tuple[ModuleState, ...]
    types: tuple[TypeInfo, ...] = ()
    findings: tuple[Finding, ...] = ()  # open findings only (suppressed ones dropped)
    source: str = "push"  # "push" | "sync" | "history"
    files: int = 0
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def module(self, name: str) -> ModuleState | None:
        for m in self.modules:
            if m.name == name:
                return m
        return None


def _module_of_paths(tree: TreeReport) -> dict[str, str]:
    """Map file paths to the module they belong to: the init's file, files of its types."""
    owner: dict[str, str] = {}
    for m in tree.modules:
        owner.setdefault(m.path, m.name)
    for t in tree.types:
        if t.module:
            owner.setdefault(t.path, t.module)
    return owner


def _owner(path: str, owner: dict[str, str], dir_owner: dict[str, str]) -> str | None:
    if path in owner:
        return owner[path]
    return dir_owner.get(posixpath.dirname(path))


def module_states(tree: TreeReport) -> list[ModuleState]:
    """One ``ModuleState`` per module of the tree report, sorted by name."""
    owner = _module_of_paths(tree)
    # Multi-file modules (Modules/_io/, Modules/_sqlite/ ...): a folder below the top-level
    # source folders whose files belong to exactly one module.
    dirs: dict[str, set[str]] = {}
    for path, name in owner.items():
        d = posixpath.dirname(path)
        if "/" in d:
            dirs.setdefault(d, set()).add(name)
    dir_owner = {d: next(iter(names)) for d, names in dirs.items() if len(names) == 1}

    static: dict[str, list[str]] = {}
    heap: dict[str, list[str]] = {}
    for t in tree.types:
        type_owner = t.module or _owner(t.path, owner, dir_owner)
        if type_owner is None or t.exempt:
            continue
        (static if t.kind == "static" else heap).setdefault(type_owner, []).append(t.name)
    counts: dict[str, list[int]] = {}
    for f in tree.findings:
        if f.status == "suppressed":
            continue
        finding_owner = _owner(f.path, owner, dir_owner)
        if finding_owner is None:
            continue
        c = counts.setdefault(finding_owner, [0, 0, 0])
        c[0] += 1
        c[1] += f.severity == "error"
        c[2] += f.rule in GLOBAL_STATE_RULES
    states: dict[str, ModuleState] = {}
    for m in sorted(tree.modules, key=lambda m: (m.name, m.path)):
        if m.name in states:  # the same module name defined twice (platform variants)
            continue
        c = counts.get(m.name, [0, 0, 0])
        states[m.name] = ModuleState(
            name=m.name,
            path=m.path,
            init=m.init,
            multiple_interpreters=m.multiple_interpreters,
            is_test=m.is_test,
            static_types=tuple(sorted(set(static.get(m.name, ())))),
            heap_types=tuple(sorted(set(heap.get(m.name, ())))),
            open_findings=c[0],
            error_findings=c[1],
            global_state_findings=c[2],
        )
    return list(states.values())


def snapshot_from_tree(
    repo: str, sha: str, committed_at: datetime, tree: TreeReport, *, source: str = "push"
) -> Snapshot:
    return Snapshot(
        repo=repo,
        sha=sha,
        committed_at=committed_at,
        summary=tree.summary,
        modules=tuple(module_states(tree)),
        types=tuple(tree.types),
        findings=tuple(f for f in tree.findings if f.status != "suppressed"),
        source=source,
        files=tree.files,
    )
