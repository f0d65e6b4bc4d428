"""Benchmark: full scan of Modules/ + Objects/ + Python/ vs a plain tree-sitter parse.

Usage: python bench/scan.py /path/to/cpython
Prints the scan's wall time, the time of a plain single-threaded tree-sitter parse of the same
files, their ratio, and the peak memory (max RSS of this process and its children).
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
    from bot.scanner import collect_files, scan_paths

    t0 = time.perf_counter()
    report = scan_paths(dirs)
    scan_s = time.perf_counter() - t0
    _, files = collect_files(dirs)

    import tree_sitter_c
    from tree_sitter import Language, Parser

    parser = Parser(Language(tree_sitter_c.language()))
    t0 = time.perf_counter()
    total = 0
    for abspath, _rel in files:
        with open(abspath, "rb") as fh:
            data = fh.read()
        total += len(data)
        parser.parse(data)
    parse_s = time.perf_counter() - t0

    kib = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    print(
        f"files: {len(files)} ({total / 1e6:.1f} MB), analysed: {report.files}, "
        f"findings: {len(report.findings)}, cores: {os.cpu_count()}"
    )
    print(f"scan wall time: {scan_s:.2f} s")
    print(f"plain single-threaded tree-sitter parse of all files: {parse_s:.2f} s")
    print(f"ratio scan/parse: {scan_s / parse_s:.2f}")
    print(f"peak memory (max RSS, self or a child): {kib / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
