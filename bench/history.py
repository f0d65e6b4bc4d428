"""A long history: ``isolation-bot history``'s walk over 1,000 commits of a CPython-sized tree.

    python bench/history.py [/path/to/Python-3.13.5] [--commits 1000] [--files-per-commit 3]

Builds a scratch git repository (``git fast-import``): a first commit with the tree's
Modules/, Objects/, Python/, PC/, Include/ and c-analyzer TSVs, then ``--commits`` commits each
editing ``--files-per-commit`` C files (a line appended), then walks every commit with the real
core (``--jobs`` processes, as the CLI's ``--jobs``). Prints the first point (the whole tree),
then ms per later commit and per changed file: the walk should cost what the commits change,
not what the tree holds. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sync import DEFAULT_TREE, tree_files


def fast_import_stream(files: dict[str, bytes], commits: int, per_commit: int) -> bytes:
    rng = random.Random(16)
    sources = sorted(
        p for p in files if p.endswith(".c") and p.startswith(("Modules/", "Objects/", "Python/"))
    )
    current = dict(files)
    out: list[bytes] = []
    when = 1_600_000_000

    def commit(n: int, changed: dict[str, bytes], message: str) -> None:
        out.append(b"commit refs/heads/main\n")
        out.append(f"mark :{n}\n".encode())
        stamp = f"Bench <bench@example.org> {when + n * 3600} +0000\n"
        out.append(f"author {stamp}committer {stamp}".encode())
        msg = message.encode()
        out.append(b"data %d\n%s\n" % (len(msg), msg))
        if n > 1:
            out.append(f"from :{n - 1}\n".encode())
        for path, data in changed.items():
            out.append(f"M 100644 inline {path}\n".encode())
            out.append(b"data %d\n%s\n" % (len(data), data))

    commit(1, files, "The tree")
    for n in range(2, commits + 2):
        changed = {}
        for path in rng.sample(sources, per_commit):
            current[path] = current[path] + f"/* edit {n} */\n".encode()
            changed[path] = current[path]
        commit(n, changed, f"Edit {per_commit} files (#{100000 + n})")
    return b"".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tree", nargs="?", default=DEFAULT_TREE)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--files-per-commit", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    from bot.store.analysis_cache import CoreAnalyzer
    from bot.tracking.history import walk_history

    files = tree_files(Path(args.tree), with_lib=False)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        t0 = time.perf_counter()
        stream = fast_import_stream(files, args.commits, args.files_per_commit)
        subprocess.run(["git", "-C", str(repo), "fast-import", "--quiet"], input=stream, check=True)
        print(
            f"repository: 1 + {args.commits} commits, {len(files)} files in the tree, "
            f"{args.files_per_commit} C files changed per commit (built in "
            f"{time.perf_counter() - t0:.1f} s)"
        )
        times: list[float] = []
        analysed: list[int] = []
        t0 = last = time.perf_counter()
        for point in walk_history(repo, CoreAnalyzer(), every="commit", jobs=args.jobs):
            now = time.perf_counter()
            times.append(now - last)
            analysed.append(point.analysed)
            last = now
        total = time.perf_counter() - t0
    first, rest = times[0], times[1:]
    changed = sum(analysed[1:])
    print(f"history walk, every commit, {args.jobs} processes: {total:.1f} s in all")
    print(f"  first point (the whole tree, {analysed[0]} C files analysed): {first:.1f} s")
    if rest:
        per_commit = sum(rest) / len(rest)
        print(
            f"  later {len(rest)} commits: {per_commit * 1000:.1f} ms per commit, "
            f"{sum(rest) * 1000 / max(changed, 1):.1f} ms per changed file "
            f"({changed} files analysed)"
        )
        ordered = sorted(rest)
        print(
            f"  per commit: p50 {ordered[len(ordered) // 2] * 1000:.1f} ms, "
            f"p99 {ordered[int(len(ordered) * 0.99)] * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
