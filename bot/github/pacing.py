"""Pacing and pausing of GitHub requests, per installation.

GitHub's REST guide asks integrations to make content-creating requests (POST, PATCH, PUT,
DELETE) serially, about one a second (its secondary limit allows 80 a minute and 500 an hour),
to avoid many concurrent requests, and to stop sending while rate limited: "continuing to make
requests while you are rate limited may result in the banning of your integration".

- ``Gate`` is one installation's share of this replica: a token bucket for writes (``rate`` a
  second, up to ``burst`` at once; writers queue one at a time, so writes are serial), a cap on
  concurrent reads, and the pause.
- The pause is shared: every worker of this replica reads the gate; every replica reads the
  ``PauseStore`` (a row per installation in the database, bot.store.github_pause), so one
  rate limit pauses the installation everywhere. The store is polled at most every
  ``poll_seconds`` per installation; a store that fails (or takes over ``STORE_TIMEOUT``) is
  logged and the local pause used.
- Writes are paced per replica: with N replicas the installation may see N times ``rate``;
  set the rate to 1/N of the target (ISOLATION_BOT_GITHUB_WRITES_PER_SECOND).

Time comes from a ``Clock`` (epoch seconds and a sleep) so tests run minutes of pacing in a
moment.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
# A request never waits longer than this for the shared pause's row: a store that is down
# (PostgreSQL restarting) must not stall GitHub calls; the replica's own pause still holds.
STORE_TIMEOUT = 2.0


class Clock(Protocol):
    def time(self) -> float:
        """Epoch seconds (comparable across replicas: the pause is stored as epoch)."""

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ScaledClock:
    """Time running ``factor`` times faster than the real clock (for tests and bench/):
    sleeping 60 s takes 60/factor real seconds and ``time()`` moves on by 60."""

    def __init__(self, factor: float, start: float | None = None) -> None:
        self.factor = factor
        self._origin = time.time() if start is None else start
        self._real0 = time.monotonic()

    def time(self) -> float:
        return self._origin + (time.monotonic() - self._real0) * self.factor

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.factor)


class PauseStore(Protocol):
    """Where replicas share an installation's pause (epoch seconds and the repeat count)."""

    async def get_pause(self, installation_id: int) -> tuple[float, int] | None: ...

    async def set_pause(self, installation_id: int, until: float, strikes: int) -> None:
        """Record the pause; a later ``until`` already stored is kept."""

    async def clear_pauses(self) -> None: ...


@dataclass
class PacingPolicy:
    writes_per_second: float = 1.0  # per installation and replica
    write_burst: int = 5
    concurrent_reads: int = 8  # per installation and replica
    # A secondary limit without Retry-After: wait this long, doubled per repeat ...
    secondary_wait: float = 60.0
    secondary_wait_cap: float = 1800.0  # ... up to this
    # A repeat is a limit within this long after the previous pause ended.
    repeat_window: float = 600.0
    poll_seconds: float = 1.0  # how often the shared pause is re-read from the store


class GitHubPaused(Exception):
    """GitHub asked this installation to wait until ``until`` (epoch seconds), longer than a
    request may wait in place: no request was sent; the job should run again after it."""

    def __init__(self, installation_id: int, until: float, now: float) -> None:
        super().__init__(
            f"rate limited: installation {installation_id} paused for {until - now:.0f} s"
        )
        self.installation_id = installation_id
        self.until = until


@dataclass
class Gate:
    installation_id: int
    policy: PacingPolicy
    clock: Clock
    store: PauseStore | None
    reads: asyncio.Semaphore = field(init=False)
    _tokens: float = field(init=False)
    _filled_at: float = field(init=False)
    _write_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    pause_until: float = 0.0
    strikes: int = 0
    _polled_at: float = field(default=-1e18, init=False)

    def __post_init__(self) -> None:
        self.reads = asyncio.Semaphore(max(1, self.policy.concurrent_reads))
        self._tokens = float(max(1, self.policy.write_burst))
        self._filled_at = self.clock.time()

    async def _poll_store(self, now: float) -> tuple[float, int] | None:
        """The shared pause (end, strikes), read at most every poll; None when not read."""
        if self.store is None or now - self._polled_at < self.policy.poll_seconds:
            return None
        self._polled_at = now
        try:
            return await asyncio.wait_for(self.store.get_pause(self.installation_id), STORE_TIMEOUT)
        except Exception as exc:  # the store is down or slow: the local pause holds
            log.warning("could not read the shared GitHub pause: %s", exc)
            return None

    async def paused_until(self) -> float:
        """The end of the pause in force (0 when none), the store read at most every poll."""
        now = self.clock.time()
        stored = await self._poll_store(now)
        if stored is not None and stored[0] > self.pause_until:
            self.pause_until, self.strikes = stored
        return self.pause_until if self.pause_until > now else 0.0

    async def wait_pause(self, max_wait: float, waited_until: float = 0.0) -> None:
        """Return once no pause is in force; sleep up to ``max_wait`` for one, else raise
        GitHubPaused (nothing is sent while the installation is paused). ``waited_until``:
        the caller already slept until then (a pause ending by then is over for it)."""
        while True:
            until = await self.paused_until()
            if not until or until <= waited_until:
                return
            now = self.clock.time()
            if until - now > max_wait:
                raise GitHubPaused(self.installation_id, until, now)
            await self.clock.sleep(until - now)

    async def pause(self, wait: float | None, now: float | None = None) -> float:
        """Pause the installation ``wait`` seconds from ``now`` (None: a secondary limit that
        named no time: ``secondary_wait`` doubled per repeat). Returns the pause's end."""
        now = self.clock.time() if now is None else now
        before, strikes_before = self.pause_until, self.strikes
        # Hold this replica's requests at once, before the store read below yields to the
        # other workers: none of them may send while the limit is being recorded.
        self.pause_until = max(
            self.pause_until, now + (self.policy.secondary_wait if wait is None else wait)
        )
        stored = await self._poll_store(self.clock.time())  # the latest shared strikes
        if stored is not None and stored[0] > before:
            before, strikes_before = stored
        repeat = before and now - before < self.policy.repeat_window
        strikes = strikes_before + 1 if repeat else 1
        if wait is None:
            wait = min(
                self.policy.secondary_wait_cap, self.policy.secondary_wait * 2 ** (strikes - 1)
            )
        self.pause_until = max(self.pause_until, now + wait, stored[0] if stored else 0.0)
        self.strikes = strikes
        if self.store is not None:
            try:
                await asyncio.wait_for(
                    self.store.set_pause(self.installation_id, self.pause_until, strikes),
                    STORE_TIMEOUT,
                )
            except Exception as exc:
                log.warning("could not share the GitHub pause: %s", exc)
        log.warning(
            "GitHub rate limit: installation %s paused for %.0f s (strike %d)",
            self.installation_id,
            self.pause_until - now,
            strikes,
        )
        return self.pause_until

    async def take_write(self) -> None:
        """Wait for a write token: writers go one at a time, ``writes_per_second`` after
        the first ``write_burst``."""
        rate = self.policy.writes_per_second
        if rate <= 0:
            return
        async with self._write_lock:
            while True:
                now = self.clock.time()
                burst = float(max(1, self.policy.write_burst))
                self._tokens = min(burst, self._tokens + (now - self._filled_at) * rate)
                self._filled_at = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await self.clock.sleep((1.0 - self._tokens) / rate)


class Pacing:
    """The gates of every installation this replica talks to (one object per GitHubApp)."""

    def __init__(
        self,
        policy: PacingPolicy | None = None,
        *,
        clock: Clock | None = None,
        store: PauseStore | None = None,
    ) -> None:
        self.policy = policy or PacingPolicy()
        self.clock: Clock = clock or RealClock()
        self.store = store
        self._gates: dict[int, Gate] = {}

    def use_clock(self, clock: Clock) -> None:
        self.clock = clock
        for gate in self._gates.values():
            gate.clock = clock

    def gate(self, installation_id: int) -> Gate:
        gate = self._gates.get(installation_id)
        if gate is None:
            gate = Gate(installation_id, self.policy, self.clock, self.store)
            self._gates[installation_id] = gate
        return gate

    async def clear(self) -> None:
        """End every pause (an operator's or a test's decision: time moved on)."""
        for gate in self._gates.values():
            gate.pause_until, gate.strikes, gate._polled_at = 0.0, 0, -1e18
        if self.store is not None:
            await self.store.clear_pauses()
