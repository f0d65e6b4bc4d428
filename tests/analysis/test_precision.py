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
