"""Attribution: which merged PR changed a module's isolation state.

``state_changes(before, after)`` (pure) lists the changes between two snapshots;
``record_events`` stores them with the PR, commit and author; ``module_events`` reads them back.

Event kinds: ``multi-phase`` (single- to multi-phase init), ``heap-types`` (static types
converted or removed), ``per-interpreter-gil`` (the slot now declares per-interpreter GIL
support), ``completed`` (the module reached "done"), ``regression`` (any of these reversed, or a
new static type). ``detail`` says what changed in words.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.store.db import Database
from bot.tracking.state import ModuleState, Snapshot, format_time, parse_time

EVENT_KINDS = ("multi-phase", "heap-types", "per-interpreter-gil", "completed", "regression")

# "Fix something (#12345)" / "gh-1234: ... (GH-12345)": the squash-merge suffix naming the PR.
_PR_IN_MESSAGE = re.compile(r"\((?:#|GH-)(\d{1,7})\)", re.IGNORECASE)
_MERGE_TITLE = re.compile(r"Merge pull request #(\d{1,7}) from ")


@dataclass(frozen=True, slots=True)
class Change:
    module: str
    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class Attribution:
    pr_number: int | None
    author: str | None


@dataclass(frozen=True, slots=True)
class ModuleEvent:
    id: str
    repo: str
    module: str
    kind: str
    pr_number: int | None
    sha: str
    author: str | None
    at: datetime
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "module": self.module,
            "kind": self.kind,
            "pr_number": self.pr_number,
            "sha": self.sha,
            "author": self.author,
            "at": format_time(self.at),
            "detail": self.detail,
        }


def _module_changes(old: ModuleState | None, new: ModuleState) -> list[Change]:
    name = new.name
    out: list[Change] = []
    if old is None:
        if new.status == "done":
            out.append(Change(name, "completed", "new module, fully isolated"))
        return out
    if not old.multi_phase and new.multi_phase:
        out.append(Change(name, "multi-phase", "converted to multi-phase init"))
    elif old.multi_phase and not new.multi_phase:
        out.append(Change(name, "regression", "back to single-phase init"))
    gone = sorted(set(old.static_types) - set(new.static_types))
    added = sorted(set(new.static_types) - set(old.static_types))
    if gone:
        out.append(Change(name, "heap-types", "static types converted: " + ", ".join(gone)))
    if added:
        out.append(Change(name, "regression", "new static types: " + ", ".join(added)))
    if not old.per_interpreter_gil and new.per_interpreter_gil:
        out.append(Change(name, "per-interpreter-gil", "declares per-interpreter GIL support"))
    elif old.per_interpreter_gil and not new.per_interpreter_gil:
        out.append(Change(name, "regression", "no longer declares per-interpreter GIL support"))
    if old.status != "done" and new.status == "done":
        out.append(Change(name, "completed", "multi-phase, heap types, per-interpreter GIL"))
    return out


def state_changes(before: Snapshot | None, after: Snapshot) -> list[Change]:
    """The module-state changes from ``before`` to ``after``; none for a first snapshot."""
    if before is None:
        return []
    old = {m.name: m for m in before.modules}
    changes: list[Change] = []
    for m in after.modules:
        changes.extend(_module_changes(old.get(m.name), m))
    return changes


def pr_from_message(message: str) -> int | None:
    """The PR a commit message names: a squash merge's "(#NNNN)" at the end of the title, or
    a merge commit's "Merge pull request #NNNN from ..."."""
    title = message.strip().splitlines()[0] if message.strip() else ""
    merge = _MERGE_TITLE.match(title)
    if merge:
        return int(merge.group(1))
    found = _PR_IN_MESSAGE.findall(title) or _PR_IN_MESSAGE.findall(message)
    return int(found[-1]) if found else None


def event_id(repo: str, module: str, kind: str, sha: str, detail: str) -> str:
    """Deterministic: a redelivered push or a re-imported history records nothing twice."""
    key = "\0".join((repo, module, kind, sha, detail))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


async def record_events(
    db: Database,
    repo: str,
    sha: str,
    at: datetime,
    changes: list[Change],
    attribution: Attribution,
) -> list[ModuleEvent]:
    events = [
        ModuleEvent(
            id=event_id(repo, c.module, c.kind, sha, c.detail),
            repo=repo,
            module=c.module,
            kind=c.kind,
            pr_number=attribution.pr_number,
            sha=sha,
            author=attribution.author,
            at=at,
            detail=c.detail,
        )
        for c in changes
    ]
    await save_events(db, events)
    return events


async def save_events(db: Database, events: Iterable[ModuleEvent]) -> None:
    """Store events in one transaction; an event already stored (same id) is kept as it was."""
    async with db.transaction() as tx:
        for e in events:
            await tx.execute(
                "INSERT INTO tracking_events (id, repo, module, kind, pr_number, sha, author, "
                "at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    e.id,
                    e.repo,
                    e.module,
                    e.kind,
                    e.pr_number,
                    e.sha,
                    e.author,
                    format_time(e.at),
                    e.detail,
                ),
            )


async def module_events(
    db: Database,
    repo: str,
    module: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[ModuleEvent]:
    """Recorded events, oldest first, optionally for one module and/or a time window."""
    sql = "SELECT * FROM tracking_events WHERE repo = ?"
    params: list[Any] = [repo]
    if module is not None:
        sql += " AND module = ?"
        params.append(module)
    if since is not None:
        sql += " AND at >= ?"
        params.append(format_time(since))
    if until is not None:
        sql += " AND at <= ?"
        params.append(format_time(until))
    rows = await db.fetchall(sql + " ORDER BY at, module, kind", params)
    return [
        ModuleEvent(
            id=r["id"],
            repo=r["repo"],
            module=r["module"],
            kind=r["kind"],
            pr_number=None if r["pr_number"] is None else int(r["pr_number"]),
            sha=r["sha"],
            author=r["author"],
            at=parse_time(r["at"]),
            detail=r["detail"],
        )
        for r in rows
    ]
