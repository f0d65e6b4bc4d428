"""Per-pull-request suppressions recorded by ``/isolation ignore`` (table command_suppressions).

The PR check calls :func:`list_suppressions` and marks matching findings (rule id + symbol) as
suppressed with the recorded reason. Rules are stored by catalog id (``ISO001``) when the
command named them by id or name; symbols are C names, compared exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.store.db import Database


@dataclass(frozen=True)
class Suppression:
    rule: str
    symbol: str
    reason: str
    user: str
    created_at: float  # epoch seconds


async def add_suppression(
    db: Database, repo: str, number: int, rule: str, symbol: str, reason: str, user: str
) -> None:
    """Record (or replace the reason of) a suppression on one PR."""
    await db.execute(
        "INSERT INTO command_suppressions"
        " (repo, number, rule, symbol, reason, user_login, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (repo, number, rule, symbol) DO UPDATE SET"
        " reason = excluded.reason, user_login = excluded.user_login,"
        " created_at = excluded.created_at",
        (repo, number, rule, symbol, reason, user, time.time()),
    )


async def remove_suppression(db: Database, repo: str, number: int, rule: str, symbol: str) -> bool:
    """Delete a suppression; False when there was none."""
    count = await db.execute(
        "DELETE FROM command_suppressions"
        " WHERE repo = ? AND number = ? AND rule = ? AND symbol = ?",
        (repo, number, rule, symbol),
    )
    return count > 0


async def list_suppressions(db: Database, repo: str, number: int) -> list[Suppression]:
    """The suppressions of one PR, oldest first."""
    rows = await db.fetchall(
        "SELECT rule, symbol, reason, user_login, created_at FROM command_suppressions"
        " WHERE repo = ? AND number = ? ORDER BY created_at, rule, symbol",
        (repo, number),
    )
    return [
        Suppression(
            rule=str(r["rule"]),
            symbol=str(r["symbol"]),
            reason=str(r["reason"]),
            user=str(r["user_login"]),
            created_at=float(r["created_at"]),
        )
        for r in rows
    ]
