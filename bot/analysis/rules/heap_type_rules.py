"""Heap type rules: ISO007, ISO008 dealloc, ISO009 GC, ISO015 PyObject_New, ISO016 flags."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.analysis.context import Definition, FileContext, is_word, matching_paren, strip_ref
from bot.analysis.inventory import Inventory
from bot.analysis.rules.base import (
    OBJECT_POINTER_MEMBER,
    Hit,
    detector,
    is_call,
    scope_name,
    spec_flags,
)
from bot.analysis.source import split_initializer

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
    # The PyObject_HEAD itself is not a reference held by the instance, nor is the list of
    # weak references (borrowed: a weakref never keeps its referent alive).
    body = _WEAKREFLIST_MEMBER.sub("", body.replace("PyObject_HEAD", ""))
    return bool(OBJECT_POINTER_MEMBER.search(body))


_WEAKREFLIST_MEMBER = re.compile(r"\bPyObject\s*\*\s*\w*weakreflist\s*;")
# Builtin bases whose instances are GC objects: a heap type made with one inherits
# Py_TPFLAGS_HAVE_GC and its traverse/clear (metatypes from PyType_Type, exceptions, ...).
_GC_BUILTIN_BASE = re.compile(
    r"(?:\(\s*+PyObject\s*+\*\s*+\)\s*+)?&?\s*+(?:PyType_Type|PyExc_\w++|PyDict_Type|"
    r"PyList_Type|PySet_Type|PyFrozenSet_Type|PyProperty_Type|PyModule_Type|"
    r"PyBaseException_Type)"
)


def _gc_builtin(base: str) -> bool:
    text = base.strip()
    if text.startswith("(") and text.endswith(")") and not _GC_BUILTIN_BASE.fullmatch(text):
        text = text[1:-1].strip()  # one pair of parentheses around the whole base
    return _GC_BUILTIN_BASE.fullmatch(text) is not None


_NO_BASE = re.compile(r"^\(?\s*(?:NULL|0|nullptr)\s*\)?$")
_SPEC_USE = re.compile(rb"&\s*+(\w++)")


def _split_args(text: str) -> list[str]:
    return split_initializer(text)


def _creations(ctx: FileContext) -> list[tuple[str, str | None, str | None]]:
    """(spec, target, base) of every call that passes `&spec` of this file: the target is the
    variable assigned (or a macro's first argument, `CREATE_TYPE(st->T, &spec, ...)`), the
    base the last argument after the spec (PyType_FromSpecWithBases, FromModuleAndSpec,
    FromMetaclass and macros around them)."""
    specs = {d.name for d in ctx.defs_of("PyType_Spec")}
    out: list[tuple[str, str | None, str | None]] = []
    flat = ctx.src.flat
    if not specs:
        return out
    for m in _SPEC_USE.finditer(flat):
        name = m.group(1).decode()
        if name not in specs or ctx.src.depth_at(m.start()) == 0:
            continue
        open_paren = flat.rfind(b"(", 0, m.start())
        if open_paren < 0:
            continue
        head = flat[max(0, open_paren - 80) : open_paren].rstrip()
        word_start = len(head)
        while word_start and is_word(head[word_start - 1]):
            word_start -= 1
        if word_start == len(head):
            continue
        close = matching_paren(flat, open_paren)
        args = _split_args(flat[open_paren + 1 : close].decode("utf-8", "replace"))
        idx = next(
            (i for i, a in enumerate(args) if a.startswith("&") and a[1:].strip() == name), None
        )
        if idx is None:
            continue
        callee = head[word_start:].decode()
        after = args[idx + 1 :]
        # The base is the last argument of the C-API calls; a helper of the project
        # (`_multidict_new_type(mod, &spec, base, vectorcall)`) may put it anywhere after the
        # spec: every argument after it is a candidate.
        base = " | ".join(after) if after and callee != "PyType_FromSpec" else None
        target: str | None = None
        callee_start = max(0, open_paren - 80) + word_start
        a = _ASSIGN_BEFORE.search(flat, max(0, callee_start - 200), callee_start)
        if a:
            target = a.group(1).decode()
        elif not callee.startswith("PyType_From") and idx > 0:
            target = args[0].strip()
        out.append((name, target, base))
    return out


def _last_name(expr: str) -> str:
    return re.split(r"->|\.", re.sub(r"^\(.*?\)\s*", "", expr.strip()))[-1].strip(" &()")


def gc_specs(ctx: FileContext) -> set[str]:
    """Specs of the file whose types are GC: `Py_TPFLAGS_HAVE_GC` in their flags, or made with
    a GC base (a GC builtin, or a type of this file made from a GC spec), or a `Py_tp_base`
    slot naming one."""
    specs = [d for d in ctx.defs_of("PyType_Spec") if d.init is not None]
    gc = {s.name for s in specs if "Py_TPFLAGS_HAVE_GC" in spec_flags(ctx, s)}
    creations = ctx.shared(_creations)
    target_of: dict[str, set[str]] = {}
    for spec, target, _ in creations:
        if target:
            target_of.setdefault(_last_name(target), set()).add(spec)
    bases: dict[str, list[str]] = {}
    for spec, _, base in creations:
        for candidate in (base or "").split(" | "):
            if candidate.strip() and not _NO_BASE.match(candidate.strip()):
                bases.setdefault(spec, []).append(candidate.strip())
    for s in specs:
        b = _slots(ctx, s).get("Py_tp_base")
        if b:
            bases.setdefault(s.name, []).append(b)
    changed = True
    while changed:
        changed = False
        for spec, bs in bases.items():
            if spec in gc:
                continue
            for b in bs:
                if _gc_builtin(b) or target_of.get(_last_name(b), set()) & gc:
                    gc.add(spec)
                    changed = True
                    break
    return gc


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
    gc = ctx.shared(gc_specs) if inv.specs else set()
    for spec in inv.specs:
        flags = spec_flags(ctx, spec)
        slots = _slots(ctx, spec)
        if "Py_TPFLAGS_HAVE_GC" not in flags and spec.name in gc:
            # Made with a GC base: the type inherits the flag, tp_traverse and tp_clear.
            yield Hit(
                spec.offset,
                spec.offset + len(spec.name),
                spec.name,
                f"heap type {spec.name!r} has no Py_TPFLAGS_HAVE_GC of its own but is made "
                "with a GC base, from which it inherits GC",
                "info",
            )
            continue
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


_WORD = re.compile(rb"[A-Za-z_]\w*+")
_METHODDEF = re.compile(r"^(\w+)_METHODDEF$")
_TABLE_DEF = re.compile(
    rb"\b(?:PyMethodDef|PyGetSetDef|PyMemberDef)\s++(\w++)\s*+\[[^\]]*+\]\s*+=\s*+\{"
)


def _table_functions(ctx: FileContext, table: str) -> set[str]:
    """Functions named in a PyMethodDef/PyGetSetDef table of this file (Argument Clinic's
    `FOO_METHODDEF` entries stand for `foo_impl`)."""
    m = next((t for t in _TABLE_DEF.finditer(ctx.src.flat) if t.group(1).decode() == table), None)
    if m is None:
        return set()
    end = ctx.src.matching_brace(m.end() - 1)
    out: set[str] = set()
    for w in _WORD.findall(ctx.src.flat, m.end(), end):
        name = w.decode()
        clinic = _METHODDEF.match(name)
        if clinic:
            name = clinic.group(1).lower() + "_impl"
        if name in ctx.functions_by_name:
            out.add(name)
    return out


def _spec_uses_module(ctx: FileContext, spec: Definition) -> bool | None:
    """Whether the type's slots, methods or getters look the module up from the type
    (PyType_GetModule*, METH_METHOD, a defining_class argument); None: the slot table is not
    in this file."""
    slots = _slots(ctx, spec)
    if not slots:
        return None
    funcs: set[str] = set()
    for slot, value in slots.items():
        name = strip_ref(value)
        if not name:
            continue
        if slot in ("Py_tp_methods", "Py_tp_getset", "Py_tp_members"):
            funcs |= _table_functions(ctx, name)
        elif name in ctx.functions_by_name:
            funcs.add(name)
    for name in funcs:
        f = ctx.functions_by_name[name]
        header = ctx.src.flat[f.start : f.body_start]
        if _USES_MODULE.search(ctx.body_with_helpers(name, 1)) or b"PyTypeObject *cls" in header:
            return True
    return False


@detector("ISO007")
def type_from_spec_without_module(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    """An error when the type made without a module looks the module up from itself (its
    slots, methods or getters call PyType_GetModule*, use METH_METHOD or defining_class),
    where that lookup fails at run time; info otherwise. When the spec's slot table is not in
    this file, any such lookup in the file counts."""
    if b"PyType_FromSpec" not in ctx.src.flat or not any(
        m.has_state for m in ctx.module_defs.values()
    ):
        return
    file_uses_module = bool(_USES_MODULE.search(ctx.src.flat))
    for m in _FROM_SPEC.finditer(ctx.src.flat):
        if not is_call(ctx, m.start()):
            continue
        spec = m.group(1).decode() if m.group(1) else None
        where = scope_name(ctx, m.start(), "<file scope>")
        d = ctx.definition("PyType_Spec", spec)
        uses = _spec_uses_module(ctx, d) if d is not None and d.init is not None else None
        if uses is None:
            uses = file_uses_module
            why = " (this file looks the module up from types)"
        else:
            why = (
                " (its slots or methods look the module up from the type)"
                if uses
                else " (none of its slots or methods looks the module up from the type)"
            )
        yield Hit(
            m.start(),
            m.end(),
            spec or where,
            f"PyType_FromSpec creates {spec or 'a type'} without a module in {where}; "
            "use PyType_FromModuleAndSpec so PyType_GetModule/defining_class work"
            + (why if file_uses_module else ""),
            "error" if uses else "info",
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
