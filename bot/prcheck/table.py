"""The module table of a PR check (pure): each module of the changed files, base beside head.

The comment's first screen is one row per module: its init style, its
``Py_mod_multiple_interpreters`` slot, its static and heap types, before and after the PR. The
facts come from the base and head reports of the changed files; types of multi-file modules
are attributed by directory as in a tree scan (``bot.analysis.tree.attribute_types``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bot.analysis.model import FileReport, ModuleInfo
from bot.analysis.tree import attribute_types
from bot.prcheck.model import ModuleRow, ModuleSide


def _sides(reports: Sequence[FileReport], known: list[ModuleInfo]) -> dict[str, ModuleSide]:
    mods = {m.name: m for r in reports for m in r.modules}
    types = attribute_types([t for r in reports for t in r.types], known)
    static = Counter(t.module for t in types if t.kind == "static" and not t.exempt)
    heap = Counter(t.module for t in types if t.kind == "heap")
    return {
        name: ModuleSide(m.init, m.multiple_interpreters, static[name], heap[name])
        for name, m in mods.items()
    }


def module_rows(base: Sequence[FileReport], head: Sequence[FileReport]) -> list[ModuleRow]:
    """One row per module defined in the base or head reports, by module name."""
    known = list({m.name: m for r in [*base, *head] for m in r.modules}.values())
    before, after = _sides(base, known), _sides(head, known)
    paths = {m.name: m.path for m in known}
    return [
        ModuleRow(name, paths[name], before.get(name), after.get(name))
        for name in sorted(before.keys() | after.keys())
    ]
