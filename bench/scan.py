"""Benchmark: full scan of Modules/ + Objects/ + Python/ vs a plain tree-sitter parse, and the
result cache cold and warm.

Usage: python bench/scan.py /path/to/cpython
Prints the scan's wall time, the time of a plain single-threaded tree-sitter parse of the same
files, their ratio, the peak memory (max RSS of this process and its children), then the scan
with an empty result cache (cold) and again with the cache it filled (warm), with the number
of files each analysed, and whether all three scans gave identical JSON reports.
"""

from __future__ import annotations

import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not os.path.isdir(argv[1]):
        print("usage: bench/scan.py CPYTHON_TREE", file=sys.stderr)
        return 2
    tree = argv[1]
    dirs = [os.path.join(tree, d) for d in ("Modules", "Objects", "Python")]
    from bot.analysis import classify_path
    from bot.scanner import collect_files, scan_paths

    def cpu() -> float:
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    c0, t0 = cpu(), time.perf_counter()
    report = scan_paths(dirs)
    scan_s = time.perf_counter() - t0
    scan_cpu = cpu() - c0
    _, files = collect_files(dirs)
    analysed = {r for _, r in files if not classify_path(r).excluded}

    import tree_sitter_c
    from tree_sitter import Language, Parser

    parser = Parser(Language(tree_sitter_c.language()))
    parse_all = parse_analysed = 0.0
    total = total_analysed = 0
    for abspath, rel in files:
        with open(abspath, "rb") as fh:
            data = fh.read()
        t0 = time.perf_counter()
        parser.parse(data)
        took = time.perf_counter() - t0
        parse_all += took
        total += len(data)
        if rel in analysed:
            parse_analysed += took
            total_analysed += len(data)

    kib = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    print(
        f"files: {len(files)} ({total / 1e6:.1f} MB), analysed (not excluded): "
        f"{report.files} ({total_analysed / 1e6:.1f} MB), findings: {len(report.findings)}, "
        f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}"
    )
    print(f"scan wall time: {scan_s:.2f} s (CPU time, all processes: {scan_cpu:.2f} s)")
    print(f"plain single-threaded tree-sitter parse, all files: {parse_all:.2f} s")
    print(f"plain single-threaded tree-sitter parse, analysed files: {parse_analysed:.2f} s")
    print(f"ratio scan wall / parse of all files: {scan_s / parse_all:.2f}")
    print(f"ratio scan wall / parse of analysed files: {scan_s / parse_analysed:.2f}")
    print(f"peak memory (max RSS of this process or a child): {kib / 1024:.0f} MB")

    import argparse
    import tempfile

    from bot.cli.scan import open_cache
    from bot.render.json_report import render_json

    plain = render_json(report)
    with tempfile.TemporaryDirectory(prefix="isolation-bot-cache-") as cache_dir:
        timings = []
        for label in ("cold", "warm"):
            cache = open_cache(argparse.Namespace(no_cache=False, cache_dir=cache_dir))
            t0 = time.perf_counter()
            cached = scan_paths(dirs, cache=cache)
            took = time.perf_counter() - t0
            timings.append(took)
            same = render_json(cached) == plain
            print(
                f"cached scan, {label}: {took:.2f} s, analysed {cache.misses} of "
                f"{cache.hits + cache.misses} files; identical to the uncached report: {same}"
            )
    print(f"warm / cold: {timings[1] / timings[0]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
