"""What a pull request changes, as the check reports it (pure).

``assess`` is the whole comparison: base and head reports of the changed files plus the
suppressions in force give the check's result. The PR check (bot.prcheck.run) and
``isolation-bot diff`` both call it, so a local run says what the bot will say.

The analysis core's ``compare`` names what changed per module (``bot.analysis.diff``
``ModuleChange`` kinds); this module decides which direction each is for isolation and words
it as a sentence for the comment (which escapes it again when rendering).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from bot.analysis.diff import ModuleChange as CoreChange
from bot.analysis.diff import compare
from bot.analysis.model import FileReport, Finding
from bot.analysis.tsv import parse_tsv, row_index
from bot.prcheck.changes import ChangedFile
from bot.prcheck.model import ChangeKind, CheckResult, ModuleChange, SuppressedFinding
from bot.prcheck.table import module_rows

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


def apply_suppressions(
    new: list[Finding], suppressions: Iterable[Any]
) -> tuple[list[Finding], list[SuppressedFinding]]:
    """Split ``new`` by the PR's suppressions (objects with rule, symbol, reason, user; a
    suppression without a symbol covers the whole rule)."""
    rules: dict[tuple[str, str | None], Any] = {}
    for s in suppressions:
        rules[(str(getattr(s, "rule", "")).upper(), getattr(s, "symbol", None) or None)] = s
    kept: list[Finding] = []
    dropped: list[SuppressedFinding] = []
    for f in new:
        rule = f.rule.upper()
        s = rules.get((rule, f.symbol)) or rules.get((rule, None))
        if s is None:
            kept.append(f)
        else:
            dropped.append(
                SuppressedFinding(f, str(getattr(s, "reason", "")), str(getattr(s, "user", "")))
            )
    return kept, dropped


INLINE_COMMENT = "an inline comment"
IGNORED_TSV = "ignored.tsv"


def tree_suppressions(
    new: list[Finding], ignored_tsv: bytes | None
) -> tuple[list[Finding], list[SuppressedFinding]]:
    """Split ``new`` by what the tree itself says: an inline ``isolation-bot: ignore[...]``
    comment (the analysis marks those findings "suppressed") and the rows of the head's
    Tools/c-analyzer/cpython/ignored.tsv (matched by path and symbol, as a scan does)."""
    ignored = row_index(parse_tsv(ignored_tsv)) if ignored_tsv else {}
    kept: list[Finding] = []
    dropped: list[SuppressedFinding] = []
    for f in new:
        if f.status == "suppressed":
            dropped.append(SuppressedFinding(f, f.status_reason or "", INLINE_COMMENT))
            continue
        row = ignored.get((f.path, f.symbol))
        if row is not None:
            reason = row.reason or row.section
            suppressed = replace(f, status="suppressed", status_reason=f"ignored.tsv: {reason}")
            dropped.append(SuppressedFinding(suppressed, reason, IGNORED_TSV))
            continue
        kept.append(f)
    return kept, dropped


def assess(
    result: CheckResult,
    files: Sequence[ChangedFile],
    base: Sequence[FileReport],
    head: Sequence[FileReport],
    suppressions: Iterable[Any] = (),
    *,
    ignored_tsv: bytes | None = None,
    notes: Iterable[str] = (),
) -> CheckResult:
    """Fill ``result`` with the comparison of the changed files' base and head reports.

    ``files``: the changed files (renames come from their base paths); ``suppressions``: the
    PR's own (``/isolation ignore``); ``ignored_tsv``: the head tree's ignored.tsv, when
    known; ``notes``: problems met reading the files, listed after the analysis' own."""
    renames = {f.base_path: f.path for f in files if f.base_path and f.base_path != f.path}
    diff = compare(base, head, renames)
    new, in_tree = tree_suppressions(list(diff.new), ignored_tsv)
    new, by_command = apply_suppressions(new, suppressions)
    result.new, result.fixed, result.remaining = new, list(diff.fixed), list(diff.remaining)
    result.suppressed = [*in_tree, *by_command]
    result.module_changes = describe_all(diff.module_changes)
    result.modules_by_path = {m.path: m.name for r in [*base, *head] for m in r.modules}
    result.module_rows = module_rows(base, head)
    # Skipped files first: the comment shows the first notes only, and "this file was not
    # checked at all (too large, over the time limit)" matters more than a partial parse.
    skipped = [r for r in head if r.skipped]
    result.notes += [f"{r.path}: not analysed: {r.skipped}" for r in skipped]
    result.notes += list(notes)
    for r in head:
        if not r.skipped:
            result.notes += [f"{r.path}: {n}" for n in r.notes]
    return result
