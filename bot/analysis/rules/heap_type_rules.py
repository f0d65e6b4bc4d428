"""Heap type rules: ISO007, ISO008 dealloc, ISO009 GC, ISO015 PyObject_New, ISO016 flags."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.analysis.context import Definition, FileContext, strip_ref
from bot.analysis.inventory import Inventory
from bot.analysis.rules.base import (
    OBJECT_POINTER_MEMBER,
    Hit,
    detector,
    is_call,
    scope_name,
    spec_flags,
)

# Possessive quantifiers (`*+`, `++`): `\(\s*[\w\s]+\s*\)` would split a run of blanks
# between three quantifiers every possible way (cubic; tests/hardening probes every pattern).
_CAST = rb"(?:\([\w\s]++\*?\s*+\)\s*+)?"
_DECREF_TYPE = re.compile(rb"\bPy_X?DECREF\s*+\(\s*+" + _CAST + rb"Py_TYPE\s*\(")
_TYPE_VAR = re.compile(rb"\b(\w++)\s*+=\s*+" + _CAST + rb"Py_TYPE\s*\(")
_DELEGATE_DEALLOC = re.compile(rb"(->|\.)\s*tp_dealloc\s*\(|\bsubtype_dealloc\b")
_VISIT_TYPE = re.compile(rb"\bPy_VISIT\s*+\(\s*+" + _CAST + rb"Py_TYPE\s*\(")
_DELEGATE_TRAVERSE = re.compile(rb"(->|\.)\s*tp_traverse\s*\(")
_FROM_SPEC = re.compile(rb"\bPyType_FromSpec(?:WithBases)?\s*\(\s*&?\s*(\w+)?")
_USES_MODULE = re.compile(rb"\bPyType_GetModule\w*\s*\(|\bMETH_METHOD\b")
# The type argument runs to the next `,` or `)` (callers strip it); a lazy `[^,;]+?\s*[,)]`
# rescanned the blanks after every character (quadratic).
_OBJECT_NEW = re.compile(rb"\bPyObject_New(?:Var)?\s*+\([\w\s*]++,\s*+([^,;)]++)[,)]")
_SPEC_ASSIGN = re.compile(rb"\bPyType_From\w*\s*\([^;]*?&\s*(\w+)")
# The lookbehind starts the name at the start of its run (not at every character of it).
_ASSIGN_BEFORE = re.compile(rb"(?<![\w>.-])([\w>.-]++)\s*+=\s*+(?:\([^()]*+\)\s*+)?$")


def _instance_holds_objects(ctx: FileContext, spec: Definition) -> bool | None:
    """Whether the instance struct (`sizeof(T)` basicsize) has object members; None: unknown."""
    assert spec.init is not None
    struct = ctx.state_struct_of(spec.init.get("basicsize", 1))
    if struct is None or struct not in ctx.structs:
        return None
    body = ctx.structs[struct]
    # The PyObject_HEAD itself is not a reference held by the instance.
    return bool(OBJECT_POINTER_MEMBER.search(body.replace("PyObject_HEAD", "")))


def _slots(ctx: FileContext, spec: Definition) -> dict[str, str]:
    assert spec.init is not None
    table = strip_ref(spec.init.get("slots", 4))
    return dict(ctx.slot_table("PyType_Slot", table))


def _visits_type(body: bytes) -> bool:
    if _VISIT_TYPE.search(body) or _DELEGATE_TRAVERSE.search(body):
        return True
    for m in _TYPE_VAR.finditer(body):
        var = re.escape(m.group(1))
        if re.search(rb"\bPy_VISIT\s*+\(\s*+" + _CAST + var + rb"\s*+\)", body):
            return True
    return False


def _decrefs_type(body: bytes) -> bool:
    if _DECREF_TYPE.search(body) or _DELEGATE_DEALLOC.search(body):
        return True
    for m in _TYPE_VAR.finditer(body):
        var = re.escape(m.group(1))
        if re.search(rb"\bPy_X?DECREF\s*+\(\s*+" + _CAST + var + rb"\s*+\)", body):
            return True
    return False


@detector("ISO008")
def heap_type_dealloc_missing_decref(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    for spec in inv.specs:
        func = _slots(ctx, spec).get("Py_tp_dealloc")
        name = strip_ref(func)
        if not name or name not in ctx.functions_by_name:
            continue
        if _decrefs_type(ctx.body_with_helpers(name)):
            continue
        f = ctx.functions_by_name[name]
        yield Hit(
            f.start,
            f.body_start,
            name,
            f"tp_dealloc {name!r} of heap type {spec.name!r} never calls "
            "Py_DECREF(Py_TYPE(self)): the type, its module and state leak",
        )


@detector("ISO009")
def heap_type_gc(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    for spec in inv.specs:
        flags = spec_flags(ctx, spec)
        slots = _slots(ctx, spec)
        if "Py_TPFLAGS_HAVE_GC" not in flags:
            holds = _instance_holds_objects(ctx, spec)
            yield Hit(
                spec.offset,
                spec.offset + len(spec.name),
                spec.name,
                f"heap type {spec.name!r} has no Py_TPFLAGS_HAVE_GC: the instance -> type -> "
                "module cycle is never collected"
                + (
                    " (its instances hold object references)"
                    if holds
                    else " (fine if instances hold no object references)"
                ),
                "info" if holds is False else None,
            )
            continue
        name = strip_ref(slots.get("Py_tp_traverse"))
        if not name or name not in ctx.functions_by_name:
            continue
        if _visits_type(ctx.body_with_helpers(name)):
            continue
        f = ctx.functions_by_name[name]
        yield Hit(
            f.start,
            f.body_start,
            name,
            f"tp_traverse {name!r} of heap type {spec.name!r} does not visit Py_TYPE(self)",
            "error",
        )


@detector("ISO007")
def type_from_spec_without_module(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    if b"PyType_FromSpec" not in ctx.src.flat or not any(
        m.has_state for m in ctx.module_defs.values()
    ):
        return
    uses_module = bool(_USES_MODULE.search(ctx.src.flat))
    for m in _FROM_SPEC.finditer(ctx.src.flat):
        if not is_call(ctx, m.start()):
            continue
        spec = m.group(1).decode() if m.group(1) else None
        where = scope_name(ctx, m.start(), "<file scope>")
        yield Hit(
            m.start(),
            m.end(),
            spec or where,
            f"PyType_FromSpec creates {spec or 'a type'} without a module in {where}; "
            "use PyType_FromModuleAndSpec so PyType_GetModule/defining_class work"
            + (" (this file looks the module up from types)" if uses_module else ""),
            "error" if uses_module else "info",
        )


@detector("ISO015")
def pyobject_new_on_gc_type(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    if b"PyObject_New" not in ctx.src.flat:
        return
    gc_specs = {s.name for s in inv.specs if "Py_TPFLAGS_HAVE_GC" in spec_flags(ctx, s)}
    if not gc_specs:
        return
    gc_targets: set[str] = set()
    flat = ctx.src.flat
    for m in _SPEC_ASSIGN.finditer(flat):
        if m.group(1).decode() not in gc_specs:
            continue
        a = _ASSIGN_BEFORE.search(flat, max(0, m.start() - 200), m.start())
        if a:
            gc_targets.add(re.split(rb"->|\.", a.group(1))[-1].decode())
    for m in _OBJECT_NEW.finditer(ctx.src.flat):
        if not is_call(ctx, m.start()):
            continue
        arg = m.group(1).decode()
        last = re.split(r"->|\.", arg)[-1].strip()
        if last in gc_targets:
            where = scope_name(ctx, m.start(), "<file scope>")
            yield Hit(
                m.start(),
                m.end(),
                where,
                f"PyObject_New on GC heap type {last!r} in {where}: the object is not "
                "GC-tracked; use PyObject_GC_New + PyObject_GC_Track",
            )


@detector("ISO016")
def heap_type_mutable_or_instantiable(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    """Behaviour changes of a static -> heap conversion (bpo-43908): mutability, tp_new."""
    for spec in inv.specs:
        flags = spec_flags(ctx, spec)
        slots = _slots(ctx, spec)
        problems: list[str] = []
        if "Py_TPFLAGS_IMMUTABLETYPE" not in flags:
            problems.append("mutable (no Py_TPFLAGS_IMMUTABLETYPE; static types were immutable)")
        # Without Py_tp_new a heap type inherits object's tp_new: instantiable from Python,
        # where the static type (tp_new NULL) was not. Only judged when the slot table is here.
        if (
            slots
            and "Py_tp_new" not in slots
            and "Py_tp_base" not in slots
            and "Py_tp_bases" not in slots
            and "Py_TPFLAGS_DISALLOW_INSTANTIATION" not in flags
        ):
            problems.append(
                "instantiable (no Py_tp_new: it inherits object.__new__; set "
                "Py_TPFLAGS_DISALLOW_INSTANTIATION if instances come from C only)"
            )
        if problems:
            yield Hit(
                spec.offset,
                spec.offset + len(spec.name),
                spec.name,
                f"heap type {spec.name!r} is " + " and ".join(problems),
            )


DETECTORS = (
    heap_type_dealloc_missing_decref,
    heap_type_gc,
    type_from_spec_without_module,
    pyobject_new_on_gc_type,
    heap_type_mutable_or_instantiable,
)
