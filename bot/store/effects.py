"""Side effects that must happen once, even when a job runs twice (a retried or reclaimed job,
two replicas racing): the first ``once(key)`` wins, every later call returns False.

    if await once(ctx.db, f"weekly-summary:{week}"):
        try:
            await post_summary(...)
        except Exception:
            await forget(ctx.db, f"weekly-summary:{week}")   # let the retry do it
            raise

A process killed between ``once`` and the effect loses that effect (at-most-once); handlers
that prefer at-least-once look for their own earlier effect on GitHub instead (the PR check
finds its comment by marker).
"""

from __future__ import annotations

import time

from bot.store.db import Database


async def once(db: Database, effect_key: str) -> bool:
    """True the first time ``effect_key`` is seen (across processes), False afterwards."""
    inserted = await db.execute(
        "INSERT INTO processed_effects (effect_key, created_at) VALUES (?, ?) "
        "ON CONFLICT (effect_key) DO NOTHING",
        (effect_key, time.time()),
    )
    return inserted == 1


async def forget(db: Database, effect_key: str) -> None:
    """Undo ``once`` after the effect failed, so a retry may perform it."""
    await db.execute("DELETE FROM processed_effects WHERE effect_key = ?", (effect_key,))
