"""Webhook service figures: ack latency, delivery-to-check-run time, API calls per event.

    python bench/webhooks.py [--deliveries 1000] [--prs 30]

1. Acknowledgement latency of a burst of signed ``pull_request`` deliveries (50 in flight) to
   the real aiohttp app with a SQLite store (workers off: only the intake is measured).
2. Time from a push (the emulator emits ``synchronize``) to the completed ``isolation`` check
   run, against the GitHub emulator, one push at a time.
3. GitHub API calls for one typical ``synchronize`` with 3 changed C files: cold (new head
   blobs) and with every blob already cached (a push back to contents seen before).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import sys
import tempfile
import time
from pathlib import Path

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


async def bench_ack(n: int, in_flight: int = 50) -> None:
    from bot.service.app import create_app

    secret = "bench"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(webhook_secret=secret, database_url=f"sqlite:///{tmp}/b.db")
        app = await create_app(settings, workers=0)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhook"
        latencies: list[float] = []
        sem = asyncio.Semaphore(in_flight)

        async def one(session: aiohttp.ClientSession, i: int) -> None:
            payload = {
                "action": "synchronize",
                "number": i % 200 + 1,
                "pull_request": {"number": i % 200 + 1, "head": {"sha": f"{i:040x}"}},
                "repository": {"full_name": "python/cpython"},
                "installation": {"id": 1},
            }
            body = json.dumps(payload).encode()
            sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": f"bench-{i}",
                "X-Hub-Signature-256": sig,
            }
            async with sem:
                t0 = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    assert resp.status == 202, resp.status
                latencies.append(time.perf_counter() - t0)

        async with aiohttp.ClientSession() as session:
            t0 = time.perf_counter()
            await asyncio.gather(*(one(session, i) for i in range(n)))
            total = time.perf_counter() - t0
        await runner.cleanup()
    print(f"ack latency, {n} signed deliveries, {in_flight} in flight, SQLite store:")
    print(
        f"  p50 {ms(pct(latencies, 50))}  p99 {ms(pct(latencies, 99))}  "
        f"max {ms(max(latencies))}  ({n / total:.0f} deliveries/s)"
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--prs", type=int, default=30)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--skip-pipeline", action="store_true")
    args = parser.parse_args()
    for in_flight in args.in_flight:
        await bench_ack(args.deliveries, in_flight)
    if not args.skip_pipeline:
        await bench_pipeline(args.prs)


if __name__ == "__main__":
    asyncio.run(main())
