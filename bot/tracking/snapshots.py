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
  snapshot, oldest first; ``state`` is None where the module did not exist (added later or
  removed); an empty list for a module no snapshot has.
- ``summary_at(db, repo, when) -> Summary | None``: only the metrics of ``snapshot_at``'s
  snapshot (trend charts: decoding whole snapshots for each point took seconds per page);
  None also for a stored summary that cannot be read (logged).
- ``get_snapshot(db, repo, sha) -> Snapshot | None``: one commit's snapshot.
- ``save_snapshot(db, snapshot)``: insert or replace (idempotent per (repo, sha)).

Types: ``Snapshot`` and ``ModuleState`` (bot/tracking/state.py); ``Snapshot.summary`` is the
analysis ``Summary`` (multi_phase / heap_types / per_interpreter_gil, each all + stdlib ratios);
``ModuleState.status`` is "done" | "partly" | "not-started". Attribution events (which PR changed
what) are queried with ``bot.tracking.events.module_events``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.analysis.model import Finding, Summary, TypeInfo
from bot.store.db import Database, Row, Transaction
from bot.tracking.state import ModuleState, Snapshot, format_time, parse_time

log = logging.getLogger(__name__)

__all__ = [
    "ModuleHistoryPoint",
    "ModuleState",
    "Snapshot",
    "latest_snapshot",
    "module_history",
    "save_snapshot",
    "snapshot_at",
    "snapshots_between",
    "summary_at",
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


# Storage: the summary is inline; modules and types are one content-addressed part each
# ("@<sha256>": they change only when some module's state does); findings are one part per file
# ({"parts": [...]}: a push stores only the findings of the files it changed). Rows from before
# migration 0031 hold plain JSON lists and are read as they are.


async def _put(tx: Transaction, body: str) -> str:
    digest = hashlib.sha256(body.encode()).hexdigest()
    await tx.execute(
        "INSERT INTO tracking_snapshot_parts (hash, body) VALUES (?, ?) "
        "ON CONFLICT (hash) DO NOTHING",
        (digest, body),
    )
    return digest


async def _put_grouped(tx: Transaction, items: list[dict[str, Any]]) -> str:
    by_path: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_path.setdefault(str(item.get("path", "")), []).append(item)
    parts = [await _put(tx, _dumps(group)) for _, group in sorted(by_path.items())]
    return _dumps({"parts": parts})


def _refs(text: str) -> list[str]:
    if text.startswith("@"):
        return [text[1:]]
    if text.startswith("{"):
        return list(json.loads(text).get("parts", []))
    return []


async def _bodies(db: Database, hashes: set[str]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    ordered = sorted(hashes)
    for i in range(0, len(ordered), 500):
        chunk = ordered[i : i + 500]
        rows = await db.fetchall(
            "SELECT hash, body FROM tracking_snapshot_parts "
            f"WHERE hash IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        found.update((r["hash"], json.loads(r["body"])) for r in rows)
    return found


def _resolve(text: str, bodies: dict[str, list[Any]]) -> list[Any]:
    refs = _refs(text)
    if not refs and not text.startswith(("@", "{")):
        return list(json.loads(text))  # a row from before 0031
    out: list[Any] = []
    for ref in refs:
        out.extend(bodies.get(ref, []))
    return out


async def save_snapshot(db: Database, snap: Snapshot) -> None:
    async with db.transaction() as tx:
        modules = "@" + await _put(tx, _dumps([m.to_dict() for m in snap.modules]))
        types = "@" + await _put(tx, _dumps([t.to_dict() for t in snap.types]))
        findings = await _put_grouped(tx, [f.to_dict() for f in snap.findings])
        await tx.execute(
            "INSERT INTO tracking_snapshots (repo, sha, committed_at, created_at, source, "
            "summary, modules, types, findings, files) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (repo, sha) DO UPDATE SET committed_at = excluded.committed_at, "
            "created_at = excluded.created_at, source = excluded.source, "
            "summary = excluded.summary, modules = excluded.modules, types = excluded.types, "
            "findings = excluded.findings, files = excluded.files",
            (
                snap.repo,
                snap.sha,
                format_time(snap.committed_at),
                format_time(snap.created_at),
                snap.source,
                _dumps(snap.summary.to_dict()),
                modules,
                types,
                findings,
                snap.files,
            ),
        )


async def _from_rows(db: Database, rows: list[Row]) -> list[Snapshot]:
    columns = ("modules", "types", "findings")
    wanted = {h for r in rows for c in columns if c in r for h in _refs(r[c])}
    bodies = await _bodies(db, wanted)
    out = []
    for row in rows:
        types = _resolve(row["types"], bodies) if "types" in row else []
        findings = _resolve(row["findings"], bodies) if "findings" in row else []
        out.append(
            Snapshot(
                repo=row["repo"],
                sha=row["sha"],
                committed_at=parse_time(row["committed_at"]),
                created_at=parse_time(row["created_at"]),
                source=row["source"],
                summary=Summary.from_dict(json.loads(row["summary"])),
                modules=tuple(ModuleState.from_dict(m) for m in _resolve(row["modules"], bodies)),
                types=tuple(TypeInfo.from_dict(t) for t in types),
                findings=tuple(Finding.from_dict(f) for f in findings),
                files=int(row["files"]),
            )
        )
    return out


async def _one(db: Database, row: Row | None) -> Snapshot | None:
    return (await _from_rows(db, [row]))[0] if row else None


async def latest_snapshot(db: Database, repo: str) -> Snapshot | None:
    row = await db.fetchone(
        f"SELECT {_FULL_COLUMNS} FROM tracking_snapshots WHERE repo = ? "
        "ORDER BY committed_at DESC, created_at DESC LIMIT 1",
        (repo,),
    )
    return await _one(db, row)


async def _row_at(db: Database, repo: str, when: datetime, columns: str) -> Row | None:
    """The last snapshot committed at or before ``when`` (ties: the last stored)."""
    return await db.fetchone(
        f"SELECT {columns} FROM tracking_snapshots WHERE repo = ? AND committed_at <= ? "
        "ORDER BY committed_at DESC, created_at DESC LIMIT 1",
        (repo, format_time(when)),
    )


async def snapshot_at(db: Database, repo: str, when: datetime) -> Snapshot | None:
    return await _one(db, await _row_at(db, repo, when, _FULL_COLUMNS))


async def summary_at(db: Database, repo: str, when: datetime) -> Summary | None:
    row = await _row_at(db, repo, when, "summary")
    if row is None:
        return None
    try:
        return Summary.from_dict(json.loads(row["summary"]))
    except (ValueError, KeyError, TypeError):
        log.warning("skipping a snapshot whose stored metrics cannot be read")
        return None


async def get_snapshot(db: Database, repo: str, sha: str) -> Snapshot | None:
    row = await db.fetchone(
        f"SELECT {_FULL_COLUMNS} FROM tracking_snapshots WHERE repo = ? AND sha = ?", (repo, sha)
    )
    return await _one(db, row)


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
    return await _from_rows(db, rows)


async def module_history(db: Database, repo: str, module: str) -> list[ModuleHistoryPoint]:
    rows = await db.fetchall(
        "SELECT sha, committed_at, modules FROM tracking_snapshots WHERE repo = ? "
        "ORDER BY committed_at, created_at",
        (repo,),
    )
    # Module lists are shared between snapshots (deduplicated parts): decode each once.
    bodies = await _bodies(db, {h for r in rows for h in _refs(r["modules"])})
    decoded: dict[str, ModuleState | None] = {}
    points = []
    for r in rows:
        key = r["modules"]
        if key not in decoded:
            match = [m for m in _resolve(key, bodies) if m.get("name") == module]
            decoded[key] = ModuleState.from_dict(match[0]) if match else None
        points.append(ModuleHistoryPoint(r["sha"], parse_time(r["committed_at"]), decoded[key]))
    if all(p.state is None for p in points):
        return []
    return points
