"""Module-level changes of a PR as improvements and regressions (pure).

The analysis core's ``compare`` names what changed per module (``bot.analysis.diff``
``ModuleChange`` kinds); this module decides which direction each is for isolation and words
it as a sentence for the comment (which escapes it again when rendering).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.analysis.diff import ModuleChange as CoreChange
from bot.analysis.diff import compare
from bot.analysis.model import FileReport
from bot.prcheck.model import ChangeKind, ModuleChange

_SLOT_TEXT = {
    "not-supported": "Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED",
    "unspecified": "no Py_mod_multiple_interpreters slot",
    "supported": "Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED",
    "per-interpreter-gil": "Py_MOD_PER_INTERPRETER_GIL_SUPPORTED",
    None: "no Py_mod_multiple_interpreters slot",
}


def _slot(value: str | None) -> str:
    return _SLOT_TEXT.get(value, value or "no slot")


def describe(change: CoreChange) -> ModuleChange | None:
    """An improvement or regression, or None for changes with no direction (module added)."""
    kind: ChangeKind
    if change.kind == "converted-to-multi-phase":
        kind, text = "improvement", "converted to multi-phase init"
    elif change.kind == "converted-to-single-phase":
        kind, text = "regression", "converted back to single-phase init"
    elif change.kind == "slot-declared":
        kind, text = "improvement", f"declares {_slot(change.after)} (was {_slot(change.before)})"
    elif change.kind == "slot-removed":
        kind, text = "regression", f"declares {_slot(change.after)} (was {_slot(change.before)})"
    elif change.kind == "static-to-heap":
        n = len(change.types_removed)
        names = ", ".join(change.types_removed[:5]) + ("…" if n > 5 else "")
        kind = "improvement"
        text = f"{n} static type{'s' * (n != 1)} converted to heap types ({names})"
    else:
        return None
    return ModuleChange(change.module, change.path, kind, text)


def describe_all(changes: Iterable[CoreChange]) -> list[ModuleChange]:
    return [c for c in (describe(x) for x in changes) if c is not None]


def module_changes(base: Sequence[FileReport], head: Sequence[FileReport]) -> list[ModuleChange]:
    """Improvements and regressions between two sets of reports (paths already aligned)."""
    return describe_all(compare(base, head).module_changes)
