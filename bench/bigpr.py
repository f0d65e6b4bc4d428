"""A tree-wide pull request: 300 changed C files of a CPython-sized tree, checked by the service
against the GitHub emulator. Prints the time to the completed check run, the API reads per
changed file, the memory the check took, and the comment's size.

    python bench/bigpr.py [/path/to/Python-3.13.5] [--files 300] [--latency 0.1]

The base branch holds the tree's Modules/, Objects/, Python/, PC/, Include/ and the
c-analyzer TSVs; the App is installed (the first sync analyses the base). The pull request
makes one mechanical edit to ``--files`` C files of Modules/ and Objects/ (an include line
after the first one), the shape of a tree-wide conversion. Two runs: "warm" (the base files
analysed by the first sync, as on a tracked repository) and "cold" (every cache emptied, a new
head: base and head read and analysed). Every API answer is delayed ``--latency`` seconds.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sync import DEFAULT_TREE, REPO, tree_files


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def converted(data: bytes, n: int) -> bytes:
    """The mechanical edit: one include line after the first one (``n`` keeps heads apart)."""
    lines = data.split(b"\n")
    at = next((i for i, line in enumerate(lines) if line.startswith(b"#include")), 0)
    lines.insert(at + 1, b'#include "pycore_tree_wide.h"  // conversion ' + str(n).encode())
    return b"\n".join(lines)


async def run(root: Path, count: int, latency: float) -> None:
    from bot.emulator import GitHubEmulator
    from bot.service.local import bot_on_emulator
    from bot.service.state import STATE
    from bot.tracking.snapshots import latest_snapshot

    files = tree_files(root, with_lib=False)
    targets = sorted(
        p for p in files if p.startswith(("Modules/", "Objects/")) and p.endswith(".c")
    )[:count]
    emu = GitHubEmulator()
    app = emu.register_app("isolation-bot", owner="python")
    emu.create_repo(REPO, default_branch="main")
    emu.commit(REPO, "main", dict(files))
    emu.create_branch(REPO, "tree-wide")
    if latency:
        emu.faults.add(path=".*", status=None, delay=latency, times=None)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        async with bot_on_emulator(emu, app, f"sqlite:///{tmp}/b.db", workers=2) as bot:
            state = bot.runner.app[STATE]
            emu.install(app, "python")
            while await latest_snapshot(state.db, REPO) is None:
                await asyncio.sleep(0.1)
            print(f"tree-wide PR: {len(targets)} changed C files (Modules/, Objects/)")

            async def check(label: str, n: int, first: bool) -> None:
                peak = before = rss_mb()
                done = asyncio.Event()

                async def sample() -> None:
                    nonlocal peak
                    while not done.is_set():
                        peak = max(peak, rss_mb())
                        await asyncio.sleep(0.05)

                sampler = asyncio.create_task(sample())
                mark = len(emu.requests)
                t0 = time.perf_counter()
                head = emu.push(REPO, "tree-wide", {p: converted(files[p], n) for p in targets})
                if first:
                    emu.open_pull_request(REPO, "tree-wide", title="Tree-wide conversion")
                while not any(r["status"] == "completed" for r in emu.check_runs(REPO, head)):
                    await asyncio.sleep(0.05)
                took = time.perf_counter() - t0
                await asyncio.sleep(1.0)  # the comment and labels follow the check run
                done.set()
                await sampler
                calls = emu.requests[mark:]
                reads = [r for r in calls if r.method == "GET"]
                routes = collections.Counter(
                    f"{r.method} {_route(r.path)}" for r in calls if "access_tokens" not in r.path
                )
                comments = emu.issue_comments(REPO, 1)
                body = str(comments[-1]["body"]) if comments else ""
                run = [r for r in emu.check_runs(REPO, head) if r["status"] == "completed"][-1]
                print(f"  {label}: {took:.1f} s from the push to the completed check run")
                print(
                    f"    API reads: {len(reads)} ({len(reads) / len(targets):.2f} per changed "
                    f"file); all calls: {len(calls)}"
                )
                for route, k in sorted(routes.items(), key=lambda kv: -kv[1]):
                    print(f"      {k:4d}  {route}")
                print(
                    f"    RSS of this process (emulator + bot): {before:.0f} MB before, "
                    f"peak {peak:.0f} MB during the check (+{peak - before:.0f} MB)"
                )
                print(
                    f"    comment: {len(body)} characters, {body.count(chr(10)) + 1} lines; "
                    f"check run conclusion {run.get('conclusion')}"
                )

            await check("warm (base files analysed by the first sync)", 1, True)
            # Cold: nothing in memory, nothing in the store's analysis table; new head blobs.
            state.caches.clear()
            await state.db.execute("DELETE FROM tracking_blob_reports")
            await check("cold (no cache: base and head read and analysed)", 2, False)
    print(f"  emulator validation errors: {len(emu.validation_errors)}")


def _route(path: str) -> str:
    for marker in ("/git/blobs/", "/contents/", "/git/trees/"):
        if marker in path:
            return path.split(marker)[0] + marker + "*"
    return path


def main(argv: Any = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tree", nargs="?", default=DEFAULT_TREE)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args(argv)
    asyncio.run(run(Path(args.tree), args.files, args.latency))


if __name__ == "__main__":
    main()
