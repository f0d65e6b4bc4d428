"""First sync of a CPython-sized tree: API calls and time from the installation event to the
stored snapshot, through the real service against the GitHub emulator.

    python bench/sync.py [/path/to/Python-3.13.5] [--blobs] [--with-lib]

The emulator's repository holds the tree's Modules/, Objects/, Python/, PC/, Include/ and the
c-analyzer TSV files (``--with-lib`` adds Lib/, so the archive carries what the bot skips).
The App is installed; the bot syncs the default branch in its worker (the archive path, or
blob by blob with ``--blobs``, where the emulator refuses the archive with 403 as GitHub does
for some repositories). Every API answer is delayed ``--latency`` seconds (default 0.1: GitHub
answers in 100-300 ms; the download host is not delayed). Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_TREE = "/work/src/Python-3.13.5"
REPO = "python/cpython"
FOLDERS = ("Modules", "Objects", "Python", "PC", "Include", "Tools/c-analyzer/cpython")


def tree_files(root: Path, with_lib: bool) -> dict[str, bytes]:
    folders = FOLDERS + (("Lib",) if with_lib else ())
    out: dict[str, bytes] = {}
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and not path.is_symlink():
                out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


async def run(root: Path, blobs: bool, with_lib: bool, latency: float) -> None:
    from bot.emulator import GitHubEmulator
    from bot.service.local import bot_on_emulator
    from bot.service.state import STATE
    from bot.tracking.snapshots import latest_snapshot
    from bot.tracking.tracked import is_source

    files = tree_files(root, with_lib)
    sources = {p: d for p, d in files.items() if is_source(p)}
    print(
        f"tree: {len(files)} files, {sum(map(len, files.values())) / 1e6:.1f} MB; tracked C "
        f"sources: {len(sources)}, {sum(map(len, sources.values())) / 1e6:.1f} MB"
    )
    emu = GitHubEmulator()
    app = emu.register_app("isolation-bot", owner="python")
    emu.create_repo(REPO, default_branch="main")
    emu.commit(REPO, "main", dict(files))
    if blobs:
        emu.faults.add(method="GET", path="/tarball/", status=403, times=None)
    if latency:  # GitHub answers in 100-300 ms; the loopback emulator in about 1 ms
        emu.faults.add(path=".*", status=None, delay=latency, times=None)
    with tempfile.TemporaryDirectory() as tmp:
        async with bot_on_emulator(emu, app, f"sqlite:///{tmp}/b.db", workers=2) as bot:
            db = bot.runner.app[STATE].db
            mark = len(emu.requests)
            t0 = time.perf_counter()
            emu.install(app, "python")
            snap = None

            async def stored() -> bool:
                nonlocal snap
                snap = await latest_snapshot(db, REPO)
                return snap is not None

            while not await stored():
                await asyncio.sleep(0.05)
                if time.perf_counter() - t0 > 600:
                    raise TimeoutError("no snapshot after 10 minutes")
            took = time.perf_counter() - t0
    calls = emu.requests[mark:]
    routes = collections.Counter(
        f"{r.method} {r.path.split('/git/blobs/')[0]}/git/blobs/*"
        if "/git/blobs/" in r.path
        else f"{r.method} {r.path}"
        for r in calls
    )
    assert snap is not None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mode = "blob by blob (archive refused)" if blobs else "archive"
    print(
        f"first sync, {mode}, {latency * 1000:.0f} ms per API answer: {took:.1f} s from the "
        "installation event to the snapshot"
    )
    print(f"  API calls: {len(calls)}; downloads: {len(emu.archives.downloads)}")
    for route, n in sorted(routes.items(), key=lambda kv: -kv[1]):
        print(f"    {n:4d}  {route}")
    print(f"  modules in the snapshot: {len(snap.modules)}")
    print(f"  peak RSS of this process (emulator + bot): {rss:.0f} MB")
    print(f"  emulator validation errors: {len(emu.validation_errors)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tree", nargs="?", default=DEFAULT_TREE)
    parser.add_argument("--blobs", action="store_true", help="refuse the archive (fallback)")
    parser.add_argument("--with-lib", action="store_true", help="also put Lib/ in the tree")
    parser.add_argument(
        "--latency", type=float, default=0.1, help="seconds added to every API answer"
    )
    args = parser.parse_args()
    asyncio.run(run(Path(args.tree), args.blobs, args.with_lib, args.latency))


if __name__ == "__main__":
    main()
