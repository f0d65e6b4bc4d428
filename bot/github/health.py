"""Is GitHub itself reachable? One cheap probe, for telling an outage from a broken job.

A job that keeps failing with 5xx answers or timeouts is either hitting a route that is broken
for it (worth giving up on after a few tries) or running during a GitHub outage (worth waiting
for, however long it lasts). ``GET /rate_limit`` answers anyone, costs no rate-limit budget and
goes through GitHub's API front end like every other call, so its failure means GitHub is down.
"""

from __future__ import annotations

import logging

import aiohttp

from bot.github.client import github_headers

log = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 10.0


async def github_reachable(
    session: aiohttp.ClientSession, api_url: str, *, timeout: float = PROBE_TIMEOUT_SECONDS
) -> bool:
    """False when GitHub answers ``GET /rate_limit`` with a 5xx, times out or cannot be
    connected to; True for any other answer (even 401/403: GitHub is up, then)."""
    url = api_url.rstrip("/") + "/rate_limit"
    try:
        async with session.get(
            url,
            headers=github_headers({}),
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            await response.read()
            return response.status < 500
    except (TimeoutError, aiohttp.ClientError) as exc:
        log.info("GitHub probe %s failed: %s: %s", url, type(exc).__name__, exc)
        return False
