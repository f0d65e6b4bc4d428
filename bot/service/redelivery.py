"""Ask GitHub to redeliver the webhooks the bot failed to take.

GitHub does not retry a failed delivery by itself: a delivery refused with 503 (the store
could not take it: disk full, database down) or sent while the bot was down or unreachable
is only kept in the App's delivery log, from which it can be redelivered for three days.
Without this sweep those events would be lost.

Every ``Settings.tuning.redelivery_seconds`` (ISOLATION_BOT_REDELIVERY_SECONDS, default 120;
0 turns it off), and once shortly
after startup, one replica (``db.try_lock``) reads the App's recent failed delivery attempts
(``GET /app/hook/deliveries?status=failure``, newest first, back to ``LOOKBACK_SECONDS``) and
redelivers (``POST /app/hook/deliveries/{id}/attempts``) each delivery that:
- failed in a way a retry can fix (connection error or timeout: status 0, or a 5xx),
- is not in the store (a redelivery is deduplicated by its delivery id anyway: this only
  saves calls), and was not redelivered by us since its newest failure,
- failed fewer than ``MAX_ATTEMPTS_PER_DELIVERY`` times (a delivery the bot keeps refusing is
  not redelivered forever).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.service.state import ServiceState

log = logging.getLogger(__name__)

FIRST_SWEEP_DELAY_SECONDS = 30.0  # after startup: catches what was sent while the bot was down
# GitHub keeps deliveries redeliverable for three days; a day covers any outage someone would
# not notice, and bounds what one sweep reads.
LOOKBACK_SECONDS = 24 * 3600.0
MAX_ITEMS_PER_SWEEP = 2000  # failed attempts read per sweep at most (20 pages)
PER_PAGE = 100
MAX_ATTEMPTS_PER_DELIVERY = 5
LOCK_NAME = "webhook-redelivery"


@dataclass
class _Guid:
    newest_id: int  # the newest failed attempt's id: the one to redeliver
    failures: int = 0
    retryable: bool = True  # every failure was a connection error, a timeout or a 5xx
    statuses: list[int] = field(default_factory=list)


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


async def sweep(state: ServiceState, *, now: float | None = None) -> list[str]:
    """One pass; returns the delivery ids (guids) it asked GitHub to redeliver."""
    github = state.github
    if github is None:
        return []
    now = time.time() if now is None else now
    gh = github.app_client()
    guids: dict[str, _Guid] = {}
    pages_url = f"/app/hook/deliveries?per_page={PER_PAGE}&status=failure"
    seen = 0
    async for item in gh.getiter(pages_url, jwt=github.jwt()):
        seen += 1
        delivered = _epoch(item.get("delivered_at"))
        if seen > MAX_ITEMS_PER_SWEEP or (
            delivered is not None and delivered < now - LOOKBACK_SECONDS
        ):
            break  # newest first: everything after this is older still
        guid, number = item.get("guid"), item.get("id")
        if not isinstance(guid, str) or not isinstance(number, int):
            continue
        entry = guids.setdefault(guid, _Guid(newest_id=number))
        status = item.get("status_code")
        code = status if isinstance(status, int) else 0
        entry.failures += 1
        entry.statuses.append(code)
        if not (code == 0 or code >= 500):
            entry.retryable = False  # 4xx: the same body would be refused again
    # guid -> (the failed attempt we asked GitHub to redeliver, how many times we asked); the
    # service's (a second service in the same process keeps its own). A guid is asked about
    # again only when a newer attempt failed too (our redelivery was refused): one that
    # succeeded, even if the intake ignored it (an event nobody handles is not stored), is
    # never asked about twice.
    asked = state.redelivery_asked
    for guid in [g for g in asked if g not in guids]:
        del asked[guid]  # out of the window
    redelivered: list[str] = []
    for guid, entry in guids.items():
        asked_about, times = asked.get(guid, (0, 0))
        if not entry.retryable or entry.newest_id <= asked_about:
            continue  # refused for good, or our redelivery got through
        if entry.failures >= MAX_ATTEMPTS_PER_DELIVERY or times >= MAX_ATTEMPTS_PER_DELIVERY:
            if times < MAX_ATTEMPTS_PER_DELIVERY + 1:
                log.error(
                    "delivery %s failed %d times (%s): not redelivered again",
                    guid,
                    entry.failures,
                    entry.statuses,
                )
                asked[guid] = (asked_about, MAX_ATTEMPTS_PER_DELIVERY + 1)  # log it once
            continue
        if await state.db.fetchone("SELECT 1 AS x FROM deliveries WHERE delivery_id = ?", (guid,)):
            continue  # a redelivery someone else asked for got through
        await gh.post(
            f"/app/hook/deliveries/{entry.newest_id}/attempts", data=b"", jwt=github.jwt()
        )
        asked[guid] = (entry.newest_id, times + 1)
        redelivered.append(guid)
    if redelivered:
        log.warning(
            "asked GitHub to redeliver %d failed delivery(ies): %s",
            len(redelivered),
            ", ".join(redelivered),
        )
    return redelivered


async def run(state: ServiceState, interval: float | None = None) -> None:
    """The service's background loop (bot.service.app); ends only when cancelled."""
    interval = state.settings.tuning.redelivery_seconds if interval is None else interval
    if state.github is None or interval <= 0:
        return
    await asyncio.sleep(min(FIRST_SWEEP_DELAY_SECONDS, interval))
    while True:
        try:
            async with state.db.try_lock(LOCK_NAME) as mine:
                if mine:
                    await sweep(state)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # GitHub or the store down: the next pass tries again
            log.warning("redelivery sweep failed: %s: %s", type(exc).__name__, exc)
        await asyncio.sleep(interval)
