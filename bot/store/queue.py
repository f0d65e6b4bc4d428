"""The durable delivery log and job queue, on either engine.

Job states: ``pending`` -> ``running`` (claimed, with a lease) -> ``done``; or ``dead`` (failed
for good), ``superseded`` (a newer job with the same key exists: only a PR's latest head is
worth processing). A running job whose lease expired (its worker died) is claimable again.

Jobs with the same ``key`` never run at the same time: a pending job waits while another job
of its key is running with a live lease. Two workers editing one PR's comment at once could
otherwise both create it. On PostgreSQL, rows are claimed with ``FOR UPDATE SKIP LOCKED`` and
the per-key decision is serialised with a transaction-scoped advisory lock on the key; on
SQLite the ``BEGIN IMMEDIATE`` transaction already serialises claimers.

Times are epoch seconds from an injectable clock (tests move time instead of sleeping).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.store import effects
from bot.store.db import Database, Row, StoreError, Transaction

WEBHOOK = "webhook"
_SCAN_LIMIT = 200  # candidates looked at per claim before giving up (busy keys are skipped)
BATCH_MAX = 64  # deliveries per group commit
# Group commits written at once. SQLite has one writer; on PostgreSQL, 4 measured no better
# than 1 (bench/webhooks.py) while splitting bursts into smaller transactions.
PARALLEL_COMMITS = 1


@dataclass(frozen=True)
class Job:
    id: str
    kind: str  # "webhook" or an internal kind ("recheck", "sync", ...)
    delivery_id: str | None
    event: str | None  # X-GitHub-Event for webhook jobs
    action: str | None
    payload: str  # JSON text
    key: str | None  # coalescing key, e.g. "pr:python/cpython#123"
    attempts: int  # tries so far, this one included
    created_at: float
    repo: str | None = None


@dataclass(frozen=True)
class QueueStats:
    pending: int
    running: int
    dead: int
    done: int
    superseded: int
    oldest_pending_age: float | None  # seconds; None when nothing is pending


@dataclass(frozen=True)
class _Delivery:
    delivery_id: str
    event: str
    action: str | None
    payload: str
    key: str | None
    repo: str | None
    received_at: float


def new_id() -> str:
    return uuid.uuid4().hex


class Queue:
    def __init__(
        self,
        db: Database,
        *,
        lease_seconds: float = 60.0,
        max_attempts: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self._clock = clock
        # Deliveries waiting for the next group commit, and the tasks writing them.
        self._waiting: list[tuple[_Delivery, asyncio.Future[bool]]] = []
        self._writers: set[asyncio.Task[None]] = set()

    # -- intake -------------------------------------------------------------------------------

    async def record_delivery(
        self,
        delivery_id: str,
        event: str,
        action: str | None,
        payload: str,
        *,
        key: str | None,
        repo: str | None,
    ) -> bool:
        """Store the delivery and its pending job atomically; returns once they are committed.
        False for a known delivery id (a redelivery): nothing is stored and nothing will run
        twice.

        Group commit: deliveries arriving while a transaction is being written wait for the
        next one and share it (up to ``BATCH_MAX`` each; one statement on PostgreSQL, two on
        SQLite), so a burst costs a few commits instead of one per delivery
        (``PARALLEL_COMMITS`` such transactions at a time).
        Nothing waits on purpose: the first delivery after a quiet moment is written at once.
        When a shared transaction fails, each of its deliveries is written alone, so one bad
        row fails only its own."""
        row = _Delivery(delivery_id, event, action, payload, key, repo, self._clock())
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool] = loop.create_future()
        self._waiting.append((row, done))
        if len(self._writers) < PARALLEL_COMMITS:
            self._writers.add(loop.create_task(self._write_waiting()))
        return await done

    async def _write_waiting(self) -> None:
        batch: list[tuple[_Delivery, asyncio.Future[bool]]] = []
        try:
            while self._waiting:
                batch = self._waiting[:BATCH_MAX]
                del self._waiting[:BATCH_MAX]
                await self._write_batch(batch)
        except BaseException as exc:  # cancelled (shutdown): nobody may wait for ever
            for _, done in batch + self._waiting:
                if not done.done():
                    done.set_exception(StoreError(f"delivery not stored: {exc!r}"))
            self._waiting.clear()
            raise
        finally:
            # In the same step as the last look at the waiting list: a delivery added after
            # it always finds a writer slot free and starts a writer.
            self._writers.discard(asyncio.current_task())

    async def _write_batch(self, batch: list[tuple[_Delivery, asyncio.Future[bool]]]) -> None:
        try:
            results = await self._store_deliveries([row for row, _ in batch])
        except Exception:
            for row, done in batch:
                try:
                    async with self.db.transaction() as tx:
                        result = await self._store_delivery(tx, row)
                except Exception as exc:
                    if not done.done():
                        done.set_exception(exc)
                else:
                    if not done.done():
                        done.set_result(result)
            return
        for (_, done), result in zip(batch, results, strict=True):
            if not done.done():  # the request may have gone (client disconnected)
                done.set_result(result)

    async def _store_deliveries(self, rows: list[_Delivery]) -> list[bool]:
        """Several deliveries and their jobs, atomically; True for each one stored, False for
        a known delivery id (and for a repeat of an id within ``rows``)."""
        firsts: dict[str, _Delivery] = {}
        for r in rows:
            firsts.setdefault(r.delivery_id, r)
        unique = list(firsts.values())
        if self.db.dialect == "postgresql":
            new = await self._insert_postgres(unique)
        else:
            async with self.db.transaction() as tx:
                new = await self._insert_portable(tx, unique)
        results: list[bool] = []
        for r in rows:
            results.append(r.delivery_id in new)
            new.discard(r.delivery_id)  # the same id twice in one batch: the first one only
        return results

    async def _insert_portable(self, tx: Transaction, rows: list[_Delivery]) -> set[str]:
        """Two statements in the caller's transaction (one per table); the ids stored."""
        marks = ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(rows))
        inserted = await tx.fetchall(
            "INSERT INTO deliveries (delivery_id, event, action, repo, payload, received_at) "
            f"VALUES {marks} ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id",
            [
                v
                for r in rows
                for v in (r.delivery_id, r.event, r.action, r.repo, r.payload, r.received_at)
            ],
        )
        new = {r["delivery_id"] for r in inserted}
        jobs: list[object] = []
        for r in rows:
            if r.delivery_id in new:
                t = r.received_at
                jobs += (
                    new_id(),
                    WEBHOOK,
                    r.delivery_id,
                    r.event,
                    r.action,
                    r.key,
                    r.repo,
                    t,
                    t,
                    t,
                )
        if jobs:
            marks = ", ".join(
                ["(?, ?, ?, ?, ?, NULL, ?, ?, NULL, 'pending', 0, ?, ?, ?)"] * (len(jobs) // 10)
            )
            await tx.execute(
                "INSERT INTO jobs (id, kind, delivery_id, event, action, payload, job_key, repo, "
                "dedup_id, state, attempts, not_before, created_at, updated_at) "
                f"VALUES {marks}",
                jobs,
            )
        return new

    async def _insert_postgres(self, rows: list[_Delivery]) -> set[str]:
        """Both tables in ONE statement (a data-modifying CTE), run on its own: it is its own
        transaction, so a group costs one round trip instead of five (BEGIN, two inserts,
        COMMIT, each an await the busy intake loop answers late). ``rows`` have distinct ids:
        only the deliveries the first insert stored get a job."""
        marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
        inserted = await self.db.fetchall(
            "WITH v (delivery_id, event, action, repo, payload, received_at, job_id, job_key) "
            f"AS (VALUES {marks}), "
            "stored AS (INSERT INTO deliveries "
            "(delivery_id, event, action, repo, payload, received_at) "
            "SELECT delivery_id::text, event::text, action::text, repo::text, payload::text, "
            "received_at::double precision FROM v "
            "ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id), "
            "queued AS (INSERT INTO jobs (id, kind, delivery_id, event, action, payload, "
            "job_key, repo, dedup_id, state, attempts, not_before, created_at, updated_at) "
            "SELECT v.job_id::text, ?, v.delivery_id::text, v.event::text, v.action::text, "
            "NULL, v.job_key::text, v.repo::text, NULL, 'pending', 0, "
            "v.received_at::double precision, v.received_at::double precision, "
            "v.received_at::double precision "
            "FROM v JOIN stored ON stored.delivery_id = v.delivery_id::text) "
            "SELECT delivery_id FROM stored",
            [
                *(
                    v
                    for r in rows
                    for v in (
                        r.delivery_id,
                        r.event,
                        r.action,
                        r.repo,
                        r.payload,
                        r.received_at,
                        new_id(),
                        r.key,
                    )
                ),
                WEBHOOK,
            ],
        )
        return {r["delivery_id"] for r in inserted}

    async def _store_delivery(self, tx: Transaction, row: _Delivery) -> bool:
        inserted = await tx.execute(
            "INSERT INTO deliveries (delivery_id, event, action, repo, payload, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING",
            (row.delivery_id, row.event, row.action, row.repo, row.payload, row.received_at),
        )
        if inserted != 1:
            return False
        await self._insert_job(
            tx,
            kind=WEBHOOK,
            delivery_id=row.delivery_id,
            event=row.event,
            action=row.action,
            payload=None,
            key=row.key,
            repo=row.repo,
            not_before=row.received_at,
            dedup_id=None,
            now=row.received_at,
        )
        return True

    async def enqueue(
        self,
        kind: str,
        payload: str,
        *,
        key: str | None = None,
        not_before: float | None = None,
        dedup_id: str | None = None,
        repo: str | None = None,
    ) -> str | None:
        """An internal job; returns its id, or None when ``dedup_id`` was already used."""
        now = self._clock()
        async with self.db.transaction() as tx:
            return await self._insert_job(
                tx,
                kind=kind,
                delivery_id=None,
                event=None,
                action=None,
                payload=payload,
                key=key,
                repo=repo,
                not_before=now if not_before is None else not_before,
                dedup_id=dedup_id,
                now=now,
            )

    async def _insert_job(
        self,
        tx: Transaction,
        *,
        kind: str,
        delivery_id: str | None,
        event: str | None,
        action: str | None,
        payload: str | None,
        key: str | None,
        repo: str | None,
        not_before: float,
        dedup_id: str | None,
        now: float,
    ) -> str | None:
        job_id = new_id()
        inserted = await tx.execute(
            "INSERT INTO jobs (id, kind, delivery_id, event, action, payload, job_key, repo, "
            "dedup_id, state, attempts, not_before, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?) "
            "ON CONFLICT (dedup_id) DO NOTHING",
            (
                job_id,
                kind,
                delivery_id,
                event,
                action,
                payload,
                key,
                repo,
                dedup_id,
                not_before,
                now,
                now,
            ),
        )
        return job_id if inserted == 1 else None

    # -- workers ------------------------------------------------------------------------------

    async def claim(self, worker_id: str) -> Job | None:
        """The oldest runnable job, leased to ``worker_id``; None when there is none."""
        now = self._clock()
        postgres = self.db.dialect == "postgresql"
        skipped: list[str] = []
        async with self.db.transaction() as tx:
            for _ in range(_SCAN_LIMIT):
                exclude = ""
                if skipped:
                    exclude = f" AND id NOT IN ({', '.join('?' for _ in skipped)})"
                row = await tx.fetchone(
                    "SELECT id, job_key, state, attempts, created_at FROM jobs "
                    "WHERE state IN ('pending', 'running') "  # the jobs_active index
                    "AND ((state = 'pending' AND not_before <= ?) "
                    "OR (state = 'running' AND lease_until < ?))"
                    + exclude
                    + " ORDER BY created_at, id LIMIT 1"
                    + (" FOR UPDATE SKIP LOCKED" if postgres else ""),
                    (now, now, *skipped),
                )
                if row is None:
                    return None
                verdict = await self._judge(tx, row, now, postgres)
                if verdict == "claim":
                    return await self._take(tx, row["id"], worker_id, now)
                if verdict == "skip":
                    skipped.append(row["id"])
                # "superseded" / "dead": the row left the runnable set; look again
        return None

    async def _judge(self, tx: Transaction, row: Row, now: float, postgres: bool) -> str:
        key = row["job_key"]
        if key is not None:
            if postgres:
                got = await tx.fetchone(
                    "SELECT pg_try_advisory_xact_lock(hashtext(current_schema()), "
                    "hashtext(?)) AS got",
                    (f"job-key:{key}",),
                )
                if not (got and got["got"]):
                    return "skip"  # another claimer is deciding about this key right now
            newer = await tx.fetchone(
                "SELECT id FROM jobs WHERE job_key = ? AND id <> ? "
                "AND (created_at > ? OR (created_at = ? AND id > ?)) LIMIT 1",
                (key, row["id"], row["created_at"], row["created_at"], row["id"]),
            )
            if newer is not None:
                await tx.execute(
                    "UPDATE jobs SET state = 'superseded', worker_id = NULL, lease_until = NULL, "
                    "updated_at = ? WHERE id = ?",
                    (now, row["id"]),
                )
                return "superseded"
            busy = await tx.fetchone(
                "SELECT id FROM jobs WHERE job_key = ? AND id <> ? AND state = 'running' "
                "AND lease_until >= ? LIMIT 1",
                (key, row["id"], now),
            )
            if busy is not None:
                return "skip"
        if row["state"] == "running" and row["attempts"] >= self.max_attempts:
            # Its workers keep dying on it (or hanging past the lease): stop retrying.
            await tx.execute(
                "UPDATE jobs SET state = 'dead', worker_id = NULL, lease_until = NULL, "
                "updated_at = ?, last_error = ? WHERE id = ?",
                (now, f"lease expired after {row['attempts']} attempts", row["id"]),
            )
            return "dead"
        return "claim"

    async def _take(self, tx: Transaction, job_id: str, worker_id: str, now: float) -> Job:
        await tx.execute(
            "UPDATE jobs SET state = 'running', worker_id = ?, lease_until = ?, "
            "attempts = attempts + 1, updated_at = ? WHERE id = ?",
            (worker_id, now + self.lease_seconds, now, job_id),
        )
        row = await tx.fetchone(
            "SELECT j.id, j.kind, j.delivery_id, j.event, j.action, j.job_key, j.repo, "
            "j.attempts, j.created_at, COALESCE(j.payload, d.payload) AS payload "
            "FROM jobs j LEFT JOIN deliveries d ON d.delivery_id = j.delivery_id WHERE j.id = ?",
            (job_id,),
        )
        assert row is not None  # we hold the row
        return _job(row)

    async def heartbeat(self, job_id: str, worker_id: str) -> bool:
        """Extend the lease; False when the job is no longer ours (lease lost to another)."""
        now = self._clock()
        changed = await self.db.execute(
            "UPDATE jobs SET lease_until = ?, updated_at = ? "
            "WHERE id = ? AND worker_id = ? AND state = 'running'",
            (now + self.lease_seconds, now, job_id, worker_id),
        )
        return changed == 1

    async def complete(self, job_id: str, worker_id: str) -> None:
        """Mark done. A no-op when the lease was lost and another worker owns the job now."""
        await self.db.execute(
            "UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = ? "
            "WHERE id = ? AND worker_id = ? AND state = 'running'",
            (self._clock(), job_id, worker_id),
        )

    async def fail(
        self, job_id: str, worker_id: str, error: str, *, retry_in: float | None
    ) -> None:
        """Record a failure: pending again after ``retry_in`` seconds, or ``dead`` when
        ``retry_in`` is None (a permanent error) or the job used up ``max_attempts``."""
        now = self._clock()
        error = error[:10_000]
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT attempts FROM jobs WHERE id = ? AND worker_id = ? AND state = 'running'",
                (job_id, worker_id),
            )
            if row is None:
                return
            if retry_in is None or row["attempts"] >= self.max_attempts:
                await tx.execute(
                    "UPDATE jobs SET state = 'dead', worker_id = NULL, lease_until = NULL, "
                    "last_error = ?, updated_at = ? WHERE id = ?",
                    (error, now, job_id),
                )
            else:
                await tx.execute(
                    "UPDATE jobs SET state = 'pending', worker_id = NULL, lease_until = NULL, "
                    "not_before = ?, last_error = ?, updated_at = ? WHERE id = ?",
                    (now + max(0.0, retry_in), error, now, job_id),
                )

    async def defer(self, job_id: str, worker_id: str, error: str, *, until: float) -> None:
        """Pending again at ``until`` without spending an attempt: the try failed for a reason
        outside the job (GitHub down, a rate limit, the store full), so however long that lasts
        it must never make the job dead. ``last_error`` says why it waits."""
        await self.db.execute(
            "UPDATE jobs SET state = 'pending', worker_id = NULL, lease_until = NULL, "
            "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, "
            "not_before = ?, last_error = ?, updated_at = ? "
            "WHERE id = ? AND worker_id = ? AND state = 'running'",
            (until, error[:10_000], self._clock(), job_id, worker_id),
        )

    async def release(self, job_id: str, worker_id: str) -> None:
        """Graceful shutdown: the job goes back to pending at once, and the interrupted try
        does not count against its attempts."""
        await self.db.execute(
            "UPDATE jobs SET state = 'pending', worker_id = NULL, lease_until = NULL, "
            "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, updated_at = ? "
            "WHERE id = ? AND worker_id = ? AND state = 'running'",
            (self._clock(), job_id, worker_id),
        )

    async def reclaim_all_running(self) -> int:
        """At the start of the ONLY process (SQLite): every running job is an orphan of the
        previous run; make them pending now instead of waiting for their leases. Never call
        this with replicas sharing the store: it would steal their live jobs."""
        return await self.db.execute(
            "UPDATE jobs SET state = 'pending', worker_id = NULL, lease_until = NULL, "
            "updated_at = ? WHERE state = 'running'",
            (self._clock(),),
        )

    # -- inspection and upkeep ----------------------------------------------------------------

    async def stats(self) -> QueueStats:
        counts = {
            r["state"]: int(r["n"])
            for r in await self.db.fetchall("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
        }
        oldest = await self.db.fetchone(
            "SELECT MIN(created_at) AS t FROM jobs WHERE state = 'pending'"
        )
        age = None
        if oldest is not None and oldest["t"] is not None:
            age = max(0.0, self._clock() - float(oldest["t"]))
        return QueueStats(
            pending=counts.get("pending", 0),
            running=counts.get("running", 0),
            dead=counts.get("dead", 0),
            done=counts.get("done", 0),
            superseded=counts.get("superseded", 0),
            oldest_pending_age=age,
        )

    async def get(self, job_id: str) -> dict[str, Any] | None:
        """The job's row (state, attempts, last_error, ...), for tests and operators."""
        return await self.db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))

    async def prune(self, older_than_seconds: float) -> int:
        """Delete finished (done/superseded) jobs and their deliveries older than the cutoff;
        dead jobs stay for inspection. A redelivery of a pruned delivery id would run again,
        so keep the cutoff well beyond GitHub's redelivery window (days)."""
        cutoff = self._clock() - older_than_seconds
        async with self.db.transaction() as tx:
            n = await tx.execute(
                "DELETE FROM jobs WHERE state IN ('done', 'superseded') AND updated_at < ?",
                (cutoff,),
            )
            await tx.execute(
                "DELETE FROM deliveries WHERE received_at < ? AND NOT EXISTS "
                "(SELECT 1 FROM jobs WHERE jobs.delivery_id = deliveries.delivery_id)",
                (cutoff,),
            )
        return n

    async def once(self, effect_key: str) -> bool:
        """True the first time only (see bot.store.effects)."""
        return await effects.once(self.db, effect_key)

    async def forget(self, effect_key: str) -> None:
        await effects.forget(self.db, effect_key)


def _job(row: Row) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        delivery_id=row["delivery_id"],
        event=row["event"],
        action=row["action"],
        payload=row["payload"] if row["payload"] is not None else "",
        key=row["job_key"],
        attempts=int(row["attempts"]),
        created_at=float(row["created_at"]),
        repo=row["repo"],
    )
