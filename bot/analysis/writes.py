"""Where a process-global C variable is written, within its translation unit.

A mutable `static` that nothing ever writes is a constant without the keyword; one written only
while a module initialises, or once behind an "already initialised?" test, holds a property of
the process (a page size, a function pointer from the OS, a table completed once) that every
interpreter would compute alike. Neither is state an interpreter could make inconsistent. This
module tells them apart from variables written at run time.

What counts as a write of ``x`` (text of the file, comments and strings blanked; macro bodies
included, so a `#define` that assigns counts): an assignment to ``x`` or through it
(``x = ``, ``x[i].f += ``, ``*x = `` ...), ``++``/``--``, ``&x`` anywhere but inside ``sizeof``
(the address may reach a writer), and an array ``x`` passed as a call argument, except to a
function known to only read its argument (``strlen``, ``PyUnicode_FromString`` ...).

A write is at initialisation when its function is a module init (``PyInit_*``, a
``Py_mod_exec`` function) or a function only ever called from such functions (and never
taken by address). It is latched when it sits under an ``if`` whose condition reads the
variable itself or another static of the file (``if (!initialized) { initialized = 1; ...}``,
``if (page_size == 0) page_size = getpagesize();``). Either only counts when the statement
names no Python C API (``sigwinch_ohandler = PyOS_setsig(...)`` chains a handler, a value of
the interpreter's making): a value from the OS or a constant.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from bot.analysis.context import FileContext

# After the name: subscripts and member accesses, then an assignment or ++/--.
_SUBSCRIPT_OR_MEMBER = re.compile(
    rb"(?:\s*+\[[^\];{}]*+\]|\s*+(?:\.|->)\s*+\w++)*+\s*+(?:[-+*/%&|^]|<<|>>)?=(?!=)|"
    rb"(?:\s*+\[[^\];{}]*+\]|\s*+(?:\.|->)\s*+\w++)*+\s*+(?:\+\+|--)"
)
_MEMBER_CHAIN = re.compile(rb"(?:\s*+\[[^\];{}]*+\]|\s*+(?:\.|->)\s*+\w++)*+")
_BEFORE_INCDEC = re.compile(rb"(?:\+\+|--)\s*+$")
_BEFORE_ADDRESS = re.compile(rb"(?<![&\w)\]])&\s*+$")
_SIZEOF_BEFORE = re.compile(rb"\bsizeof\s*+\(?\s*+$|\bPy_ARRAY_LENGTH\s*+\(\s*+$")
_CALL_ARG_BEFORE = re.compile(rb"\b(\w++)\s*+\(([^();]*+,)?\s*+$")
_CALL_ARG_AFTER = re.compile(rb"\s*+[,)]")
# Functions that only read the argument a static array is passed as.
READ_ONLY_CALLEES = frozenset(
    {
        "strlen",
        "strcmp",
        "strncmp",
        "strcasecmp",
        "strncasecmp",
        "strchr",
        "strrchr",
        "strstr",
        "memcmp",
        "printf",
        "puts",
        "fputs",
        "wcslen",
        "wcscmp",
        "sizeof",
        "Py_ARRAY_LENGTH",
        "_countof",
        "ARRAY_SIZE",
        "PyDoc_STR",
        "PyUnicode_FromString",
        "PyUnicode_FromStringAndSize",
        "PyUnicode_InternFromString",
        "PyUnicode_DecodeFSDefault",
        "PyUnicode_FromWideChar",
        "PyUnicode_FromFormat",
        "PyBytes_FromString",
        "PyBytes_FromStringAndSize",
        "PyErr_SetString",
        "PyErr_Format",
        "PyErr_WarnEx",
        "PyModule_AddStringConstant",
        "PyObject_GetAttrString",
        "PyObject_HasAttrString",
        "PySys_WriteStderr",
        "PySys_WriteStdout",
        "Py_BuildValue",
        "PyLong_FromString",
    }
)
# Types whose objects are process-wide by design: locks, once-flags, condition variables,
# atomics and signal flags.
LOCK_TYPE = re.compile(
    r"\b(?:PyMutex|PyThread_type_lock|PyThread_type_sem|_PyOnceFlag|PyOnceFlag|_PyRWMutex|"
    r"PyRWMutex|_PyRecursiveMutex|pthread_mutex_t|pthread_once_t|pthread_cond_t|"
    r"pthread_rwlock_t|pthread_spinlock_t|pthread_key_t|mtx_t|once_flag|cnd_t|sem_t|"
    r"CRITICAL_SECTION|SRWLOCK|INIT_ONCE|CONDITION_VARIABLE|Tcl_Mutex|sig_atomic_t|_Atomic|"
    r"std::(?:atomic|mutex|once_flag|recursive_mutex|shared_mutex)|atomic_\w+)\b"
)
# Calls that only ever touch a word atomically (a word used only through them is a lock word).
_ATOMIC_CALL = re.compile(
    rb"\b(?:_Py_atomic_\w++|__atomic_\w++|__sync_\w++|_?Interlocked\w++|atomic_\w++|"
    rb"_Py_atomic\w*+|Py_BEGIN_CRITICAL_SECTION\w*+|Py_END_CRITICAL_SECTION\w*+)\s*+\(\s*+$"
)
# A Python C-API name in the statement of a write: the value comes from the interpreter (an
# object, a type's slot, a handler chained through PyOS_setsig), not from the OS or a constant.
# Only a call or a member read counts: the address of a static type (`&PyGreenlet_Type`) or a
# function's name stored in a table is a constant of the process.
_PY_VALUE = re.compile(
    rb"(?<!&)(?<!&\s)\b(_?Py[A-Z][A-Za-z0-9]*+_[A-Za-z]\w*+|Py_[A-Z]\w*+)\s*+(?:\(|\.|->)"
)
_IF_BEFORE = re.compile(rb"\b(?:if|while)\s*+\(")
_WORD = re.compile(rb"\w++")
_CALL = re.compile(rb"\b([A-Za-z_]\w*+)\s*+\(")


@dataclass(frozen=True, slots=True)
class Writes:
    """How a variable is written in its file."""

    count: int  # writes found
    runtime: int  # of them, writes neither at initialisation nor latched
    atomic_only: bool  # every use is an argument of an atomic call
    runtime_in_functions: int = 0  # run-time writes in function bodies (not macro bodies)
    # When every run-time write is in a function of the file with a value from the OS or a
    # constant: those functions (the tree pass checks whether another file's module init is
    # what calls them). Empty when some write could not be placed so.
    writers: tuple[str, ...] = ()


_IDENT = re.compile(rb"(?<![\w.>])[A-Za-z_]\w*+")


def identifier_index(code: bytes, names: frozenset[str]) -> dict[str, list[int]]:
    """Offsets of each of ``names`` in ``code`` as an identifier of its own (not a member:
    `.name` and `->name` belong to something else). One pass over the text for all names."""
    out: dict[str, list[int]] = {n: [] for n in names}
    if not names:
        return out
    for m in _IDENT.finditer(code):
        lst = out.get(m.group().decode("ascii", "replace"))
        if lst is not None:
            lst.append(m.start())
    return out


def _open_brace_before(ctx: FileContext, offset: int) -> int | None:
    """The `{` opening the innermost block that contains ``offset`` (None at file scope)."""
    src = ctx.src
    depth = src.depth_at(offset)
    if depth == 0:
        return None
    offsets = src._brace_offsets
    depths = src._brace_depths
    i = bisect_right(offsets, offset - 1) - 1
    while i >= 0:
        if depths[i] == depth and src.code[offsets[i]] == 0x7B:  # "{"
            return offsets[i]
        i -= 1
    return None


def _condition_before(text: bytes) -> bytes | None:
    """The condition of an `if (...)` that ends ``text`` (only blanks after its `)`)."""
    stripped = text.rstrip()
    if not stripped.endswith(b")"):
        return None
    level = 0
    for i in range(len(stripped) - 1, -1, -1):
        c = stripped[i]
        if c == 0x29:
            level += 1
        elif c == 0x28:
            level -= 1
            if level == 0:
                head = stripped[:i].rstrip()
                if head.endswith((b"if", b"while")) and (
                    len(head) < 3 or not (head[-3:-2].isalnum() or head[-3:-2] == b"_")
                ):
                    return stripped[i + 1 : -1]
                return None
    return None


def _python_value(ctx: FileContext, offset: int, name: str) -> bool:
    """The statement writing ``name`` at ``offset`` names the Python C API (its value comes
    from the interpreter, not from the OS or a constant); the variable's own name aside
    (`PyWin_DLLhModule = hInst;`)."""
    flat = ctx.src.flat
    start = max(flat.rfind(b";", 0, offset), flat.rfind(b"{", 0, offset))
    start = max(start, flat.rfind(b"}", 0, offset))
    end = flat.find(b";", offset)
    stmt = flat[start + 1 : end if end > 0 else len(flat)]
    return any(m.group(1).decode() != name for m in _PY_VALUE.finditer(stmt))


def _masked(ctx: FileContext, lo: int, hi: int) -> bytes:
    """The file's flat text with everything outside [lo, hi) blanked (offsets kept): the
    scope of a function static, whose name other functions may reuse for locals."""
    cache = ctx.shared(_mask_cache)
    key = (lo, hi)
    if key not in cache:
        flat = ctx.src.flat
        cache[key] = b" " * lo + flat[lo:hi] + b" " * (len(flat) - hi)
    return cache[key]


def _mask_cache(ctx: FileContext) -> dict[tuple[int, int], bytes]:
    return {}


def _latched(
    ctx: FileContext,
    name: str,
    offset: int,
    statics: frozenset[str],
    scope: tuple[int, int] | None = None,
) -> bool:
    """The write at ``offset`` is under an `if` that tests this variable or another static."""
    flat = ctx.src.flat
    # Braceless `if (cond) x = ...;`: the statement starts right after the condition.
    stmt_start = max(flat.rfind(b";", 0, offset), flat.rfind(b"{", 0, offset))
    stmt_start = max(stmt_start, flat.rfind(b"}", 0, offset))
    conds: list[bytes] = []
    direct = _condition_before(flat[stmt_start + 1 : offset])
    if direct is not None:
        conds.append(direct)
    pos = offset
    for _ in range(6):  # enclosing blocks, innermost first
        brace = _open_brace_before(ctx, pos)
        if brace is None:
            break
        cond = _condition_before(flat[max(0, brace - 400) : brace])
        if cond is not None:
            conds.append(cond)
        pos = brace
    f = ctx.enclosing_function(offset)
    aliases = _local_copies(ctx, name, f.body_start, offset) if f is not None else set()
    for cond in conds:
        words = {w.decode() for w in _WORD.findall(cond)}
        if words & aliases:
            words.add(name)  # `int local = x; if (local == -1) x = local = compute();`
        # The variable itself (`if (size == 0) size = ...`), or a flag of the file set once
        # (`if (!initialized) { initialized = 1; ... }`); a test of other state
        # (`if (unused == NULL) arenas = ...`) latches nothing.
        if name in words or any(_is_flag(flat, w) for w in words & statics):
            return True
    # `if (done) return ...; done = 1;`: a set-once flag, when the early exit tests the flag
    # itself and the write stores a constant (a counter, `n++`, is no flag).
    if f is None:
        return False
    own = _masked(ctx, *scope) if scope else flat
    once = (
        _set_once(own, name, offset) or _single_store(own, name) or _status_never_reset(own, name)
    )
    for cond in _early_exit_conditions(ctx, f.body_start, offset):
        words = {w.decode() for w in _WORD.findall(cond)}
        if (once and name in words) or any(
            _flag_value(flat, w) is not None for w in (words & statics) - {name}
        ):
            return True
    return False


_STORE = re.compile(
    rb"(?<![\w.>])([A-Za-z_]\w*+)(?=\s*+(?:[-+*/%&|^]?=(?!=)|\+\+|--))"
    rb"|(?:\+\+|--)\s*+([A-Za-z_]\w*+)"
)
# (flat, {name: [(start, end, plain)]}) of the last texts indexed: `plain` is a `name = ...`
# or compound store (its value starts at `end`), not a prefix `++name`.
_STORE_INDEX: list[tuple[bytes, dict[str, list[tuple[int, int, bool]]]]] = []


def _stores(flat: bytes, name: str) -> list[tuple[int, int, bool]]:
    """The stores of ``name`` in ``flat`` (one pass over the text, kept for the next
    lookups), declarations' initial values aside."""
    for text, index in _STORE_INDEX:
        if text is flat:
            return index.get(name, [])
    built: dict[str, list[tuple[int, int, bool]]] = {}
    for m in _STORE.finditer(flat):
        if _IN_DECLARATION.search(flat, max(0, m.start() - 80), m.start()):
            continue
        if m.group(1) is not None:
            built.setdefault(m.group(1).decode(), []).append((m.start(), m.end(), True))
        else:
            built.setdefault(m.group(2).decode(), []).append((m.start(), m.end(), False))
    _STORE_INDEX.insert(0, (flat, built))
    del _STORE_INDEX[4:]
    return built.get(name, [])


_COPY = re.compile(rb"\b([A-Za-z_]\w*+)\s*+=\s*+([A-Za-z_]\w*+)\s*+;")
_THROUGH_HEAD = re.compile(rb"\*\s*+([A-Za-z_]\w*+)|\b([A-Za-z_]\w*+)\s*+(?:->|\[)")
_ASSIGN_OP = re.compile(rb"(?<![=!<>])=(?!=)")


def _local_copies(ctx: FileContext, name: str, start: int, end: int) -> set[str]:
    """Locals of the function initialised from the variable before ``end``. A copy the
    function writes through (`p5 = p5s; ... p5->next = ...`) shares the object: writes
    through it are writes of the variable, not a local test."""
    flat = ctx.src.flat
    f = ctx.enclosing_function(start + 1)
    body_end = f.end if f is not None else end
    copies = {
        m.group(1).decode() for m in _COPY.finditer(flat, start, end) if m.group(2).decode() == name
    }
    if not copies:
        return copies
    written: set[str] = set()
    for m in _THROUGH_HEAD.finditer(flat, start, body_end):
        alias = (m.group(1) or m.group(2)).decode()
        if alias not in copies or alias in written:
            continue
        # Through the copy, then an assignment before the statement ends (bounded look).
        semi = flat.find(b";", m.end(), m.end() + 200)
        if _ASSIGN_OP.search(flat, m.end(), semi if semi > 0 else m.end() + 200):
            written.add(alias)
    return copies - written


_STATIC_KW = re.compile(rb"\bstatic\b")
_DECL_ITEM = re.compile(
    rb"\b([A-Za-z_]\w*+)\s*+=\s*+(-?\d++|TRUE|FALSE|true|false|NULL)\s*+(?:,|$)"
)
_PLAIN_ASSIGN = re.compile(rb"\s*+=(?!=)")


def _declared_constant(flat: bytes, name: str) -> bytes | None:
    """The constant a `static` declaration of ``name`` starts it with (`static int rv = 3;`)."""
    for m in _STATIC_KW.finditer(flat):
        end = flat.find(b";", m.end(), m.end() + 300)
        if end < 0:
            continue
        for item in _DECL_ITEM.finditer(flat[m.end() : end]):
            if item.group(1).decode() == name:
                return item.group(2)
    return None


def _status_never_reset(flat: bytes, name: str) -> bool:
    """Every write stores a constant, and none stores the declaration's initial one: once
    out of its "not yet" state, the status never returns to it (setproctitle's
    `static int rv = 3;` set to -1 or 0). A guard set and reset (`busy = 1; ... busy = 0;`)
    returns to it."""
    initial = _declared_constant(flat, name)
    if initial is None or not _is_flag(flat, name):
        return False
    for _start, end, plain in _stores(flat, name):
        m = _CONSTANT_STORE.match(flat, end) if plain else None
        if m is None or m.group(1) == initial:
            return False
    return True


def _single_store(flat: bytes, name: str) -> bool:
    """One plain `name = value;` in the file (no `++`, no compound assignment): a value
    computed once, as `if (cached) return cached; cached = compute();`."""
    found = _stores(flat, name)
    return len(found) == 1 and found[0][2] and _PLAIN_ASSIGN.match(flat, found[0][1]) is not None


def _is_flag(flat: bytes, name: str) -> bool:
    """Every write of ``name`` stores a constant (a status flag: -1, 0, 1 ...)."""
    found = _stores(flat, name)
    return bool(found) and all(
        plain and _CONSTANT_STORE.match(flat, end) for _s, end, plain in found
    )


def _set_once(flat: bytes, name: str, offset: int) -> bool:
    """The write at ``offset`` stores a constant, and every write of the name in the file
    stores that same constant (its declaration's initial value aside): a flag set once. A
    re-entrancy guard set to 1 and back to 0 is state."""
    m = _CONSTANT_STORE.match(flat, offset + len(name))
    return m is not None and _flag_value(flat, name) == m.group(1)


def _flag_value(flat: bytes, name: str) -> bytes | None:
    """The one constant every write of ``name`` stores, or None (no write, a computed value,
    `++`, or two different constants)."""
    value: bytes | None = None
    for _start, end, plain in _stores(flat, name):
        other = _CONSTANT_STORE.match(flat, end) if plain else None
        if other is None or (value is not None and other.group(1) != value):
            return None
        value = other.group(1)
    return value


# A store that is a declaration's initial value: `static int x = 0`, `int x = 0` at a
# statement boundary.
_IN_DECLARATION = re.compile(
    rb"(?:\bstatic\b[^;{}()]*+|[;{}\n][ \t]*+(?:(?:const|volatile|unsigned|signed)\s++)*+"
    rb"[A-Za-z_]\w*+\s*+\**+\s*+)$"
)
_CONSTANT_STORE = re.compile(
    rb"\s*+=\s*+(?:\w++\s*+=\s*+)*+(-?\d++|TRUE|FALSE|true|false|NULL)\s*+;"
)


# `if (cond) return ...;` / `if (cond) { ...; return ...; }` (or a call that ends the process):
# the code after it runs once the condition is false, as under `if (!cond) { ... }`.
_IF_OPEN = re.compile(rb"\bif\s*+\(")
_EXITS = re.compile(rb"\breturn\b|\b\w*(?:exit|abort|Fatal\w*)\s*+\(")


def _early_exit_conditions(ctx: FileContext, body_start: int, offset: int) -> list[bytes]:
    flat = ctx.src.flat
    depth = ctx.src.depth_at(body_start + 1)
    out: list[bytes] = []
    for m in _IF_OPEN.finditer(flat, body_start, offset):
        if ctx.src.depth_at(m.start()) != depth:
            continue  # only the function's own top-level tests
        close = _close_paren(flat, m.end() - 1, offset)
        if close is None:
            continue
        rest = flat[close + 1 : offset].lstrip()
        if rest.startswith(b"{"):
            brace = close + 1 + (len(flat[close + 1 : offset]) - len(rest))
            end = ctx.src.matching_brace(brace)
            block = flat[brace:end]
        else:
            semi = flat.find(b";", close, offset)
            if semi < 0:
                continue
            block = flat[close + 1 : semi + 1]
            end = semi + 1
        if (
            end <= offset
            and _EXITS.search(block)
            and not re.match(rb"\s*+else\b", flat[end:offset])
        ):
            out.append(flat[m.end() : close])
    return out


def _close_paren(data: bytes, open_offset: int, limit: int) -> int | None:
    level = 0
    for i in range(open_offset, min(limit, open_offset + 2000)):
        c = data[i]
        if c == 0x28:
            level += 1
        elif c == 0x29:
            level -= 1
            if level == 0:
                return i
    return None


_NAME_USE = re.compile(rb"\b([A-Za-z_]\w*+)\b(\s*+\()?")


def init_functions(ctx: FileContext, roots: set[str]) -> set[str]:
    """``roots`` (module inits, exec functions) plus the functions of the file called only
    from them and never taken by address."""
    funcs = ctx.functions_by_name
    callers: dict[str, set[str]] = {}
    by_address: set[str] = set()
    flat = ctx.src.flat
    for m in _NAME_USE.finditer(flat):
        name = m.group(1).decode("ascii", "replace")
        f = funcs.get(name)
        if f is None:
            continue
        if f.start <= m.start() < f.body_start:
            continue  # its own header
        if m.group(2) is None:
            # A name used other than as a call (a method table, a callback argument) can
            # run at any time.
            by_address.add(name)
            continue
        caller = ctx.enclosing_function(m.start())
        if caller is not None and caller.name != name:
            callers.setdefault(name, set()).add(caller.name)
    out = {r for r in roots if r in funcs}
    changed = True
    while changed:
        changed = False
        for name, who in callers.items():
            if name in out or name in by_address:
                continue
            if who <= out:
                out.add(name)
                changed = True
    return out


def _after_members(code: bytes, end: int) -> int:
    """The offset after the subscripts and member accesses that follow a name."""
    m = _MEMBER_CHAIN.match(code, end)
    return m.end() if m else end


# Callees whose argument at these positions (0-based) is only read: sysctl reads its MIB
# name array (a static `int mib[] = {CTL_KERN, KERN_BOOTTIME};`) and writes only `oldp`.
READ_ONLY_POSITIONS: dict[str, frozenset[int]] = {
    "sysctl": frozenset({0, 4}),
    "sysctlbyname": frozenset({0, 3}),
    "memcpy": frozenset({1}),
    "memmove": frozenset({1}),
    "strcpy": frozenset({1}),
    "strncpy": frozenset({1}),
}


def _read_only_position(callee: str, args_before: bytes) -> bool:
    positions = READ_ONLY_POSITIONS.get(callee)
    return positions is not None and args_before.count(b",") in positions


def _ternary_latch(code: bytes, name: str, offset: int) -> bool:
    """`x >= 0 ? x : (x = probe())` (often in a macro): the write only happens while the
    condition on the variable itself says it is not computed yet."""
    head = code[max(0, offset - 200) : offset].rstrip(b" \t\n\\(")
    if not head.endswith(b":"):
        return False
    question = head.rfind(b"?")
    if question < 0 or any(c in head[question + 1 : -1] for c in b";?:{}"):
        return False
    boundary = max(head.rfind(bytes([c]), 0, question) for c in b";?:{}")
    words = {w.decode() for w in _IDENT.findall(head, boundary + 1, question)}
    return name in words


def _const_parameter(ctx: FileContext, callee: str, args_before: bytes) -> bool:
    """The parameter of ``callee`` (a function of this file) at the position of the argument
    after ``args_before`` is declared `const`."""
    f = ctx.functions_by_name.get(callee)
    if f is None:
        return False
    header = ctx.src.flat[f.start : f.body_start]
    open_paren = header.find(b"(", header.find(callee.encode()))
    if open_paren < 0:
        return False
    params = header[open_paren + 1 : header.rfind(b")")].split(b",")
    index = args_before.count(b",")
    return index < len(params) and b"const" in params[index]


def writes_of(
    ctx: FileContext,
    name: str,
    *,
    array: bool,
    function: str | None,
    decl: tuple[int, int],
    statics: frozenset[str],
    init_funcs: set[str],
    occurrences: list[int],
) -> Writes:
    """The writes of variable ``name`` in the file (or in its function, for a function
    static); ``decl``: the declaration's byte range (its initialiser is not a write)."""
    src = ctx.src
    code = src.code
    lo, hi = 0, len(code)
    if function:
        f = ctx.functions_by_name.get(function)
        if f is not None:
            lo, hi = f.body_start, f.end
    count = runtime = in_functions = deferrable = 0
    writers: set[str] = set()
    uses = 0
    atomic_uses = 0
    for off in occurrences:
        if not lo <= off < hi:
            continue
        if decl[0] <= off < decl[1]:
            continue  # the declaration itself
        uses += 1
        end = off + len(name)
        if src.depth_at(off) == 0 and not ctx.in_directive(off):
            continue  # file scope: another declaration of the name (an `#if` twin)
        before = code[max(0, off - 200) : off]
        write = False
        if _SUBSCRIPT_OR_MEMBER.match(code, end) or _BEFORE_INCDEC.search(before):
            write = True
        elif _BEFORE_ADDRESS.search(before):
            if _ATOMIC_CALL.search(before[: len(before.rstrip()) - 1]):
                atomic_uses += 1
                write = True
            else:
                # The address handed to a function that may write through it: a call
                # argument, unless the callee only reads (a known reader, or a function of
                # this file whose parameter there is `const`). Stored in a variable or a
                # table, it is not followed (known problem: writes through an alias).
                head = before[: before.rstrip().rfind(b"&")]
                call = _CALL_ARG_BEFORE.search(head)
                write = bool(
                    call
                    and _CALL_ARG_AFTER.match(code, _after_members(code, end))
                    and not _SIZEOF_BEFORE.search(head)
                    and call.group(1).decode() not in READ_ONLY_CALLEES
                    and not _const_parameter(ctx, call.group(1).decode(), call.group(2) or b"")
                )
        elif array and _CALL_ARG_AFTER.match(code, end):
            call = _CALL_ARG_BEFORE.search(before)
            write = bool(
                call
                and call.group(1).decode() not in READ_ONLY_CALLEES
                and not _SIZEOF_BEFORE.search(before)
                and not _read_only_position(call.group(1).decode(), call.group(2) or b"")
            )
        if not write:
            continue
        count += 1
        enclosing = ctx.enclosing_function(off)
        at_init = (
            enclosing is not None
            and (
                enclosing.name in init_funcs
                or _latched(ctx, name, off, statics, (lo, hi) if function else None)
            )
        ) or _ternary_latch(code, name, off)
        python_value = _python_value(ctx, off, name)
        if at_init and not python_value:
            continue
        runtime += 1
        if enclosing is not None:
            in_functions += 1
            if not python_value:
                writers.add(enclosing.name)
                deferrable += 1
    return Writes(
        count,
        runtime,
        bool(uses) and atomic_uses == uses,
        in_functions,
        tuple(sorted(writers)) if runtime and deferrable == runtime else (),
    )
