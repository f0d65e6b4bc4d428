"""Module and type inventory of one file (ModuleInfo / TypeInfo) plus the tree-wide facts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.analysis.context import (
    Definition,
    FileContext,
    InitFunction,
    ModuleDef,
    mi_from_pairs,
    size_has_state,
)
from bot.analysis.model import ModuleInfo, TypeInfo
from bot.analysis.paths import is_test_module_name


@dataclass(slots=True)
class ModuleEntry:
    init: InitFunction
    info: ModuleInfo
    module_def: ModuleDef | None


@dataclass(slots=True)
class Inventory:
    modules: list[ModuleEntry] = field(default_factory=list)
    types: list[TypeInfo] = field(default_factory=list)
    static_types: list[Definition] = field(default_factory=list)
    specs: list[Definition] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


def _macro_inits(ctx: FileContext) -> dict[str, dict[str, Any]]:
    """Function-like macros that define a module init (cjkcodecs.h's I_AM_A_MODULE_FOR)."""
    out: dict[str, dict[str, Any]] = {}
    for name, values in ctx.src.defines.items():
        for v in values:
            if "PyMODINIT_FUNC" not in v:
                continue
            style = (
                "multi-phase"
                if "PyModuleDef_Init" in v
                else "single-phase"
                if "PyModule_Create" in v
                else None
            )
            slots = re.search(r"\.m_slots\s*=\s*(\w+)", v)
            size = re.search(r"\.m_size\s*=\s*([^,]+)", v)
            out[name] = {
                "init": style,
                "slots": slots.group(1) if slots else None,
                "has_state": size_has_state(size.group(1).strip() if size else None),
                "has_gc_hooks": bool(re.search(r"\.m_(traverse|clear|free)\s*=", v)),
            }
    return out


def build_inventory(ctx: FileContext) -> Inventory:
    inv = Inventory()
    path = ctx.path
    unresolved: list[dict[str, Any]] = []
    for init in ctx.init_functions:
        style, def_name = ctx.classify_init(init)
        if style is None and _returns_object(ctx, init):
            # The module is made somewhere the analysis cannot follow (greenlet's C++
            # `CreatedModule m(def)` wrapper, a helper in another file): the import system
            # treats anything but a PyModuleDef as a single-phase module.
            style = "single-phase"
        if style is None:
            continue  # creates no module (e.g. _testmultiphase_export_* returning NULL)
        mdef = ctx.module_defs.get(def_name) if def_name else None
        mi: str | None = None
        if style == "multi-phase":
            if mdef is not None:
                mi = ctx.multiple_interpreters(mdef.m_slots)
                if mi is None:
                    unresolved.append({"module": init.module, "slots": mdef.m_slots})
                    mi = "unspecified"
            else:
                unresolved.append({"module": init.module, "def": def_name, "macro": init.macro})
                mi = "unspecified"
        line, _ = ctx.src.line_col(init.offset)
        info = ModuleInfo(
            name=init.module,
            path=path,
            line=line,
            init=style,  # type: ignore[arg-type]
            multiple_interpreters=mi,  # type: ignore[arg-type]
            is_test=ctx.pclass.is_test or is_test_module_name(init.module),
            init_function=init.func_name,
            def_name=def_name,
            has_state=mdef.has_state if mdef else False,
            has_gc_hooks=bool(mdef and any(mdef.hooks.values())),
        )
        inv.modules.append(ModuleEntry(init, info, mdef))

    inv.static_types = [d for d in ctx.defs_of("PyTypeObject") if d.init is not None]
    inv.specs = [d for d in ctx.defs_of("PyType_Spec") if d.init is not None]
    for d in sorted([*inv.static_types, *inv.specs], key=lambda d: d.offset):
        line, _ = ctx.src.line_col(d.offset)
        module = _module_for_offset(inv, d.offset)
        inv.types.append(
            TypeInfo(
                name=d.name,
                path=path,
                line=line,
                kind="static" if d.kind == "PyTypeObject" else "heap",
                module=module,
                is_test=ctx.pclass.is_test or bool(module and is_test_module_name(module)),
                exempt=d.kind == "PyTypeObject" and ctx.pclass.builtin_area,
            )
        )

    facts: dict[str, Any] = {}
    tables = {
        d.name: mi_from_pairs(ctx.slot_table("PyModuleDef_Slot", d.name))
        for d in ctx.defs_of("PyModuleDef_Slot")
    }
    if tables:
        facts["slot_tables"] = tables
    if ctx.module_defs:
        facts["module_defs"] = {
            n: {
                "m_slots": m.m_slots,
                "has_state": m.has_state,
                "has_gc_hooks": any(m.hooks.values()),
            }
            for n, m in ctx.module_defs.items()
        }
    macros = _macro_inits(ctx)
    if macros:
        facts["init_macros"] = macros
    if unresolved:
        facts["unresolved_modules"] = unresolved
    inv.facts = facts
    return inv


_RETURN_RE = re.compile(rb"\breturn\b([^;]*+);")
# Return values that are no module: NULL, 0, or a PyModuleDef's address (an uninitialised
# definition, _testmultiphase_export_uninitialized).
_NO_MODULE_RE = re.compile(rb"\s*+(?:NULL|0|(?:\([\w\s*]*+\)\s*+)?&\s*+\w++)\s*+")


def _returns_object(ctx: FileContext, init: InitFunction) -> bool:
    """The init's own body returns something other than NULL or a def's address (helpers
    are not read: their `return -1;` says nothing about the init's result)."""
    if init.body_start is None or init.end is None:
        return False
    body = ctx.src.flat[init.body_start : init.end]
    values = [m.group(1) for m in _RETURN_RE.finditer(body)]
    return any(not _NO_MODULE_RE.fullmatch(v) for v in values)


def _module_for_offset(inv: Inventory, offset: int) -> str | None:
    """The module a definition belongs to: the first init after it, else the last one."""
    if not inv.modules:
        return None
    for entry in inv.modules:
        if entry.init.offset > offset:
            return entry.info.name
    return inv.modules[-1].info.name
