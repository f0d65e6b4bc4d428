"""Module-level changes between base and head reports (pure): what a PR improves or regresses.

Used when the analysis core's ``PullDiff`` does not already carry module changes, and to turn
its module facts into plain sentences. Modules are matched by name, types by module (a static
``FooType`` becoming a heap ``Foo_spec`` keeps no common name, so types are counted per module).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from bot.analysis.model import FileReport, ModuleInfo
from bot.prcheck.model import ChangeKind, ModuleChange

# How far a module's multiple-interpreters declaration goes, for "better or worse".
_SLOT_RANK = {"not-supported": 0, "unspecified": 1, "supported": 2, "per-interpreter-gil": 3}
_SLOT_TEXT = {
    "not-supported": "Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED",
    "unspecified": "no Py_mod_multiple_interpreters slot",
    "supported": "Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED",
    "per-interpreter-gil": "Py_MOD_PER_INTERPRETER_GIL_SUPPORTED",
}


def _modules(reports: Iterable[FileReport]) -> dict[str, ModuleInfo]:
    return {m.name: m for r in reports for m in r.modules}


def _type_counts(reports: Iterable[FileReport]) -> Counter[tuple[str, str]]:
    """(module or path, kind) -> number of non-exempt types."""
    counts: Counter[tuple[str, str]] = Counter()
    for r in reports:
        for t in r.types:
            if not t.exempt:
                counts[(t.module or t.path, t.kind)] += 1
    return counts


def module_changes(base: Iterable[FileReport], head: Iterable[FileReport]) -> list[ModuleChange]:
    base, head = list(base), list(head)
    changes: list[ModuleChange] = []
    before, after = _modules(base), _modules(head)
    for name in sorted(set(before) | set(after)):
        b, h = before.get(name), after.get(name)
        if b is None or h is None:
            continue  # a module added or removed: its findings tell the story
        if b.init != h.init:
            kind: ChangeKind = "improvement" if h.init == "multi-phase" else "regression"
            changes.append(ModuleChange(name, h.path, kind, f"converted to {h.init} init"))
        slot_b = b.multiple_interpreters or "unspecified"
        slot_h = h.multiple_interpreters or "unspecified"
        if h.init == "multi-phase" and slot_b != slot_h:
            better = _SLOT_RANK.get(slot_h, 0) > _SLOT_RANK.get(slot_b, 0)
            changes.append(
                ModuleChange(
                    name,
                    h.path,
                    "improvement" if better else "regression",
                    f"declares {_SLOT_TEXT.get(slot_h, slot_h)}"
                    f" (was {_SLOT_TEXT.get(slot_b, slot_b)})",
                )
            )
    tb, th = _type_counts(base), _type_counts(head)
    owners = sorted({k[0] for k in tb} | {k[0] for k in th})
    for owner in owners:
        static_b, static_h = tb[(owner, "static")], th[(owner, "static")]
        heap_b, heap_h = tb[(owner, "heap")], th[(owner, "heap")]
        path = next(
            (t.path for r in head + base for t in r.types if (t.module or t.path) == owner), owner
        )
        if static_h < static_b and heap_h > heap_b:
            n = min(static_b - static_h, heap_h - heap_b)
            changes.append(
                ModuleChange(
                    owner,
                    path,
                    "improvement",
                    f"{n} static type{'s' * (n != 1)} converted to heap types",
                )
            )
        elif static_h > static_b:
            n = static_h - static_b
            changes.append(
                ModuleChange(owner, path, "regression", f"{n} static type{'s' * (n != 1)} added")
            )
    return changes
