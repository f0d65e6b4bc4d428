"""Webhook service figures: ack latency, delivery-to-check-run time, API calls per event.

    python bench/webhooks.py [--deliveries 1000] [--prs 30]

1. Acknowledgement latency of a burst of signed ``pull_request`` deliveries (1, 10, 50, 200 in
   flight, connections opened beforehand, sent from a child process as GitHub is another
   machine) to the real aiohttp app on SQLite and on PostgreSQL
   (``ISOLATION_BOT_TEST_POSTGRES_URL``, a scratch schema; workers off: only the intake is
   measured), and how many deliveries and jobs were stored (each exactly once).
2. Time from a push (the emulator emits ``synchronize``) to the completed ``isolation`` check
   run, against the GitHub emulator, one push at a time.
3. GitHub API calls for one typical ``synchronize`` with 3 changed C files: cold (new head
   blobs) and with every blob already cached (a push back to contents seen before).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import hmac
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Settings
from tests.support.samples import BASE_SOURCE, HEAD_SOURCE


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(v: float) -> str:
    return f"{v * 1000:.1f} ms"


def _signed(secret: str, event: str, delivery: str, payload: object) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sig,
    }


async def load(url: str, secret: str, n: int, in_flight: int) -> None:
    """The sender (run in its own process, as GitHub is another machine): ``n`` signed
    deliveries, ``in_flight`` at a time; prints the latencies and the time as JSON."""
    gc.disable()  # a short-lived sender: its own collections would show up as ack latency
    latencies: list[float] = [0.0] * n
    sem = asyncio.Semaphore(in_flight)

    def signed(i: int) -> tuple[bytes, dict[str, str]]:
        payload = {
            "action": "synchronize",
            "number": i % 200 + 1,
            "pull_request": {
                "number": i % 200 + 1,
                "head": {"sha": f"{i:040x}"},
                "base": {"sha": "b" * 40},
            },
            "repository": {"full_name": "python/cpython"},
            "installation": {"id": 1},
        }
        return _signed(secret, "pull_request", f"bench-{i}", payload)

    # Signed before the clock starts: signing 2,000 bodies while the first ones are in
    # flight would delay reading their answers and count against the service.
    requests = [signed(i) for i in range(n)]

    async def one(session: aiohttp.ClientSession, i: int) -> None:
        body, headers = requests[i]
        async with sem:
            t0 = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as resp:
                answer = await resp.read()
                assert resp.status == 202, (resp.status, answer)
            latencies[i] = time.perf_counter() - t0

    async def ping(session: aiohttp.ClientSession, i: int) -> None:
        body, headers = _signed(secret, "ping", f"warm-{i}", {"zen": "warm"})
        async with session.post(url, data=body, headers=headers) as resp:
            await resp.read()

    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        # Open the connections first (GitHub keeps them too): the figure is the ack.
        await asyncio.gather(*(ping(session, i) for i in range(in_flight)))
        t0 = time.perf_counter()
        await asyncio.gather(*(one(session, i) for i in range(n)))
        total = time.perf_counter() - t0
    print(json.dumps({"latencies": latencies, "total": total}))


async def bench_ack(n: int, in_flight: int = 50, engine: str = "sqlite") -> None:
    from bot.service.app import create_app
    from bot.service.memory import settle_heap
    from bot.service.state import STATE

    secret = "bench"
    async with contextlib.AsyncExitStack() as stack:
        if engine == "sqlite":
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            database_url = f"sqlite:///{tmp}/b.db"
        else:
            from tests.support.store import temporary_postgres_url

            database_url = await stack.enter_async_context(temporary_postgres_url())
        settings = Settings(webhook_secret=secret, database_url=database_url)
        app = await create_app(settings, workers=0)
        served: list[float] = []

        @web.middleware
        async def timed(request: web.Request, handler: Any) -> web.StreamResponse:
            t0 = time.perf_counter()
            try:
                return await handler(request)
            finally:
                if request.headers.get("X-GitHub-Event") == "pull_request":
                    served.append(time.perf_counter() - t0)

        app.middlewares.append(timed)
        settle_heap()  # as `isolation-bot serve` does once the service has started
        # Collections in the service process (this one) pause every request in flight.
        pauses: list[tuple[int, float]] = []
        gc_started: list[float] = []

        def gc_timer(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                gc_started[:] = [time.perf_counter()]
            elif gc_started:
                pauses.append((info["generation"], time.perf_counter() - gc_started[0]))

        gc.callbacks.append(gc_timer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhook"
        sender = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--load",
            url,
            secret,
            str(n),
            str(in_flight),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await sender.communicate()
        result = json.loads(out.decode().strip().splitlines()[-1])
        latencies, total = result["latencies"], result["total"]
        db = app[STATE].db
        row = await db.fetchone(
            "SELECT (SELECT COUNT(*) FROM deliveries) AS d, (SELECT COUNT(*) FROM jobs) AS j"
        )
        await runner.cleanup()
        gc.callbacks.remove(gc_timer)
    print(f"ack latency, {n} signed deliveries, {in_flight} in flight, {engine} store:")
    print(
        f"  at the sender: p50 {ms(pct(latencies, 50))}  p99 {ms(pct(latencies, 99))}  "
        f"max {ms(max(latencies))}  ({n / total:.0f} deliveries/s)"
    )
    print(
        f"  in the service (request in to answer out): p50 {ms(pct(served, 50))}  "
        f"p99 {ms(pct(served, 99))}  max {ms(max(served))}"
    )
    longest = max(pauses, key=lambda p: p[1], default=(0, 0.0))
    print(
        f"  garbage collections in the service: {len(pauses)}, the longest "
        f"{ms(longest[1])} (generation {longest[0]})"
    )
    slowest = sorted(range(n), key=lambda i: latencies[i], reverse=True)[:5]
    print(
        "  slowest deliveries (sent as #): "
        + ", ".join(f"#{i} {ms(latencies[i])}" for i in slowest)
    )
    if n > 2 * in_flight:
        # The first burst meets a cold process (first statements, first allocations); a
        # service that has been up a while only ever sees the rest.
        rest = latencies[in_flight:]
        print(
            f"  after the first {in_flight} (a warm service): p50 {ms(pct(rest, 50))}  "
            f"p99 {ms(pct(rest, 99))}  max {ms(max(rest))}"
        )
    print(
        f"  stored {row['d'] if row else '?'} deliveries, {row['j'] if row else '?'} jobs "
        "(each exactly once when both equal the deliveries sent)"
    )


def _variant(source: str, i: int) -> str:
    return source + f"\n/* revision {i} */\n"


async def bench_pipeline(prs: int) -> None:
    from bot.emulator import GitHubEmulator
    from bot.service.local import bot_on_emulator

    repo = "python/cpython"
    files = [f"Modules/_bench{k}module.c" for k in range(3)]
    emu = GitHubEmulator()
    app = emu.register_app("isolation-bot", owner="python")
    emu.create_repo(repo)
    emu.commit(
        repo,
        "main",
        {p: BASE_SOURCE.replace("_counter", f"_bench{k}") for k, p in enumerate(files)},
    )
    emu.install(app, "python")
    with tempfile.TemporaryDirectory() as tmp:
        async with bot_on_emulator(emu, app, f"sqlite:///{tmp}/b.db", workers=4) as bot:
            runner = bot.runner
            emu.create_branch(repo, "feature")
            emu.commit(repo, "feature", {files[0]: HEAD_SOURCE})
            emu.open_pull_request(repo, "feature")

            async def wait_run(sha: str) -> None:
                while not any(r["status"] == "completed" for r in emu.check_runs(repo, sha)):
                    await asyncio.sleep(0.005)

            await wait_run(emu.head_sha(repo, "feature"))
            times: list[float] = []
            for i in range(prs):
                t0 = time.perf_counter()
                sha = emu.push(repo, "feature", {files[i % 3]: _variant(HEAD_SOURCE, i)})
                await wait_run(sha)
                times.append(time.perf_counter() - t0)
            print(f"push -> completed check run, {prs} synchronize events one at a time:")
            print(f"  p50 {ms(pct(times, 50))}  p99 {ms(pct(times, 99))}")

            await asyncio.sleep(0.3)  # let the last job's comment/labels settle

            def calls_since(mark: int) -> list[str]:
                return [
                    f"{r.method} {r.path}"
                    for r in emu.requests[mark:]
                    if not r.path.endswith("/access_tokens")
                ]

            async def idle() -> None:
                from bot.service.app import STATE

                state = runner.app[STATE]
                while (await state.queue.stats()).pending or (await state.queue.stats()).running:
                    await asyncio.sleep(0.01)

            # A synchronize changing 3 C files whose blobs are new (cold).
            await idle()
            mark = len(emu.requests)
            sha = emu.push(
                repo,
                "feature",
                {p: _variant(HEAD_SOURCE, 1000 + k) for k, p in enumerate(files)},
            )
            await wait_run(sha)
            await idle()
            cold = calls_since(mark)
            # Another cold push, then back to the first contents: a synchronize whose
            # 3 head blobs (and the merge base's tree) are all cached.
            sha = emu.push(
                repo,
                "feature",
                {p: _variant(HEAD_SOURCE, 2000 + k) for k, p in enumerate(files)},
            )
            await wait_run(sha)
            await idle()
            from bot.service.app import STATE

            blobs_cached = len(runner.app[STATE].caches.git.blobs)
            mark = len(emu.requests)
            sha = emu.push(
                repo,
                "feature",
                {p: _variant(HEAD_SOURCE, 1000 + k) for k, p in enumerate(files)},
            )
            await wait_run(sha)
            await idle()
            warm = calls_since(mark)
            print("API calls for one synchronize with 3 changed C files:")
            print(f"  new blobs: {len(cold)}  ({', '.join(sorted(set(cold)))})")
            print(f"  blobs cached ({blobs_cached} in cache): {len(warm)}")
            for c in warm:
                print(f"    {c}")
    print(f"emulator validation errors: {len(emu.validation_errors)}")


async def main() -> None:
    if sys.argv[1:2] == ["--load"]:
        url, secret, n, in_flight = sys.argv[2:6]
        await load(url, secret, int(n), int(in_flight))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--prs", type=int, default=30)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 10, 50, 200])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--skip-pipeline", action="store_true")
    args = parser.parse_args()
    for engine in args.engines:
        for in_flight in args.in_flight:
            await bench_ack(args.deliveries, in_flight, engine)
    if not args.skip_pipeline:
        await bench_pipeline(args.prs)


if __name__ == "__main__":
    asyncio.run(main())
