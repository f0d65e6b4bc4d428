"""Worker tasks: claim jobs from the store, run them, settle them.

Each of N asyncio tasks loops: claim (lease) -> heartbeat while running -> ``execute`` the job
-> complete. :class:`JobRunner` is the service's ``execute``: it builds a JobContext (a
gidgethub client for the job's installation) and dispatches a webhook to the features'
router by event and action, an internal job to the handler registered for its kind.

A job whose handler raises ``PermanentJobError`` (bot.jobs) is dead at once, with the
reason kept. Any other failure is retried with exponential backoff (``Queue.fail(retry_in=
...)``) until the queue's ``max_attempts``, then it is dead (logged with its last error).
Failures that are not the job's own wait without spending attempts (``Queue.defer``): a rate
limit until its reset, the store failing, and GitHub down (a failure with 5xx or timeouts
probes GitHub: while it is unreachable the job waits, however long the outage). A store that
refuses the job's outcome makes the worker wait and retry the update instead of dying (see
bot.service.faults). Stopping (SIGTERM) stops claiming, gives running jobs a grace period,
then releases what is still running so the next process runs it (``Queue.release`` does not
count the interrupted try).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from gidgethub import routing, sansio
from gidgethub.abc import GitHubAPI

from bot.caches import ServiceCaches
from bot.config import Settings
from bot.github.client import CallCounter
from bot.jobs import Enqueue, JobContext, JobHandler, PermanentJobError, installation_of_job
from bot.service import faults
from bot.store.db import Database
from bot.store.queue import WEBHOOK, Job, Queue
from bot.telemetry import logs, metrics

log = logging.getLogger(__name__)

Execute = Callable[[Job, CallCounter], Coroutine[Any, Any, None]]

POLL_SECONDS = 1.0  # when idle and not woken by the intake
RETRY_BASE_SECONDS = 5.0
RETRY_CAP_SECONDS = 600.0
CLAIM_RETRY_CAP_SECONDS = 8.0  # longest pause of a worker whose claims fail
SETTLE_RETRY_SECONDS = 0.2  # first wait when the store refuses a job's outcome
SETTLE_RETRY_CAP_SECONDS = 10.0


def retry_delay(
    attempts: int, base: float = RETRY_BASE_SECONDS, cap: float = RETRY_CAP_SECONDS
) -> float:
    """Backoff before the next try of a job that failed ``attempts`` times (jittered):
    ``base`` doubled per attempt, at most ``cap`` (Settings.tuning.job_retry_*)."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.8, 1.2)


def describe(exc: BaseException) -> str:
    """The error kept on a job: type and message, and those of the error it was raised from
    (a PermanentJobError says what was malformed, its cause how it showed)."""
    text = f"{type(exc).__name__}: {exc}"
    cause = exc.__cause__
    if cause is not None:
        text += f" ({type(cause).__name__}: {cause})"
    return text


def job_payload(job: Job) -> dict[str, Any]:
    """The job's stored JSON object; PermanentJobError when it is not one."""
    try:
        payload = json.loads(job.payload) if job.payload else {}
    except ValueError as exc:
        raise PermanentJobError(f"job {job.id}: payload is not JSON") from exc
    if not isinstance(payload, dict):
        raise PermanentJobError(f"job {job.id}: payload is not a JSON object")
    return payload


def check_envelope(payload: dict[str, Any]) -> int | None:
    """The fields of a webhook every handler trusts, checked once; returns the installation
    id (None when the delivery names none). PermanentJobError (the job is dead at once, with
    the reason) rather than a handler calling GitHub with a garbage repository name or
    installation, which fails the same way on every retry."""
    repository = payload.get("repository")
    if repository is not None:
        name = repository.get("full_name") if isinstance(repository, dict) else None
        if not isinstance(name, str) or name.count("/") != 1 or not all(name.split("/")):
            raise PermanentJobError(f"malformed payload: repository.full_name is {name!r}")
    installation = payload.get("installation")
    if installation is None:
        return None
    ident = installation.get("id") if isinstance(installation, dict) else None
    if not isinstance(ident, int) or isinstance(ident, bool) or ident <= 0:
        raise PermanentJobError(f"malformed payload: installation.id is {ident!r}")
    return ident


@dataclass(frozen=True)
class JobRunner:
    """Runs one claimed job: a JobContext for its installation, then its handler.

    Webhooks go to ``webhooks`` (the features' router) by event and action; internal jobs to
    ``jobs[kind]``. ``require_installation``: the App has credentials, so every delivery must
    name its installation (without one the bot cannot authenticate, now or on any retry).
    """

    db: Database
    settings: Settings
    client_for: Callable[[int | None, CallCounter], Awaitable[GitHubAPI]]
    bot_login: Callable[[], Awaitable[str]]
    enqueue: Enqueue
    webhooks: routing.Router
    jobs: Mapping[str, JobHandler]
    require_installation: bool
    caches: ServiceCaches = field(default_factory=ServiceCaches)

    async def __call__(self, job: Job, counter: CallCounter) -> None:
        payload = job_payload(job)
        delivery_id = job.delivery_id or job.id
        if job.kind == WEBHOOK:
            installation_id = check_envelope(payload)
            if installation_id is None and self.require_installation:
                raise PermanentJobError("malformed payload: no installation id")
            event = sansio.Event(payload, event=job.event or "unknown", delivery_id=delivery_id)
            ctx = await self._context(event.event, delivery_id, payload, installation_id, counter)
            await self.webhooks.dispatch(event, ctx)
            return
        handler = self.jobs.get(job.kind)
        if handler is None:
            raise PermanentJobError(f"no handler for job kind {job.kind!r}")
        installation_id = installation_of_job(payload)
        ctx = await self._context(job.kind, delivery_id, payload, installation_id, counter)
        await handler(payload, ctx)

    async def _context(
        self,
        event: str,
        delivery_id: str,
        payload: dict[str, Any],
        installation_id: int | None,
        counter: CallCounter,
    ) -> JobContext:
        return JobContext(
            event=event,
            delivery_id=delivery_id,
            payload=payload,
            gh=await self.client_for(installation_id, counter),
            db=self.db,
            settings=self.settings,
            bot_login=await self.bot_login(),
            installation_id=installation_id,
            enqueue=self.enqueue,
            caches=self.caches,
        )


async def _always_reachable() -> bool:
    return True


class WorkerPool:
    """``workers`` tasks claiming jobs from ``queue`` and running them with ``execute``.

    ``github_reachable`` probes GitHub after a job failed with 5xx answers or timeouts (a job
    is not charged for an outage); ``retry_base`` and ``retry_cap`` shape the backoff of jobs
    that failed on their own."""

    def __init__(
        self,
        queue: Queue,
        workers: int,
        *,
        execute: Execute,
        github_reachable: Callable[[], Awaitable[bool]] = _always_reachable,
        instance_id: str = "worker",
        retry_base: float = RETRY_BASE_SECONDS,
        retry_cap: float = RETRY_CAP_SECONDS,
    ) -> None:
        self.queue = queue
        self.execute = execute
        self.github_reachable = github_reachable
        self.instance_id = instance_id
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.workers = max(0, workers)  # 0: intake only (tests, a dedicated intake replica)
        self.tasks: list[asyncio.Task[None]] = []
        self.running: dict[str, tuple[str, asyncio.Task[None]]] = {}  # job id -> (worker, task)
        self.stopping = asyncio.Event()
        self.wakeup = asyncio.Event()
        self.processed = 0

    def start(self) -> None:
        for i in range(self.workers):
            self.tasks.append(
                asyncio.create_task(self._loop(f"{self.instance_id}-{i}"), name=f"worker-{i}")
            )

    def wake(self) -> None:
        self.wakeup.set()

    async def stop(self, grace: float = 20.0) -> None:
        """Stop claiming; let running jobs finish for ``grace`` seconds, then release them."""
        self.stopping.set()
        self.wakeup.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        # A claim in flight when stopping began may still add a job: loop until none runs.
        while self.running and (remaining := deadline - loop.time()) > 0:
            await asyncio.wait([t for _, t in self.running.values()], timeout=remaining)
            await asyncio.sleep(0)  # let the worker loops drop finished jobs
        for job_id, (worker_id, task) in list(self.running.items()):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                await self.queue.release(job_id, worker_id)
                log.warning(
                    "released job %s at shutdown (still running after %.0fs)", job_id, grace
                )
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _loop(self, worker_id: str) -> None:
        failures = 0  # claims failed in a row: the store is down or full
        while not self.stopping.is_set():
            try:
                job = await self.queue.claim(worker_id)
            except Exception as exc:
                failures += 1
                # Pause, longer while it lasts (a new delivery stored, or stopping, wakes us).
                pause = min(CLAIM_RETRY_CAP_SECONDS, POLL_SECONDS * 2 ** min(failures - 1, 8))
                if faults.is_store_error(exc):
                    log.warning(
                        "the store refuses claims (%s: %s); worker %s pauses %.0fs",
                        type(exc).__name__,
                        exc,
                        worker_id,
                        pause,
                    )
                else:
                    log.exception("claiming a job failed; retrying in %.0fs", pause)
                self.wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), timeout=pause)
                continue
            failures = 0
            if job is None:
                self.wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), timeout=POLL_SECONDS)
                continue
            if self.stopping.is_set():
                # Claimed while shutting down: hand it back untouched for the next process.
                await self.queue.release(job.id, worker_id)
                break
            task = asyncio.create_task(self._process(job, worker_id))
            self.running[job.id] = (worker_id, task)
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                if not task.done():
                    raise
            finally:
                self.running.pop(job.id, None)

    async def _heartbeat(self, job: Job, worker_id: str) -> None:
        """Renew the lease; returns only when it was lost (another worker took the job)."""
        interval = max(1.0, self.queue.lease_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                ours = await self.queue.heartbeat(job.id, worker_id)
            except Exception:
                # A store hiccup: keep the job running; the next beat may get through before
                # the lease runs out, and if it does not, the next beat says so.
                log.warning("could not renew the lease of job %s; retrying", job.id)
                continue
            if not ours:
                log.warning("lost the lease of job %s: stopping it", job.id)
                return

    async def _run_leased(self, job: Job, worker_id: str, counter: CallCounter) -> bool:
        """Run the job while its lease is renewed. False when the lease was lost (the process
        stalled past it and another worker claimed the job): the job is cancelled at once so
        two workers never make its side effects side by side."""
        work = asyncio.create_task(self.execute(job, counter))
        heartbeat = asyncio.create_task(self._heartbeat(job, worker_id))
        try:
            await asyncio.wait({work, heartbeat}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not work.done():  # lease lost, or we are being cancelled (shutdown)
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await work
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        if work.cancelled():
            return False
        work.result()  # the job's own exception, if any
        return True

    async def _process(self, job: Job, worker_id: str) -> None:
        counter = CallCounter()
        started = time.perf_counter()
        reset = logs.bind(delivery_id=job.delivery_id, repo=job.repo, event=job.event or job.kind)
        outcome = "done"
        try:
            if not await self._run_leased(job, worker_id, counter):
                outcome = "lease_lost"  # another worker owns it now: settle nothing
                return
        except asyncio.CancelledError:
            outcome = "released"
            raise
        except Exception as exc:
            outcome = await self._failed(job, worker_id, exc, counter)
        else:
            await self._settle(job, lambda: self.queue.complete(job.id, worker_id))
        finally:
            seconds = time.perf_counter() - started
            self.processed += 1
            metrics.observe_job(
                job.kind if job.kind != WEBHOOK else (job.event or WEBHOOK),
                outcome,
                seconds,
                counter.calls,
            )
            log.info(
                "job %s %s %s: %s in %.3fs, %d API calls",
                job.id,
                job.kind,
                job.event or "",
                outcome,
                seconds,
                counter.calls,
            )
            reset()  # after the job's own line, which carries its delivery id and repo

    async def _failed(self, job: Job, worker_id: str, exc: Exception, counter: CallCounter) -> str:
        """Settle a job whose try raised; returns the outcome ("dead", "retry", "deferred")."""
        queue = self.queue
        error = describe(exc)
        label = f"job {job.id} ({job.kind} {job.event or ''})"
        # Malformed data (a payload without the fields a handler needs) fails the same way
        # every time: dead at once, with the error kept on the job, nothing deleted.
        permanent = isinstance(exc, PermanentJobError)
        wait = None if permanent else await self._outside_cause(job, exc, counter)
        if wait is not None:
            # Not the job's fault: it waits for the cause to clear without spending an attempt,
            # so a long outage or a rate-limit window never makes it dead.
            until, why = wait
            log.warning(
                "%s postponed %.0fs (%s), attempt not counted: %s",
                label,
                max(0.0, until - time.time()),
                why,
                error,
            )
            await self._settle(
                job, lambda: queue.defer(job.id, worker_id, f"{why}: {error}", until=until)
            )
            return "deferred"
        dead = permanent or job.attempts >= queue.max_attempts
        if dead:
            log.error(
                "%s failed for good after %d attempts: %s",
                label,
                job.attempts,
                error,
                exc_info=exc,
            )
        else:
            log.warning(
                "%s failed (attempt %d), will retry: %s", label, job.attempts, error, exc_info=exc
            )
        retry_in = None if permanent else self._retry_delay(job.attempts)
        await self._settle(job, lambda: queue.fail(job.id, worker_id, error, retry_in=retry_in))
        return "dead" if dead else "retry"

    async def _outside_cause(
        self, job: Job, exc: Exception, counter: CallCounter
    ) -> tuple[float, str] | None:
        """(when to try again, why) when the failure is not the job's own: a GitHub rate
        limit (wait for its reset), the store failing (disk full, database restarting), or
        GitHub down: after 5xx answers or timeouts a probe tells an outage (every try during
        it is handed back, so a job caught by the recovery still has its attempts) from a
        route broken for this job while GitHub answers, which spends attempts and ends dead."""
        now = time.time()
        until = faults.rate_limit_until(exc, counter, now)
        if until is not None:
            return until + random.uniform(0.0, 1.0), "rate limited"
        # Attempts stay put while waiting, so the backoff grows with the job's age instead:
        # a long outage is polled about every tenth of its length, up to the cap.
        wait = min(self.retry_cap, self._retry_delay(job.attempts) + 0.1 * (now - job.created_at))
        if faults.is_store_error(exc):
            return now + wait, "store unavailable"
        if faults.is_github_unavailable(exc) and not await self.github_reachable():
            return now + wait, "GitHub unreachable"
        return None

    def _retry_delay(self, attempts: int) -> float:
        return retry_delay(attempts, self.retry_base, self.retry_cap)

    async def _settle(self, job: Job, update: Callable[[], Awaitable[None]]) -> None:
        """Write a job's outcome, waiting for the store when it fails (disk full, a database
        restart): the worker pauses here instead of dying. Shielded: a shutdown must not cut
        the update in half. Given up only when stopping: the lease then expires (or the next
        SQLite process reclaims the job) and the job runs again."""
        delay = SETTLE_RETRY_SECONDS
        while True:
            try:
                await asyncio.shield(update())
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.stopping.is_set():
                    log.error("could not record the outcome of job %s at shutdown: %s", job.id, exc)
                    return
                log.warning(
                    "could not record the outcome of job %s (%s: %s); retrying in %.1fs",
                    job.id,
                    type(exc).__name__,
                    exc,
                    delay,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), timeout=delay)
                delay = min(delay * 2, SETTLE_RETRY_CAP_SECONDS)


__all__ = ["JobRunner", "WorkerPool", "check_envelope", "describe", "job_payload", "retry_delay"]
