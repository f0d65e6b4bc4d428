"""compare(base, head): what a pull request changes, for the PR check.

Findings are matched by `Finding.match_key()` (rule, path, symbol; never the line) as
multisets, so two identical keys in base and one in head is one fixed finding.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bot.analysis.model import FileReport, Finding, ModuleInfo, TypeInfo
from bot.analysis.tree import attribute_types

ChangeKind = Literal[
    "module-added",
    "module-removed",
    "converted-to-multi-phase",
    "converted-to-single-phase",
    "slot-declared",
    "slot-removed",
    "static-to-heap",
]


@dataclass(frozen=True, slots=True)
class ModuleChange:
    module: str
    kind: ChangeKind
    path: str
    detail: str = ""
    before: str | None = None  # e.g. the old multiple_interpreters value
    after: str | None = None
    types_removed: tuple[str, ...] = ()  # static types removed (static-to-heap)
    types_added: tuple[str, ...] = ()  # PyType_Spec added (static-to-heap)

    def to_dict(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "kind": self.kind,
            "path": self.path,
            "detail": self.detail,
            "before": self.before,
            "after": self.after,
            "types_removed": list(self.types_removed),
            "types_added": list(self.types_added),
        }


@dataclass(slots=True)
class PullDiff:
    new: list[Finding] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)  # head findings also in base
    module_changes: list[ModuleChange] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "new": [f.to_dict() for f in self.new],
            "fixed": [f.to_dict() for f in self.fixed],
            "remaining": [f.to_dict() for f in self.remaining],
            "module_changes": [c.to_dict() for c in self.module_changes],
        }


def _rename(reports: Sequence[FileReport], renames: Mapping[str, str]) -> list[FileReport]:
    if not renames:
        return list(reports)
    out: list[FileReport] = []
    for r in reports:
        new_path = renames.get(r.path)
        if new_path is None:
            out.append(r)
            continue
        out.append(
            FileReport(
                path=new_path,
                modules=[replace(m, path=new_path) for m in r.modules],
                types=[replace(t, path=new_path) for t in r.types],
                findings=[replace(f, path=new_path) for f in r.findings],
                notes=list(r.notes),
                skipped=r.skipped,
                facts=dict(r.facts),
            )
        )
    return out


def _split(base: list[Finding], head: list[Finding]) -> tuple[list[Finding], ...]:
    base_count = Counter(f.match_key() for f in base)
    new: list[Finding] = []
    remaining: list[Finding] = []
    for f in head:
        k = f.match_key()
        if base_count[k] > 0:
            base_count[k] -= 1
            remaining.append(f)
        else:
            new.append(f)
    head_count = Counter(f.match_key() for f in head)
    fixed: list[Finding] = []
    for f in base:
        k = f.match_key()
        if head_count[k] > 0:
            head_count[k] -= 1
        else:
            fixed.append(f)
    return new, fixed, remaining


_MI_RANK = {"not-supported": 0, "unspecified": 1, None: 1, "supported": 1, "per-interpreter-gil": 2}


def _type_module(t: TypeInfo) -> str:
    return t.module or t.path


def _module_changes(base: list[FileReport], head: list[FileReport]) -> list[ModuleChange]:
    bmods: dict[str, ModuleInfo] = {m.name: m for r in base for m in r.modules}
    hmods: dict[str, ModuleInfo] = {m.name: m for r in head for m in r.modules}
    changes: list[ModuleChange] = []
    for name in sorted(bmods.keys() | hmods.keys()):
        b, h = bmods.get(name), hmods.get(name)
        if b is None and h is not None:
            changes.append(ModuleChange(name, "module-added", h.path, after=h.init))
            continue
        if h is None and b is not None:
            changes.append(ModuleChange(name, "module-removed", b.path, before=b.init))
            continue
        assert b is not None and h is not None
        if b.init != h.init:
            kind: ChangeKind = (
                "converted-to-multi-phase"
                if h.init == "multi-phase"
                else "converted-to-single-phase"
            )
            changes.append(ModuleChange(name, kind, h.path, before=b.init, after=h.init))
        before, after = b.multiple_interpreters, h.multiple_interpreters
        no_slot = (None, "unspecified")  # single-phase modules have no slots at all
        if before != after and not (before in no_slot and after in no_slot):
            # Up the ladder (opt-out < default/supported < own GIL) is a declaration; down it
            # is a removal; sideways (unspecified <-> supported) says whether a slot is there.
            rb, ra = _MI_RANK.get(before, 1), _MI_RANK.get(after, 1)
            declared = ra > rb or (ra == rb and after != "unspecified")
            changes.append(
                ModuleChange(
                    name,
                    "slot-declared" if declared else "slot-removed",
                    h.path,
                    before=before,
                    after=after,
                )
            )

    # Types of multi-file modules (Modules/_io/fileio.c) get their module by directory,
    # as in the tree report; the modules of both sides are the candidates.
    known = list({m.name: m for m in [*bmods.values(), *hmods.values()]}.values())
    btypes = attribute_types([t for r in base for t in r.types], known)
    htypes = attribute_types([t for r in head for t in r.types], known)

    def by_module(types: list[TypeInfo], kind: str) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for t in types:
            if t.kind == kind:
                out[_type_module(t)].add(t.name)
        return out

    bstatic, hstatic = by_module(btypes, "static"), by_module(htypes, "static")
    bheap, hheap = by_module(btypes, "heap"), by_module(htypes, "heap")
    paths = {_type_module(t): t.path for t in htypes}
    paths.update({_type_module(t): t.path for t in btypes if _type_module(t) not in paths})
    for mod in sorted(bstatic.keys() | hheap.keys()):
        removed = bstatic.get(mod, set()) - hstatic.get(mod, set())
        added = hheap.get(mod, set()) - bheap.get(mod, set())
        if removed and added:
            changes.append(
                ModuleChange(
                    mod,
                    "static-to-heap",
                    paths.get(mod, ""),
                    detail=f"{len(removed)} static type(s) replaced by {len(added)} heap type(s)",
                    types_removed=tuple(sorted(removed)),
                    types_added=tuple(sorted(added)),
                )
            )
    return changes


def compare(
    base: Sequence[FileReport],
    head: Sequence[FileReport],
    renames: Mapping[str, str] | None = None,
) -> PullDiff:
    """New, fixed and remaining findings, and module-level changes, between two scans.

    `renames` maps old paths to new ones (renamed files), so a moved finding is not new.
    """
    b = _rename(base, renames or {})
    h = list(head)
    new, fixed, remaining = _split(
        [f for r in b for f in r.findings], [f for r in h for f in r.findings]
    )
    return PullDiff(new=new, fixed=fixed, remaining=remaining, module_changes=_module_changes(b, h))
