"""build_tree_report: merge file reports into one TreeReport.

Settles what a single file cannot: slot tables and module definitions that live in a header
(cjkcodecs.h), types of modules whose code spans several files (`_io`, `_ctypes`, `_sqlite`,
`_decimal`, `_testcapi`, ...), the c-analyzer TSV lists, and the metrics.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from bot.analysis.catalog import load_catalog
from bot.analysis.metrics import compute_summary
from bot.analysis.model import FileReport, Finding, ModuleInfo, TreeReport, TypeInfo
from bot.analysis.paths import classify_path, is_test_module_name
from bot.analysis.tsv import TsvRow, parse_tsv, row_index

# The first CPython with the Py_mod_multiple_interpreters slot (PEP 684).
SLOT_SINCE = (3, 12)


def _by_proximity(path: str, candidates: Iterable[tuple[str, Any]]) -> Any:
    """The candidate value from the same directory as `path`, else the first one."""
    items = list(candidates)
    if not items:
        return None
    here = posixpath.dirname(path)
    for cpath, value in items:
        if posixpath.dirname(cpath) == here:
            return value
    return items[0][1]


def _resolve_modules(reports: Sequence[FileReport]) -> tuple[list[ModuleInfo], list[Finding]]:
    """Modules with their cross-file facts settled, plus the ISO003 findings that needed them."""
    slot_tables: dict[str, list[tuple[str, str]]] = {}
    module_defs: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    macros: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for r in reports:
        for name, mi in r.facts.get("slot_tables", {}).items():
            slot_tables.setdefault(name, []).append((r.path, mi))
        for name, d in r.facts.get("module_defs", {}).items():
            module_defs.setdefault(name, []).append((r.path, d))
        for name, d in r.facts.get("init_macros", {}).items():
            macros.setdefault(name, []).append((r.path, d))

    modules: list[ModuleInfo] = []
    extra: list[Finding] = []
    for r in reports:
        pending = {u.get("module"): u for u in r.facts.get("unresolved_modules", [])}
        for m in r.modules:
            u = pending.get(m.name)
            if u is None:
                modules.append(m)
                continue
            info: dict[str, Any] | None = None
            slots = u.get("slots")
            if u.get("macro"):
                info = _by_proximity(r.path, macros.get(u["macro"], []))
                slots = info.get("slots") if info else None
            elif u.get("def"):
                info = _by_proximity(r.path, module_defs.get(u["def"], []))
                slots = info.get("m_slots") if info else None
            mi = _by_proximity(r.path, slot_tables.get(slots, [])) if slots else None
            if info is not None:
                m = replace(
                    m,
                    has_state=bool(info.get("has_state", m.has_state)),
                    has_gc_hooks=bool(info.get("has_gc_hooks", m.has_gc_hooks)),
                )
                # A macro-made init (cjkcodecs' I_AM_A_MODULE_FOR) is what the macro's body
                # in this tree makes: older trees create the module with PyModule_Create.
                if u.get("macro") and info.get("init") in ("multi-phase", "single-phase"):
                    m = replace(m, init=info["init"])
            if m.init == "single-phase":
                m = replace(m, multiple_interpreters=None)
                modules.append(m)
                if u.get("macro"):
                    extra.append(_iso002(m))
                continue
            if mi is not None:
                m = replace(m, multiple_interpreters=mi)
            modules.append(m)
            if m.init == "multi-phase" and m.multiple_interpreters != "per-interpreter-gil":
                extra.append(_iso003(m))
    return modules, extra


def _iso002(m: ModuleInfo) -> Finding:
    """A module made by a macro of another file whose body turned out single-phase."""
    meta = load_catalog()["ISO002"]
    return Finding(
        rule=meta.id,
        name=meta.name,
        severity="info" if m.is_test else meta.severity,
        path=m.path,
        line=m.line,
        column=1,
        end_line=m.line,
        end_column=1,
        symbol=m.init_function or m.name,
        message=f"module {m.name!r} uses single-phase initialization (its init macro "
        "calls PyModule_Create); return PyModuleDef_Init(&def) with Py_mod_exec slots instead",
    )


def _iso003(m: ModuleInfo) -> Finding:
    meta = load_catalog()["ISO003"]
    opt_out = m.multiple_interpreters == "not-supported"
    return Finding(
        rule=meta.id,
        name=meta.name,
        severity="info" if opt_out or m.is_test else meta.severity,
        path=m.path,
        line=m.line,
        column=1,
        end_line=m.line,
        end_column=1,
        symbol=m.init_function or m.name,
        message=(
            f"module {m.name!r} opts out of multiple interpreters: tracked, not failing"
            if opt_out
            else f"module {m.name!r} does not declare {{Py_mod_multiple_interpreters, "
            "Py_MOD_PER_INTERPRETER_GIL_SUPPORTED}"
        ),
    )


def attribute_types(types: list[TypeInfo], modules: list[ModuleInfo]) -> list[TypeInfo]:
    """Give module-less types the module of their directory (multi-file modules)."""
    by_dir: dict[str, list[ModuleInfo]] = {}
    for m in modules:
        by_dir.setdefault(posixpath.dirname(m.path), []).append(m)
    out: list[TypeInfo] = []
    for t in types:
        if t.module is None and not t.exempt:
            d = posixpath.dirname(t.path)
            base = posixpath.basename(d)
            names = {m.name: m for ms in by_dir.values() for m in ms}
            here = by_dir.get(d, [])
            chosen: ModuleInfo | None = None
            if base in names:
                chosen = names[base]  # Modules/_testcapi/* -> _testcapi
            elif len(here) == 1:
                chosen = here[0]  # Modules/_io/*.c -> _io
            elif base and base != "Modules":
                prefixed = [m for m in here if m.name.startswith(base)] or [
                    m for ms in by_dir.values() for m in ms if m.name.startswith(base)
                ]
                if len(prefixed) == 1:
                    chosen = prefixed[0]  # Modules/_sqlite -> _sqlite3
            if chosen is not None:
                t = replace(t, module=chosen.name, is_test=t.is_test or chosen.is_test)
        out.append(t)
    return out


def _apply_tsv(
    findings: list[Finding], ignored: list[TsvRow], to_fix: list[TsvRow]
) -> list[Finding]:
    ign, fix = row_index(ignored), row_index(to_fix)
    if not ign and not fix:
        return findings
    out: list[Finding] = []
    for f in findings:
        if f.status == "new":
            key = (f.path, f.symbol)
            row = ign.get(key)
            if row is not None:
                f = replace(
                    f,
                    status="suppressed",
                    status_reason=f"ignored.tsv: {row.reason or row.section}".strip(),
                )
            else:
                row = fix.get(key)
                if row is not None:
                    f = replace(
                        f,
                        status="known",
                        status_reason=f"globals-to-fix.tsv: {row.section or row.reason}",
                    )
        out.append(f)
    return out


# Rules about process-global variables and static types: a module that declares
# Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED has opted out, they are tracked, not failing.
_OPT_OUT_RULES = frozenset({"ISO001", "ISO005", "ISO012", "ISO013", "ISO018"})
_GLOBAL_RULES = frozenset({"ISO005", "ISO012", "ISO013", "ISO018"})
_HEADER_SUFFIXES = (".h", ".hpp", ".hh")


def _modules_of(
    path: str, by_path: dict[str, list[ModuleInfo]], by_dir: dict[str, list[ModuleInfo]]
) -> list[ModuleInfo]:
    """The modules a file's code belongs to: those it defines, else those of its folder."""
    return by_path.get(path) or by_dir.get(posixpath.dirname(path), [])


def _apply_module_context(findings: list[Finding], modules: list[ModuleInfo]) -> list[Finding]:
    """What the modules of a finding's file (or folder) say about it:

    - a module that opts out (Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED): its globals and
      static types are info;
    - a module still single-phase: PyState_FindModule & co. are correct until the conversion
      ISO002 reports (the file-level check cannot see a helper file's module).
    """
    by_path: dict[str, list[ModuleInfo]] = {}
    by_dir: dict[str, list[ModuleInfo]] = {}
    for m in modules:
        by_path.setdefault(m.path, []).append(m)
        by_dir.setdefault(posixpath.dirname(m.path), []).append(m)
    out: list[Finding] = []
    for f in findings:
        if f.severity != "info" and f.rule in _OPT_OUT_RULES | {"ISO004"}:
            mods = _modules_of(f.path, by_path, by_dir)
            if (
                mods
                and f.rule in _OPT_OUT_RULES
                and all(m.multiple_interpreters == "not-supported" for m in mods)
            ):
                f = replace(
                    f,
                    severity="info",
                    message=f"{f.message} (the module opts out of multiple interpreters: "
                    "Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED)",
                )
            elif mods and f.rule == "ISO004" and all(m.init == "single-phase" for m in mods):
                f = replace(
                    f,
                    severity="info",
                    message=f"{f.message} (correct while the module is single-phase: "
                    "replace it when converting to multi-phase init, ISO002)",
                )
        out.append(f)
    return out


def _settle_header_macros(findings: list[Finding], reports: Sequence[FileReport]) -> list[Finding]:
    """ISO014 in a header's macro (`#define get_state_obj(o) PyType_GetModuleState(Py_TYPE(o))`):
    the header has no spec to judge by, the files that call the macro (or a macro defined as
    it) know the instance structs of their specs. Info when some file calls it on objects of
    its specs and none of those specs can be subclassed."""
    if not any(f.rule == "ISO014" and f.path.endswith(_HEADER_SUFFIXES) for f in findings):
        return findings
    uses: dict[str, list[bool]] = {}
    aliases: dict[str, dict[str, str]] = {}
    for r in reports:
        for name, subclassable in r.facts.get("macro_uses", {}).items():
            uses.setdefault(name, []).append(bool(subclassable))
        if r.facts.get("macro_aliases"):
            aliases[r.path] = r.facts["macro_aliases"]
    out: list[Finding] = []
    for f in findings:
        if f.rule == "ISO014" and f.severity == "warning" and f.path.endswith(_HEADER_SUFFIXES):
            names = {f.symbol} | {a for a, m in aliases.get(f.path, {}).items() if m == f.symbol}
            seen = [u for n in names for u in uses.get(n, [])]
            if seen and not any(seen):
                f = replace(
                    f,
                    severity="info",
                    message=f"{f.message.split(' returns the wrong module')[0]}: exact, the "
                    "files calling it do so on types without Py_TPFLAGS_BASETYPE",
                )
        out.append(f)
    return out


def _settle_init_writes(findings: list[Finding], reports: Sequence[FileReport]) -> list[Finding]:
    """ISO012 state written only by exported functions that another file's module init runs
    (its Py_mod_exec function or a callee of its PyInit): set at initialisation, from the OS
    or constants, like a write in the file's own init."""
    entry: set[str] = set()
    writers: dict[tuple[str, str], list[str]] = {}
    for r in reports:
        entry.update(r.facts.get("init_entry_points", []))
        for symbol, funcs in r.facts.get("c_state_writers", {}).items():
            writers[(r.path, symbol)] = funcs
    if not entry or not writers:
        return findings
    out: list[Finding] = []
    for f in findings:
        funcs = writers.get((f.path, f.symbol)) if f.rule == "ISO012" else None
        if f.severity == "warning" and funcs and all(fn in entry for fn in funcs):
            f = replace(
                f,
                severity="info",
                message=f"{f.message.split(' is process-wide C state')[0]}: written only by "
                f"{', '.join(funcs)}, which a module init of another file runs: a process "
                "property",
            )
        out.append(f)
    return out


def _fold_duplicates(findings: list[Finding]) -> list[Finding]:
    """One global, one finding: a variable declared twice in a file (a forward
    `static T x;` then `static T x = {...};`) keeps its last finding, and a variable of a
    header that a source file defines again (a tentative definition in the header) is
    reported in the source file; the other findings become info."""
    last: dict[tuple[str, str, str], int] = {}
    in_source: set[tuple[str, str]] = set()
    for i, f in enumerate(findings):
        if f.rule in _GLOBAL_RULES and f.severity != "info" and "function-static" not in f.message:
            last[(f.path, f.rule, f.symbol)] = i
            if not f.path.endswith(_HEADER_SUFFIXES):
                in_source.add((f.rule, f.symbol))
    out: list[Finding] = []
    for i, f in enumerate(findings):
        key = (f.path, f.rule, f.symbol)
        if key in last and last[key] != i:
            other = findings[last[key]]
            f = replace(
                f, severity="info", message=f"{f.message} (reported again at line {other.line})"
            )
        elif key in last and f.path.endswith(_HEADER_SUFFIXES) and (f.rule, f.symbol) in in_source:
            f = replace(
                f,
                severity="info",
                message=f"{f.message} (a source file defines it too: reported there)",
            )
        out.append(f)
    return out


def _is_test_path(path: str, test_files: set[str]) -> bool:
    return classify_path(path).is_test or path in test_files


def build_tree_report(
    root: str,
    reports: Sequence[FileReport],
    *,
    ignored_tsv: bytes | None = None,
    globals_to_fix_tsv: bytes | None = None,
    stdlib_only: bool = False,
    python_version: tuple[int, int] | None = None,
) -> TreeReport:
    """``python_version``: the scanned CPython tree's (major, minor), when known. Before 3.12
    there is no `Py_mod_multiple_interpreters` slot, so ISO003 does not apply."""
    reports = sorted(reports, key=lambda r: r.path)
    modules, extra = _resolve_modules(reports)
    types = attribute_types([t for r in reports for t in r.types], modules)
    findings = [f for r in reports for f in r.findings] + extra
    if python_version is not None and python_version < SLOT_SINCE:
        findings = [f for f in findings if f.rule != "ISO003"]
    findings = _apply_module_context(findings, modules)
    findings = _settle_header_macros(findings, reports)
    findings = _settle_init_writes(findings, reports)
    findings = _fold_duplicates(findings)
    findings = _apply_tsv(findings, parse_tsv(ignored_tsv), parse_tsv(globals_to_fix_tsv))
    findings.sort(key=lambda f: (f.path, f.line, f.column, f.rule))
    summary = compute_summary(modules, types)
    notes = [f"{r.path}: {n}" for r in reports for n in r.notes]
    if stdlib_only:
        test_files = {m.path for m in modules if m.is_test or is_test_module_name(m.name)}
        modules = [m for m in modules if not m.is_test]
        types = [t for t in types if not t.is_test]
        findings = [f for f in findings if not _is_test_path(f.path, test_files)]
    return TreeReport(
        root=root,
        modules=modules,
        types=types,
        findings=findings,
        summary=summary,
        notes=notes,
        files=sum(1 for r in reports if r.skipped is None),
    )
