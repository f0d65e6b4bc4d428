"""API-use rules: ISO004 PyState lookups, ISO006 identifiers, ISO011 PyGILState, ISO014."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.analysis.context import Definition, FileContext, is_word
from bot.analysis.inventory import POINTER_DECLARATION, Inventory
from bot.analysis.rules.base import Hit, detector, is_call, scope_name, spec_flags

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
    # The file's modules, when they are all single-phase (a helper file without an init is
    # settled by the tree pass, which knows the modules of its folder).
    single_phase = (
        [e.info.name for e in inv.modules]
        if inv.modules and all(e.info.init == "single-phase" for e in inv.modules)
        else []
    )
    for m in _PYSTATE.finditer(ctx.src.flat):
        if not is_call(ctx, m.start()):
            continue
        if m.start() and is_word(ctx.src.flat[m.start() - 1]):
            continue  # _PyState_AddModule & co.: the internal implementation
        where = scope_name(ctx, m.start(), "<file scope>")
        api = "PyState_" + m.group(1).decode()
        if single_phase:
            # Right for a single-phase module (one per interpreter): ISO002 reports what to
            # change, and this call goes with that conversion.
            yield Hit(
                m.start(),
                m.end() - 1,
                where,
                f"{api}() in {where}: correct while the module is single-phase "
                f"({', '.join(single_phase)}); replace it when converting to multi-phase "
                "init (ISO002)",
                "info",
            )
            continue
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


# Functions a thread without a Python thread state may enter: the start routine given to a
# thread-creating call, a libffi closure's target, an OS entry point (COM calls
# DllCanUnloadNow/DllGetClassObject on any thread).
_THREAD_START = re.compile(
    rb"\b(?:pthread_create|PyThread_start_new_thread|PyThread_start_joinable_thread|"
    rb"CreateThread|_beginthreadex|_beginthread|thrd_create|uv_thread_create|"
    rb"ffi_prep_closure_loc|ffi_prep_closure)\s*+\("
)
_OS_ENTRY_POINTS = frozenset({"DllMain", "DllCanUnloadNow", "DllGetClassObject"})
# `PyGILState_GetThisThreadState() == NULL` (or a variable holding it tested for NULL): code
# written for threads that have no thread state yet.
_NO_TSTATE_TEST = re.compile(
    rb"PyGILState_GetThisThreadState\s*+\(\s*+\)\s*+[!=]=\s*+NULL|"
    rb"!\s*+PyGILState_GetThisThreadState\s*+\("
)
_TSTATE_VAR = re.compile(rb"\b(\w++)\s*+=\s*+PyGILState_GetThisThreadState\s*+\(")
_CALLEE = re.compile(rb"\b([A-Za-z_]\w*+)\s*+\(")
_WORD = re.compile(rb"[A-Za-z_]\w*+")


_NULL_TEST = re.compile(
    rb"\b([A-Za-z_]\w*+)\s*+[!=]=\s*+NULL|!\s*+([A-Za-z_]\w*+)\b|\(\s*+([A-Za-z_]\w*+)\s*+\)"
)


def _tests_for_no_thread_state(body: bytes) -> bool:
    if _NO_TSTATE_TEST.search(body):
        return True
    holders = {m.group(1) for m in _TSTATE_VAR.finditer(body)}
    return bool(holders) and any(
        (m.group(1) or m.group(2) or m.group(3)) in holders for m in _NULL_TEST.finditer(body)
    )


def foreign_thread_functions(ctx: FileContext) -> set[str]:
    """Functions of the file that can run on a thread with no Python thread state: thread
    start routines, libffi closure targets, OS entry points, functions testing for a missing
    thread state, and the functions of the file they call (three calls deep)."""
    funcs = ctx.functions_by_name
    flat = ctx.src.flat
    roots: set[str] = {n for n in _OS_ENTRY_POINTS if n in funcs}
    for m in _THREAD_START.finditer(flat):
        end = flat.find(b";", m.end())
        args = flat[m.end() : end if end > 0 else len(flat)]
        roots |= {w.decode() for w in _WORD.findall(args) if w.decode() in funcs}
    for f in ctx.functions:
        body = ctx.body(f)
        # Testing the TSS for NULL before attaching (cffi's gil_ensure) is foreign-thread
        # code; a diagnostic that only reads it (fatal_error) is not.
        if (
            b"PyGILState_GetThisThreadState" in body
            and b"PyGILState_Ensure" in body
            and _tests_for_no_thread_state(body)
        ):
            roots.add(f.name)
    reached = set(roots)
    frontier = list(roots)
    for _ in range(3):
        nxt: list[str] = []
        for name in frontier:
            for m in _CALLEE.finditer(ctx.body(funcs[name])):
                callee = m.group(1).decode()
                if callee in funcs and callee not in reached:
                    reached.add(callee)
                    nxt.append(callee)
        frontier = nxt
    return reached


@detector("ISO011")
def gilstate_api(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    """One finding per function. A warning where the function can run on a thread without a
    Python thread state (there `PyGILState_Ensure` creates one for the main interpreter);
    info elsewhere: since 3.12 attaching a thread state rebinds the GILState TSS, so a
    callback that C code runs synchronously on a Python thread resumes that thread's own
    interpreter, and calls that only read the TSS are harmless."""
    # Python/pystate.c, the implementation, is exempt by the path policy (RULE_EXEMPT).
    flat = ctx.src.flat
    if b"PyGILState_" not in flat:
        return
    # A module that declares Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED only ever runs in
    # the main interpreter, where PyGILState_* is right.
    opted_out = bool(inv.modules) and all(
        e.info.multiple_interpreters == "not-supported" for e in inv.modules
    )
    foreign = foreign_thread_functions(ctx)
    # Functions that only read the TSS (PyGILState_Check, GetThisThreadState): harmless.
    attaching = {
        scope_name(ctx, m.start(), "<file scope>")
        for m in _GILSTATE.finditer(flat)
        if m.group(1) in (b"Ensure", b"Release")
    }
    seen: set[str] = set()
    for m in _GILSTATE.finditer(flat):
        if not is_call(ctx, m.start()):
            continue
        api = m.group(1).decode()
        line_start = flat.rfind(b"\n", 0, m.start()) + 1
        if api == "Check" and _ASSERT_BEFORE.search(flat[line_start : m.start()]):
            continue
        where = scope_name(ctx, m.start(), "<file scope>")
        if where in seen:
            continue
        seen.add(where)
        if opted_out:
            yield Hit(
                m.start(),
                m.end() - 1,
                where,
                f"PyGILState_{api}() in {where} (the module opts out of subinterpreters)",
                "info",
            )
        elif where in foreign and where in attaching:
            yield Hit(
                m.start(),
                m.end() - 1,
                where,
                f"PyGILState_{api}() in {where}, which can run on a thread without a Python "
                "thread state: there the GILState API attaches the main interpreter; record "
                "the interpreter and use PyThreadState_New/PyEval_RestoreThread",
            )
        else:
            yield Hit(
                m.start(),
                m.end() - 1,
                where,
                f"PyGILState_{api}() in {where}: fine for a callback run synchronously on a "
                "Python thread (since 3.12 it resumes that thread's own interpreter); a "
                "thread without a thread state would attach the main interpreter",
                "info",
            )


_ONE_ARG_CALL = re.compile(rb"\b([A-Za-z_]\w*+)\s*+\(\s*+(?:\([^()]*+\)\s*+)?(\w++)")
_PY_TYPE_ARG = re.compile(rb"Py_TYPE\s*+\(\s*+(?:\([^()]*+\)\s*+)?(\w++)")


def _declared_struct(ctx: FileContext, func_start: int, offset: int, var: str) -> str | None:
    """The struct type a pointer variable is declared with in the function (parameter or
    local) before ``offset``: `gdbmobject *dp` -> `gdbmobject`."""
    found = None
    for m in POINTER_DECLARATION.finditer(ctx.src.flat, func_start, offset):
        if m.group(2).decode() == var:
            found = m.group(1).decode()
    return found


def _candidate_specs(ctx: FileContext, inv: Inventory, offset: int) -> list[Definition]:
    """The specs whose instances can be the object at ``offset``'s `Py_TYPE(x)`: by the
    declared struct of `x` (a spec with `basicsize = sizeof(that struct)`), else every spec
    of the file."""
    f = ctx.enclosing_function(offset)
    m = _PY_TYPE_ARG.match(ctx.src.code, ctx.src.code.find(b"Py_TYPE", offset))
    if f is not None and m is not None:
        struct = _declared_struct(ctx, f.start, offset, m.group(1).decode())
        if struct:
            by_struct = [
                s
                for s in inv.specs
                if s.init is not None and ctx.state_struct_of(s.init.get("basicsize", 1)) == struct
            ]
            if by_struct:
                return by_struct
    return list(inv.specs)


def _macro_call_specs(ctx: FileContext, inv: Inventory, macro: str) -> list[Definition]:
    """The specs a `#define get_state(o) PyType_GetModuleState(Py_TYPE(o))` can see: those of
    the declared structs of its arguments at its call sites (through macros defined as it,
    `#define get_state_mbio(b) get_state_obj(b)`, one level); every spec of the file when a
    call site's argument cannot be placed."""
    names = {macro} | {
        name for name, values in ctx.src.defines.items() if any(macro in v for v in values)
    }
    found: list[Definition] = []
    calls = 0
    for m in _ONE_ARG_CALL.finditer(ctx.src.flat):
        if m.group(1).decode() not in names:
            continue
        f = ctx.enclosing_function(m.start())
        if f is None:
            continue
        calls += 1
        struct = _declared_struct(ctx, f.start, m.start(), m.group(2).decode())
        matched = [
            s
            for s in inv.specs
            if s.init is not None
            and struct
            and ctx.state_struct_of(s.init.get("basicsize", 1)) == struct
        ]
        if not matched:
            return list(inv.specs)
        found.extend(x for x in matched if x not in found)
    return found if calls else list(inv.specs)


@detector("ISO014")
def module_state_via_py_type(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    """A warning when a type whose instances reach the call can be subclassed (for a
    subclass, `Py_TYPE(self)` is not the defining class); info when none can
    (no `Py_TPFLAGS_BASETYPE`: the call is exact). Types are matched by the declared struct
    of the `Py_TYPE` argument, else every spec of the file counts; with no spec in the file,
    nothing is known and the warning stays."""
    code = ctx.src.code  # with directives: `#define get_state_obj(o) ...(Py_TYPE(o))` counts
    if b"PyType_GetModule" not in code:
        return
    for m in _GET_MODULE_PY_TYPE.finditer(code):
        if ctx.in_directive(m.start()):
            # The `#define` may start lines above (backslash continuations).
            defines = list(_DEFINE_NAME.finditer(code, max(0, m.start() - 600), m.start()))
            d = defines[-1] if defines else None
            where = d.group(1).decode() if d else "<macro>"
            specs = _macro_call_specs(ctx, inv, where) if d else list(inv.specs)
        else:
            where = scope_name(ctx, m.start(), "<file scope>")
            specs = _candidate_specs(ctx, inv, m.start())
        call = f"PyType_GetModule{(m.group(1) or b'').decode()}(Py_TYPE(self)) in {where}"
        subclassable = [s.name for s in specs if "Py_TPFLAGS_BASETYPE" in spec_flags(ctx, s)]
        if specs and not subclassable:
            yield Hit(
                m.start(),
                m.end(),
                where,
                f"{call}: exact, no type it can be called on sets Py_TPFLAGS_BASETYPE "
                f"({', '.join(s.name for s in specs)}); it would break once a type allows "
                "subclasses",
                "info",
            )
            continue
        yield Hit(
            m.start(),
            m.end(),
            where,
            f"{call} returns the wrong module for subclasses"
            + (f" of {', '.join(subclassable)}" if subclassable else "")
            + "; use defining_class or PyType_GetModuleByDef",
        )


DETECTORS = (pystate_module_lookup, py_identifier, gilstate_api, module_state_via_py_type)
