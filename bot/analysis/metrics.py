"""Progress metrics (definitions in docs/metrics.md), each in an "all" and a "stdlib" variant."""

from __future__ import annotations

from collections.abc import Sequence

from bot.analysis.model import Metric, ModuleInfo, Ratio, Summary, TypeInfo


def _in_modules_dir(path: str) -> bool:
    return path.startswith("Modules/") or "/Modules/" in path


def compute_summary(modules: Sequence[ModuleInfo], types: Sequence[TypeInfo]) -> Summary:
    def multi_phase(mods: Sequence[ModuleInfo]) -> Ratio:
        return Ratio(sum(m.init == "multi-phase" for m in mods), len(mods))

    def per_interpreter_gil(mods: Sequence[ModuleInfo]) -> Ratio:
        done = sum(
            m.init == "multi-phase" and m.multiple_interpreters == "per-interpreter-gil"
            for m in mods
        )
        return Ratio(done, len(mods))

    # Heap types count in Modules/ when the tree has one (CPython); anywhere otherwise
    # (an extension project). Static builtin types of Objects/ and Python/ never count.
    counted = [t for t in types if not t.exempt]
    if any(_in_modules_dir(t.path) for t in counted):
        counted = [t for t in counted if _in_modules_dir(t.path)]

    def heap(ts: Sequence[TypeInfo]) -> Ratio:
        return Ratio(sum(t.kind == "heap" for t in ts), len(ts))

    std_mods = [m for m in modules if not m.is_test]
    std_types = [t for t in counted if not t.is_test]
    return Summary(
        multi_phase=Metric(multi_phase(modules), multi_phase(std_mods)),
        heap_types=Metric(heap(counted), heap(std_types)),
        per_interpreter_gil=Metric(per_interpreter_gil(modules), per_interpreter_gil(std_mods)),
    )
