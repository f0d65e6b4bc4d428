"""Module-level rules: ISO002 single-phase init, ISO003 interpreter slot, ISO010, ISO019."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.analysis.context import FileContext, ModuleDef
from bot.analysis.inventory import Inventory
from bot.analysis.rules.base import OBJECT_POINTER_MEMBER, Hit, detector


@detector("ISO002")
def single_phase_init(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    for e in inv.modules:
        if e.info.init == "single-phase":
            mdef = e.module_def
            negative = mdef is not None and negative_size(mdef)
            yield Hit(
                e.init.offset,
                e.init.offset + len(e.init.func_name),
                e.init.func_name,
                f"module {e.info.name!r} uses single-phase initialization"
                + (
                    f" and keeps its state in C globals ({mdef.name} has m_size = -1)"
                    if negative and mdef is not None
                    else ""
                )
                + "; return PyModuleDef_Init(&def) with Py_mod_exec slots instead",
            )


@detector("ISO003")
def missing_per_interpreter_gil_slot(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    for e in inv.modules:
        mi = e.info.multiple_interpreters
        if e.info.init != "multi-phase" or mi == "per-interpreter-gil":
            continue
        # A table that lives in another file (a header) is settled by the tree pass.
        if any(u.get("module") == e.info.name for u in inv.facts.get("unresolved_modules", [])):
            continue
        if mi == "not-supported":
            yield Hit(
                e.init.offset,
                e.init.offset + len(e.init.func_name),
                e.init.func_name,
                f"module {e.info.name!r} opts out of multiple interpreters "
                "(Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED): tracked, not failing",
                "info",
            )
            continue
        what = (
            "declares Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED only"
            if mi == "supported"
            else "has no Py_mod_multiple_interpreters slot"
        )
        yield Hit(
            e.init.offset,
            e.init.offset + len(e.init.func_name),
            e.init.func_name,
            f"module {e.info.name!r} {what}; declare "
            "{Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED} once isolated",
        )


@detector("ISO010")
def module_state_without_gc_hooks(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    for mdef in ctx.module_defs.values():
        if not mdef.has_state:
            continue
        hooks = mdef.hooks
        if hooks.get("m_traverse") and (hooks.get("m_clear") or hooks.get("m_free")):
            continue
        missing = [h for h in ("m_traverse", "m_clear", "m_free") if not hooks.get(h)]
        struct = ctx.state_struct_of(mdef.m_size)
        body = ctx.structs.get(struct or "", "")
        holds_objects = bool(OBJECT_POINTER_MEMBER.search(body))
        yield Hit(
            mdef.offset,
            mdef.offset + len(mdef.name),
            mdef.name,
            f"module definition {mdef.name!r} has state ({mdef.m_size}) but no "
            f"{'/'.join(missing)}"
            + (
                "; its state holds object references that leak or form uncollected cycles"
                if holds_objects
                else ""
            ),
            "warning" if holds_objects or not struct else "info",
        )


_CORE_CREATE = re.compile(rb"\b_PyModule_CreateInitialized\s*+\(\s*+&\s*+(\w++)")


def negative_size(mdef: ModuleDef) -> bool:
    return mdef.m_size is not None and mdef.m_size.replace(" ", "").strip("()") == "-1"


def _single_phase_defs(inv: Inventory) -> dict[str, str]:
    """PyModuleDef name -> the single-phase init function that creates it."""
    return {
        e.info.def_name: e.init.func_name
        for e in inv.modules
        if e.info.init == "single-phase" and e.info.def_name
    }


@detector("ISO019")
def module_def_negative_size(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    """An error, except where it adds nothing: a single-phase module's `m_size = -1` is part
    of the ISO002 finding on its init (one fix: the conversion to multi-phase init gives the
    module a state), and a module the core creates per interpreter during interpreter
    initialisation (`_PyModule_CreateInitialized`: `sys`, `builtins`, `sys.monitoring`)
    keeps its state in the interpreter."""
    core = (
        {m.group(1).decode() for m in _CORE_CREATE.finditer(ctx.src.flat)}
        if ctx.pclass.builtin_area and b"_PyModule_CreateInitialized" in ctx.src.flat
        else set()
    )
    single = _single_phase_defs(inv)
    for mdef in ctx.module_defs.values():
        if not negative_size(mdef):
            continue
        text = f"module definition {mdef.name!r} sets m_size = -1 (process-global state)"
        if mdef.name in core:
            yield Hit(
                mdef.offset,
                mdef.offset + len(mdef.name),
                mdef.name,
                f"{text}: the core creates this module per interpreter "
                "(_PyModule_CreateInitialized during interpreter initialisation)",
                "info",
            )
        elif mdef.name in single:
            yield Hit(
                mdef.offset,
                mdef.offset + len(mdef.name),
                mdef.name,
                f"{text}: reported with ISO002 on {single[mdef.name]}, whose conversion to "
                "multi-phase init fixes both",
                "info",
            )
        else:
            yield Hit(
                mdef.offset,
                mdef.offset + len(mdef.name),
                mdef.name,
                f"{text}; move the state into a module state struct (m_size = sizeof(state))",
            )


DETECTORS = (
    single_phase_init,
    missing_per_interpreter_gil_slot,
    module_state_without_gc_hooks,
    module_def_negative_size,
)
