"""False-alarm patterns and misses of the API and C-state rules, on small sources shaped like
the real ones (CPython's readline, _sqlite, _ctypes, _gdbm, _ssl, cffi, pycurl, psycopg2 ...)."""

from __future__ import annotations

from tests.analysis.helpers import analyze, rule_hits


def _severity(report, rule: str, symbol: str) -> str | None:  # type: ignore[no-untyped-def]
    found = [f.severity for f in rule_hits(report, rule) if f.symbol == symbol]
    assert len(found) <= 1, found
    return found[0] if found else None


# ---- ISO011: PyGILState_* ------------------------------------------------------------------

SYNC_CALLBACK = """
#include "Python.h"
static int
on_hook(void *arg)
{
    PyGILState_STATE gilstate = PyGILState_Ensure();
    int r = call_hook((PyObject *)arg);
    PyGILState_Release(gilstate);
    return r;
}
"""


def test_gilstate_in_a_synchronous_callback_is_info_once_per_function() -> None:
    r = analyze(SYNC_CALLBACK, "Modules/readline.c")
    hits = rule_hits(r, "ISO011")
    assert [(f.symbol, f.severity) for f in hits] == [("on_hook", "info")]
    assert "own interpreter" in hits[0].message


FOREIGN_THREAD = """
#include "Python.h"
static void
worker_body(void *arg)
{
    PyGILState_STATE s = PyGILState_Ensure();
    PyObject_CallNoArgs((PyObject *)arg);
    PyGILState_Release(s);
}

static void *
thread_main(void *arg)
{
    worker_body(arg);
    return NULL;
}

static PyObject *
start(PyObject *self, PyObject *cb)
{
    pthread_t t;
    pthread_create(&t, NULL, thread_main, cb);
    Py_RETURN_NONE;
}

static void
closure_fcn(ffi_cif *cif, void *resp, void **args, void *userdata)
{
    PyGILState_STATE s = PyGILState_Ensure();
    PyGILState_Release(s);
}

static int
make(void *p, ffi_cif *cif, void *code)
{
    return ffi_prep_closure_loc(p, cif, closure_fcn, NULL, code);
}

static PyGILState_STATE
gil_ensure(void)
{
    PyThreadState *ts = PyGILState_GetThisThreadState();
    if (ts != NULL) {
        return PyGILState_Ensure();
    }
    return PyGILState_Ensure();
}

long __stdcall
DllCanUnloadNow(void)
{
    PyGILState_STATE state = PyGILState_Ensure();
    PyGILState_Release(state);
    return 0;
}
"""


def test_gilstate_reachable_from_a_thread_without_thread_state_is_a_warning() -> None:
    r = analyze(FOREIGN_THREAD, "Modules/_ctypes/callbacks.c")
    got = {f.symbol: f.severity for f in rule_hits(r, "ISO011")}
    assert got == {
        "worker_body": "warning",  # called from a pthread start routine
        "closure_fcn": "warning",  # a libffi closure target
        "gil_ensure": "warning",  # tests PyGILState_GetThisThreadState() for NULL
        "DllCanUnloadNow": "warning",  # COM calls it on any thread
    }


# ---- ISO012: written or not -----------------------------------------------------------------

C_STATE = """
#include "Python.h"
static char close_doc[] = "close() -> None";
static int initialized = 0;
static long page_size;
static int history_length = -1;
static PyMutex cache_lock;
static PyThread_type_lock netdb_lock;
static volatile sig_atomic_t sigwinch_received;
static struct fielddesc { char code; void *ffi; } table[] = {{'s', 0}, {0, 0}};
static PyOS_sighandler_t old_handler;
static int calls;

static void
fill_table(void)
{
    if (!initialized) {
        initialized = 1;
        table[0].ffi = &ffi_type_pointer;
    }
}

static int
module_exec(PyObject *m)
{
    if (page_size == 0) page_size = sysconf(_SC_PAGESIZE);
    old_handler = PyOS_setsig(SIGWINCH, handler);
    return 0;
}

static PyModuleDef_Slot slots[] = {{Py_mod_exec, module_exec}, {0, NULL}};

static PyObject *
set_history_length(PyObject *self, PyObject *arg)
{
    history_length = PyLong_AsLong(arg);
    calls++;
    PyErr_SetString(PyExc_ValueError, close_doc);
    Py_RETURN_NONE;
}
"""


def test_c_state_written_at_run_time_is_a_warning_the_rest_info() -> None:
    r = analyze(C_STATE, "Modules/spammodule.c")
    got = {f.symbol: f.severity for f in rule_hits(r, "ISO012")}
    assert got == {
        "close_doc": "info",  # never written (passed to a read-only function)
        "initialized": "info",  # latched: written behind its own test
        "page_size": "info",  # written once behind a test, from the OS
        "history_length": "warning",  # a setter writes it at run time
        "cache_lock": "info",  # a lock
        "netdb_lock": "info",
        "sigwinch_received": "info",  # a signal flag
        "table": "info",  # completed once behind an initialised-test
        "old_handler": "warning",  # written at init, but from the interpreter's API
        "calls": "warning",
    }
    messages = {f.symbol: f.message for f in rule_hits(r, "ISO012")}
    assert "effectively const" in messages["close_doc"]
    assert "lock" in messages["cache_lock"]
    assert "written at run time" in messages["calls"]


def test_array_passed_to_a_writer_is_written() -> None:
    code = """
    #include "Python.h"
    static char buf[64];
    static char name[] = "spam";
    static PyObject *
    f(PyObject *self, PyObject *args)
    {
        PyOS_snprintf(buf, sizeof(buf), "%d", 1);
        return PyUnicode_FromString(name);
    }
    """
    r = analyze(code)
    assert _severity(r, "ISO012", "buf") == "warning"
    assert _severity(r, "ISO012", "name") == "info"


def test_non_static_global_written_at_run_time_is_reported() -> None:
    code = """
    #include "Python.h"
    int spam_counter;
    int spam_flag = 1;
    static PyObject *
    bump(PyObject *self, PyObject *args)
    {
        spam_counter++;
        Py_RETURN_NONE;
    }
    """
    r = analyze(code)
    assert _severity(r, "ISO012", "spam_counter") == "warning"
    # Not written here: another file may write it, nothing is known.
    assert _severity(r, "ISO012", "spam_flag") is None


def test_standalone_program_in_cpython_is_info() -> None:
    code = """
    #include <windows.h>
    static int num_commands = 0;
    static void add(void) { num_commands++; }
    int wmain(int argc, wchar_t **argv) { add(); return 0; }
    """
    r = analyze(code, "PC/launcher.c")
    hits = rule_hits(r, "ISO012")
    assert [(f.symbol, f.severity) for f in hits] == [("num_commands", "info")]
    assert "standalone program" in hits[0].message


# ---- ISO005 / ISO013: what holds objects ------------------------------------------------------

OBJECT_STRUCTS = """
#include "Python.h"
typedef struct thread_canary_s {
    PyObject_HEAD
    struct thread_canary_s *zombie_prev;
} ThreadCanaryObj;

struct keywordmap {
    const char *oldname;
    PyObject *newnameObject;
};

static ThreadCanaryObj zombie_head;
static ThreadCanaryObj *canary_list;
static struct keywordmap keywordmaps[] = {{"user", NULL}, {NULL, NULL}};
static PyObject *unique_cache;
static char *name_cache;
"""


def test_object_structs_are_object_globals_and_object_caches_errors() -> None:
    r = analyze(OBJECT_STRUCTS)
    assert _severity(r, "ISO005", "zombie_head") == "error"  # a PyObject_HEAD struct
    assert _severity(r, "ISO005", "canary_list") == "error"  # a pointer to one
    assert _severity(r, "ISO005", "keywordmaps") == "error"  # holds PyObject * members
    assert _severity(r, "ISO013", "unique_cache") == "error"  # a cache of objects
    assert _severity(r, "ISO013", "name_cache") == "warning"


# ---- ISO014: Py_TYPE(self) on types that cannot be subclassed -----------------------------

GDBM = """
#include "Python.h"
typedef struct { PyObject_HEAD int di_size; } gdbmobject;
typedef struct { PyObject_HEAD int x; } baseobject;

static Py_ssize_t
gdbm_length(gdbmobject *dp)
{
    _gdbm_state *state = PyType_GetModuleState(Py_TYPE(dp));
    return dp->di_size;
}

static PyObject *
base_get(baseobject *self, void *c)
{
    _gdbm_state *state = PyType_GetModuleState(Py_TYPE(self));
    Py_RETURN_NONE;
}

static PyType_Slot gdbm_slots[] = {{Py_mp_length, gdbm_length}, {0, 0}};
static PyType_Spec gdbmtype_spec = {
    .name = "_gdbm.gdbm",
    .basicsize = sizeof(gdbmobject),
    .flags = (Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE),
    .slots = gdbm_slots,
};
static PyType_Slot base_slots[] = {{0, 0}};
static PyType_Spec base_spec = {
    .name = "_gdbm.base",
    .basicsize = sizeof(baseobject),
    .flags = (Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC),
    .slots = base_slots,
};
"""


def test_py_type_module_state_is_info_without_basetype() -> None:
    r = analyze(GDBM, "Modules/_gdbmmodule.c")
    assert _severity(r, "ISO014", "gdbm_length") == "info"
    assert _severity(r, "ISO014", "base_get") == "warning"


def test_py_type_module_state_without_specs_in_the_file_stays_a_warning() -> None:
    code = """
    #include "Python.h"
    static PyObject *
    f(PyObject *self)
    {
        PyObject *m = PyType_GetModule(Py_TYPE(self));
        return m;
    }
    """
    r = analyze(code)
    assert _severity(r, "ISO014", "f") == "warning"


# ---- ISO004: PyState_FindModule in a single-phase module -----------------------------------

SINGLE_PHASE_WITH_FIND = """
#include "Python.h"
static struct PyModuleDef picklemodule = {PyModuleDef_HEAD_INIT, "_pickle", NULL, -1};
static PickleState *
get_global_state(void)
{
    return get_state(PyState_FindModule(&picklemodule));
}
PyMODINIT_FUNC
PyInit__pickle(void)
{
    PyObject *m = PyState_FindModule(&picklemodule);
    if (m) { return Py_NewRef(m); }
    return PyModule_Create(&picklemodule);
}
"""


def test_pystate_lookup_in_a_single_phase_module_is_info() -> None:
    r = analyze(SINGLE_PHASE_WITH_FIND, "Modules/_pickle.c")
    got = {f.symbol: f.severity for f in rule_hits(r, "ISO004")}
    assert got == {"get_global_state": "info", "PyInit__pickle": "info"}
    assert all("ISO002" in f.message for f in rule_hits(r, "ISO004"))
    # ISO002 carries the m_size = -1 of its definition; ISO019 is folded into it.
    assert _severity(r, "ISO002", "PyInit__pickle") == "error"
    assert "m_size = -1" in rule_hits(r, "ISO002")[0].message
    assert _severity(r, "ISO019", "picklemodule") == "info"


def test_pystate_lookup_in_a_multi_phase_module_stays_an_error() -> None:
    code = """
    #include "Python.h"
    static struct PyModuleDef spam_def = {PyModuleDef_HEAD_INIT, "spam", NULL, 0, NULL, NULL};
    static PyObject *
    f(PyObject *self, PyObject *args)
    {
        return PyState_FindModule(&spam_def);
    }
    PyMODINIT_FUNC PyInit_spam(void) { return PyModuleDef_Init(&spam_def); }
    """
    r = analyze(code)
    assert _severity(r, "ISO004", "f") == "error"


# ---- ISO019: modules the core creates per interpreter ---------------------------------------


def test_negative_size_of_a_module_the_core_creates_is_info() -> None:
    code = """
    #include "Python.h"
    static struct PyModuleDef sysmodule = {PyModuleDef_HEAD_INIT, "sys", NULL, -1};
    PyStatus
    _PySys_Create(PyThreadState *tstate, PyObject **sysmod_p)
    {
        PyObject *sysmod = _PyModule_CreateInitialized(&sysmodule, PYTHON_API_VERSION);
        return _PyStatus_OK();
    }
    """
    r = analyze(code, "Python/sysmodule.c")
    hits = rule_hits(r, "ISO019")
    assert [(f.symbol, f.severity) for f in hits] == [("sysmodule", "info")]
    assert "per interpreter" in hits[0].message


def test_negative_size_of_a_multi_phase_module_stays_an_error() -> None:
    code = """
    #include "Python.h"
    static PyModuleDef_Slot slots[] = {{0, NULL}};
    static struct PyModuleDef d = {PyModuleDef_HEAD_INIT, "m", NULL, -1, NULL, slots};
    PyMODINIT_FUNC PyInit_m(void) { return PyModuleDef_Init(&d); }
    """
    r = analyze(code)
    assert _severity(r, "ISO019", "d") == "error"


# ---- ISO007: per spec ----------------------------------------------------------------------

THREAD_TYPES = """
#include "Python.h"
typedef struct { int x; } thread_state;
static PyObject *lock_new(PyTypeObject *type, PyObject *a, PyObject *k)
{
    PyObject *module = PyType_GetModuleByDef(type, &thread_module);
    return NULL;
}
static PyObject *handle_join(PyObject *self, PyObject *args) { Py_RETURN_NONE; }
static PyMethodDef handle_methods[] = {{"join", handle_join, METH_VARARGS}, {NULL}};
static PyType_Slot lock_slots[] = {{Py_tp_new, lock_new}, {0, 0}};
static PyType_Slot handle_slots[] = {{Py_tp_methods, handle_methods}, {0, 0}};
static PyType_Spec lock_spec = {"_thread.lock", 0, 0, Py_TPFLAGS_DEFAULT, lock_slots};
static PyType_Spec handle_spec = {"_thread._ThreadHandle", 0, 0, Py_TPFLAGS_DEFAULT,
                                  handle_slots};
static int
thread_exec(PyObject *module)
{
    PyObject *a = PyType_FromSpec(&lock_spec);
    PyObject *b = PyType_FromSpec(&handle_spec);
    return 0;
}
static PyModuleDef_Slot thread_slots[] = {{Py_mod_exec, thread_exec}, {0, NULL}};
static struct PyModuleDef thread_module = {
    PyModuleDef_HEAD_INIT, "_thread", NULL, sizeof(thread_state), NULL, thread_slots};
"""


def test_type_from_spec_is_an_error_only_for_a_type_that_looks_its_module_up() -> None:
    r = analyze(THREAD_TYPES, "Modules/_threadmodule.c")
    assert _severity(r, "ISO007", "lock_spec") == "error"
    assert _severity(r, "ISO007", "handle_spec") == "info"


# ---- ISO009: GC inherited from a base; weakreflist -----------------------------------------

CTYPES_METATYPES = """
#include "Python.h"
typedef struct { PyObject_HEAD PyObject *weakreflist; } dummyobject;
static PyType_Slot s[] = {{0, 0}};
static PyType_Spec ctype_type_spec = {.name = "_ctypes.CType_Type",
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, .slots = s};
static PyType_Spec pointer_type_spec = {.name = "_ctypes.PyCPointerType",
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, .slots = s};
static PyType_Spec error_spec = {.name = "_csv.Error", .flags = Py_TPFLAGS_DEFAULT, .slots = s};
static PyType_Spec dummy_spec = {.name = "_thread._localdummy",
    .basicsize = sizeof(dummyobject), .flags = Py_TPFLAGS_DEFAULT, .slots = s};
#define CREATE_TYPE(TP, SPEC, META, BASE) do {                    \\
    PyObject *type = PyType_FromMetaclass(META, mod, SPEC, (PyObject *)BASE); \\
    TP = (PyTypeObject *)type;                                    \\
} while (0)
static int
exec(PyObject *mod)
{
    CREATE_TYPE(st->PyCType_Type, &ctype_type_spec, NULL, &PyType_Type);
    CREATE_TYPE(st->PyCPointerType_Type, &pointer_type_spec, NULL, st->PyCType_Type);
    st->error = PyType_FromModuleAndSpec(mod, &error_spec, PyExc_Exception);
    st->dummy = PyType_FromModuleAndSpec(mod, &dummy_spec, NULL);
    return 0;
}
"""


def test_heap_type_with_a_gc_base_inherits_gc() -> None:
    r = analyze(CTYPES_METATYPES, "Modules/_ctypes/_ctypes.c")
    assert _severity(r, "ISO009", "pointer_type_spec") == "info"  # base made from a GC spec
    assert _severity(r, "ISO009", "error_spec") == "info"  # an exception base
    # A weakreflist is no owned reference: instances hold none, the finding is info.
    assert _severity(r, "ISO009", "dummy_spec") == "info"


# ---- dead branches and old-Python branches --------------------------------------------------

BRANCHES = """
#include "Python.h"
#define USE_MEMO 0
#if PY_MAJOR_VERSION >= 3
static const char kModuleAttr[] = "_module";
#else
static PyObject *BrotliError;
#endif
#if USE_MEMO
static PyObject *memo_obj;
#endif
#ifdef PYPY_VERSION
static PyObject *pypy_only;
#endif
#if PY_VERSION_HEX < 0x030C0000
static PyObject *old_only;
#else
static PyObject *current;
#endif
"""


def test_findings_in_dead_branches_are_info_and_old_python_branches_say_so() -> None:
    r = analyze(BRANCHES, "ext/_brotli.c")
    got = {f.symbol: f for f in rule_hits(r, "ISO005")}
    for dead in ("BrotliError", "memo_obj", "pypy_only"):
        assert got[dead].severity == "info", dead
        assert "never compiles" in got[dead].message
    assert got["old_only"].severity == "error"
    assert "only compiled for Python < 3.12" in got["old_only"].message
    assert got["current"].severity == "error"
    assert "Python <" not in got["current"].message


# ---- the module's own context (tree pass) ----------------------------------------------------


def test_globals_of_a_module_that_opts_out_are_info(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.analysis import analyze_file, build_tree_report

    module = """
    #include "Python.h"
    static PyObject *str_plugin;
    static PyModuleDef_Slot slots[] = {
        {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
        {0, NULL}};
    static struct PyModuleDef d = {PyModuleDef_HEAD_INIT, "tracer", NULL, 0, NULL, slots};
    PyMODINIT_FUNC PyInit_tracer(void) { return PyModuleDef_Init(&d); }
    """
    helper = """
    #include "Python.h"
    static PyObject *str_other;
    static PyTypeObject CTracerType = { PyVarObject_HEAD_INIT(NULL, 0) "t" };
    """
    import textwrap

    reports = [
        analyze_file("ctracer/module.c", textwrap.dedent(module).encode()),
        analyze_file("ctracer/tracer.c", textwrap.dedent(helper).encode()),
    ]
    tree = build_tree_report(".", reports)
    by_symbol = {f.symbol: f for f in tree.findings if f.rule in ("ISO005", "ISO001")}
    for name in ("str_plugin", "str_other", "CTracerType"):
        assert by_symbol[name].severity == "info", name
        assert "opts out" in by_symbol[name].message


def test_a_global_of_a_header_defined_again_in_a_source_is_reported_once() -> None:
    from bot.analysis import analyze_file, build_tree_report

    header = b'#include "Python.h"\nPyObject *TimeoutExpired;\n'
    source = b'#include "Python.h"\nPyObject *TimeoutExpired = NULL;\n'
    twice = b'#include "Python.h"\nstatic PyObject *err;\nstatic PyObject *err = NULL;\n'
    tree = build_tree_report(
        ".",
        [
            analyze_file("psutil/init.h", header),
            analyze_file("psutil/init.c", source),
            analyze_file("psutil/other.c", twice),
        ],
    )
    errors = [(f.path, f.symbol, f.line) for f in tree.findings if f.severity == "error"]
    assert errors == [("psutil/init.c", "TimeoutExpired", 2), ("psutil/other.c", "err", 3)]


# ---- module inventory: builtin inits with other names, macro-made inits ----------------------


def test_builtin_init_not_named_pyinit_is_a_module() -> None:
    code = """
    #include "Python.h"
    #define MODULE_NAME "_warnings"
    static struct PyModuleDef warnings_module = {
        PyModuleDef_HEAD_INIT,
        .m_name = MODULE_NAME,
        .m_size = 0,
    };
    PyMODINIT_FUNC
    _PyWarnings_Init(void)
    {
        return PyModuleDef_Init(&warnings_module);
    }
    static struct PyModuleDef marshalmodule = {PyModuleDef_HEAD_INIT, "marshal", NULL, 0};
    PyObject *
    PyMarshal_Init(void)
    {
        return PyModuleDef_Init(&marshalmodule);
    }
    static PyObject *
    helper(PyObject *self, PyObject *args)
    {
        return PyModule_Create(&marshalmodule);
    }
    """
    r = analyze(code, "Python/_warnings.c")
    assert {(m.name, m.init_function, m.init) for m in r.modules} == {
        ("_warnings", "_PyWarnings_Init", "multi-phase"),
        ("marshal", "PyMarshal_Init", "multi-phase"),
    }


CJK_HEADER_OLD = """
#define I_AM_A_MODULE_FOR(loc)                                          \\
    static struct PyModuleDef __module = {                              \\
        PyModuleDef_HEAD_INIT, "_codecs_"#loc, NULL, 0, __methods };    \\
    PyMODINIT_FUNC                                                      \\
    PyInit__codecs_##loc(void)                                          \\
    {                                                                   \\
        PyObject *m = PyModule_Create(&__module);                       \\
        return m;                                                       \\
    }
"""
CJK_HEADER_NEW = """
#define I_AM_A_MODULE_FOR(loc)                                          \\
    static struct PyModuleDef _cjk_module = {                           \\
        PyModuleDef_HEAD_INIT,                                          \\
        .m_name = "_codecs_"#loc,                                       \\
        .m_slots = _cjk_slots,                                          \\
    };                                                                  \\
    PyMODINIT_FUNC                                                      \\
    PyInit__codecs_##loc(void)                                          \\
    {                                                                   \\
        return PyModuleDef_Init(&_cjk_module);                          \\
    }
static struct PyModuleDef_Slot _cjk_slots[] = {
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
    {0, NULL}
};
"""
CJK_MODULE = '#include "cjkcodecs.h"\nI_AM_A_MODULE_FOR(jp)\n'


def test_macro_made_init_is_classified_from_the_macro_of_its_tree() -> None:
    from bot.analysis import analyze_file, build_tree_report

    def scan(header: str):  # type: ignore[no-untyped-def]
        return build_tree_report(
            ".",
            [
                analyze_file("Modules/cjkcodecs/cjkcodecs.h", header.encode()),
                analyze_file("Modules/cjkcodecs/_codecs_jp.c", CJK_MODULE.encode()),
            ],
            python_version=(3, 9) if header is CJK_HEADER_OLD else (3, 13),
        )

    old = scan(CJK_HEADER_OLD)
    assert [(m.name, m.init) for m in old.modules] == [("_codecs_jp", "single-phase")]
    assert [(f.rule, f.severity) for f in old.findings if f.rule in ("ISO002", "ISO003")] == [
        ("ISO002", "error")
    ]
    new = scan(CJK_HEADER_NEW)
    assert [(m.name, m.init, m.multiple_interpreters) for m in new.modules] == [
        ("_codecs_jp", "multi-phase", "per-interpreter-gil")
    ]
    assert not [f for f in new.findings if f.rule in ("ISO002", "ISO003")]


def test_set_once_flag_after_an_early_exit_is_info_a_reentrancy_guard_is_not() -> None:
    code = """
    #include "Python.h"
    static int
    check_python3(void)
    {
        static int python3_checked = 0;
        if (python3_checked) {
            return 1;
        }
        python3_checked = 1;
        return 0;
    }
    static int
    make_pending_calls(void)
    {
        static int busy = 0;
        if (busy) {
            return 0;
        }
        busy = 1;
        run_calls();
        busy = 0;
        return 0;
    }
    static unsigned int next_version = 1;
    static unsigned int
    get_version(void)
    {
        if (next_version == 0) {
            return 0;
        }
        return next_version++;
    }
    """
    r = analyze(code, "Python/dynload_win.c")
    assert _severity(r, "ISO012", "python3_checked") == "info"
    assert _severity(r, "ISO012", "busy") == "warning"
    assert _severity(r, "ISO012", "next_version") == "warning"


def test_visibility_macro_before_an_object_pointer_is_an_object_global() -> None:
    code = """
    #include "Python.h"
    PYCURL_INTERNAL PyObject *ErrorObject = NULL;
    PyAPI_DATA(PyTypeObject) PyBytes_Type;
    #define PyBytes_Check(op) Py_IS_TYPE(op, &PyBytes_Type)
    """
    r = analyze(code, "ext/src/module.c")
    assert _severity(r, "ISO005", "ErrorObject") == "error"
    assert not [f for f in r.findings if f.symbol == "PyBytes_Type"]


def test_gilstate_reads_for_diagnostics_are_info() -> None:
    code = """
    #include "Python.h"
    static void
    fatal_error(void)
    {
        PyThreadState *tss_tstate = PyGILState_GetThisThreadState();
        if (tss_tstate == NULL) {
            fputs("no thread state", stderr);
        }
    }
    """
    r = analyze(code, "Python/pylifecycle.c")
    assert _severity(r, "ISO011", "fatal_error") == "info"


def test_py_type_in_a_macro_is_judged_by_its_call_sites() -> None:
    code = """
    #include "Python.h"
    typedef struct { PyObject_HEAD int x; } structobject;
    typedef struct { PyObject_HEAD int i; } unpackiterobject;
    #define get_struct_state_iterinst(self) \\
        (get_struct_state(PyType_GetModule(Py_TYPE(self))))
    static PyObject *
    unpackiter_iternext(unpackiterobject *self)
    {
        void *state = get_struct_state_iterinst(self);
        return NULL;
    }
    static PyType_Slot s[] = {{0, 0}};
    static PyType_Spec struct_spec = {"_struct.Struct", sizeof(structobject), 0,
        Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, s};
    static PyType_Spec unpackiter_spec = {"_struct.unpack_iterator", sizeof(unpackiterobject),
        0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE, s};
    """
    r = analyze(code, "Modules/_struct.c")
    assert _severity(r, "ISO014", "get_struct_state_iterinst") == "info"


def test_static_type_behind_a_visibility_macro_is_only_iso001() -> None:
    code = """
    #include "Python.h"
    PYCURL_INTERNAL PyTypeObject CurlSlist_Type = {
        PyVarObject_HEAD_INIT(NULL, 0)
        "pycurl.CurlSlist",
    };
    """
    r = analyze(code, "ext/src/easy.c")
    assert {f.rule for f in r.findings if f.symbol == "CurlSlist_Type"} == {"ISO001"}


def test_values_computed_once_behind_a_flag_or_a_self_test_are_info() -> None:
    code = """
    #include "Python.h"
    static int initialized = 0;
    static int thread_debug = 0;
    static void
    init_thread(void)
    {
        if (initialized) {
            return;
        }
        initialized = 1;
        thread_debug = getenv("THREADDEBUG") != NULL;
    }
    static unsigned long
    getppid_fast(void)
    {
        static unsigned long cached_ppid = 0;
        if (cached_ppid) {
            return cached_ppid;
        }
        cached_ppid = query_parent();
        return cached_ppid;
    }
    static PyTypeObject dl_type, ctype_type;
    static PyTypeObject *all_types[] = {&dl_type, &ctype_type, NULL};
    """
    r = analyze(code, "Python/thread.c")
    assert _severity(r, "ISO012", "thread_debug") == "info"
    assert _severity(r, "ISO012", "cached_ppid") == "info"
    assert _severity(r, "ISO005", "all_types") == "info"


def test_local_copies_status_flags_and_constant_addresses() -> None:
    code = """
    #include "Python.h"
    int RunningOnValgrind(void) {
        static volatile int running_on_valgrind = -1;
        int local = running_on_valgrind;
        if (local == -1)
            running_on_valgrind = local = GetRunningOnValgrind();
        return local;
    }
    static Bigint *p5s;
    static Bigint *pow5mult(Bigint *b) {
        Bigint *p5 = p5s;
        if (!p5) { p5 = i2b(625); p5s = p5; p5->next = 0; }
        return p5;
    }
    int spt_setup(void) {
        const int not_happened = 3;
        static int rv = 3;
        if (rv != not_happened) { return rv; }
        rv = -1;
        if (setup() < 0) { return rv; }
        rv = 0;
        return rv;
    }
    static void *api[4];
    PyMODINIT_FUNC PyInit_g(void) {
        api[0] = (void *)&PyGreenlet_Type;
        api[1] = (void *)PyGreenlet_New;
        return PyModule_Create(&d);
    }
    """
    r = analyze(code, "ext/src/spt_setup.c")
    assert _severity(r, "ISO012", "running_on_valgrind") == "info"  # tested through a copy
    assert _severity(r, "ISO012", "p5s") == "warning"  # the copy is written through
    assert _severity(r, "ISO012", "rv") == "info"  # never back to its initial 3
    assert _severity(r, "ISO012", "api") == "info"  # constant addresses stored at init


def test_header_macro_is_settled_by_the_files_that_call_it() -> None:
    from bot.analysis import analyze_file, build_tree_report

    header = b"""
    #define get_state_obj(o) ((_sslmodulestate *)PyType_GetModuleState(Py_TYPE(o)))
    #define get_state_mbio(b) get_state_obj(b)
    """
    source = b"""
    #include "Python.h"
    #include "_ssl.h"
    typedef struct { PyObject_HEAD int eof; } PySSLMemoryBIO;
    static PyObject *
    memory_bio_write(PySSLMemoryBIO *self, PyObject *b)
    {
        _sslmodulestate *state = get_state_mbio(self);
        Py_RETURN_NONE;
    }
    static PyType_Slot slots[] = {{0, 0}};
    static PyType_Spec PySSLMemoryBIO_spec = {"_ssl.MemoryBIO", sizeof(PySSLMemoryBIO), 0,
        Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE, slots};
    """
    tree = build_tree_report(
        ".", [analyze_file("Modules/_ssl.h", header), analyze_file("Modules/_ssl.c", source)]
    )
    [f] = [f for f in tree.findings if f.rule == "ISO014"]
    assert (f.symbol, f.severity) == ("get_state_obj", "info")
    subclassable = source.replace(b"Py_TPFLAGS_IMMUTABLETYPE", b"Py_TPFLAGS_BASETYPE")
    tree = build_tree_report(
        ".", [analyze_file("Modules/_ssl.h", header), analyze_file("Modules/_ssl.c", subclassable)]
    )
    [f] = [f for f in tree.findings if f.rule == "ISO014"]
    assert f.severity == "warning"


def test_ternary_lazy_init_in_a_macro_is_a_process_property() -> None:
    code = """
    #include "Python.h"
    static int emutramp_enabled = -1;
    static int check(void) { return 1; }
    #define is_emutramp_enabled() (emutramp_enabled >= 0 ? emutramp_enabled \\
            : (emutramp_enabled = check()))
    """
    r = analyze(code, "ext/src/c/malloc_closure.h")
    assert _severity(r, "ISO012", "emutramp_enabled") == "info"


def test_state_written_by_another_files_module_init_is_a_process_property() -> None:
    from bot.analysis import analyze_file, build_tree_report

    init_c = b"""
    #include "Python.h"
    SYSTEM_INFO PSUTIL_SYSTEM_INFO;
    int psutil_calls;
    int
    psutil_setup_windows(void)
    {
        GetSystemInfo(&PSUTIL_SYSTEM_INFO);
        return 0;
    }
    void
    psutil_count(void)
    {
        psutil_calls++;
    }
    """
    module_c = b"""
    #include "Python.h"
    static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_psutil_windows", NULL, -1};
    PyMODINIT_FUNC
    PyInit__psutil_windows(void)
    {
        PyObject *mod = PyModule_Create(&moduledef);
        if (psutil_setup_windows() != 0) return NULL;
        return mod;
    }
    """
    tree = build_tree_report(
        ".",
        [
            analyze_file("psutil/arch/windows/init.c", init_c),
            analyze_file("psutil/_psutil_windows.c", module_c),
        ],
    )
    got = {f.symbol: f.severity for f in tree.findings if f.rule == "ISO012"}
    assert got == {"PSUTIL_SYSTEM_INFO": "info", "psutil_calls": "warning"}
