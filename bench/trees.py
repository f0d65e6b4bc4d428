"""Figures per scanned tree, as a Markdown table (docs/metrics.md "Other trees").

Usage: python bench/trees.py PATH [PATH ...]

Each PATH is scanned as `isolation-bot scan PATH` would (a CPython checkout: its Modules/,
Objects/, Python/, PC/, Include/; any other folder: all of its C and C++ files). One row per
tree: files and MB read (excluded files counted apart), wall seconds, MB/s, modules
single/multi-phase, static/heap types, findings by rule as `errors+warnings/info`.
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bot.analysis import classify_path
from bot.scanner import collect_files, scan_paths


def row(path: str) -> str:
    _, files = collect_files([path])
    analysed = [(a, r) for a, r in files if not classify_path(r).excluded]
    size = sum(os.path.getsize(a) for a, _ in analysed)
    t0 = time.perf_counter()
    report = scan_paths([path])
    took = time.perf_counter() - t0
    single = sum(m.init == "single-phase" for m in report.modules)
    multi = sum(m.init == "multi-phase" for m in report.modules)
    static = sum(t.kind == "static" for t in report.types)
    heap = sum(t.kind == "heap" for t in report.types)
    by_rule: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for f in report.findings:
        by_rule[f.rule][0 if f.severity != "info" else 1] += 1
    rules = " ".join(
        f"{r[3:]}:{a}" + (f"/{b}" if b else "") for r, (a, b) in sorted(by_rule.items())
    )
    name = os.path.basename(os.path.normpath(path))
    return (
        f"| {name} | {len(analysed)} (+{len(files) - len(analysed)} excl.) | {size / 1e6:.2f} "
        f"| {took:.2f} | {size / 1e6 / took if took else 0:.1f} | {single}/{multi} "
        f"| {static}/{heap} | {rules or '-'} | {len(report.notes)} |"
    )


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: bench/trees.py PATH [PATH ...]", file=sys.stderr)
        return 2
    print(
        "| tree | files | MB | s | MB/s | modules single/multi | types static/heap "
        "| findings by rule (ISO0xx: errors+warnings/info) | notes |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for path in argv[1:]:
        print(row(path), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
