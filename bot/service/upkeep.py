"""Store upkeep: prune finished jobs and their deliveries older than 14 days (daily), and end
the check runs whose job is gone (bot.prcheck.sweep, every few minutes).

Started by bot.service.app as a background task on every replica. Pruning is idempotent (a
DELETE by age), so replicas need no lock: the second one to run in a day finds nothing.
Dead jobs stay for inspection (``Queue.prune`` keeps them). The 14 days stay far beyond
GitHub's redelivery window, so a redelivered id is still recognised as a duplicate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.prcheck import sweep as run_sweep
from bot.service.state import ServiceState
from bot.store.queue import Queue

log = logging.getLogger(__name__)

PRUNE_AFTER_SECONDS = 14 * 24 * 3600.0
PRUNE_EVERY_SECONDS = 24 * 3600.0
FIRST_PRUNE_DELAY_SECONDS = 60.0  # not in the busy first minute of a (re)start


async def prune_once(queue: Queue, older_than: float = PRUNE_AFTER_SECONDS) -> int | None:
    """One pass; the number of jobs deleted, None when it failed (logged, retried next day)."""
    try:
        n = await queue.prune(older_than)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("pruning old jobs and deliveries failed; trying again next time")
        return None
    if n:
        log.info("pruned %d finished job(s) older than %.0f days", n, older_than / 86400)
    return n


async def run_prune_daily(
    queue: Queue,
    *,
    every: float = PRUNE_EVERY_SECONDS,
    first_delay: float = FIRST_PRUNE_DELAY_SECONDS,
    older_than: float = PRUNE_AFTER_SECONDS,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    passes: int | None = None,
) -> None:
    """Prune after ``first_delay``, then every ``every`` seconds; forever (or ``passes``
    times, for tests). Ends only when cancelled."""
    await sleep(first_delay)
    done = 0
    while passes is None or done < passes:
        await prune_once(queue, older_than)
        done += 1
        if passes is not None and done >= passes:
            return
        await sleep(every)


async def run_check_run_sweep(state: ServiceState) -> None:
    """The check-run sweep over the service's store and queue; ends only when cancelled.
    The installation of a repository comes from the App (None without credentials)."""
    github = state.github

    async def installation_for(repo: str) -> int | None:
        return None if github is None else await github.installation_id_for(repo)

    await run_sweep.run_periodically(
        state.db,
        state.enqueue,
        installation_for,
        lease_seconds=state.settings.tuning.lease_seconds,
    )
