"""Per-rule detection: a bad snippet triggers the rule (with the right symbol), a fixed one not."""

from __future__ import annotations

import pytest

from bot.analysis import RULES

from .helpers import analyze, rule_hits, symbols

MULTI_PHASE_OK = """
static int exec(PyObject *m) { return 0; }
static PyModuleDef_Slot spam_slots[] = {
    {Py_mod_exec, exec},
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
    {0, NULL}
};
static struct PyModuleDef spam_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "spam",
    .m_size = 0,
    .m_slots = spam_slots,
};
PyMODINIT_FUNC
PyInit_spam(void)
{
    return PyModuleDef_Init(&spam_module);
}
"""

# (rule, bad snippet, expected symbol, fixed snippet)
CASES: list[tuple[str, str, str, str]] = [
    (
        "ISO001",
        """
        static PyTypeObject Spam_Type = {
            PyVarObject_HEAD_INIT(NULL, 0)
            .tp_name = "spam.Spam",
        };
        """,
        "Spam_Type",
        """
        static PyType_Slot spam_slots[] = {{0, NULL}};
        static PyType_Spec Spam_spec = {"spam.Spam", 0, 0, Py_TPFLAGS_DEFAULT, spam_slots};
        extern PyTypeObject Other_Type;
        static PyTypeObject *Spam_ptr_unused_in_fixed;
        """.replace("static PyTypeObject *Spam_ptr_unused_in_fixed;", ""),
    ),
    (
        "ISO002",
        """
        static struct PyModuleDef spam_module = {PyModuleDef_HEAD_INIT, "spam", NULL, 0};
        PyMODINIT_FUNC
        PyInit_spam(void)
        {
            return PyModule_Create(&spam_module);
        }
        """,
        "PyInit_spam",
        MULTI_PHASE_OK,
    ),
    (
        "ISO003",
        MULTI_PHASE_OK.replace(
            "{Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},", ""
        ),
        "PyInit_spam",
        MULTI_PHASE_OK,
    ),
    (
        "ISO004",
        """
        static PyObject *get(void) {
            PyObject *m = PyState_FindModule(&spam_module);
            return m;
        }
        """,
        "get",
        """
        static PyObject *get(PyObject *self, PyTypeObject *cls) {
            return PyType_GetModuleByDef(cls, &spam_module);
        }
        """,
    ),
    (
        "ISO005",
        "static PyObject *SpamError;\n",
        "SpamError",
        "typedef struct { PyObject *SpamError; } spam_state;\n"
        "static PyObject *const Immortal = NULL;\n",
    ),
    (
        "ISO006",
        """
        static PyObject *f(PyObject *o) {
            _Py_IDENTIFIER(append);
            return _PyObject_CallMethodIdNoArgs(o, &PyId_append);
        }
        """,
        "PyId_append",
        """
        static PyObject *f(PyObject *o) {
            return PyObject_CallMethodNoArgs(o, &_Py_ID(append));
        }
        """,
    ),
    (
        "ISO007",
        """
        typedef struct { PyObject *t; } st;
        static struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "spam", NULL, sizeof(st)};
        static int exec(PyObject *mod) {
            PyObject *t = PyType_FromSpec(&Spam_spec);
            return t ? 0 : -1;
        }
        """,
        "Spam_spec",
        """
        typedef struct { PyObject *t; } st;
        static struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "spam", NULL, sizeof(st)};
        static int exec(PyObject *mod) {
            PyObject *t = PyType_FromModuleAndSpec(mod, &Spam_spec, NULL);
            return t ? 0 : -1;
        }
        """,
    ),
    (
        "ISO008",
        """
        static void spam_dealloc(SpamObject *self) {
            PyObject_GC_UnTrack(self);
            Py_TYPE(self)->tp_free((PyObject *)self);
        }
        static PyType_Slot spam_slots[] = {
            {Py_tp_dealloc, spam_dealloc},
            {0, NULL},
        };
        static PyType_Spec spam_spec = {
            .name = "spam.Spam",
            .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
            .slots = spam_slots,
        };
        """,
        "spam_dealloc",
        """
        static void spam_dealloc(SpamObject *self) {
            PyTypeObject *tp = Py_TYPE(self);
            PyObject_GC_UnTrack(self);
            tp->tp_free((PyObject *)self);
            Py_DECREF(tp);
        }
        static PyType_Slot spam_slots[] = {
            {Py_tp_dealloc, spam_dealloc},
            {0, NULL},
        };
        static PyType_Spec spam_spec = {
            .name = "spam.Spam",
            .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
            .slots = spam_slots,
        };
        """,
    ),
    (
        "ISO009",
        """
        static int spam_traverse(SpamObject *self, visitproc visit, void *arg) {
            Py_VISIT(self->x);
            return 0;
        }
        static PyType_Slot spam_slots[] = {{Py_tp_traverse, spam_traverse}, {0, NULL}};
        static PyType_Spec spam_spec = {
            "spam.Spam", 0, 0,
            Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE, spam_slots
        };
        """,
        "spam_traverse",
        """
        static int spam_traverse(SpamObject *self, visitproc visit, void *arg) {
            Py_VISIT(Py_TYPE(self));
            Py_VISIT(self->x);
            return 0;
        }
        static PyType_Slot spam_slots[] = {{Py_tp_traverse, spam_traverse}, {0, NULL}};
        static PyType_Spec spam_spec = {
            "spam.Spam", 0, 0,
            Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE, spam_slots
        };
        """,
    ),
    (
        "ISO010",
        """
        typedef struct { PyObject *error; } spam_state;
        static struct PyModuleDef spam_module = {
            PyModuleDef_HEAD_INIT,
            .m_name = "spam",
            .m_size = sizeof(spam_state),
        };
        """,
        "spam_module",
        """
        typedef struct { PyObject *error; } spam_state;
        static struct PyModuleDef spam_module = {
            PyModuleDef_HEAD_INIT,
            .m_name = "spam",
            .m_size = sizeof(spam_state),
            .m_traverse = spam_traverse,
            .m_clear = spam_clear,
            .m_free = spam_free,
        };
        """,
    ),
    (
        "ISO011",
        """
        static void callback(void *arg) {
            PyGILState_STATE s = PyGILState_Ensure();
            PyGILState_Release(s);
        }
        """,
        "callback",
        """
        static void callback(void *arg) {
            assert(PyGILState_Check());
            PyEval_RestoreThread(((spam *)arg)->tstate);
        }
        """,
    ),
    (
        "ISO012",
        "static int initialised = 0;\n",
        "initialised",
        'static const int answer = 42;\nstatic const char *const names[] = {"a", NULL};\n',
    ),
    (
        "ISO013",
        "static SpamObject *free_list[80];\nstatic int numfree_counter;\n",
        "free_list",
        "typedef struct { SpamObject *free_list[80]; } spam_state;\n",
    ),
    (
        "ISO014",
        """
        static PyObject *meth(PyObject *self) {
            spam_state *st = PyType_GetModuleState(Py_TYPE(self));
            return st->x;
        }
        """,
        "meth",
        """
        static PyObject *meth(PyObject *self, PyTypeObject *defining_class) {
            spam_state *st = PyType_GetModuleState(defining_class);
            return st->x;
        }
        """,
    ),
    (
        "ISO015",
        """
        static PyType_Spec spam_spec = {
            .name = "spam.Spam",
            .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
            .slots = spam_slots,
        };
        static int exec(PyObject *m) {
            spam_state *st = get_state(m);
            st->spam_type = (PyTypeObject *)PyType_FromModuleAndSpec(m, &spam_spec, NULL);
            return 0;
        }
        static PyObject *make(spam_state *st) {
            return (PyObject *)PyObject_New(SpamObject, st->spam_type);
        }
        """,
        "make",
        """
        static PyType_Spec spam_spec = {
            .name = "spam.Spam",
            .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
            .slots = spam_slots,
        };
        static int exec(PyObject *m) {
            spam_state *st = get_state(m);
            st->spam_type = (PyTypeObject *)PyType_FromModuleAndSpec(m, &spam_spec, NULL);
            return 0;
        }
        static PyObject *make(spam_state *st) {
            return (PyObject *)PyObject_GC_New(SpamObject, st->spam_type);
        }
        """,
    ),
    (
        "ISO016",
        """
        static PyType_Spec spam_spec = {
            .name = "spam.Spam",
            .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
            .slots = spam_slots,
        };
        """,
        "spam_spec",
        """
        static PyType_Spec spam_spec = {
            .name = "spam.Spam",
            .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
            .slots = spam_slots,
        };
        """,
    ),
    (
        "ISO017",
        """
        static int exec(PyObject *m) {
            if (PyStructSequence_InitType2(&StructTimeType, &struct_time_desc) < 0) {
                return -1;
            }
            return 0;
        }
        """,
        "StructTimeType",
        """
        static int exec(PyObject *m) {
            PyTypeObject *t = PyStructSequence_NewType(&struct_time_desc);
            return t ? 0 : -1;
        }
        """,
    ),
    (
        "ISO018",
        """
        static PyDateTime_CAPI *capi = NULL;
        static int exec(PyObject *m) {
            capi = (PyDateTime_CAPI *)PyCapsule_Import("datetime.datetime_CAPI", 0);
            return 0;
        }
        """,
        "capi",
        """
        typedef struct { PyDateTime_CAPI *capi; } spam_state;
        static int exec(PyObject *m) {
            get_state(m)->capi = (PyDateTime_CAPI *)PyCapsule_Import("datetime.x", 0);
            return 0;
        }
        """,
    ),
    (
        "ISO019",
        """
        static struct PyModuleDef spam_module = {
            PyModuleDef_HEAD_INIT, "spam", NULL, -1, spam_methods
        };
        """,
        "spam_module",
        """
        static struct PyModuleDef spam_module = {
            PyModuleDef_HEAD_INIT, "spam", NULL, 0, spam_methods
        };
        """,
    ),
]


def test_every_registered_rule_has_a_case() -> None:
    covered = {c[0] for c in CASES} | {"ISO900"}  # ISO900: tests/analysis/test_suppressions.py
    assert covered == set(RULES)


@pytest.mark.parametrize(("rule", "bad", "symbol", "good"), CASES, ids=[c[0] for c in CASES])
def test_bad_snippet_triggers_rule(rule: str, bad: str, symbol: str, good: str) -> None:
    report = analyze(bad)
    assert symbol in symbols(report, rule), report.findings
    hit = next(f for f in rule_hits(report, rule) if f.symbol == symbol)
    assert hit.name == RULES[rule].name
    assert hit.status == "new"
    assert hit.line >= 1 and hit.column >= 1 and hit.message


@pytest.mark.parametrize(("rule", "bad", "symbol", "good"), CASES, ids=[c[0] for c in CASES])
def test_fixed_snippet_does_not_trigger_rule(rule: str, bad: str, symbol: str, good: str) -> None:
    report = analyze(good)
    assert rule_hits(report, rule) == [], report.findings


def test_static_builtin_types_are_info_in_objects() -> None:
    code = 'PyTypeObject PyList_Type = {PyVarObject_HEAD_INIT(&PyType_Type, 0) "list"};\n'
    [f] = rule_hits(analyze(code, "Objects/listobject.c"), "ISO001")
    assert f.severity == "info"
    [f] = rule_hits(analyze(code, "Modules/spam.c"), "ISO001")
    assert f.severity == "error"


def test_test_modules_are_downgraded_to_info() -> None:
    report = analyze("static PyObject *SpamError;\n", "Modules/_testcapi/spam.c")
    assert [f.severity for f in rule_hits(report, "ISO005")] == ["info"]


def test_not_supported_slot_is_info() -> None:
    code = MULTI_PHASE_OK.replace(
        "Py_MOD_PER_INTERPRETER_GIL_SUPPORTED", "Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED"
    )
    [f] = rule_hits(analyze(code), "ISO003")
    assert f.severity == "info"


def test_traverse_visiting_type_through_variable_is_fine() -> None:
    code = """
    static int t(PyObject *self, visitproc visit, void *arg) {
        PyTypeObject *tp = Py_TYPE(self);
        Py_VISIT(tp);
        return 0;
    }
    static PyType_Slot s[] = {{Py_tp_traverse, t}, {0, 0}};
    static PyType_Spec spec = {"a.b", 0, 0,
        Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE, s};
    """
    assert rule_hits(analyze(code), "ISO009") == []


def test_dealloc_helper_and_cast_count_as_decref() -> None:
    code = """
    static void clear_and_release(PyObject *self) {
        PyTypeObject *tp = Py_TYPE(self);
        tp->tp_free(self);
        Py_DECREF((PyObject *)tp);
    }
    static void d(PyObject *self) { clear_and_release(self); }
    static PyType_Slot s[] = {{Py_tp_dealloc, d}, {0, 0}};
    static PyType_Spec spec = {"a.b", 0, 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE, s};
    """
    assert rule_hits(analyze(code), "ISO008") == []


def test_iso007_is_an_error_when_the_file_looks_the_module_up_from_types() -> None:
    code = """
    typedef struct { PyObject *t; } st;
    static struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "spam", NULL, sizeof(st)};
    static PyObject *meth(PyObject *self) { return PyType_GetModule(Py_TYPE(self)); }
    static int exec(PyObject *mod) { return PyType_FromSpec(&Spam_spec) ? 0 : -1; }
    """
    [f] = rule_hits(analyze(code), "ISO007")
    assert f.severity == "error"


def test_module_state_with_only_c_members_is_low_severity() -> None:
    code = """
    typedef struct { int counter; } spam_state;
    static struct PyModuleDef spam_module = {
        PyModuleDef_HEAD_INIT, "spam", NULL, sizeof(spam_state),
    };
    """
    [f] = rule_hits(analyze(code), "ISO010")
    assert f.severity == "info"


def test_gc_hooks_given_positionally() -> None:
    code = """
    typedef struct { PyObject *e; } spam_state;
    static struct PyModuleDef spam_module = {
        PyModuleDef_HEAD_INIT, "spam", NULL, sizeof(spam_state), NULL, NULL,
        spam_traverse, spam_clear, spam_free
    };
    """
    assert rule_hits(analyze(code), "ISO010") == []


def test_heap_type_without_tp_new_is_instantiable() -> None:
    code = """
    static PyType_Slot it_slots[] = {{Py_tp_iternext, it_next}, {0, NULL}};
    static PyType_Spec it_spec = {
        .name = "spam.iterator",
        .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
        .slots = it_slots,
    };
    """
    [f] = rule_hits(analyze(code), "ISO016")
    assert "instantiable" in f.message and "mutable" not in f.message
    fixed = code.replace(
        "Py_TPFLAGS_IMMUTABLETYPE", "Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION"
    )
    assert rule_hits(analyze(fixed), "ISO016") == []


def test_gilstate_in_a_module_that_opts_out_is_info() -> None:
    code = (
        MULTI_PHASE_OK.replace(
            "Py_MOD_PER_INTERPRETER_GIL_SUPPORTED", "Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED"
        )
        + "static void cb(void) { PyGILState_STATE s = PyGILState_Ensure(); }\n"
    )
    [f] = rule_hits(analyze(code), "ISO011")
    assert f.severity == "info"
