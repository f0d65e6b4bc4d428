"""Per-user command rate limit, kept in the store so every replica agrees.

``limit`` commands per ``window`` seconds per user (all repositories together). Each admitted
command is a row in ``command_usage`` whose id is derived from the comment revision and the
command's index, so a retried job re-admits its own commands without counting them twice.
The count-and-insert runs under a store lock per user so two replicas cannot both admit the
limit-th command. When a user is over the limit, only the first refused comment of a window
gets a reply (a ``notice`` row), so the limit cannot be used to make the bot spam.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.store.db import Database


@dataclass(frozen=True)
class RateDecision:
    admitted: int  # how many of the requested commands may run (a prefix of them)
    limited: bool  # some were refused
    notify: bool  # this refusal is the first of the window: say so in a reply
    retry_after: float  # seconds until the oldest counted command leaves the window


class RateLimiter:
    def __init__(
        self,
        db: Database,
        *,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.limit = limit
        self.window = window_seconds
        self.clock = clock

    async def admit(self, user: str, request_id: str, command_ids: Sequence[str]) -> RateDecision:
        """Admit as many of ``command_ids`` (stable ids, in order) as the limit allows.

        ``request_id`` identifies the comment revision: a retried job that was refused before
        is told to notify again (its reply is deduplicated by the reply marker).
        """
        user = user.lower()
        now = self.clock()
        since = now - self.window
        async with self.db.lock(f"commands-rate:{user}"), self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM command_usage WHERE user_login = ? AND at < ?", (user, since)
            )
            rows = await tx.fetchall(
                "SELECT id, kind, at FROM command_usage WHERE user_login = ? AND at >= ?",
                (user, since),
            )
            counted = {r["id"] for r in rows if r["kind"] == "command"}
            oldest = min((float(r["at"]) for r in rows if r["kind"] == "command"), default=now)
            notice_id = f"notice:{request_id}"
            noticed = any(r["kind"] == "notice" and r["id"] != notice_id for r in rows)
            used = len(counted)
            admitted = 0
            for cid in command_ids:
                if cid in counted:  # a retry of a command admitted before
                    admitted += 1
                    continue
                if used >= self.limit:
                    break
                await tx.execute(
                    "INSERT INTO command_usage (id, user_login, kind, at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (id) DO NOTHING",
                    (cid, user, "command", now),
                )
                used += 1
                admitted += 1
            limited = admitted < len(command_ids)
            notify = False
            if limited and not noticed:
                notify = True
                await tx.execute(
                    "INSERT INTO command_usage (id, user_login, kind, at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (id) DO NOTHING",
                    (notice_id, user, "notice", now),
                )
        retry_after = max(0.0, oldest + self.window - now) if limited else 0.0
        return RateDecision(admitted, limited, notify, retry_after)
