"""The shared GitHub pause (bot.github.pacing.PauseStore) on the bot's database: one row per
installation, so a rate limit seen by one replica pauses every replica's requests."""

from __future__ import annotations

import time

from bot.store.db import Database


class StorePauses:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_pause(self, installation_id: int) -> tuple[float, int] | None:
        row = await self.db.fetchone(
            "SELECT until_epoch, strikes FROM github_pauses WHERE installation_id = ?",
            (int(installation_id),),
        )
        if row is None:
            return None
        return float(row["until_epoch"]), int(row["strikes"])

    async def set_pause(self, installation_id: int, until: float, strikes: int) -> None:
        """Record the pause; a later end another replica stored is kept."""
        await self.db.execute(
            "INSERT INTO github_pauses (installation_id, until_epoch, strikes, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (installation_id) DO UPDATE SET "
            "until_epoch = CASE WHEN excluded.until_epoch > github_pauses.until_epoch "
            "THEN excluded.until_epoch ELSE github_pauses.until_epoch END, "
            "strikes = excluded.strikes, updated_at = excluded.updated_at",
            (int(installation_id), float(until), int(strikes), time.time()),
        )

    async def clear_pauses(self) -> None:
        await self.db.execute("DELETE FROM github_pauses")
