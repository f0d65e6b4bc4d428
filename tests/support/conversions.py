"""Realistic pull-request fixtures: C modules converted the way CPython's conversions went.

Each ``Conversion`` describes one extension module as it looked before (single-phase init,
static types, process-global PyObject pointers, ``_Py_IDENTIFIER``s, C flags, ``m_size = -1``)
and after its conversion (multi-phase init with the per-interpreter GIL slot, heap types from
``PyType_Spec`` created with ``PyType_FromModuleAndSpec``, a module state holding what were
globals). The generated files are several thousand lines each (helper functions stand for
the bulk of a real module) and are written here, not copied from CPython: the shape follows
the upstream conversions of ``_pickle``, ``_datetime``, ``_asyncio`` and ``_socket``.

A head keeps a few globals and identifiers (findings that predate the PR and remain) and adds
a few new warnings (a new C flag, a new ``_Py_IDENTIFIER``) and instantiable heap types (info),
as real conversions did. ``pr_check_result`` analyses both sides and compares them with the
analysis core, like the PR check does, including the changed lines from a unified diff.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bot.analysis import analyze_file
from bot.prcheck.changes import select_files
from bot.prcheck.model import CheckResult
from bot.prcheck.modules import assess

HEAD_SHA = "4f1d3c2b1a0998877665544332211000ffeeddcc"
BASE_SHA = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"


@dataclass(frozen=True)
class Conversion:
    module: str  # "_pickle": PyInit__pickle
    path: str  # "Modules/_pickle.c"
    types: tuple[str, ...]  # type names ("Pickler")
    globals: int  # process-global PyObject pointers in the base
    identifiers: int  # _Py_IDENTIFIERs in the base
    flags: int  # mutable static C variables in the base
    helpers: int  # helper functions (the bulk of the file)
    kept_globals: int = 1  # globals the head still has (remaining findings)
    new_flags: int = 1  # new mutable static C variables in the head (new warnings)
    new_identifiers: int = 1  # new _Py_IDENTIFIERs in the head (new warnings)
    instantiable: int = 1  # heap types without tp_new nor DISALLOW_INSTANTIATION (info)

    @property
    def prefix(self) -> str:
        return self.module.strip("_")


FOUR_MODULES = (
    Conversion(
        "_pickle",
        "Modules/_pickle.c",
        ("Pdata", "PicklerMemoProxy", "UnpicklerMemoProxy", "Pickler", "Unpickler"),
        globals=24,
        identifiers=18,
        flags=3,
        helpers=150,
        new_flags=1,
        new_identifiers=1,
    ),
    Conversion(
        "_datetime",
        "Modules/_datetimemodule.c",
        ("Date", "DateTime", "Delta", "Time", "TZInfo", "TimeZone", "IsoCalendarDate"),
        globals=19,
        identifiers=14,
        flags=2,
        helpers=170,
        kept_globals=2,
        new_flags=1,
        new_identifiers=0,
        instantiable=1,
    ),
    Conversion(
        "_asyncio",
        "Modules/_asynciomodule.c",
        ("FutureIter", "TaskStepMethWrapper", "PyRunningLoopHolder", "Future", "Task"),
        globals=16,
        identifiers=22,
        flags=2,
        helpers=140,
        new_flags=1,
        new_identifiers=1,
    ),
    Conversion(
        "_socket",
        "Modules/socketmodule.c",
        ("sock",),
        globals=6,
        identifiers=4,
        flags=4,
        helpers=190,
        kept_globals=0,
        new_flags=1,
        new_identifiers=0,
        instantiable=0,
    ),
)


def _helpers(c: Conversion, out: list[str]) -> None:
    """Helper functions shared by both sides (unchanged by the conversion)."""
    for i in range(c.helpers):
        name = f"{c.prefix}_helper_{i}"
        out += [
            "static Py_ssize_t",
            f"{name}(const char *buf, Py_ssize_t len, Py_ssize_t start)",
            "{",
            "    Py_ssize_t i, count = 0;",
            "    if (buf == NULL || len < 0) {",
            "        return -1;",
            "    }",
            "    for (i = start; i < len; i++) {",
            f"        if (buf[i] == '{chr(97 + i % 26)}') {{",
            "            count++;",
            "        }",
            "        else if (buf[i] == '\\\\') {",
            "            i++;",
            "        }",
            "    }",
            f"    /* Step {i}: the parser's state machine keeps no global state here. */",
            "    switch (count % 4) {",
            "    case 0:",
            "        return count;",
            "    case 1:",
            "        return count + 1;",
            "    default:",
            "        return count - 1;",
            "    }",
            "}",
            "",
        ]


def _type_bodies(c: Conversion, out: list[str], *, heap: bool) -> None:
    for t in c.types:
        obj = f"{t}Object"
        self_arg = f"{obj} *self"
        out += [
            "typedef struct {",
            "    PyObject_HEAD",
            "    PyObject *dict;",
            "    Py_ssize_t size;",
            f"}} {obj};",
            "",
            "static PyObject *",
            f"{t}_get_size({self_arg}, PyObject *Py_UNUSED(ignored))",
            "{",
            "    return PyLong_FromSsize_t(self->size);",
            "}",
            "",
            "static int",
            f"{t}_traverse({self_arg}, visitproc visit, void *arg)",
            "{",
            *(["    Py_VISIT(Py_TYPE(self));"] if heap else []),
            "    Py_VISIT(self->dict);",
            "    return 0;",
            "}",
            "",
            "static int",
            f"{t}_clear({self_arg})",
            "{",
            "    Py_CLEAR(self->dict);",
            "    return 0;",
            "}",
            "",
            "static void",
            f"{t}_dealloc({self_arg})",
            "{",
            *(["    PyTypeObject *tp = Py_TYPE(self);"] if heap else []),
            "    PyObject_GC_UnTrack(self);",
            f"    (void){t}_clear(self);",
            *(
                ["    tp->tp_free((PyObject *)self);", "    Py_DECREF(tp);"]
                if heap
                else ["    Py_TYPE(self)->tp_free((PyObject *)self);"]
            ),
            "}",
            "",
            f"static PyMethodDef {t}_methods[] = {{",
            f'    {{"get_size", (PyCFunction){t}_get_size, METH_NOARGS, NULL}},',
            "    {NULL, NULL, 0, NULL}",
            "};",
            "",
        ]


def _static_types(c: Conversion, out: list[str]) -> None:
    for t in c.types:
        out += [
            f"static PyTypeObject {t}_Type = {{",
            "    PyVarObject_HEAD_INIT(NULL, 0)",
            f'    .tp_name = "{c.module}.{t}",',
            f"    .tp_basicsize = sizeof({t}Object),",
            f"    .tp_dealloc = (destructor){t}_dealloc,",
            "    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,",
            f"    .tp_traverse = (traverseproc){t}_traverse,",
            f"    .tp_clear = (inquiry){t}_clear,",
            f"    .tp_methods = {t}_methods,",
            "    .tp_new = PyType_GenericNew,",
            "};",
            "",
        ]


def _heap_types(c: Conversion, out: list[str]) -> None:
    for n, t in enumerate(c.types):
        instantiable = n < c.instantiable
        out += [
            f"static PyType_Slot {t}_slots[] = {{",
            f"    {{Py_tp_dealloc, {t}_dealloc}},",
            f"    {{Py_tp_traverse, {t}_traverse}},",
            f"    {{Py_tp_clear, {t}_clear}},",
            f"    {{Py_tp_methods, {t}_methods}},",
            *([] if instantiable else ["    {Py_tp_new, PyType_GenericNew},"]),
            "    {0, NULL},",
            "};",
            "",
            f"static PyType_Spec {t}_spec = {{",
            f'    .name = "{c.module}.{t}",',
            f"    .basicsize = sizeof({t}Object),",
            "    .flags = (Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC |",
            "              Py_TPFLAGS_IMMUTABLETYPE),",
            f"    .slots = {t}_slots,",
            "};",
            "",
        ]


def _methods(c: Conversion, out: list[str], *, identifiers: int, globals_: str) -> None:
    """Module-level functions using the identifiers and globals (or the module state)."""
    for i in range(max(identifiers, 1)):
        out += [
            "static PyObject *",
            f"{c.prefix}_call_{i}(PyObject *module, PyObject *obj)",
            "{",
        ]
        if globals_ == "state":
            out += [
                f"    {c.prefix}_state *st = get_{c.prefix}_state(module);",
                f"    return PyObject_CallMethodNoArgs(obj, st->str_name_{i});",
            ]
        else:
            out += [f"    return _PyObject_CallMethodIdNoArgs(obj, &PyId_name_{i});"]
        out += ["}", ""]
    out += [f"static PyMethodDef {c.prefix}_functions[] = {{"]
    out += [
        f'    {{"call_{i}", (PyCFunction){c.prefix}_call_{i}, METH_O, NULL}},'
        for i in range(max(identifiers, 1))
    ]
    out += ["    {NULL, NULL, 0, NULL}", "};", ""]


def base_source(c: Conversion) -> str:
    """The module before: single-phase init, static types, globals, identifiers."""
    out = ["/* " + c.module + " (before the conversion) */", '#include "Python.h"', ""]
    out += [f"_Py_IDENTIFIER(name_{i});" for i in range(c.identifiers)] + [""]
    out += [f"static PyObject *{c.prefix}_global_{i} = NULL;" for i in range(c.globals)] + [""]
    out += [f"static int {c.prefix}_flag_{i} = 0;" for i in range(c.flags)] + [""]
    _type_bodies(c, out, heap=False)
    _static_types(c, out)
    _helpers(c, out)
    _methods(c, out, identifiers=c.identifiers, globals_="globals")
    out += [
        f"static struct PyModuleDef {c.prefix}module = {{",
        "    PyModuleDef_HEAD_INIT,",
        f'    .m_name = "{c.module}",',
        "    .m_size = -1,",
        f"    .m_methods = {c.prefix}_functions,",
        "};",
        "",
        "PyMODINIT_FUNC",
        f"PyInit_{c.module}(void)",
        "{",
    ]
    for t in c.types:
        out += [f"    if (PyType_Ready(&{t}_Type) < 0) {{", "        return NULL;", "    }"]
    out += [f"    PyObject *m = PyModule_Create(&{c.prefix}module);", "    if (m == NULL) {"]
    out += ["        return NULL;", "    }"]
    for i in range(c.globals):
        out += [f'    {c.prefix}_global_{i} = PyUnicode_InternFromString("g{i}");']
    for t in c.types:
        out += [
            f'    if (PyModule_AddObjectRef(m, "{t}", (PyObject *)&{t}_Type) < 0) {{',
            "        Py_DECREF(m);",
            "        return NULL;",
            "    }",
        ]
    out += ["    return m;", "}", ""]
    return "\n".join(out)


def head_source(c: Conversion) -> str:
    """The module after: multi-phase init, heap types, a module state, a few new warnings."""
    out = ["/* " + c.module + " (after the conversion) */", '#include "Python.h"', ""]
    out += [f"_Py_IDENTIFIER(added_name_{i});" for i in range(c.new_identifiers)] + [""]
    kept = [f"static PyObject *{c.prefix}_global_{i} = NULL;" for i in range(c.kept_globals)]
    out += [*kept, ""]
    flags = [f"static int {c.prefix}_flag_{i} = 0;" for i in range(c.flags)]
    flags += [f"static int {c.prefix}_new_flag_{i} = 0;" for i in range(c.new_flags)]
    out += [*flags, ""]
    out += ["typedef struct {"]
    out += [f"    PyTypeObject *{t}_type;" for t in c.types]
    out += [f"    PyObject *str_name_{i};" for i in range(max(c.identifiers, 1))]
    out += [f"    PyObject *global_{i};" for i in range(c.kept_globals, c.globals)]
    out += [f"}} {c.prefix}_state;", ""]
    out += [
        f"static inline {c.prefix}_state *",
        f"get_{c.prefix}_state(PyObject *module)",
        "{",
        "    void *state = PyModule_GetState(module);",
        "    assert(state != NULL);",
        f"    return ({c.prefix}_state *)state;",
        "}",
        "",
    ]
    _type_bodies(c, out, heap=True)
    _heap_types(c, out)
    _helpers(c, out)
    _methods(c, out, identifiers=c.identifiers, globals_="state")
    fields = [f"{t}_type" for t in c.types]
    fields += [f"str_name_{i}" for i in range(max(c.identifiers, 1))]
    fields += [f"global_{i}" for i in range(c.kept_globals, c.globals)]
    out += [
        "static int",
        f"{c.prefix}_exec(PyObject *module)",
        "{",
        f"    {c.prefix}_state *st = get_{c.prefix}_state(module);",
    ]
    for t in c.types:
        out += [
            f"    st->{t}_type = (PyTypeObject *)PyType_FromModuleAndSpec(",
            f"        module, &{t}_spec, NULL);",
            f"    if (st->{t}_type == NULL) {{",
            "        return -1;",
            "    }",
            f"    if (PyModule_AddType(module, st->{t}_type) < 0) {{",
            "        return -1;",
            "    }",
        ]
    for i in range(max(c.identifiers, 1)):
        out += [f'    st->str_name_{i} = PyUnicode_InternFromString("name_{i}");']
    for i in range(c.kept_globals, c.globals):
        out += [f'    st->global_{i} = PyUnicode_InternFromString("g{i}");']
    out += ["    return 0;", "}", ""]
    out += ["static int", f"{c.prefix}_traverse(PyObject *module, visitproc visit, void *arg)"]
    out += ["{", f"    {c.prefix}_state *st = get_{c.prefix}_state(module);"]
    out += [f"    Py_VISIT(st->{f});" for f in fields] + ["    return 0;", "}", ""]
    out += ["static int", f"{c.prefix}_clear(PyObject *module)", "{"]
    out += [f"    {c.prefix}_state *st = get_{c.prefix}_state(module);"]
    out += [f"    Py_CLEAR(st->{f});" for f in fields] + ["    return 0;", "}", ""]
    out += [
        "static void",
        f"{c.prefix}_free(void *module)",
        "{",
        f"    (void){c.prefix}_clear((PyObject *)module);",
        "}",
        "",
        f"static PyModuleDef_Slot {c.prefix}_slots[] = {{",
        f"    {{Py_mod_exec, {c.prefix}_exec}},",
        "    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},",
        "    {0, NULL},",
        "};",
        "",
        f"static struct PyModuleDef {c.prefix}module = {{",
        "    PyModuleDef_HEAD_INIT,",
        f'    .m_name = "{c.module}",',
        f"    .m_size = sizeof({c.prefix}_state),",
        f"    .m_methods = {c.prefix}_functions,",
        f"    .m_slots = {c.prefix}_slots,",
        f"    .m_traverse = {c.prefix}_traverse,",
        f"    .m_clear = {c.prefix}_clear,",
        f"    .m_free = {c.prefix}_free,",
        "};",
        "",
        "PyMODINIT_FUNC",
        f"PyInit_{c.module}(void)",
        "{",
        f"    return PyModuleDef_Init(&{c.prefix}module);",
        "}",
        "",
    ]
    return "\n".join(out)


def unified_patch(before: str, after: str) -> str:
    """The ``patch`` GitHub's pull-request files API gives for a modified file."""
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=3)
    return "\n".join(line for line in diff if not line.startswith(("---", "+++")))


def pr_files(
    conversions: tuple[Conversion, ...] = FOUR_MODULES,
) -> tuple[dict[str, str], dict[str, str]]:
    """(base files, head files): path -> source, for a PR converting ``conversions``."""
    base = {c.path: base_source(c) for c in conversions}
    head = {c.path: head_source(c) for c in conversions}
    return base, head


def pr_check_result(
    conversions: tuple[Conversion, ...] = FOUR_MODULES,
    *,
    repo: str = "python/cpython",
    number: int = 4242,
) -> CheckResult:
    """The PR check's result for a PR converting ``conversions``: both sides analysed and
    compared by the check's own comparison (``assess``), changed lines from the diff."""
    base_files, head_files = pr_files(conversions)
    entries = [
        {
            "filename": p,
            "status": "modified",
            "sha": f"{n:040x}",
            "patch": unified_patch(base_files[p], head_files[p]),
        }
        for n, p in enumerate(sorted(head_files), 1)
    ]
    files = select_files(entries, ("Modules/", "Objects/"))
    base = [analyze_file(p, s.encode()) for p, s in base_files.items()]
    head = [analyze_file(p, s.encode()) for p, s in head_files.items()]
    result = CheckResult(repo=repo, number=number, head_sha=HEAD_SHA, base_sha=BASE_SHA)
    result.files_checked = [f.path for f in files]
    result.changed_lines = {f.path: f.changed_lines for f in files if f.changed_lines}
    return assess(result, files, base, head)
