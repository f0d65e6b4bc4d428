"""API-use rules: ISO004 PyState lookups, ISO006 identifiers, ISO011 PyGILState, ISO014."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.analysis.context import FileContext, is_word
from bot.analysis.inventory import Inventory
from bot.analysis.rules.base import Hit, detector, is_call, scope_name

_PYSTATE = re.compile(rb"PyState_(FindModule|AddModule|RemoveModule)\s*\(")
_IDENTIFIER = re.compile(rb"_Py_(IDENTIFIER|static_string(?:_init)?)\s*\(\s*(\w+)")
_GILSTATE = re.compile(rb"PyGILState_(Ensure|Release|GetThisThreadState|Check)\s*\(")
_GET_MODULE_PY_TYPE = re.compile(rb"\b_?PyType_GetModule(State)?\s*\(\s*Py_TYPE\s*\(")
_DEFINE_NAME = re.compile(rb"#\s*define\s+(\w+)")
_ASSERT_BEFORE = re.compile(rb"\bassert\s*\([^;]*$")


@detector("ISO004")
def pystate_module_lookup(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    if b"PyState_" not in ctx.src.flat:
        return
    for m in _PYSTATE.finditer(ctx.src.flat):
        if not is_call(ctx, m.start()):
            continue
        if m.start() and is_word(ctx.src.flat[m.start() - 1]):
            continue  # _PyState_AddModule & co.: the internal implementation
        where = scope_name(ctx, m.start(), "<file scope>")
        api = "PyState_" + m.group(1).decode()
        yield Hit(
            m.start(),
            m.end() - 1,
            where,
            f"{api}() in {where}: one module per interpreter by index; get the module "
            "from defining_class, PyType_GetModuleByDef or the module argument",
        )


@detector("ISO006")
def py_identifier(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    if b"_Py_IDENTIFIER" not in ctx.src.flat and b"_Py_static_string" not in ctx.src.flat:
        return
    for m in _IDENTIFIER.finditer(ctx.src.flat):
        kind, name = m.group(1).decode(), m.group(2).decode()
        symbol = "PyId_" + name if kind == "IDENTIFIER" else name
        yield Hit(
            m.start(),
            m.end(),
            symbol,
            f"_Py_{kind}({name}) declares a process-global _Py_Identifier; use "
            "_Py_ID() or an interned string in module state",
        )


@detector("ISO011")
def gilstate_api(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    # Python/pystate.c, the implementation, is exempt by the path policy (RULE_EXEMPT).
    flat = ctx.src.flat
    if b"PyGILState_" not in flat:
        return
    # A module that declares Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED only ever runs in
    # the main interpreter, where PyGILState_* is right.
    opted_out = bool(inv.modules) and all(
        e.info.multiple_interpreters == "not-supported" for e in inv.modules
    )
    for m in _GILSTATE.finditer(flat):
        if not is_call(ctx, m.start()):
            continue
        api = m.group(1).decode()
        line_start = flat.rfind(b"\n", 0, m.start()) + 1
        if api == "Check" and _ASSERT_BEFORE.search(flat[line_start : m.start()]):
            continue
        where = scope_name(ctx, m.start(), "<file scope>")
        yield Hit(
            m.start(),
            m.end() - 1,
            where,
            f"PyGILState_{api}() in {where} binds to the main interpreter; use "
            "PyThreadState_New/PyEval_RestoreThread with the module's interpreter"
            + (" (the module opts out of subinterpreters)" if opted_out else ""),
            "info" if opted_out else None,
        )


@detector("ISO014")
def module_state_via_py_type(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    code = ctx.src.code  # with directives: `#define get_state_obj(o) ...(Py_TYPE(o))` counts
    if b"PyType_GetModule" not in code:
        return
    for m in _GET_MODULE_PY_TYPE.finditer(code):
        if ctx.in_directive(m.start()):
            line_start = code.rfind(b"\n", 0, m.start()) + 1
            d = _DEFINE_NAME.search(code, line_start, m.start())
            where = d.group(1).decode() if d else "<macro>"
        else:
            where = scope_name(ctx, m.start(), "<file scope>")
        yield Hit(
            m.start(),
            m.end(),
            where,
            f"PyType_GetModule{(m.group(1) or b'').decode()}(Py_TYPE(self)) in {where} "
            "returns the wrong module for subclasses; use defining_class or "
            "PyType_GetModuleByDef",
        )


DETECTORS = (pystate_module_lookup, py_identifier, gilstate_api, module_state_via_py_type)
