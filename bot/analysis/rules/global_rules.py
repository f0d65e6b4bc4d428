"""Process-global state: ISO005 objects, ISO012 C state, ISO013 caches, ISO018 capsules."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.analysis.context import FileContext
from bot.analysis.cparse import Declaration, Declarator
from bot.analysis.inventory import Inventory
from bot.analysis.rules.base import Hit

# The analyzer's "supported" types (Tools/c-analyzer/cpython/_analyzer.py): fine as statics.
_SUPPORTED = re.compile(
    r"^(struct\s+)?(PyModuleDef|PyModuleDef_Slot|PyType_Spec|PyType_Slot|PyMethodDef|"
    r"PyMemberDef|PyGetSetDef|Py\w*Methods|PyBufferProcs|PyStructSequence_Field|"
    r"PyStructSequence_Desc|_PyArg_Parser|PyTypeObject|PyDoc_STRVAR|_Py_Identifier|"
    r"PyModuleDef_Base|PyObject_HEAD_INIT|wrapperbase|PyCompilerFlags)$"
)
_OBJECT_TYPE = re.compile(r"^(struct\s+)?(PyObject|PyTypeObject|Py\w*Object|_Py\w*Object)$")
_CACHE_NAME = re.compile(r"free_?list|numfree|_cache$|^cache_|_cached$", re.IGNORECASE)
_CAPSULE_CALL = re.compile(rb"\bPyCapsule_(?:Import|GetPointer)\s*\(")
_ASSIGN_BEFORE = re.compile(rb"\b(\w++)\s*+=\s*+(?:\([^()]*+\)\s*+)?$")
# Allowed names: kwlist arrays, and (in Objects/ and Python/ only) the builtin exception
# objects of Objects/exceptions.c. Elsewhere a `PyExc_` name is an ordinary global: 3.11's
# Modules/_ctypes/_ctypes.c `PyObject *PyExc_ArgError`, extensions naming their errors so.
_ALLOWED_NAME = re.compile(r"^(\w*kwlist\w*|_?keywords|\w*_kws)$")
_BUILTIN_EXC_NAME = re.compile(r"^_?PyExc_\w+$")
_CHAR_TYPE = re.compile(r"^(unsigned\s+)?(char|wchar_t)$")
# Thread-local storage (`thread_local`, `_Thread_local`, `__thread`, `_Py_thread_local`, a
# project's `THREAD_LOCAL` macro): one copy per thread, not process-wide state.
_THREAD_LOCAL = re.compile(rb"(?i)\b\w*thread_?local\b|\b__thread\b")
_CPP_SUFFIXES = (".cpp", ".cc", ".cxx", ".hpp", ".hh")


def _is_object_pointer(d: Declaration, v: Declarator) -> bool:
    return (v.pointer or (v.array and v.pointer)) and bool(_OBJECT_TYPE.match(d.type_text))


_AFTER_DECLARATOR = re.compile(rb"\s*([A-Za-z_(])")


def _misread_macro(ctx: FileContext, v: Declarator) -> bool:
    """A "declarator" followed by a name or `(` is a macro before the real declarator."""
    return (
        not v.pointer
        and not v.array
        and _AFTER_DECLARATOR.match(ctx.src.flat, v.offset + len(v.name)) is not None
    )


def _in_parameter_list(ctx: FileContext, d: Declaration, v: Declarator) -> bool:
    head = ctx.src.flat[d.start : v.offset]
    return head.count(b"(") > head.count(b")")


def _capsule_targets(ctx: FileContext) -> set[str]:
    # Directive lines too: `#define PyDateTime_IMPORT PyDateTimeAPI = PyCapsule_Import(...)`.
    if b"PyCapsule_" not in ctx.src.code:
        return set()
    code = ctx.src.code
    out: set[str] = set()
    for m in _CAPSULE_CALL.finditer(code):
        a = _ASSIGN_BEFORE.search(code, max(0, m.start() - 120), m.start())
        if a:
            out.add(a.group(1).decode())
    return out


def _cpp_member_misread(ctx: FileContext, d: Declaration, v: Declarator) -> bool:
    """A `static` in a C++ class body that tree-sitter-c read as a variable but is a member
    function, a template argument or an operator's parameter: the name is not followed by
    `;`, `=`, `[`, `{` or `,`, or a `(` or `<` comes before it."""
    if not ctx.path.endswith(_CPP_SUFFIXES):
        return False
    flat = ctx.src.flat
    before = flat[d.start : v.offset].rstrip()
    after = flat[v.offset + len(v.name) : v.offset + len(v.name) + 64].lstrip()[:1]
    return (
        v.name == "operator"
        or b"(" in before
        or before.endswith((b"<", b","))
        or after not in (b";", b"=", b"[", b"{", b",")
    )


def global_state(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    capsules = _capsule_targets(ctx)
    candidates: list[tuple[Declaration, Declarator, str | None]] = [
        (d, v, None) for d, v in ctx.file_scope_variables()
    ]
    for d, f in ctx.function_statics:
        for v in d.declarators:
            if not v.function:
                candidates.append((d, v, f.name if f else "?"))
    for d, v, func in candidates:
        name = v.name
        # Declarations recovered from ERROR nodes count only when they say `static`
        # (tree-sitter may read a macro call's arguments as a declaration).
        if _ALLOWED_NAME.match(name) or (d.in_error and "static" not in d.storage):
            continue
        if ctx.pclass.builtin_area and _BUILTIN_EXC_NAME.match(name):
            continue
        if _misread_macro(ctx, v):
            continue  # `static bool _Py_NO_SANITIZE_ADDRESS\nfunc(...)`: an attribute macro
        if _in_parameter_list(ctx, d, v):
            continue  # a parameter name of a function pointer misread as a declarator
        if _THREAD_LOCAL.search(ctx.src.flat, d.start, v.offset):
            continue  # per-thread storage (greenlet's `static thread_local ...`)
        if func == "?" and _cpp_member_misread(ctx, d, v):
            continue  # C++ class body: `static OwnedReference<T, TC> owning(T* p)`
        if v.array and v.pointer and v.init_brace is not None and _CHAR_TYPE.match(d.type_text):
            continue  # a table of string literals (kwlist-like), never written
        where = f"function-static {name!r} in {func}()" if func else f"{name!r}"
        if func == "?" and ctx.path.endswith(_CPP_SUFFIXES):
            where = f"class-static {name!r}"  # a static data member: one per process
        end = v.offset + len(name)
        if name in capsules and (v.pointer or func):
            yield Hit(
                "ISO018",
                v.offset,
                end,
                name,
                f"{where} caches a C-API capsule pointer process-wide; keep it in module state",
            )
            continue
        object_ptr = _is_object_pointer(d, v)
        if object_ptr and v.const_pointer:
            continue
        if _CACHE_NAME.search(name) and (v.pointer or v.array):
            yield Hit(
                "ISO013",
                v.offset,
                end,
                name,
                f"{where} is a static cache or free list shared by every interpreter",
                "error" if ctx.pclass.builtin_area and name != "numfree" else None,
            )
            continue
        if object_ptr:
            yield Hit(
                "ISO005",
                v.offset,
                end,
                name,
                f"{where} is a process-global {d.type_text} pointer shared by every "
                "interpreter; move it to module state",
            )
            continue
        if "static" not in d.storage or d.const or v.const_pointer:
            continue
        if _SUPPORTED.match(d.type_text) and not v.pointer:
            continue
        if d.type_text in ("PyTypeObject",) or (
            v.init_brace is not None and _SUPPORTED.match(d.type_text)
        ):
            continue
        yield Hit(
            "ISO012",
            v.offset,
            end,
            name,
            f"mutable static {d.type_text} {where} is process-wide C state; move it to "
            "module state (or make it const)",
        )


# Declaring macros that hide a static (the tree sees a call): `TCL_DECLARE_MUTEX(call_mutex)`.
_DECLARING_MACRO = re.compile(rb"^[ \t]*(TCL_DECLARE_MUTEX)\s*\(\s*(\w+)\s*\)", re.MULTILINE)


def macro_declared_state(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    if b"_DECLARE_" not in ctx.src.flat:
        return
    for m in _DECLARING_MACRO.finditer(ctx.src.flat):
        if ctx.src.depth_at(m.start()) != 0:
            continue
        name = m.group(2).decode()
        yield Hit(
            "ISO012",
            m.start(2),
            m.end(2),
            name,
            f"{m.group(1).decode()}({name}) declares a process-wide static; move it to "
            "module state",
        )


DETECTORS = (global_state, macro_declared_state)
