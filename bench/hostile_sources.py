"""Time and peak memory of the analysis core on C sources built to hurt, at full size.

Usage: python bench/hostile_sources.py [case ...]

Each case runs in a fresh subprocess, so its peak RSS (ru_maxrss) is its own; the baseline
line is the interpreter with the analysis core imported and nothing analysed. Cases:
the worst inputs per byte found while hardening (a 4 MB line of ``1+1+...``, hundreds of
thousands of declarations, a 4 MB ``#define`` continued over every line), nesting, binary
data, and a 50 MB file (over the size limit: skipped without being parsed). ``pr-blob-50mb``
measures the PR check's edge instead: the 50 MB blob fetched from the GitHub emulator as
base64 JSON, decoded and handed to the analysis (skipped), as the service would.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

MB = 1024 * 1024


def _cases() -> dict[str, Callable[[], bytes]]:
    from bot.analysis import MAX_FILE_BYTES

    limit = MAX_FILE_BYTES - 64

    def statics() -> bytes:
        return b"".join(b"static int v%d;\n" % i for i in range(limit // 20))[:limit]

    return {
        "baseline": lambda: b"",
        "real-parser.c-size": lambda: b"static PyObject *x;\n" * (1_500_000 // 20),
        "long-expression-line-4mb": lambda: b"static int x = " + b"1+" * (limit // 2) + b"1;\n",
        "many-statics-4mb": statics,
        "define-continued-4mb": lambda: b"#define X \\\n" * (limit // 12),
        "nested-braces-100k": lambda: b"void f(void) " + b"{" * 100_000 + b"}" * 100_000,
        "nested-parens-1m": lambda: b"int x = " + b"(" * 10**6 + b"1" + b")" * 10**6 + b";",
        "type-specs-35k": lambda: b"".join(
            b"static PyType_Slot s%d[] = {{0, 0}};\n"
            b'static PyType_Spec spec%d = {.name = "m.T%d", .slots = s%d};\n' % (i, i, i, i)
            for i in range(35_000)
        ),
        "suppressions-40k": lambda: b"".join(
            b"static int x%d; // isolation-bot: ignore[ISO012] reason\n" % i for i in range(40_000)
        ),
        "binary-4mb": lambda: os.urandom(limit),
        "nul-bytes-4mb": lambda: b"\0" * limit,
        "file-50mb": lambda: b"static int x;\n" * (50 * MB // 14),
    }


def _child(name: str) -> None:
    from bot.analysis import analyze_file

    if name == "pr-blob-50mb":
        _child_pr_blob()
        return
    data = _cases()[name]()
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    report = analyze_file("Modules/hostile.c", data) if data else None
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome = "-" if report is None else (report.skipped or f"{len(report.findings)} findings")
    print(
        f"{name:28} {len(data) / MB:7.1f} MB {seconds:7.2f} s  peak {peak / 1024:7.0f} MB "
        f"(input built: {start_rss / 1024:5.0f} MB)  {outcome[:60]}"
    )


def _child_pr_blob() -> None:
    import asyncio

    import aiohttp
    from gidgethub.aiohttp import GitHubAPI

    from bot.emulator import GitHubEmulator
    from bot.github.gitdata import GitData
    from bot.store import open_database
    from bot.store.analysis_cache import AnalysisCache

    async def run() -> tuple[str, float]:
        emu = GitHubEmulator()
        app = emu.register_app("isolation-bot", owner="python")
        emu.create_repo("python/cpython")
        installation = emu.install(app, "python")
        huge = b"static int x;\n" * (50 * MB // 14)
        emu.commit("python/cpython", "main", {"Modules/huge.c": huge})
        sha: str | None = None
        async with emu.serve() as url, aiohttp.ClientSession() as session:
            token = emu.issue_token(installation).token
            gh = GitHubAPI(session, "bench", oauth_token=token, base_url=url)
            if sha is None:
                tree = await gh.getitem("/repos/python/cpython/git/trees/main?recursive=1")
                sha = next(e["sha"] for e in tree["tree"] if e["path"] == "Modules/huge.c")
            git, cache = GitData(), AnalysisCache()
            db = await open_database("sqlite:///:memory:")
            blob = sha
            started = time.perf_counter()
            report = await cache.report(
                db, blob, "Modules/huge.c", lambda: git.blob(gh, "python/cpython", blob)
            )
            seconds = time.perf_counter() - started
            await db.close()
            return report.skipped or "analysed", seconds

    outcome, seconds = asyncio.run(run())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{'pr-blob-50mb':28} {50.0:7.1f} MB {seconds:7.2f} s  peak {peak / 1024:7.0f} MB "
          f"(emulator in-process, holds the blob too)  {outcome[:60]}")  # fmt: skip


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--child":
        _child(argv[1])
        return 0
    names = argv or [*_cases(), "pr-blob-50mb"]
    for name in names:
        subprocess.run([sys.executable, __file__, "--child", name], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
