"""Process-global variables, and which of the four rules about them reports each one.

File-scope variables and function statics are judged by four rules: ISO018
cached-capsule-pointer, ISO013 static-cache-or-freelist, ISO005 global-object and ISO012
global-c-state. Their tests overlap (a capsule pointer is an object pointer; a free list may be
one too), and a variable is reported once: by the first rule of PRECEDENCE whose test it
passes. The order goes from the most specific diagnosis to the most general: a cached capsule
pointer needs a different fix (look the capsule up per module) than a cache (move it into
module state or drop it), than any other object pointer, than plain C state.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.analysis.context import FileContext, strip_ref
from bot.analysis.cparse import Declaration, Declarator
from bot.analysis.rules.base import OBJECT_POINTER_MEMBER
from bot.analysis.writes import LOCK_TYPE, Writes, identifier_index, init_functions, writes_of

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
_AFTER_DECLARATOR = re.compile(rb"\s*([A-Za-z_(])")


@dataclass(frozen=True, slots=True)
class StaticVariable:
    decl: Declaration
    var: Declarator
    # The enclosing function of a function-static ("?" when unknown, also a C++ class-static);
    # None at file scope.
    function: str | None

    @property
    def name(self) -> str:
        return self.var.name

    @property
    def end(self) -> int:
        return self.var.offset + len(self.var.name)

    def where(self, ctx: FileContext) -> str:
        """How messages name the variable."""
        if self.function == "?" and ctx.path.endswith(_CPP_SUFFIXES):
            return f"class-static {self.name!r}"  # a static data member: one per process
        if self.function:
            return f"function-static {self.name!r} in {self.function}()"
        return f"{self.name!r}"


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


def _is_process_global(ctx: FileContext, d: Declaration, v: Declarator, func: str | None) -> bool:
    """Not a misread declaration, not per-thread, not a name or table that is never state."""
    name = v.name
    # Declarations recovered from ERROR nodes count only when they say `static`
    # (tree-sitter may read a macro call's arguments as a declaration).
    if _ALLOWED_NAME.match(name) or (d.in_error and "static" not in d.storage):
        return False
    if ctx.pclass.builtin_area and _BUILTIN_EXC_NAME.match(name):
        return False
    if _misread_macro(ctx, v):
        return False  # `static bool _Py_NO_SANITIZE_ADDRESS\nfunc(...)`: an attribute macro
    if _in_parameter_list(ctx, d, v):
        return False  # a parameter name of a function pointer misread as a declarator
    if _THREAD_LOCAL.search(ctx.src.flat, d.start, v.offset):
        return False  # per-thread storage (greenlet's `static thread_local ...`)
    if func == "?" and _cpp_member_misread(ctx, d, v):
        return False  # C++ class body: `static OwnedReference<T, TC> owning(T* p)`
    # A table of string literals (kwlist-like), never written.
    return not (
        v.array and v.pointer and v.init_brace is not None and _CHAR_TYPE.match(d.type_text)
    )


def _static_variables(ctx: FileContext) -> list[StaticVariable]:
    candidates: list[tuple[Declaration, Declarator, str | None]] = [
        (d, v, None) for d, v in ctx.file_scope_variables()
    ]
    for d, f in ctx.function_statics:
        for v in d.declarators:
            if not v.function:
                candidates.append((d, v, f.name if f else "?"))
    return [
        StaticVariable(d, v, func)
        for d, v, func in candidates
        if _is_process_global(ctx, d, v, func)
    ]


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


# A struct whose definition starts with the object header: a pointer to it is an object.
_OBJECT_HEAD = re.compile(
    r"^\{\s*(?:PyObject_HEAD|PyObject_VAR_HEAD|PyObject\s+ob_base|"
    r"PyVarObject\s+ob_base)\b"
)


def _struct_name(type_text: str) -> str:
    return re.sub(r"^(?:struct|union)\s+", "", type_text.strip())


def _object_structs(ctx: FileContext) -> tuple[frozenset[str], frozenset[str]]:
    """(structs that are Python objects, structs holding object pointers) of this file."""
    objects: set[str] = set()
    holders: set[str] = set()
    for name, body in ctx.structs.items():
        if _OBJECT_HEAD.match(body):
            objects.add(name)
        elif OBJECT_POINTER_MEMBER.search(body):
            holders.add(name)
    return frozenset(objects), frozenset(holders)


def _is_object_pointer(ctx: FileContext, s: StaticVariable) -> bool:
    """A pointer to a Python object type, or to a struct of this file that starts with the
    object header (``PyObject_HEAD``). A visibility macro before the type
    (`PYCURL_INTERNAL PyObject *x`, `HIDDEN PyObject *x`) can make tree-sitter take the macro
    for the type: the declaration's text before the name decides then."""
    if not s.var.pointer:
        return False
    if _OBJECT_TYPE.match(s.decl.type_text):
        return True
    if _struct_name(s.decl.type_text) in ctx.shared(_object_structs)[0]:
        return True
    if s.decl.type_text.isupper() or "(" in s.decl.type_text:
        head = ctx.src.flat[s.decl.start : s.var.offset].decode("utf-8", "replace")
        return _OBJECT_POINTER_HEAD.search(head) is not None
    return False


_OBJECT_POINTER_HEAD = re.compile(r"\b(?:PyObject|PyTypeObject|Py\w*Object)\s*\*\s*(?:const\s*)?$")


def is_object_struct(ctx: FileContext, s: StaticVariable) -> bool:
    """A non-pointer variable of a struct type of this file that is a Python object
    (``PyObject_HEAD``) or holds object pointers: the variable itself holds objects."""
    if s.var.pointer or s.var.function_pointer or _SUPPORTED.match(s.decl.type_text):
        return False
    head = ctx.src.flat[s.decl.start : s.var.offset]
    if b"PyTypeObject" in head:
        return False  # a static type behind a visibility macro: ISO001's
    objects, holders = ctx.shared(_object_structs)
    name = _struct_name(s.decl.type_text)
    if name in objects or name in holders:
        return True
    # A statically allocated object (`static PyDateTime_Delta zero_delta = {
    # PyObject_HEAD_INIT(...)`), whatever header defines its struct. The core's own static
    # objects (Objects/, Python/) are immortal singletons by design.
    if s.var.init_brace is None or ctx.pclass.builtin_area:
        return False
    return _HEAD_INIT.match(ctx.src.flat, s.var.init_brace + 1) is not None


_HEAD_INIT = re.compile(rb"\s*+\{?\s*+_?Py(?:Var)?Object_HEAD_INIT\b")


# ---- each rule's test ----------------------------------------------------------------------


def is_cached_capsule_pointer(ctx: FileContext, s: StaticVariable) -> bool:
    """ISO018: assigned the result of PyCapsule_Import/GetPointer in this file."""
    return s.name in ctx.shared(_capsule_targets) and (s.var.pointer or bool(s.function))


def is_static_cache(ctx: FileContext, s: StaticVariable) -> bool:
    """ISO013: a pointer or array named like a cache or free list (not a const object
    pointer)."""
    if _is_object_pointer(ctx, s) and s.var.const_pointer:
        return False
    return bool(_CACHE_NAME.search(s.name)) and (s.var.pointer or s.var.array)


def is_object_cache(ctx: FileContext, s: StaticVariable) -> bool:
    """An ISO013 cache that holds Python objects: reported at ISO005's severity, a cache
    name does not make an object global less serious."""
    return _is_object_pointer(ctx, s) or is_object_struct(ctx, s)


def is_global_object(ctx: FileContext, s: StaticVariable) -> bool:
    """ISO005: a non-const pointer to a Python object type (or to a struct of this file that
    is an object), or a mutable struct of this file that is an object or holds objects."""
    if _is_object_pointer(ctx, s):
        return not s.var.const_pointer
    return not s.decl.const and is_object_struct(ctx, s)


def _c_state_candidate(ctx: FileContext, s: StaticVariable) -> bool:
    d, v = s.decl, s.var
    if d.const or v.const_pointer:
        return False
    if _SUPPORTED.match(d.type_text) and not v.pointer:
        return False
    if d.type_text in ("PyTypeObject",):
        return False
    return not (v.init_brace is not None and _SUPPORTED.match(d.type_text))


# Export macros that declare a variable defined elsewhere (`PyAPI_DATA(PyTypeObject) X;`).
_DECLARING_TYPE = re.compile(r"\bPyAPI_DATA\b|\bextern\b")


def is_global_c_state(ctx: FileContext, s: StaticVariable) -> bool:
    """ISO012: a mutable `static` that is not a C-API definition table, or a non-static global
    that a function of this file writes at run time (other files may write it too: without a
    write here, nothing is known; a macro body is no write of this file)."""
    if not _c_state_candidate(ctx, s):
        return False
    if "static" in s.decl.storage or s.function:
        return True
    if _DECLARING_TYPE.search(s.decl.type_text):
        return False
    return c_state_writes(ctx, s).runtime_in_functions > 0


# ---- ISO012: how the variable is written -------------------------------------------------


def _init_roots(ctx: FileContext) -> set[str]:
    # DllMain runs when the OS loads the library: once per process.
    roots = {i.func_name for i in ctx.init_functions} | {"DllMain"}
    for d in ctx.defs_of("PyModuleDef_Slot"):
        for slot, value in ctx.slot_table("PyModuleDef_Slot", d.name):
            name = strip_ref(value)
            if slot == "Py_mod_exec" and name:
                roots.add(name)
    return roots


def _write_context(
    ctx: FileContext,
) -> tuple[frozenset[str], set[str], dict[str, list[int]]]:
    variables = ctx.shared(_static_variables)
    statics = frozenset(s.name for s in variables if "static" in s.decl.storage or s.function)
    index = identifier_index(ctx.src.code, frozenset(s.name for s in variables))
    return statics, init_functions(ctx, _init_roots(ctx)), index


def c_state_writes(ctx: FileContext, s: StaticVariable) -> Writes:
    cache = ctx.shared(_writes_cache)
    # One analysis per name and scope: a file declaring the same static many times (an
    # `#if` twin, or hostile input) reads its writes once. Other declarations of the name
    # at file scope are never counted as writes.
    key = (s.name, s.function or "")
    if key not in cache:
        statics, inits, index = ctx.shared(_write_context)
        func = s.function if s.function and s.function != "?" else None
        cache[key] = writes_of(
            ctx,
            s.name,
            array=s.var.array,
            function=func,
            decl=(s.decl.start, s.decl.end),
            statics=statics,
            init_funcs=inits,
            occurrences=index.get(s.name, []),
        )
    return cache[key]


def _writes_cache(ctx: FileContext) -> dict[tuple[str, str], Writes]:
    return {}


_HEADER_SUFFIXES = (".h", ".hpp", ".hh")


def c_state_downgrade(ctx: FileContext, s: StaticVariable) -> str | None:
    """Why an ISO012 variable is only info (None: it is state written at run time).

    - a lock, once-flag, condition variable, atomic or signal flag: process-wide by design;
    - never written in the file: effectively const (a header's variable counts only when the
      header itself uses it: its includers may write it);
    - written only while the module initialises, or once behind an "initialised?" test: a
      property of the process, computed alike by every interpreter.
    """
    head = ctx.src.flat[s.decl.start : s.var.offset].decode("utf-8", "replace")
    if LOCK_TYPE.search(head) or LOCK_TYPE.search(s.decl.type_text):
        return "a lock, once-flag or atomic: process-wide by design"
    w = c_state_writes(ctx, s)
    if w.atomic_only:
        return "only used atomically: a process-wide lock word"
    if w.count == 0:
        if ctx.path.endswith(_HEADER_SUFFIXES) and not s.function:
            index = ctx.shared(_write_context)[2]
            if not any(off >= s.decl.end for off in index.get(s.name, [])):
                return None  # the header never uses it: its includers may write it
        return "never written in this file: effectively const (declare it const)"
    if w.runtime == 0:
        return (
            "written only at initialisation or once behind an initialised-test: a process property"
        )
    return None


Test = Callable[[FileContext, StaticVariable], bool]

PRECEDENCE: tuple[tuple[str, Test], ...] = (
    ("ISO018", is_cached_capsule_pointer),
    ("ISO013", is_static_cache),
    ("ISO005", is_global_object),
    ("ISO012", is_global_c_state),
)


def _by_rule(ctx: FileContext) -> dict[str, list[StaticVariable]]:
    out: dict[str, list[StaticVariable]] = {rule: [] for rule, _ in PRECEDENCE}
    for s in ctx.shared(_static_variables):
        for rule, test in PRECEDENCE:
            if test(ctx, s):
                out[rule].append(s)
                break
    return out


def variables_reported_by(rule: str, ctx: FileContext) -> list[StaticVariable]:
    """The file's process-global variables that PRECEDENCE gives to ``rule``, in file order."""
    return ctx.shared(_by_rule)[rule]


def c_state_writers(ctx: FileContext, symbols: list[str]) -> dict[str, list[str]]:
    """ISO012 warnings of the file whose every run-time write is in a function of the file,
    with a value from the OS or a constant: symbol -> those functions (non-static ones only:
    another file may call them from its module init)."""
    if not symbols:
        return {}
    wanted = set(symbols)
    out: dict[str, list[str]] = {}
    for s in variables_reported_by("ISO012", ctx):
        if s.name not in wanted:
            continue
        w = c_state_writes(ctx, s)
        if w.writers and all(_exported(ctx, f) for f in w.writers):
            out[s.name] = list(w.writers)
    return out


def _exported(ctx: FileContext, name: str) -> bool:
    f = ctx.functions_by_name.get(name)
    if f is None:
        return False
    line_start = ctx.src.flat.rfind(b"\n", 0, f.start) + 1
    return re.search(rb"\bstatic\b", ctx.src.flat[line_start : f.body_start]) is None
