"""Everything the detectors share about one file, computed once.

Definitions with a known shape (PyModuleDef, PyType_Spec, slot tables, static types, init
functions) are found by tree-sitter *and* by anchored regexes over the cleaned text at brace
depth 0 (the targeted fallback for declarations lost to ERROR nodes); initialisers are read
textually so an `#ifdef` inside them (every branch read) does not lose the fields.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar, cast

from bot.analysis.cparse import (
    Declaration,
    Declarator,
    Function,
    ParsedFile,
    declaration_at,
    statement_declaration,
)
from bot.analysis.paths import PathClass
from bot.analysis.source import (
    Initializer,
    Source,
    initializer_from_text,
    parse_initializer,
    split_initializer,
)

# Starts at the type name (fast); the line prefix is checked separately (_DEF_PREFIX).
# Possessive quantifiers (`*+`, `++`) wherever two whitespace runs could meet: `\s*\w*\s*`
# with an empty word would otherwise split a long run of blanks every possible way
# (quadratic; tests/hardening/test_regex_backtracking.py probes every pattern).
_DEF_RE = re.compile(
    rb"(Py(?:ModuleDef|Type_Spec|TypeObject|ModuleDef_Slot|Type_Slot))\s++(\w++)"
    rb"\s*+(\[\s*+\w*+\s*+\])?\s*+=\s*+(\{|\w++\s*+\()"
)
# Words before the type: storage and qualifiers, and export or visibility macros
# (`Py_EXPORTED_SYMBOL PyTypeObject _PyBytesIOBuffer_Type = {` in 3.11's _io/bytesio.c;
# `MYEXT_API PyTypeObject T = {` in extensions). A `#`, `(` or `=` in the prefix rejects it.
_DEF_PREFIX = re.compile(rb"[ \t]*+(?:\w++[ \t]++)*+")
# Patterns start with a literal (fast); where they must begin a line, that is checked after.
_INIT_FUNC_RE = re.compile(rb"(PyInit_\w++)\s*+\(\s*+(?:void\s*+)?\)\s*+\{")
_MODINIT_RE = re.compile(rb"PyMODINIT_FUNC\s++(\w++)\s*+\(\s*+(?:void\s*+)?\)\s*+\{")
# What may precede an init's name on its line: words (`PyMODINIT_FUNC`, visibility macros
# such as zstandard's `PYTHON_ZSTD_VISIBILITY PyMODINIT_FUNC PyInit_backend_c(void) {`,
# `static`), a return type pointer (`PyObject *`) and C++'s `extern "C"` (string blanked).
_LINE_PREFIX_OK = re.compile(
    rb'[ \t]*+(?:extern[ \t]*+"[ \t]*+"[ \t]*+)?(?:\w++[ \t]*+\**+[ \t]*+)*+'
)
# cjkcodecs' macro-made init: `I_AM_A_MODULE_FOR(jp)` defines PyInit__codecs_jp.
_CJK_MACRO_RE = re.compile(rb"^[ \t]*I_AM_A_MODULE_FOR\s*\(\s*(\w+)\s*\)", re.MULTILINE)
# `PyInit_ ## name [## suffix]` in a macro's value (name: the macro's parameter).
_PASTED_PYINIT_RE = re.compile(r"\bPyInit_(\w*+)\s*+##\s*+(\w++)(?:\s*+##\s*+(\w++))?")
# A line-initial `MACRO(arg) {` (a macro that expands to an init function's header).
_MACRO_CALL_BODY_RE = re.compile(rb"\n[ \t]*+([A-Za-z_]\w*+)[ \t]*+\([ \t]*+(\w++)[ \t]*+\)\s*+\{")
# A token-pasting init name: psycopg2's `PyMODINIT_FUNC INIT_MODULE(_psycopg)(void) {` with
# `#define INIT_MODULE(m) PyInit_ ## m` (often in a header of its own).
_PASTED_INIT_RE = re.compile(
    rb"PyMODINIT_FUNC\s++(\w++)\s*+\(\s*+(\w++)\s*+\)\s*+\(\s*+(?:void\s*+)?\)\s*+\{"
)
_CALL_RE = re.compile(rb"\b([A-Za-z_]\w*)\s*\(")
_STATIC_RE = re.compile(rb"static\b")
# Matched against "\n" + text, so a match starts at the line's own offset.
_GLOBAL_LINE_RE = re.compile(
    rb"\n(?:const[ \t]+)?(?:struct[ \t]+)?Py\w*[ \t]*\*[ \t]*\w+[ \t]*(?:=|;|\[)"
)
_MULTI_RE = re.compile(rb"\bPyModuleDef_Init\s*+\(\s*+(?:\([^()]*+\)\s*+)?&?\s*+(\w+)")
_SINGLE_RE = re.compile(
    rb"\b(PyModule_Create2?|_PyModule_CreateInitialized|PyModule_New(?:Object)?)\s*\("
    rb"\s*(?:&\s*(\w+))?"
)
_VOID_PARAMS = re.compile(rb"\(\s*+(?:void\s*+)?\)\s*+")
_RETURNS_DEF = re.compile(
    rb"(?:\breturn\s++|=\s*+)(?:PyModuleDef_Init|PyModule_Create2?)\s*+\(\s*+&\s*+(\w++)"
)
_COMMENT = re.compile(rb"/\*.*?\*/|//[^\n]*+", re.S)
_DEFINE_STRING = re.compile(rb"#[ \t]*+define[ \t]++(\w++)[ \t]++(\"[^\"\n]*+\")")
_SIZEOF_RE = re.compile(r"sizeof\s*\(\s*(?:struct\s+)?(\w+)\s*\)")
_STRUCT_RE = re.compile(rb"(?:typedef\s++)?struct\s*+(\w*+)\s*+\{")
MI_VALUES = {
    "Py_MOD_PER_INTERPRETER_GIL_SUPPORTED": "per-interpreter-gil",
    "Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED": "supported",
    "Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED": "not-supported",
}
MODULE_DEF_FIELDS = (
    "m_base",
    "m_name",
    "m_doc",
    "m_size",
    "m_methods",
    "m_slots",
    "m_traverse",
    "m_clear",
    "m_free",
)


def strip_ref(value: str | None) -> str | None:
    """`&foo_spec` / `(PyObject *)&x` / `foo` -> the identifier; None for anything else."""
    if not value:
        return None
    m = re.fullmatch(r"(?:\([^()]*+\)\s*+)?&?\s*+(\w+)", value.strip())
    if not m or m.group(1) in ("NULL", "0"):
        return None
    return m.group(1)


@dataclass(slots=True)
class Definition:
    kind: str  # PyModuleDef, PyType_Spec, PyTypeObject, PyModuleDef_Slot, PyType_Slot
    name: str
    offset: int  # of the name
    start: int  # of the declaration
    init: Initializer | None  # `{...}` initialisers
    macro_args: list[str] | None = None  # `= MACRO(args)` initialisers (macro-built defs)
    static: bool = True


@dataclass(slots=True)
class InitFunction:
    func_name: str
    module: str
    offset: int
    body_start: int | None
    end: int | None
    macro: str | None = None  # the macro that made it (cjkcodecs' I_AM_A_MODULE_FOR)


@dataclass(slots=True)
class ModuleDef:
    name: str
    offset: int
    m_size: str | None
    m_slots: str | None
    hooks: dict[str, str | None] = field(default_factory=dict)

    @property
    def has_state(self) -> bool:
        return size_has_state(self.m_size)


def size_has_state(m_size: str | None) -> bool:
    if m_size is None:
        return False
    v = m_size.replace(" ", "")
    return v not in ("0", "-1", "(-1)", "NULL", "")


_T = TypeVar("_T")


@dataclass
class FileContext:
    path: str
    pclass: PathClass
    src: Source
    parsed: ParsedFile
    _shared: dict[object, object] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def shared(self, compute: Callable[[FileContext], _T]) -> _T:
        """``compute(self)``, computed once per file: what several detectors derive alike."""
        if compute not in self._shared:
            self._shared[compute] = compute(self)
        return cast(_T, self._shared[compute])

    # ---- functions -------------------------------------------------------------------
    @cached_property
    def functions(self) -> list[Function]:
        # Keep functions that start at brace depth 0 (not bogus ones out of a split header).
        return [f for f in self.parsed.functions if self.src.depth_at(f.start) == 0]

    @cached_property
    def _function_starts(self) -> list[int]:
        return [f.start for f in self.functions]

    @cached_property
    def functions_by_name(self) -> dict[str, Function]:
        out: dict[str, Function] = {}
        for f in self.functions:
            out.setdefault(f.name, f)
        return out

    def enclosing_function(self, offset: int) -> Function | None:
        i = bisect_right(self._function_starts, offset)
        while i > 0:
            f = self.functions[i - 1]
            if f.body_start <= offset < f.end:
                return f
            if f.end <= offset:
                return None
            i -= 1
        return None

    def body(self, f: Function) -> bytes:
        return self.src.flat[f.body_start : f.end]

    def body_with_helpers(self, name: str, depth: int = 2) -> bytes:
        """A function body plus the bodies of same-file functions it calls (to `depth`)."""
        seen: set[str] = set()
        parts: list[bytes] = []
        frontier = [name]
        for _ in range(depth + 1):
            nxt: list[str] = []
            for n in frontier:
                f = self.functions_by_name.get(n)
                if f is None or n in seen:
                    continue
                seen.add(n)
                b = self.body(f)
                parts.append(b)
                for m in _CALL_RE.finditer(b):
                    callee = m.group(1).decode("ascii", "replace")
                    if callee in self.functions_by_name and callee not in seen:
                        nxt.append(callee)
            frontier = nxt
        return b"\n".join(parts)

    # ---- declarations ---------------------------------------------------------------
    @cached_property
    def file_scope(self) -> list[Declaration]:
        """File-scope declarations (depth 0).

        From the top-level walk, plus declarations found from the text when tree-sitter's
        recovery nested them somewhere odd (a macro can make it swallow hundreds of lines
        into a bogus `case` statement): every `static` keyword and every line starting like
        an object pointer declaration at brace depth 0 is looked up in the tree by offset.
        """
        src = self.src
        seen: set[int] = set()
        out: list[Declaration] = []

        def add(d: Declaration | None) -> None:
            if d is None or d.start in seen or src.depth_at(d.start) != 0:
                return
            if self.enclosing_function(d.start) is not None:
                return
            seen.add(d.start)
            out.append(d)

        for d in self.parsed.top_level:
            add(d)
        # Offsets the walk already explains: no tree lookups for them.
        known = {d.start for d in self.parsed.top_level} | {f.start for f in self.functions}
        flat = src.flat
        for rx, buf in ((_STATIC_RE, flat), (_GLOBAL_LINE_RE, b"\n" + flat)):
            for m in rx.finditer(buf):
                off = m.start()
                if off in known or (rx is _STATIC_RE and off and is_word(flat[off - 1])):
                    continue
                if src.depth_at(off) != 0:
                    continue
                # Not found by the walk: look the offset up in the tree, else parse the
                # statement on its own (tree-sitter may have folded it into an expression).
                found = declaration_at(self.parsed, off)
                if found is None and rx is _STATIC_RE:
                    found = self._statement_at(off)
                add(found)
        out.sort(key=lambda d: d.start)
        return out

    @cached_property
    def function_statics(self) -> list[tuple[Declaration, Function | None]]:
        out: list[tuple[Declaration, Function | None]] = []
        seen: set[int] = set()
        src = self.src
        if b"static" not in src.flat:
            return out
        for m in _STATIC_RE.finditer(src.flat):
            if m.start() and is_word(src.flat[m.start() - 1]):
                continue
            if src.depth_at(m.start()) == 0:
                continue
            d = self._statement_at(m.start())
            if d is None or d.start in seen or "static" not in d.storage:
                continue
            if self.in_directive(d.start):
                continue
            seen.add(d.start)
            out.append((d, self.enclosing_function(d.start)))
        return out

    def _statement_at(self, start: int) -> Declaration | None:
        """The declaration starting at `start` inside a function body (parsed on its own:
        the file was parsed with its bodies blanked)."""
        src = self.src
        depth = src.depth_at(start)
        end = start
        for _ in range(64):  # `;` inside a nested initializer: look further
            end = src.flat.find(b";", end + 1)
            if end < 0:
                return None
            if src.depth_at(end) == depth:
                return statement_declaration(src.data, start, end + 1)
        return None

    def in_directive(self, offset: int) -> bool:
        """True inside a `#define` body (or any directive): not code of this file.

        tree-sitter-c ends a macro body early at a comment followed by a line continuation,
        and parses the rest of the body as code.
        """
        src = self.src
        return 0 <= offset < len(src.flat) and src.flat[offset] != src.data[offset]

    def file_scope_variables(self) -> list[tuple[Declaration, Declarator]]:
        src = self.src
        return [
            (d, v)
            for d in self.file_scope
            if "extern" not in d.storage and "typedef" not in d.storage
            for v in d.declarators
            # The declarator itself at depth 0: a recovered old-style (K&R) function header
            # can make a "declaration" that reaches into the function body.
            if not v.function and src.depth_at(v.offset) == 0 and not self.in_directive(v.offset)
        ]

    # ---- shaped definitions --------------------------------------------------------
    @cached_property
    def definitions(self) -> list[Definition]:
        found: dict[tuple[str, str], Definition] = {}
        src = self.src
        for m in _DEF_RE.finditer(src.flat):
            line_start = src.flat.rfind(b"\n", 0, m.start()) + 1
            if not _DEF_PREFIX.fullmatch(src.flat, line_start, m.start()):
                continue
            kind = m.group(1).decode()
            name = m.group(2).decode()
            if src.depth_at(m.start()) != 0:
                # A function-local PyType_Spec (tests build types on the fly) still counts.
                func = self.enclosing_function(m.start())
                if kind != "PyType_Spec" or func is None or m.group(4) != b"{":
                    continue
                if (kind, name) in found:
                    name = f"{name}@{func.name}"
            is_array = m.group(3) is not None
            if kind in ("PyModuleDef_Slot", "PyType_Slot") and not is_array:
                continue
            if kind not in ("PyModuleDef_Slot", "PyType_Slot") and is_array:
                continue
            opener = m.group(4)
            static = b"static" in src.flat[line_start : m.start()]
            if opener == b"{":
                # A static type's (long) initializer is never read: an empty one stands in.
                init = (
                    Initializer([], {}, [])
                    if kind == "PyTypeObject"
                    else parse_initializer(src, m.end() - 1)
                )
                found[(kind, name)] = Definition(
                    kind, name, m.start(2), m.start(), init, static=static
                )
            else:
                # `= TEST_MODULE_DEF("name", slots, methods)`: keep the macro arguments.
                paren = m.end() - 1
                end = src.flat.find(b";", paren)
                args_text = src.flat[paren + 1 : end if end > 0 else len(src.flat)]
                args_text = args_text.rsplit(b")", 1)[0]
                args = split_initializer(args_text.decode("utf-8", "replace"))
                found[(kind, name)] = Definition(
                    kind, name, m.start(2), m.start(), None, macro_args=args, static=static
                )
        self._macro_built_definitions(found)
        # tree-sitter cross-check: definitions the regex's line anchoring missed.
        for d in self.file_scope:
            if "extern" in d.storage:
                continue
            kind = d.type_text.replace("struct ", "").strip()
            if kind not in ("PyModuleDef", "PyType_Spec", "PyTypeObject"):
                continue
            for v in d.declarators:
                if v.pointer or v.array or v.function or v.init_brace is None:
                    continue
                if (kind, v.name) not in found:
                    found[(kind, v.name)] = Definition(
                        kind,
                        v.name,
                        v.offset,
                        d.start,
                        parse_initializer(src, v.init_brace),
                        static="static" in d.storage,
                    )
        return sorted(found.values(), key=lambda d: d.offset)

    def _macro_built_definitions(self, found: dict[tuple[str, str], Definition]) -> None:
        """`SHA3_TYPE_SPEC(sha3_224_spec, ...)`: a macro whose body defines a spec or type."""
        src = self.src
        for macro, params in src.macro_params.items():
            for body in src.defines.get(macro, []):
                m = _MACRO_DEF_RE.search(body)
                if not m or m.group(2) not in params:
                    continue
                kind, idx = m.group(1), params.index(m.group(2))
                brace = body.find("{", m.end() - 1)
                call_re = re.compile(rb"^[ \t]*" + re.escape(macro.encode()) + rb"\s*\(", re.M)
                for call in call_re.finditer(src.flat):
                    if src.depth_at(call.start()) != 0:
                        continue
                    close = src.flat.find(b")", call.end())
                    # Arguments up to the matching parenthesis.
                    args_end = matching_paren(src.flat, call.end() - 1)
                    args = split_initializer(
                        src.flat[call.end() : args_end].decode("utf-8", "replace")
                    )
                    if idx >= len(args) or close < 0:
                        continue
                    name = args[idx].strip()
                    text = body[brace + 1 : body.rfind("}")]
                    for p, a in zip(params, args, strict=False):
                        text = re.sub(r"\b" + re.escape(p) + r"\b", a, text)
                    off = call.start() + (src.flat[call.start() : args_end].find(name.encode()))
                    found.setdefault(
                        (kind, name),
                        Definition(kind, name, off, call.start(), initializer_from_text(text)),
                    )

    def defs_of(self, kind: str) -> list[Definition]:
        return [d for d in self.definitions if d.kind == kind]

    @cached_property
    def _definition_index(self) -> dict[tuple[str, str], Definition]:
        # Looked up once per spec, slot table and type: a scan per lookup was quadratic
        # (8,000 PyType_Specs took 9 s).
        out: dict[tuple[str, str], Definition] = {}
        for d in self.definitions:
            out.setdefault((d.kind, d.name), d)  # the first one, as the scan returned
        return out

    def definition(self, kind: str, name: str | None) -> Definition | None:
        if name is None:
            return None
        return self._definition_index.get((kind, name))

    @cached_property
    def module_defs(self) -> dict[str, ModuleDef]:
        out: dict[str, ModuleDef] = {}
        for d in self.defs_of("PyModuleDef"):
            if d.init is not None:
                init = self._positional_first_branches(d) or d.init
                hooks = {
                    h: strip_ref(init.get(h, MODULE_DEF_FIELDS.index(h)))
                    for h in ("m_traverse", "m_clear", "m_free")
                }
                out[d.name] = ModuleDef(
                    d.name,
                    d.offset,
                    init.get("m_size", 3),
                    strip_ref(init.get("m_slots", 5)),
                    hooks,
                )
            else:
                args = d.macro_args or []
                slots = next((strip_ref(a) for a in args if a.strip().endswith("slots")), None)
                out[d.name] = ModuleDef(d.name, d.offset, None, slots, {})
        return out

    def _positional_first_branches(self, d: Definition) -> Initializer | None:
        """The initializer read with only the first branch of each `#if` group, when its
        fields are positional and an `#else`/`#elif` would shift them (Cython's module
        definition: `#if CYTHON_USE_MODULE_STATE sizeof(..) #else -1 #endif, methods, ...`).
        Slot arrays keep every branch: there each entry names its own slot."""
        if d.init is None or not d.init.positional:
            return None
        brace = self.src.flat.find(b"{", d.offset)
        if brace < 0:
            return None
        end = self.src.matching_brace(brace)
        # `code` keeps the directives that `flat` blanks (same offsets).
        inner = self.src.code[brace + 1 : max(brace + 1, end - 1)]
        if not _ELSE_DIRECTIVE.search(inner):
            return None
        return initializer_from_text(first_branches(inner).decode("utf-8", "replace"))

    def slot_table(self, kind: str, name: str | None) -> list[tuple[str, str]]:
        """`{slot, value}` pairs of a PyModuleDef_Slot / PyType_Slot array."""
        d = self.definition(kind, name)
        if d is None or d.init is None:
            return []
        pairs: list[tuple[str, str]] = []
        for el in d.init.elements:
            inner = el.strip()
            if inner.startswith("{") and inner.endswith("}"):
                parts = split_initializer(inner[1:-1])
                if len(parts) >= 2:
                    pairs.append((" ".join(parts[0].split()), " ".join(parts[1].split())))
        return pairs

    def multiple_interpreters(self, slots_name: str | None) -> str | None:
        """The Py_mod_multiple_interpreters state of a slot table; None if not in this file."""
        if slots_name is None:
            return "unspecified"
        if self.definition("PyModuleDef_Slot", slots_name) is None:
            return None
        return mi_from_pairs(self.slot_table("PyModuleDef_Slot", slots_name))

    # ---- init functions -------------------------------------------------------------
    @cached_property
    def init_functions(self) -> list[InitFunction]:
        src = self.src
        found: dict[str, InitFunction] = {}
        if (
            b"PyInit_" not in src.data
            and b"PyMODINIT_FUNC" not in src.data
            and (b"I_AM_A_MODULE_FOR" not in src.data)
        ):
            return []
        for f in self.functions:
            if f.type_text.strip() == "PyMODINIT_FUNC" or f.name.startswith("PyInit_"):
                mod = self.module_name_for(f.name) or self._builtin_module_name(f)
                if mod:
                    found[f.name] = InitFunction(f.name, mod, f.start, f.body_start, f.end)
            elif "PyObject" in f.type_text and self._exported_init_shape(f):
                mod = self._builtin_module_name(f)
                if mod:
                    found[f.name] = InitFunction(f.name, mod, f.start, f.body_start, f.end)
        # Regex fallback: inits lost to ERROR nodes (PyInit_math & co. in 3.9/3.11).
        for rx in (_MODINIT_RE, _INIT_FUNC_RE):
            for m in rx.finditer(src.flat):
                name = m.group(1).decode()
                if name in found or src.depth_at(m.start()) != 0:
                    continue
                line_start = src.flat.rfind(b"\n", 0, m.start()) + 1
                if not _LINE_PREFIX_OK.fullmatch(src.flat, line_start, m.start()):
                    continue
                if rx is _INIT_FUNC_RE and not name.startswith("PyInit_"):
                    continue
                mod = self.module_name_for(name)
                if mod:
                    brace = m.end() - 1
                    found[name] = InitFunction(
                        name, mod, m.start(1), brace, src.matching_brace(brace)
                    )
        if b"PyMODINIT_FUNC" in src.flat:
            for m in _PASTED_INIT_RE.finditer(src.flat):
                if src.depth_at(m.start()) != 0:
                    continue
                line_start = src.flat.rfind(b"\n", 0, m.start()) + 1
                if not _LINE_PREFIX_OK.fullmatch(src.flat, line_start, m.start()):
                    continue
                mod = self._pasted_module_name(m.group(1).decode(), m.group(2).decode())
                name = f"PyInit_{mod}" if mod else ""
                if mod and name not in found:
                    brace = m.end() - 1
                    found[name] = InitFunction(
                        name, mod, m.start(1), brace, src.matching_brace(brace)
                    )
        init_macros = self._init_defining_macros()
        # `MOD_INIT(foo) {` with `#define MOD_INIT(name) PyMODINIT_FUNC PyInit_##name(void)`
        # (the Python 2/3 compatibility idiom).
        for m in _MACRO_CALL_BODY_RE.finditer(b"\n" + src.flat) if init_macros else ():
            mod_param = init_macros.get(m.group(1).decode())
            start = m.start(1) - 1  # offsets shifted by the prepended byte
            if mod_param is not None and src.depth_at(start) == 0:
                mod = mod_param.replace("\0", m.group(2).decode())
                name = f"PyInit_{mod}"
                if name not in found:
                    brace = m.end() - 2
                    found[name] = InitFunction(name, mod, start, brace, src.matching_brace(brace))
        for m in _CJK_MACRO_RE.finditer(src.flat):
            if src.depth_at(m.start()) != 0:
                continue
            loc = m.group(1).decode()
            name = "PyInit__codecs_" + loc
            found.setdefault(
                name,
                InitFunction(
                    name, "_codecs_" + loc, m.start(), None, None, macro="I_AM_A_MODULE_FOR"
                ),
            )
        return sorted(found.values(), key=lambda i: i.offset)

    def _returns_def(self, f: Function) -> str | None:
        """The PyModuleDef an init-shaped function (no parameters) makes its module from, in
        its own body: `return PyModuleDef_Init(&def);`, `m = PyModule_Create(&def);`."""
        header = self.src.flat[f.start : f.body_start]
        at = header.find(f.name.encode())
        paren = header.find(b"(", at) if at >= 0 else -1
        if (
            paren < 0
            or header[at + len(f.name) : paren].strip()
            or not _VOID_PARAMS.fullmatch(header, paren)
        ):
            return None  # parameters, or a macro call naming the function (INIT_MODULE(x))
        m = _RETURNS_DEF.search(self.src.flat, f.body_start, f.end)
        return m.group(1).decode() if m else None

    def _exported_init_shape(self, f: Function) -> bool:
        """An inittab-style init without PyMODINIT_FUNC (`PyObject *PyMarshal_Init(void)`):
        not static (the inittab names it from another file), no parameters, makes a module
        from a definition, and not called by the file itself (a helper of another init)."""
        head = self.src.flat[self.src.flat.rfind(b"\n", 0, f.start) + 1 : f.body_start]
        if re.search(rb"\bstatic\b", head) or self._returns_def(f) is None:
            return False
        return not any(
            m.group(1).decode() == f.name and self.enclosing_function(m.start()) is not None
            for m in _CALL_RE.finditer(self.src.flat)
        )

    def _builtin_module_name(self, f: Function) -> str | None:
        """A module init not named PyInit_* (the inittab's `{"marshal", PyMarshal_Init}`,
        `_PyWarnings_Init`): the module's name is the `m_name` of the definition it returns."""
        def_name = self._returns_def(f)
        d = self.definition("PyModuleDef", def_name)
        if d is None or d.init is None:
            return None
        brace = self.src.flat.find(b"{", d.offset)
        end = self.src.matching_brace(brace)
        raw = _COMMENT.sub(
            lambda m: b" " * len(m.group()), self.src.data[brace + 1 : max(brace + 1, end - 1)]
        )
        init = initializer_from_text(raw.decode("utf-8", "replace"))
        value = (init.get("m_name", 1) or "").strip()
        if not value.startswith('"') and re.fullmatch(r"\w+", value):
            found = [
                m.group(2).decode("utf-8", "replace")
                for m in _DEFINE_STRING.finditer(self.src.data)
                if m.group(1).decode("utf-8", "replace") == value
            ]
            value = found[-1] if found else ""
        lit = re.fullmatch(r'"([\w.]+)"', value)
        return lit.group(1).rsplit(".", 1)[-1] if lit else None

    def _init_defining_macros(self) -> dict[str, str]:
        """Function-like macros of this file that define an init from their argument:
        macro name -> module name pattern with NUL standing for the argument."""
        out: dict[str, str] = {}
        for macro, params in self.src.macro_params.items():
            if len(params) != 1 or not re.fullmatch(r"\w+", params[0]):
                continue
            for value in self.src.defines.get(macro, []):
                if "PyMODINIT_FUNC" not in value:
                    continue
                m = _PASTED_PYINIT_RE.search(value)
                if m and m.group(2) == params[0]:
                    out[macro] = f"{m.group(1)}\0{m.group(3) or ''}"
                    break
        return out

    def _pasted_module_name(self, macro: str, arg: str) -> str | None:
        """`MACRO(arg)` naming an init: through the file's `#define MACRO(p) PyInit_ ## p`,
        else (the macro lives in a header) the argument, as that idiom has it."""
        for value in self.src.defines.get(macro, []):
            params = self.src.macro_params.get(macro, [])
            if len(params) != 1:
                continue
            pasted = re.sub(
                # (?<!\s): a blank run is tried once from its start, not from every blank
                # (quadratic on a long run; tests/hardening/test_regex_backtracking.py).
                rf"(?<!\s)\s*##\s*|\b{re.escape(params[0])}\b",
                lambda x: "" if "#" in x.group(0) else arg,
                value,
            )
            m = re.fullmatch(r"PyInit_(\w+)", pasted.strip())
            return m.group(1) if m else None
        return arg

    def module_name_for(self, func_name: str) -> str | None:
        if func_name.startswith("PyInit_"):
            return func_name[len("PyInit_") :] or None
        # INITFUNC / MODINIT_FUNC_NAME: resolve through the file's #defines (last one wins:
        # the non-Windows branch comes last in posixmodule.c).
        for value in reversed(self.src.resolve(func_name)):
            m = re.fullmatch(r"PyInit_(\w+)", value)
            if m:
                return m.group(1)
            m = re.fullmatch(r"\w+\s*\(\s*(\w+)\s*\)", value)
            if m:
                inner = self.src.resolve(m.group(1))
                if inner and re.fullmatch(r"\w+", inner[-1]):
                    return inner[-1]
        return None

    def classify_init(self, init: InitFunction) -> tuple[str | None, str | None]:
        """(init style, PyModuleDef name) of an init function; style None = no module made."""
        if init.macro is not None:
            # Classified from the macro's body as this tree defines it (3.9's
            # I_AM_A_MODULE_FOR calls PyModule_Create; 3.12's returns PyModuleDef_Init). In
            # another file (cjkcodecs.h), the tree pass settles it from that header's facts;
            # until then the module counts as multi-phase with an unresolved definition.
            for body in self.src.defines.get(init.macro, []):
                m = _MULTI_RE.search(body.encode())
                if m:
                    return "multi-phase", m.group(1).decode()
                m = _SINGLE_RE.search(body.encode())
                if m:
                    return "single-phase", m.group(2).decode() if m.group(2) else None
            return "multi-phase", None
        if init.body_start is None or init.end is None:
            return None, None
        f = self.functions_by_name.get(init.func_name)
        text = (
            self.body_with_helpers(init.func_name)
            if f is not None
            else self.src.flat[init.body_start : init.end]
        )
        m = _MULTI_RE.search(text)
        if m:
            return "multi-phase", m.group(1).decode()
        m = _SINGLE_RE.search(text)
        if m:
            return "single-phase", m.group(2).decode() if m.group(2) else None
        return None, None

    # ---- state structs ---------------------------------------------------------------
    @cached_property
    def structs(self) -> dict[str, str]:
        """Struct bodies by struct tag and typedef name."""
        out: dict[str, str] = {}
        src = self.src
        for m in _STRUCT_RE.finditer(src.flat):
            if src.depth_at(m.start()) != 0:
                continue
            brace = m.end() - 1
            end = src.matching_brace(brace)
            body = src.flat[brace:end].decode("utf-8", "replace")
            if m.group(1):
                out[m.group(1).decode()] = body
            semi = src.flat.find(b";", end)
            if semi > 0:
                tail = src.flat[end:semi].decode("utf-8", "replace").strip()
                if re.fullmatch(r"\w+", tail):
                    out[tail] = body
        return out

    def state_struct_of(self, m_size: str | None) -> str | None:
        if not m_size:
            return None
        m = _SIZEOF_RE.search(m_size)
        return m.group(1) if m else None


_ELSE_DIRECTIVE = re.compile(rb"\n[ \t]*+#[ \t]*+(?:else|elif)\b")
_DIRECTIVE_WORD = re.compile(rb"[ \t]*+#[ \t]*+(\w*+)")


def first_branches(text: bytes) -> bytes:
    """`text` with directive lines and every non-first branch of `#if` groups blanked
    (line structure kept)."""
    out: list[bytes] = []
    skipping: list[bool] = []  # per open #if group: inside an #else/#elif branch
    for line in text.split(b"\n"):
        m = _DIRECTIVE_WORD.match(line)
        if m:
            word = m.group(1)
            if word.startswith(b"if"):
                skipping.append(False)
            elif word in (b"else", b"elif", b"elifdef", b"elifndef") and skipping:
                skipping[-1] = True
            elif word == b"endif" and skipping:
                skipping.pop()
            out.append(b"")
            continue
        out.append(b"" if any(skipping) else line)
    return b"\n".join(out)


def is_word(byte: int) -> bool:
    return byte == 95 or 48 <= byte <= 57 or 65 <= byte <= 90 or 97 <= byte <= 122


_MACRO_DEF_RE = re.compile(r"\b(PyType_Spec|PyTypeObject)\s+(\w+)\s*=\s*\{")


def matching_paren(data: bytes, open_offset: int) -> int:
    """The offset of the ``)`` closing the ``(`` at ``open_offset`` (looked for within 4000
    bytes, else that bound: a macro call is never longer)."""
    level = 0
    for i in range(open_offset, min(len(data), open_offset + 4000)):
        c = data[i]
        if c == 40:
            level += 1
        elif c == 41:
            level -= 1
            if level == 0:
                return i
    return min(len(data), open_offset + 4000)


def mi_from_pairs(pairs: list[tuple[str, str]]) -> str:
    for slot, value in pairs:
        if slot == "Py_mod_multiple_interpreters":
            return MI_VALUES.get(value, "unspecified")
    return "unspecified"
