"""Replicas killed at random points of PR checks, under bursts of superseding pushes, many
times, on SQLite and on PostgreSQL: afterwards no check run is left in progress.

In process, so dozens of kills fit in seconds. A replica is a worker pool with its own store
connection and caches; webhooks come from the emulator through the service's intake (an
intake-only service on the same store). A kill is a SIGKILL as far as the store and GitHub
can tell: at the chosen request (right after GitHub created the check run, right after it
took the run's result and annotations, just before the comment is sent, or at a random
request) every task of the replica is cancelled at once, nothing is released or recorded,
and its connections are closed. Then, as in production: on SQLite the one process restarts
and takes back the jobs left running; on PostgreSQL the dead replica's leases run out (set
to the past here instead of waiting for them) and a new replica joins the survivor. Some
replicas allow one attempt per job, so a killed job ends dead and only the sweep
(bot.prcheck.sweep) can end its run; the sweep runs after each round with its clock past the
lease and margin. The number of trials (kills) is printed (run with -s).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from bot.caches import ServiceCaches
from bot.config import tuning_from_env
from bot.emulator import GitHubEmulator
from bot.emulator.state import AppRecord
from bot.github.client import CallCounter
from bot.jobs import InternalJob
from bot.prcheck.check_run import CHECK_NAME
from bot.prcheck.comment import MARKER
from bot.prcheck.jobs import pr_key
from bot.prcheck.sweep import MARGIN_SECONDS, PR_RUN_SETTLE, sweep_once
from bot.service.local import bot_on_emulator
from bot.service.routers import JOB_HANDLERS, router
from bot.service.state import STATE, ServiceState, store_job
from bot.service.worker import JobRunner, WorkerPool
from bot.store import Database, open_database
from bot.store.queue import Queue
from tests.replicas.replica_world import (
    CONTRIBUTOR,
    FORK,
    MODULES,
    REPO,
    make_world,
    module_path,
    module_source,
)

ROUNDS = 16
PRS_PER_ROUND = 3
KILLS_PER_ROUND = 2
LEASE_SECONDS = 30.0  # never runs out by itself here: a dead replica's leases are expired
POINTS = ("created", "annotated", "before_comment", "random")


class Replica:
    """One bot process's workers: its own store connection, queue and caches."""

    def __init__(self, harness: Harness, name: str, max_attempts: int) -> None:
        self.harness, self.name = harness, name
        self.max_attempts = max_attempts
        self.db: Database | None = None
        self.pool: WorkerPool | None = None
        self.dead = False

    @property
    def url(self) -> str:
        """The store's URL, naming this replica's PostgreSQL sessions (to drop them)."""
        url = self.harness.url
        if not url.startswith("postgres"):
            return url
        return f"{url}{'&' if '?' in url else '?'}application_name={self.session_name}"

    @property
    def session_name(self) -> str:
        return f"{self.harness.tag}-{self.name}"

    async def start(self, *, reclaim: bool) -> None:
        self.db = await open_database(self.url)
        queue = Queue(self.db, lease_seconds=LEASE_SECONDS, max_attempts=self.max_attempts)
        if reclaim:  # the only process on SQLite: what it finds running was the dead one's
            await queue.reclaim_all_running()
        state = self.harness.state

        async def client_for(installation_id: int | None, counter: CallCounter) -> Any:
            assert state.github is not None and installation_id is not None
            return Tripwire(state.github.client(installation_id, counter), self)

        async def enqueue(job: InternalJob) -> str | None:
            job_id = await store_job(queue, job)
            self.harness.wake()
            return job_id

        runner = JobRunner(
            db=self.db,
            settings=state.settings,
            client_for=client_for,
            bot_login=state.bot_login,
            enqueue=enqueue,
            webhooks=router,
            jobs=JOB_HANDLERS,
            require_installation=True,
            caches=ServiceCaches(),
        )
        self.pool = WorkerPool(
            queue, 2, execute=runner, instance_id=self.name, retry_base=0.05, retry_cap=0.2
        )
        self.pool.start()

    def kill(self) -> None:
        """Every task at once, as SIGKILL: no release, no outcome recorded."""
        if self.dead or self.pool is None:
            return
        self.dead = True
        for _, task in list(self.pool.running.values()):
            task.cancel()
        for task in self.pool.tasks:
            task.cancel()
        self.harness.killed.append(self)

    async def reap(self, survivor: Database) -> None:
        """The process is gone: its PostgreSQL sessions end (the server rolls back what they
        held, as when the connection drops), its tasks are over, its connections closed."""
        assert self.pool is not None and self.db is not None
        if survivor.dialect == "postgresql":
            await survivor.fetchall(
                "SELECT pg_terminate_backend(pid) AS gone FROM pg_stat_activity "
                "WHERE application_name = ?",
                (self.session_name,),
            )
        tasks = [t for _, t in self.pool.running.values()] + self.pool.tasks
        for _ in range(100):
            # Cancelled again until done: Python 3.11's asyncio.wait_for can swallow a
            # cancellation that lands as its inner wait ends (the idle worker's poll).
            pending = [t for t in tasks if not t.done()]
            if not pending:
                break
            for t in pending:
                t.cancel()
            await asyncio.wait(pending, timeout=0.1)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.db.close(), 10)

    async def stop(self) -> None:
        if self.pool is not None and not self.dead:
            await self.pool.stop(grace=5)
        if self.db is not None:
            with contextlib.suppress(Exception):
                await self.db.close()


class Tripwire:
    """The replica's GitHub client: kills its replica at the armed point."""

    def __init__(self, gh: Any, replica: Replica) -> None:
        self._gh, self._replica = gh, replica

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gh, name)

    async def _call(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        harness = self._replica.harness
        data = kwargs.get("data")
        if harness.fires(method, url, data, before=True):
            await self._die()
        answer = await getattr(self._gh, method)(url, *args, **kwargs)
        if harness.fires(method, url, data, before=False):
            await self._die()
        return answer

    async def _die(self) -> None:
        self._replica.kill()
        raise asyncio.CancelledError("killed")  # this job's task ends here, like the others

    async def getitem(self, url: str, *args: Any, **kwargs: Any) -> Any:
        return await self._call("getitem", url, *args, **kwargs)

    async def post(self, url: str, *args: Any, **kwargs: Any) -> Any:
        return await self._call("post", url, *args, **kwargs)

    async def patch(self, url: str, *args: Any, **kwargs: Any) -> Any:
        return await self._call("patch", url, *args, **kwargs)


@dataclasses.dataclass
class Kill:
    point: str
    skip: int  # matching requests to let through first


def _matches(point: str, method: str, url: str, data: Any, before: bool) -> bool:
    if point == "created":  # GitHub created the run; its id is not in the store yet
        return not before and method == "post" and url.endswith("/check-runs")
    if point == "annotated":  # the run took the result and its annotations
        output = (data or {}).get("output") if isinstance(data, dict) else None
        return (
            not before
            and method == "patch"
            and "/check-runs/" in url
            and bool((output or {}).get("annotations"))
        )
    if point == "before_comment":
        return before and method in ("post", "patch") and "/comments" in url
    return before  # "random": any request (the skip count is random)


class Harness:
    def __init__(self, emu: GitHubEmulator, app: AppRecord, url: str, rng: random.Random) -> None:
        self.emu, self.app, self.url, self.rng = emu, app, url, rng
        self.state: ServiceState
        self.replicas: list[Replica] = []
        self.killed: list[Replica] = []
        self.armed: list[Kill] = []
        self.trials: dict[str, int] = dict.fromkeys(POINTS, 0)
        self.generation = 0
        self.tag = f"kills-{uuid.uuid4().hex[:8]}"

    def fires(self, method: str, url: str, data: Any, *, before: bool) -> bool:
        for kill in self.armed:
            if _matches(kill.point, method, url, data, before):
                if kill.skip > 0:
                    kill.skip -= 1
                    return False
                self.armed.remove(kill)
                self.trials[kill.point] += 1
                return True
        return False

    def wake(self) -> None:
        for r in self.replicas:
            if not r.dead and r.pool is not None:
                r.pool.wake()

    async def add_replica(self, *, reclaim: bool) -> None:
        self.generation += 1
        replica = Replica(self, f"r{self.generation}", self.rng.choice((1, 5, 5)))
        await replica.start(reclaim=reclaim)
        self.replicas.append(replica)

    async def replace_the_dead(self, postgres: bool) -> None:
        """What production does after a SIGKILL (see the module docstring)."""
        while self.killed:
            dead = self.killed.pop()
            await dead.reap(self.state.db)
            self.replicas.remove(dead)
            if postgres:
                # The lease runs out: other replicas may take the dead one's jobs now.
                await self.state.db.execute(
                    "UPDATE jobs SET lease_until = 0 WHERE state = 'running' AND worker_id LIKE ?",
                    (f"{dead.name}-%",),
                )
            await self.add_replica(reclaim=not postgres)
        self.wake()

    async def idle(self, postgres: bool, timeout: float = 30.0) -> None:
        """Until every webhook is delivered and no job is pending or running, replacing
        killed replicas as they die."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            await self.replace_the_dead(postgres)
            await self.emu.wait_for_deliveries(max(0.1, deadline - time.monotonic()))
            row = await self.state.db.fetchone(
                "SELECT COUNT(*) AS n FROM jobs WHERE state IN ('pending', 'running')"
            )
            quiet = quiet + 1 if row is not None and row["n"] == 0 else 0
            if quiet >= 3 and not self.killed:
                return
            await self.state.db.execute(
                "UPDATE jobs SET not_before = 0 WHERE state = 'pending'"
            )  # retries due now
            self.wake()
            await asyncio.sleep(0.05)
        rows = await self.state.db.fetchall(
            "SELECT id, kind, state, attempts, worker_id, last_error FROM jobs "
            "WHERE state IN ('pending', 'running')"
        )
        raise AssertionError(f"not idle: {rows}")

    async def sweep(self) -> int:
        async def enqueue(job: InternalJob) -> str | None:
            job_id = await store_job(self.state.queue, job)
            self.wake()
            return job_id

        async def installation_for(repo: str) -> int | None:
            assert self.state.github is not None
            return await self.state.github.installation_id_for(repo)

        later = time.time() + LEASE_SECONDS + MARGIN_SECONDS + 1
        return await sweep_once(
            self.state.db,
            enqueue,
            installation_for,
            older_than=LEASE_SECONDS + MARGIN_SECONDS,
            now=later,
        )


def open_pr(emu: GitHubEmulator, pr: int) -> int:
    branch = f"feature-{pr}"
    k = pr % MODULES
    emu.commit(FORK, branch, {module_path(k): module_source(k, pr, 0)}, author=CONTRIBUTOR)
    return emu.open_pull_request(REPO, f"{CONTRIBUTOR}:{branch}", user=CONTRIBUTOR)


def push_pr(emu: GitHubEmulator, pr: int, revision: int) -> str:
    k = pr % MODULES
    source = module_source(k, pr, revision)
    return emu.push(FORK, f"feature-{pr}", {module_path(k): source}, author=CONTRIBUTOR)


async def problems(emu: GitHubEmulator, app: AppRecord, db: Database, number: int) -> list[str]:
    """Runs left in progress on any head; for an open PR, a last head whose newest run was
    not completed with a result (or ended by the sweep), or more than one comment. A last
    head without any run is right only when the PR's newest job is dead (a replica allowing
    one attempt took it back from a killed one before it created the run; the sweep's job
    for an older head's run may come after it)."""
    out = []
    runs = [r for r in emu.check_runs(REPO) if r["name"] == CHECK_NAME]
    mine = [r for r in runs if r.get("external_id") == f"{REPO}#{number}"]
    for r in mine:
        if r["status"] != "completed":
            out.append(f"#{number}: run {r['id']} on {r['head_sha'][:8]} is {r['status']}")
    pr = emu.pull_request(REPO, number)
    if pr["state"] != "open":
        return out
    head = pr["head"]["sha"]
    last = [r for r in mine if r["head_sha"] == head]
    if not last:
        newest = await db.fetchone(
            "SELECT kind, state, last_error FROM jobs WHERE job_key = ? AND kind <> ? "
            "ORDER BY created_at DESC, id DESC LIMIT 1",
            (pr_key(REPO, number), PR_RUN_SETTLE),
        )
        if not newest or newest["state"] != "dead":
            out.append(f"#{number}: no run on its last head, its newest job: {newest}")
    elif last[-1]["conclusion"] not in ("success", "failure") and "did not finish" not in str(
        last[-1]["output"].get("title")
    ):
        out.append(f"#{number}: last head's newest run ended {last[-1]['conclusion']}")
    comments = [
        c
        for c in emu.issue_comments(REPO, number)
        if c["user"]["login"] == app.bot_login and MARKER in str(c["body"])
    ]
    if len(comments) > 1:
        out.append(f"#{number}: {len(comments)} status comments")
    return out


@contextlib.asynccontextmanager
async def harness_on(db_url: str, seed: int) -> AsyncIterator[Harness]:
    emu, app = make_world()
    tuning = dataclasses.replace(
        tuning_from_env(),
        github_writes_per_second=0.0,  # pacing is not what is tested here
        job_retry_seconds=0.05,
        job_retry_cap_seconds=0.2,
        github_backoff_seconds=0.01,
        redelivery_seconds=0.0,
    )
    harness = Harness(emu, app, db_url, random.Random(seed))
    async with bot_on_emulator(emu, app, db_url, workers=0, tuning=tuning) as bot:
        harness.state = bot.runner.app[STATE]
        harness.state.wake_workers = harness.wake  # type: ignore[method-assign]
        try:
            yield harness
        finally:
            for r in harness.replicas:
                await r.stop()
    assert emu.validation_errors == [], emu.validation_errors[:5]


async def test_killed_replicas_leave_no_run_in_progress(db_url: str) -> None:
    postgres = db_url.startswith("postgres")
    started = time.monotonic()
    async with harness_on(db_url, seed=17 if postgres else 11) as h:
        rng, emu = h.rng, h.emu
        for _ in range(2 if postgres else 1):
            await h.add_replica(reclaim=not postgres)
        numbers: list[int] = []
        swept = 0
        pr = 0
        for _round in range(ROUNDS):
            h.armed = [
                Kill(rng.choice(POINTS), rng.randrange(0, 3)) for _ in range(KILLS_PER_ROUND)
            ]
            prs = list(range(pr, pr + PRS_PER_ROUND))
            pr += PRS_PER_ROUND
            numbers += [open_pr(emu, p) for p in prs]
            for revision in range(1, rng.randrange(2, 5)):  # superseding pushes
                await asyncio.sleep(rng.uniform(0.0, 0.15))
                for p in prs:
                    push_pr(emu, p, revision)
            if rng.random() < 0.3:  # a PR closed while its checks may still run
                emu.close_pull_request(REPO, numbers[-1])
            await h.idle(postgres)
            h.armed = []  # a kill that found no matching request is not a trial
            swept += await h.sweep()
            await h.idle(postgres)
        trials = sum(h.trials.values())
        found = [p for n in numbers for p in await problems(emu, h.app, h.state.db, n)]
        engine = "postgresql" if postgres else "sqlite"
        dead = await h.state.db.fetchall("SELECT last_error FROM jobs WHERE state = 'dead'")
        print(
            f"\n{engine}: {trials} kills {h.trials} over {len(numbers)} PRs, "
            f"{len(dead)} jobs dead, {swept} runs ended by the sweep, "
            f"{time.monotonic() - started:.1f}s"
        )
        assert found == [], "\n".join(found)
        assert trials >= ROUNDS  # most armed kills found their request
        runs = [r for r in emu.check_runs(REPO) if r["name"] == CHECK_NAME]
        assert [r for r in runs if r["status"] != "completed"] == []
        assert all("lease expired" in str(r["last_error"]) for r in dead), dead
