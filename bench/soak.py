"""Soak run: mixed webhook traffic with random faults against real `serve` replicas.

    python bench/soak.py [--minutes 10] [--replicas 1 --database sqlite]
    python bench/soak.py --minutes 10 --replicas 3 --database postgresql

The GitHub emulator (in this process) drives a repository: pull requests opened, pushed to,
closed and reopened; pushes to the default branch; comments with `/isolation` commands from
many users; redeliveries of earlier deliveries. Its webhooks go through a round-robin loopback
load balancer to the replicas (tests.support.cluster). Every ``--fault-every`` seconds one fault
is injected at random through the emulator's fault API (5xx bursts, a short GitHub outage,
secondary rate limits, slow answers, expired tokens) and, with several replicas, a replica is
SIGKILLed and restarted. Then the traffic stops, the faults are cleared, the queue drains, and
the run prints:

- deliveries stored and webhook jobs finished (equal when nothing is lost), jobs dead/left;
- duplicate side effects: PRs with more than one status comment, command comments with more
  than one reply, heads with more than one completed check run;
- lost events: deliveries never acknowledged, open PRs whose last head has no completed
  check, command comments without a reply;
- p50/p99 of the acknowledgement (balancer to replica and back) and of delivery-to-check-run
  (a PR event emitted to its head's check run completed);
- resident memory of each replica at start, every minute, and at the end;
- GitHub API calls per stored delivery.
Loopback only; every loop is bounded by the run's duration or a timeout. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.commands.reply import MARKER_PREFIX
from bot.emulator import GitHubEmulator
from bot.emulator.state import AppRecord
from bot.prcheck.check_run import CHECK_NAME
from bot.prcheck.comment import MARKER
from tests.support.cluster import BotCluster
from tests.support.samples import BASE_SOURCE, HEAD_SOURCE

REPO = "python/cpython"
CONTRIBUTOR = "contributor"
FORK = f"{CONTRIBUTOR}/cpython"
MODULES = 8
MAX_OPEN_PRS = 30
USERS = 200  # commenters (the per-user command rate limit is 10 per 10 minutes)
COMMANDS = (
    "/isolation help",
    "/isolation recheck",
    "/isolation status",
    "/isolation explain ISO001",
)
_REPLY_RE = re.compile(re.escape(MARKER_PREFIX) + r"(\d+):")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def module_path(k: int) -> str:
    return f"Modules/_soak{k}module.c"


def module_source(k: int, tag: str, bad: bool) -> str:
    source = HEAD_SOURCE if bad else BASE_SOURCE
    return source.replace("_counter", f"_soak{k}") + f"\n/* {tag} */\n"


@dataclass
class Driver:
    """The traffic: what was sent, and when, to check the end state against."""

    emu: GitHubEmulator
    rng: random.Random
    open_prs: dict[int, int] = field(default_factory=dict)  # number -> PR serial
    closed_prs: set[int] = field(default_factory=set)
    serial: int = 0
    revisions: int = 0
    emitted_at: dict[str, float] = field(default_factory=dict)  # head sha -> when its event left
    command_comments: dict[int, str] = field(default_factory=dict)  # comment id -> command
    # Check runs each head may rightly get: its PR event, a reopen, each `recheck` on it.
    triggers: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)

    def _source(self, k: int) -> str:
        self.revisions += 1
        return module_source(k, f"rev {self.revisions}", self.rng.random() < 0.5)

    def open_pr(self) -> None:
        self.serial += 1
        k = self.serial % MODULES
        branch = f"soak-{self.serial}"
        sha = self.emu.commit(FORK, branch, {module_path(k): self._source(k)}, author=CONTRIBUTOR)
        self.emitted_at[sha] = time.perf_counter()
        self.triggers[sha] += 1
        number = self.emu.open_pull_request(REPO, f"{CONTRIBUTOR}:{branch}", user=CONTRIBUTOR)
        self.open_prs[number] = self.serial
        self.actions["pr opened"] += 1

    def push_pr(self) -> None:
        number = self.rng.choice(list(self.open_prs))
        serial = self.open_prs[number]
        k = serial % MODULES
        t = time.perf_counter()
        sha = self.emu.push(
            FORK, f"soak-{serial}", {module_path(k): self._source(k)}, author=CONTRIBUTOR
        )
        self.emitted_at[sha] = t
        self.triggers[sha] += 1
        self.actions["pr synchronize"] += 1

    def close_or_reopen(self) -> None:
        if self.closed_prs and self.rng.random() < 0.5:
            number = self.closed_prs.pop()
            self.emu.reopen_pull_request(REPO, number, user=CONTRIBUTOR)
            self.open_prs[number] = self._serial_of(number)
            head = str(self.emu.pull_request(REPO, number)["head"]["sha"])
            self.emitted_at.setdefault(head, time.perf_counter())
            self.triggers[head] += 1
            self.actions["pr reopened"] += 1
        else:
            number = self.rng.choice(list(self.open_prs))
            del self.open_prs[number]
            self.emu.close_pull_request(REPO, number, user=CONTRIBUTOR)
            self.closed_prs.add(number)
            self.actions["pr closed"] += 1

    def _serial_of(self, number: int) -> int:
        ref = str(self.emu.pull_request(REPO, number)["head"]["ref"])
        return int(ref.rsplit("-", 1)[1])

    def push_main(self) -> None:
        k = self.rng.randrange(MODULES)
        self.emu.push(REPO, "main", {module_path(k): self._source(k)}, author="maintainer")
        self.actions["push main"] += 1

    def command(self) -> None:
        number = self.rng.choice(list(self.open_prs) + list(self.closed_prs))
        text = self.rng.choice(COMMANDS)
        user = f"user{self.rng.randrange(USERS)}"
        if text.endswith("recheck") and number in self.open_prs:
            self.triggers[str(self.emu.pull_request(REPO, number)["head"]["sha"])] += 1
        comment_id = self.emu.comment(REPO, number, user, f"Please check.\n\n{text}\n")
        self.command_comments[comment_id] = text
        self.actions["command comment"] += 1

    async def redeliver(self) -> None:
        candidates = [d.id for d in self.emu.deliveries[-500:] if not d.redelivery]
        if candidates:
            await self.emu.redeliver(self.rng.choice(candidates), wait=False)
            self.actions["redelivery"] += 1

    async def step(self) -> None:
        roll = self.rng.random()
        if len(self.open_prs) < 5 or (roll < 0.12 and len(self.open_prs) < MAX_OPEN_PRS):
            self.open_pr()
        elif roll < 0.45:
            self.push_pr()
        elif roll < 0.52:
            self.close_or_reopen()
        elif roll < 0.62:
            self.push_main()
        elif roll < 0.85:
            self.command()
        else:
            await self.redeliver()


@dataclass
class FaultInjector:
    emu: GitHubEmulator
    cluster: BotCluster
    rng: random.Random
    injected: Counter[str] = field(default_factory=Counter)
    restarts: list[asyncio.Task[None]] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)  # "replica i at m:ss", for the report
    started: float = field(default_factory=time.perf_counter)

    def inject(self) -> None:
        emu, rng = self.emu, self.rng
        kinds = [
            "5xx burst",
            "outage",
            "secondary rate limit",
            "slow answers",
            "tokens expired",
            "comment POST fails",
        ]
        if len(self.cluster.replicas) > 1:
            kinds.append("replica killed")
        kind = rng.choice(kinds)
        if kind == "5xx burst":
            route = rng.choice(
                [r"/pulls/\d+/files$", r"/git/blobs/", r"/compare/", r"/check-runs", r"/pulls/\d+$"]
            )
            emu.faults.add(
                path=route, status=rng.choice([500, 502, 503, 504]), times=rng.randint(1, 6)
            )
        elif kind == "outage":
            emu.faults.add(path=".*", status=503, times=rng.randint(10, 40))
        elif kind == "secondary rate limit":
            emu.faults.add(
                path=r"/issues/|/check-runs", status=403, retry_after=1, times=rng.randint(1, 3)
            )
        elif kind == "slow answers":
            emu.faults.add(
                path=r"/git/trees/|/pulls/\d+/files$",
                status=None,
                delay=2.0,
                times=rng.randint(1, 4),
            )
        elif kind == "tokens expired":
            emu.expire_tokens()
        elif kind == "comment POST fails":
            emu.faults.add(
                method="POST", path=r"/issues/\d+/comments$", status=500, times=rng.randint(1, 3)
            )
        else:
            victim = rng.choice([r for r in self.cluster.replicas if r.alive] or [None])
            if victim is None:
                return
            self.restarts.append(asyncio.create_task(self._restart(victim.index)))
        self.injected[kind] += 1

    async def _restart(self, index: int) -> None:
        replica = self.cluster.replicas[index]
        elapsed = time.perf_counter() - self.started
        self.restarted.append(f"replica {index} at {int(elapsed // 60)}:{int(elapsed % 60):02d}")
        await replica.kill()
        await asyncio.sleep(3)
        await replica.start()


class RunWatcher:
    """When each head's check run completed (not cancelled), polled from the emulator."""

    def __init__(self, emu: GitHubEmulator) -> None:
        self.emu = emu
        self.completed_at: dict[str, float] = {}
        self._seen: set[int] = set()

    def poll(self) -> None:
        now = time.perf_counter()
        with self.emu.lock:
            runs = list(self.emu.all_check_runs())
        for run in runs:
            if run.id in self._seen or run.status != "completed":
                continue
            self._seen.add(run.id)
            if run.name == CHECK_NAME and run.conclusion != "cancelled":
                self.completed_at.setdefault(run.head_sha, now)


def make_world(tree: Path | None = None) -> tuple[GitHubEmulator, AppRecord, int]:
    emu = GitHubEmulator()
    emu.rate_limit = 10**8  # rate limits come from the injected faults, not the budget
    app = emu.register_app("isolation-bot", owner="python")
    emu.create_repo(REPO)
    files: dict[str, bytes | str | None] = {}
    if tree is not None:  # a CPython-sized default branch: the first sync reads its archive
        from bench.sync import tree_files

        files.update(tree_files(tree, with_lib=False))
    files.update({module_path(k): module_source(k, "base", False) for k in range(MODULES)})
    emu.commit(REPO, "main", files)
    emu.install(app, "python")
    emu.fork(REPO, CONTRIBUTOR)
    meta = emu.create_issue(REPO, "Meta issue: per-interpreter GIL", body="Tracking.\n")
    return emu, app, meta


@contextlib.asynccontextmanager
async def database(kind: str, tmp: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'soak.sqlite3'}"
        return
    from tests.support.store import postgres_unavailable_reason, temporary_postgres_url

    reason = await postgres_unavailable_reason()
    if reason:
        raise SystemExit(f"soak: {reason}")
    async with temporary_postgres_url() as url:
        yield url


def rss_line(samples: list[list[int | None]]) -> list[str]:
    out = []
    for i in range(len(samples[0]) if samples else 0):
        series = [s[i] for s in samples]
        shown = " ".join("-" if v is None else f"{v / 1024:.0f}" for v in series)
        out.append(f"  replica {i}: {shown} MiB{trend(series)}")
    return out


async def cache_sizes(cluster: BotCluster) -> list[dict[str, float]]:
    """Each replica's cache gauges from its /metrics ({"blobs": n, "blobs_bytes": b, ...});
    empty for a replica that does not answer (restarting)."""
    out: list[dict[str, float]] = []
    async with aiohttp.ClientSession() as session:
        for replica in cluster.replicas:
            sizes: dict[str, float] = {}
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                async with session.get(
                    replica.url + "/metrics", timeout=aiohttp.ClientTimeout(total=5)
                ) as resp:
                    text = await resp.text()
                for family in text_string_to_metric_families(text):
                    for sample in family.samples:
                        cache = sample.labels.get("cache")
                        if sample.name == "isolation_bot_cache_entries" and cache:
                            sizes[cache] = sample.value
                        elif sample.name == "isolation_bot_cache_bytes" and cache:
                            sizes[cache + "_bytes"] = sample.value
            out.append(sizes)
    return out


def cache_lines(samples: list[list[dict[str, float]]]) -> list[str]:
    out = []
    for i in range(len(samples[0]) if samples else 0):
        series = [s[i] if i < len(s) else {} for s in samples]
        for cache in ("analyses", "blobs", "trees", "permissions", "etags"):
            shown = " ".join(
                "-" if cache not in sizes else f"{sizes[cache]:.0f}" for sizes in series
            )
            out.append(f"  replica {i} {cache}: {shown}")
        shown = " ".join(
            "-" if "blobs_bytes" not in sizes else f"{sizes['blobs_bytes'] / 2**20:.1f}"
            for sizes in series
        )
        out.append(f"  replica {i} blob MiB: {shown}")
        shown = " ".join(
            "-" if "etags_bytes" not in sizes else f"{sizes['etags_bytes'] / 2**20:.1f}"
            for sizes in series
        )
        out.append(f"  replica {i} etag MiB (as JSON): {shown}")
    return out


def trend(series: list[int | None]) -> str:
    """The least-squares slope of the per-minute samples after minute 2 (the first sync and
    the caches' first fill are over by then), in MiB per minute; empty when too short."""
    points = [(m, v / 1024) for m, v in enumerate(series[:-1]) if m >= 2 and v is not None]
    if len(points) < 4:
        return ""
    n = len(points)
    mx = sum(m for m, _ in points) / n
    my = sum(v for _, v in points) / n
    slope = sum((m - mx) * (v - my) for m, v in points) / sum((m - mx) ** 2 for m, _ in points)
    return f"  (trend from minute 2: {slope:+.2f} MiB per minute)"


async def soak(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    emu, app, meta = make_world(Path(args.tree) if args.tree else None)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        config = tmp / "bot.toml"
        config.write_text(f'[meta_issue]\nrepo = "{REPO}"\nnumber = {meta}\n')
        async with database(args.database, tmp) as url, emu.serve() as api_url:
            cluster = BotCluster(
                emu,
                app,
                api_url,
                url,
                replicas=args.replicas,
                log_dir=tmp / "logs",
                env={
                    "ISOLATION_BOT_CONFIG": str(config),
                    "ISOLATION_BOT_LEASE_SECONDS": "10",
                    "ISOLATION_BOT_JOB_RETRY_SECONDS": "0.5",
                    "ISOLATION_BOT_GITHUB_BACKOFF_SECONDS": "0.1",
                },
            )
            await cluster.start()
            driver = Driver(emu, rng)
            faults = FaultInjector(emu, cluster, rng)
            watcher = RunWatcher(emu)
            rss: list[list[int | None]] = [[r.rss_kib() for r in cluster.replicas]]
            caches: list[list[dict[str, float]]] = [await cache_sizes(cluster)]
            print(
                f"soak: {args.minutes} min, {args.replicas} replica(s) on {args.database}, "
                f"{args.rate:g} events/s, a fault every {args.fault_every:g}s"
                + (f", default branch from {args.tree}" if args.tree else ""),
                flush=True,
            )
            started = time.perf_counter()
            end = started + args.minutes * 60
            next_fault = started + args.fault_every
            next_rss = started + 60
            while (now := time.perf_counter()) < end:
                await driver.step()
                if now >= next_fault:
                    faults.inject()
                    next_fault += args.fault_every
                if now >= next_rss:
                    rss.append([r.rss_kib() for r in cluster.replicas])
                    caches.append(await cache_sizes(cluster))
                    next_rss += 60
                watcher.poll()
                await asyncio.sleep(rng.expovariate(args.rate))
            traffic_seconds = time.perf_counter() - started
            emu.faults.clear()
            await asyncio.gather(*faults.restarts)
            drain_started = time.perf_counter()
            try:
                stats = await cluster.wait_idle(timeout=300)
            except TimeoutError as exc:
                print(f"soak: {exc}")
                stats = await cluster.stats()
            drain_seconds = time.perf_counter() - drain_started
            watcher.poll()
            rss.append([r.rss_kib() for r in cluster.replicas])
            caches.append(await cache_sizes(cluster))
            db = await cluster.db()
            stored = await db.fetchone("SELECT COUNT(*) AS n FROM deliveries")
            jobs = {
                (r["kind"], r["state"]): int(r["n"])
                for r in await db.fetchall(
                    "SELECT kind, state, COUNT(*) AS n FROM jobs GROUP BY kind, state"
                )
            }
            dead = await db.fetchall(
                "SELECT kind, event, last_error FROM jobs WHERE state = 'dead' LIMIT 5"
            )
            codes = await cluster.stop()
            report(
                args,
                emu,
                app,
                driver,
                faults,
                watcher,
                cluster,
                rss,
                caches,
                stats,
                jobs,
                dead,
                int(stored["n"]) if stored else 0,
                traffic_seconds,
                drain_seconds,
                codes,
            )


def report(
    args: argparse.Namespace,
    emu: GitHubEmulator,
    app: AppRecord,
    driver: Driver,
    faults: FaultInjector,
    watcher: RunWatcher,
    cluster: BotCluster,
    rss: list[list[int | None]],
    caches: list[list[dict[str, float]]],
    stats: object,
    jobs: dict[tuple[str, str], int],
    dead: list[dict[str, object]],
    stored: int,
    traffic_seconds: float,
    drain_seconds: float,
    codes: list[int | None],
) -> None:
    webhook_finished = jobs.get(("webhook", "done"), 0) + jobs.get(("webhook", "superseded"), 0)
    internal = {k: v for k, v in jobs.items() if k[0] != "webhook"}
    left = sum(v for (kind, state), v in jobs.items() if state in ("pending", "running"))
    dead_n = sum(v for (kind, state), v in jobs.items() if state == "dead")
    posted = [d for d in emu.deliveries if d.attempts]
    unacked = [d for d in posted if d.status not in (200, 202)]

    # Side effects on GitHub.
    status_comments: Counter[int] = Counter()
    replies: Counter[int] = Counter()
    for number in list(driver.open_prs) + list(driver.closed_prs):
        for c in emu.issue_comments(REPO, number):
            if c["user"]["login"] != app.bot_login:
                continue
            body = str(c["body"])
            if MARKER in body:
                status_comments[number] += 1
            for m in _REPLY_RE.finditer(body):
                replies[int(m.group(1))] += 1
    dup_status = sorted(n for n, c in status_comments.items() if c > 1)
    dup_replies = sorted(i for i, c in replies.items() if c > 1)
    no_reply = sorted(i for i in driver.command_comments if replies[i] == 0)
    # A user over the per-user rate limit is told once per window; later comments of that
    # window get only a "confused" reaction (bot.commands.runner): silent by design.
    limited = [
        i
        for i in no_reply
        if any(
            r["content"] == "confused" and r["user"]["login"] == app.bot_login
            for r in emu.reactions(REPO, i)
        )
    ]
    no_reply = [i for i in no_reply if i not in limited]
    dup_runs: list[str] = []
    missing_check: list[int] = []
    for number in driver.open_prs:
        head = emu.pull_request(REPO, number)["head"]["sha"]
        runs = [r for r in emu.check_runs(REPO, head) if r["name"] == CHECK_NAME]
        done = [r for r in runs if r["status"] == "completed" and r["conclusion"] != "cancelled"]
        if not done or any(r["status"] != "completed" for r in runs):
            missing_check.append(number)
        if len(done) > max(1, driver.triggers[head]):
            dup_runs.append(f"#{number}@{head[:8]}")
    pipeline = [
        watcher.completed_at[sha] - t
        for sha, t in driver.emitted_at.items()
        if sha in watcher.completed_at
    ]
    acks = cluster.balancer.ack_seconds
    calls = len(emu.requests)

    print(
        f"\n== soak: {args.replicas} replica(s), {args.database}, {traffic_seconds / 60:.1f} min "
        f"of traffic, drained in {drain_seconds:.1f}s =="
    )
    print("traffic:", ", ".join(f"{k} {v}" for k, v in sorted(driver.actions.items())))
    print("faults: ", ", ".join(f"{k} {v}" for k, v in sorted(faults.injected.items())) or "none")
    print(
        f"webhooks posted {len(posted)} (acknowledged {len(posted) - len(unacked)}, "
        f"balancer failovers {cluster.balancer.failovers})"
    )
    print(
        f"deliveries in (stored) {stored}   webhook jobs done {webhook_finished} "
        f"({'equal' if stored == webhook_finished else 'NOT EQUAL'})   "
        f"internal jobs {sum(internal.values())}   left pending/running {left}   dead {dead_n}"
    )
    for row in dead:
        print(f"  dead: {row['kind']} {row['event']}: {str(row['last_error'])[:160]}")
    print(
        f"duplicate side effects: {len(dup_status) + len(dup_replies) + len(dup_runs)} "
        f"(PRs with >1 status comment {len(dup_status)}, command comments with >1 reply "
        f"{len(dup_replies)}, heads with more completed runs than triggers {len(dup_runs)})"
    )
    print(
        f"lost events: {len(unacked) + len(missing_check) + len(no_reply)} "
        f"(unacknowledged deliveries {len(unacked)}, open PRs without a completed check on "
        f"their head {len(missing_check)}, command comments without a reply {len(no_reply)})"
    )
    if missing_check or no_reply:
        print(f"  PRs {missing_check[:10]}  comments {no_reply[:10]}")
    print(
        f"command comments answered by a reaction only (their user over the rate limit and "
        f"already told this window, by design): {len(limited)}"
    )
    print(
        f"ack latency (balancer -> replica -> 202): p50 {pct(acks, 50) * 1000:.1f} ms  "
        f"p99 {pct(acks, 99) * 1000:.1f} ms  ({len(acks)} answers)"
    )
    print(
        f"delivery-to-check-run: p50 {pct(pipeline, 50):.2f} s  p99 {pct(pipeline, 99):.2f} s "
        f"({len(pipeline)} heads; superseded heads have no run)"
    )
    print(
        "replica RSS (start, each minute, end; a killed and restarted replica starts again "
        f"from a fresh process: {', '.join(faults.restarted) or 'none'}):"
    )
    for line in rss_line(rss):
        print(line)
    print("in-memory caches of each replica (start, each minute, end; /metrics):")
    for line in cache_lines(caches):
        print(line)
    print(f"GitHub API calls: {calls} ({calls / max(1, stored):.2f} per stored delivery)")
    print(f"emulator validation errors: {len(emu.validation_errors)}   replica exit codes: {codes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rate", type=float, default=4.0, help="traffic events per second")
    parser.add_argument("--fault-every", type=float, default=15.0, help="seconds between faults")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--tree", help="a CPython source tree for the default branch (first sync: its archive)"
    )
    args = parser.parse_args()
    if args.database == "sqlite" and args.replicas != 1:
        parser.error("SQLite serves one process: use --replicas 1 (or --database postgresql)")
    asyncio.run(soak(args))


if __name__ == "__main__":
    main()
