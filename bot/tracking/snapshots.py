"""Stored snapshots of the default branch: the queries the summary, dashboard and commands use.

Stable interface (other parts rely on these; all timestamps are aware UTC datetimes):

- ``latest_snapshot(db, repo) -> Snapshot | None``: the most recent commit analysed (by commit
  time, ties broken by when it was stored).
- ``snapshot_at(db, repo, when) -> Snapshot | None``: the state as of ``when`` (the last snapshot
  committed at or before it), None before the first one.
- ``snapshots_between(db, repo, since=None, until=None, *, with_findings=True)
  -> list[Snapshot]``: oldest first, ``since <= committed_at <= until`` (either bound optional);
  ``with_findings=False`` skips decoding types and findings (trend charts need only metrics and
  modules).
- ``module_history(db, repo, module) -> list[ModuleHistoryPoint]``: the module's state at every
  snapshot, oldest first; ``state`` is None where the module did not exist (removed).
- ``save_snapshot(db, snapshot)``: insert or replace (idempotent per (repo, sha)).

Types: ``Snapshot`` and ``ModuleState`` (bot/tracking/state.py); ``Snapshot.summary`` is the
analysis ``Summary`` (multi_phase / heap_types / per_interpreter_gil, each all + stdlib ratios);
``ModuleState.status`` is "done" | "partly" | "not-started". Attribution events (which PR changed
what) are queried with ``bot.tracking.events.module_events``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.analysis.model import Finding, Summary, TypeInfo
from bot.store.db import Database, Row
from bot.tracking.state import ModuleState, Snapshot, format_time, parse_time

__all__ = [
    "ModuleHistoryPoint",
    "ModuleState",
    "Snapshot",
    "latest_snapshot",
    "module_history",
    "save_snapshot",
    "snapshot_at",
    "snapshots_between",
]

_COLUMNS = "repo, sha, committed_at, created_at, source, summary, modules, files"
_FULL_COLUMNS = _COLUMNS + ", types, findings"


@dataclass(frozen=True, slots=True)
class ModuleHistoryPoint:
    sha: str
    committed_at: datetime
    state: ModuleState | None


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


async def save_snapshot(db: Database, snap: Snapshot) -> None:
    committed = format_time(snap.committed_at)
    params = (
        snap.repo,
        snap.sha,
        committed,
        format_time(snap.created_at),
        snap.source,
        _dumps(snap.summary.to_dict()),
        _dumps([m.to_dict() for m in snap.modules]),
        _dumps([t.to_dict() for t in snap.types]),
        _dumps([f.to_dict() for f in snap.findings]),
        snap.files,
    )
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO tracking_snapshots (repo, sha, committed_at, created_at, source, "
            "summary, modules, types, findings, files) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (repo, sha) DO UPDATE SET committed_at = excluded.committed_at, "
            "created_at = excluded.created_at, source = excluded.source, "
            "summary = excluded.summary, modules = excluded.modules, types = excluded.types, "
            "findings = excluded.findings, files = excluded.files",
            params,
        )
        await tx.execute(
            "DELETE FROM tracking_module_states WHERE repo = ? AND sha = ?", (snap.repo, snap.sha)
        )
        for m in snap.modules:
            await tx.execute(
                "INSERT INTO tracking_module_states (repo, module, sha, committed_at, state) "
                "VALUES (?, ?, ?, ?, ?)",
                (snap.repo, m.name, snap.sha, committed, _dumps(m.to_dict())),
            )


def _from_row(row: Row) -> Snapshot:
    types = json.loads(row["types"]) if "types" in row else []
    findings = json.loads(row["findings"]) if "findings" in row else []
    return Snapshot(
        repo=row["repo"],
        sha=row["sha"],
        committed_at=parse_time(row["committed_at"]),
        created_at=parse_time(row["created_at"]),
        source=row["source"],
        summary=Summary.from_dict(json.loads(row["summary"])),
        modules=tuple(ModuleState.from_dict(m) for m in json.loads(row["modules"])),
        types=tuple(TypeInfo.from_dict(t) for t in types),
        findings=tuple(Finding.from_dict(f) for f in findings),
        files=int(row["files"]),
    )


async def latest_snapshot(db: Database, repo: str) -> Snapshot | None:
    row = await db.fetchone(
        f"SELECT {_FULL_COLUMNS} FROM tracking_snapshots WHERE repo = ? "
        "ORDER BY committed_at DESC, created_at DESC LIMIT 1",
        (repo,),
    )
    return _from_row(row) if row else None


async def snapshot_at(db: Database, repo: str, when: datetime) -> Snapshot | None:
    row = await db.fetchone(
        f"SELECT {_FULL_COLUMNS} FROM tracking_snapshots WHERE repo = ? AND committed_at <= ? "
        "ORDER BY committed_at DESC, created_at DESC LIMIT 1",
        (repo, format_time(when)),
    )
    return _from_row(row) if row else None


async def get_snapshot(db: Database, repo: str, sha: str) -> Snapshot | None:
    row = await db.fetchone(
        f"SELECT {_FULL_COLUMNS} FROM tracking_snapshots WHERE repo = ? AND sha = ?", (repo, sha)
    )
    return _from_row(row) if row else None


async def snapshots_between(
    db: Database,
    repo: str,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    with_findings: bool = True,
) -> list[Snapshot]:
    sql = f"SELECT {_FULL_COLUMNS if with_findings else _COLUMNS} FROM tracking_snapshots "
    sql += "WHERE repo = ?"
    params: list[Any] = [repo]
    if since is not None:
        sql += " AND committed_at >= ?"
        params.append(format_time(since))
    if until is not None:
        sql += " AND committed_at <= ?"
        params.append(format_time(until))
    rows = await db.fetchall(sql + " ORDER BY committed_at, created_at", params)
    return [_from_row(r) for r in rows]


async def module_history(db: Database, repo: str, module: str) -> list[ModuleHistoryPoint]:
    snaps = await db.fetchall(
        "SELECT sha, committed_at FROM tracking_snapshots WHERE repo = ? "
        "ORDER BY committed_at, created_at",
        (repo,),
    )
    rows = await db.fetchall(
        "SELECT sha, state FROM tracking_module_states WHERE repo = ? AND module = ?",
        (repo, module),
    )
    by_sha = {r["sha"]: ModuleState.from_dict(json.loads(r["state"])) for r in rows}
    if not by_sha:
        return []
    return [
        ModuleHistoryPoint(s["sha"], parse_time(s["committed_at"]), by_sha.get(s["sha"]))
        for s in snaps
    ]
