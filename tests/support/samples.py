"""Sample C sources for the tests: the `_counter` module before and after a pull request that
isolates it (heap types, multi-phase init, a per-interpreter GIL slot) but adds a process-wide
static PyObject cache, the regression the PR check reports.

The tests' own copy of what `isolation-bot demo` opens (bot/cli/demo.py): the tests do not
import the demo, and the demo may change its sample without touching them.
"""

from __future__ import annotations

MODULE_PATH = "Modules/_countermodule.c"

BASE_SOURCE = """\
#include "Python.h"

typedef struct {
    PyObject_HEAD
    long value;
} CounterObject;

static PyObject *
counter_increment(CounterObject *self, PyObject *Py_UNUSED(ignored))
{
    self->value++;
    return PyLong_FromLong(self->value);
}

static PyMethodDef counter_methods[] = {
    {"increment", (PyCFunction)counter_increment, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}
};

static PyTypeObject CounterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_counter.Counter",
    .tp_basicsize = sizeof(CounterObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_methods = counter_methods,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef countermodule = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_counter",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__counter(void)
{
    if (PyType_Ready(&CounterType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&countermodule);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "Counter", (PyObject *)&CounterType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
"""
HEAD_SOURCE = """\
#include "Python.h"

typedef struct {
    PyObject_HEAD
    long value;
} CounterObject;

typedef struct {
    PyObject *counter_type;
} counter_state;

/* The regression: a process-wide cache shared by every interpreter. */
static PyObject *last_result = NULL;

static PyObject *
counter_increment(CounterObject *self, PyObject *Py_UNUSED(ignored))
{
    self->value++;
    Py_XSETREF(last_result, PyLong_FromLong(self->value));
    return Py_XNewRef(last_result);
}

static int
counter_traverse(CounterObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static void
counter_dealloc(CounterObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyMethodDef counter_methods[] = {
    {"increment", (PyCFunction)counter_increment, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}
};

static PyType_Slot counter_slots[] = {
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_methods, counter_methods},
    {Py_tp_traverse, counter_traverse},
    {Py_tp_dealloc, counter_dealloc},
    {0, NULL},
};

static PyType_Spec counter_spec = {
    .name = "_counter.Counter",
    .basicsize = sizeof(CounterObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = counter_slots,
};

static int
counter_exec(PyObject *m)
{
    counter_state *state = PyModule_GetState(m);
    state->counter_type = PyType_FromModuleAndSpec(m, &counter_spec, NULL);
    if (state->counter_type == NULL) {
        return -1;
    }
    return PyModule_AddObjectRef(m, "Counter", state->counter_type);
}

static int
counter_mod_traverse(PyObject *m, visitproc visit, void *arg)
{
    counter_state *state = PyModule_GetState(m);
    Py_VISIT(state->counter_type);
    return 0;
}

static int
counter_mod_clear(PyObject *m)
{
    counter_state *state = PyModule_GetState(m);
    Py_CLEAR(state->counter_type);
    return 0;
}

static PyModuleDef_Slot counter_module_slots[] = {
    {Py_mod_exec, counter_exec},
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
    {0, NULL},
};

static struct PyModuleDef countermodule = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_counter",
    .m_size = sizeof(counter_state),
    .m_slots = counter_module_slots,
    .m_traverse = counter_mod_traverse,
    .m_clear = counter_mod_clear,
};

PyMODINIT_FUNC
PyInit__counter(void)
{
    return PyModuleDef_Init(&countermodule);
}
"""
