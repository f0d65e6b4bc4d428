"""Patterns that broke naive parsers of CPython sources (see the reference notes)."""

from __future__ import annotations

from .helpers import analyze, rule_hits, symbols


def test_ifdef_split_function_header_keeps_locals_local() -> None:
    # Both branches open the body: a naive brace count sees depth 2 and tree-sitter sees
    # the locals as file-scope declarations (socketmodule.c's `data_arg`).
    code = """
    #ifdef MS_WINDOWS
    static PyObject *sock_call(PyObject *self, PyObject *args) {
    #else
    static PyObject *sock_call(PyObject *self, PyObject *args, int flag) {
    #endif
        PyObject *data_arg = NULL;
        int len = 0;
        return data_arg;
    }
    static PyObject *real_global;
    """
    report = analyze(code)
    assert "data_arg" not in symbols(report, "ISO005")
    assert "len" not in symbols(report, "ISO012")
    assert symbols(report, "ISO005") == {"real_global"}


def test_patterns_in_comments_and_strings_are_ignored() -> None:
    code = """
    /* static PyTypeObject Fake_Type = { 0 }; PyState_FindModule(&x); */
    // static PyObject *commented_out;
    static const char doc[] = "PyGILState_Ensure() and _Py_IDENTIFIER(x) in a string";
    static PyObject *f(void) {
        const char *s = "PyModule_Create(&def) PyState_FindModule(&m)";
        return NULL;
    }
    """
    report = analyze(code)
    assert [f for f in report.findings if f.rule != "ISO012"] == []
    assert report.types == []


def test_static_const_tables_and_supported_types_are_allowed() -> None:
    code = """
    static const double special_values[7][7] = {{0}};
    static const char *const names[] = {"a", "b", NULL};
    static char *kwlist[] = {"a", "b", NULL};
    static PyMethodDef spam_methods[] = {{NULL, NULL, 0, NULL}};
    static PyMemberDef spam_members[] = {{NULL}};
    static PyGetSetDef spam_getset[] = {{NULL}};
    static PyType_Slot spam_slots[] = {{0, NULL}};
    static PyStructSequence_Field fields[] = {{"a", NULL}, {NULL}};
    static PyStructSequence_Desc desc = {"spam.x", NULL, fields, 1};
    static _PyArg_Parser _parser = {.keywords = NULL};
    PyDoc_STRVAR(spam_doc, "documentation");
    Py_STATIC_ASSERT(sizeof(int) == 4);
    """
    report = analyze(code)
    assert report.findings == [], report.findings


def test_function_level_statics() -> None:
    code = """
    static PyObject *get_path(void) {
        static PyObject *cached_path = NULL;
        static int calls = 0;
        static const char *const fixed = "x";
        calls++;
        return cached_path;
    }
    """
    report = analyze(code)
    [f] = rule_hits(report, "ISO005")
    assert f.symbol == "cached_path" and "get_path" in f.message
    assert "calls" in symbols(report, "ISO012")
    assert "fixed" not in symbols(report, "ISO012")


def test_extern_declarations_and_pointers_are_not_types() -> None:
    code = """
    extern PyTypeObject Spam_Type;
    PyAPI_DATA(PyTypeObject) Spam2_Type;
    static PyTypeObject *Spam_ptr;
    """
    report = analyze(code, "Modules/spam.h")
    assert report.types == []
    assert rule_hits(report, "ISO001") == []
    assert symbols(report, "ISO005") == {"Spam_ptr"}


def test_non_static_file_scope_type_is_a_static_type() -> None:
    code = 'PyTypeObject Spam_Type = {\n    PyVarObject_HEAD_INIT(NULL, 0)\n    "spam"\n};\n'
    report = analyze(code)
    assert [(t.name, t.kind) for t in report.types] == [("Spam_Type", "static")]


def test_ifdef_inside_module_def_initializer() -> None:
    # signalmodule.c: an #ifdef inside the initializer; every branch is read.
    code = """
    typedef struct { PyObject *handler; } sig_state;
    static struct PyModuleDef signal_module = {
        PyModuleDef_HEAD_INIT,
        "_signal",
    #ifdef MS_WINDOWS
        .m_doc = win_doc,
    #else
        .m_doc = module_doc,
    #endif
        .m_size = sizeof(sig_state),
        .m_slots = signal_slots,
        .m_traverse = signal_traverse,
        .m_clear = signal_clear,
        .m_free = signal_free,
    };
    static PyModuleDef_Slot signal_slots[] = {
        {Py_mod_exec, signal_exec},
    #ifdef HAVE_X
        {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
    #endif
        {0, NULL}
    };
    PyMODINIT_FUNC
    PyInit__signal(void)
    {
        return PyModuleDef_Init(&signal_module);
    }
    """
    report = analyze(code)
    [m] = report.modules
    assert m.name == "_signal" and m.init == "multi-phase"
    assert m.multiple_interpreters == "per-interpreter-gil"
    assert m.has_state and m.has_gc_hooks
    assert rule_hits(report, "ISO010") == [] and rule_hits(report, "ISO003") == []


def test_macro_built_module_defs_take_the_slots_argument() -> None:
    code = """
    #define TEST_MODULE_DEF(name, slots, methods) { \\
        PyModuleDef_HEAD_INIT, name, NULL, 0, methods, slots, NULL, NULL, NULL}
    static PyModuleDef_Slot main_slots[] = {
        {Py_mod_exec, execfunc},
        {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
        {0, NULL}
    };
    static PyModuleDef main_def = TEST_MODULE_DEF("main", main_slots, testexport_methods);
    PyMODINIT_FUNC
    PyInit__testmultiphase(void)
    {
        return PyModuleDef_Init(&main_def);
    }
    """
    [m] = analyze(code, "Modules/_testmultiphase.c").modules
    assert m.def_name == "main_def"
    assert m.multiple_interpreters == "per-interpreter-gil"
    assert m.is_test


def test_macro_made_type_specs() -> None:
    code = """
    #define SPAM_TYPE_SPEC(spec_obj, type_name, type_slots) \\
        static PyType_Spec spec_obj = { \\
            .name = "spam." type_name, \\
            .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE, \\
            .slots = type_slots \\
        }
    SPAM_TYPE_SPEC(spam_a_spec, "a", spam_a_slots);
    SPAM_TYPE_SPEC(spam_b_spec, "b", spam_b_slots);
    """
    report = analyze(code)
    assert sorted(t.name for t in report.types if t.kind == "heap") == [
        "spam_a_spec",
        "spam_b_spec",
    ]
    assert rule_hits(report, "ISO016") == []  # the flags come from the macro body


def test_declarations_lost_by_tree_sitter_recovery_are_found() -> None:
    # An unbalanced macro use makes tree-sitter nest what follows inside a bogus statement;
    # the text fallback (static keyword / pointer line at depth 0) still finds the globals.
    code = """
    #define BEGIN_CASE(x) case x: {
    static int f(int op) {
        switch (op) {
        BEGIN_CASE(1)
            return 1;
        }
        }
        return 0;
    }
    static PyObject *Lost_Type;
    static int lost_flag;
    """
    report = analyze(code)
    assert "Lost_Type" in symbols(report, "ISO005")
    assert "lost_flag" in symbols(report, "ISO012")


def test_init_function_in_extern_c_block_of_cpp_file() -> None:
    code = """
    static PyModuleDef_Slot wmi_slots[] = {{Py_mod_exec, exec}, {0, NULL}};
    static PyModuleDef wmi_def = {PyModuleDef_HEAD_INIT, "_wmi", NULL, 0, NULL, wmi_slots};
    extern "C" {
        PyMODINIT_FUNC PyInit__wmi(void)
        {
            return PyModuleDef_Init(&wmi_def);
        }
    }
    """
    [m] = analyze(code, "PC/_wmimodule.cpp").modules
    assert (m.name, m.init, m.multiple_interpreters) == ("_wmi", "multi-phase", "unspecified")


def test_py_identifier_patterns_of_311() -> None:
    code = """
    _Py_IDENTIFIER(__name__);
    static PyObject *f(PyObject *o) {
        _Py_IDENTIFIER(get_event_loop);
        _Py_static_string(PyId_sep, ", ");
        return _PyObject_GetAttrId(o, &PyId___name__);
    }
    #define _Py_IDENTIFIER(varname) _Py_static_string(PyId_##varname, #varname)
    """
    report = analyze(code)
    assert symbols(report, "ISO006") == {"PyId___name__", "PyId_get_event_loop", "PyId_sep"}


def test_itertools_like_static_types_of_311() -> None:
    code = """
    static PyTypeObject groupby_type;
    static PyTypeObject _grouper_type;
    #include "clinic/itertoolsmodule.c.h"
    static PyTypeObject groupby_type = {
        PyVarObject_HEAD_INIT(NULL, 0)
        "itertools.groupby",
        sizeof(groupbyobject),
    };
    static PyTypeObject _grouper_type = {
        PyVarObject_HEAD_INIT(NULL, 0)
        "itertools._grouper",
    };
    static struct PyModuleDef itertoolsmodule = {
        PyModuleDef_HEAD_INIT, "itertools", module_doc, 0, module_methods,
        itertoolsmodule_slots, NULL, NULL, NULL
    };
    PyMODINIT_FUNC
    PyInit_itertools(void)
    {
        return PyModuleDef_Init(&itertoolsmodule);
    }
    """
    report = analyze(code, "Modules/itertoolsmodule.c")
    assert sorted(t.name for t in report.types) == ["_grouper_type", "groupby_type"]
    assert all(t.module == "itertools" for t in report.types)
    assert symbols(report, "ISO001") == {"_grouper_type", "groupby_type"}


def test_static_type_readied_per_interpreter_is_info() -> None:
    code = """
    static PyTypeObject PyDateTime_DateType = {PyVarObject_HEAD_INIT(NULL, 0) "date"};
    static int init(PyInterpreterState *interp) {
        return _PyStaticType_InitForExtension(interp, &PyDateTime_DateType);
    }
    """
    [f] = rule_hits(analyze(code, "Modules/_datetimemodule.c"), "ISO001")
    assert f.severity == "info"


def test_gilstate_check_in_assert_is_fine() -> None:
    code = "static void f(void) {\n    assert(PyGILState_Check());\n}\n"
    assert rule_hits(analyze(code), "ISO011") == []


def test_prototypes_in_headers_are_not_calls() -> None:
    code = """
    PyAPI_FUNC(PyObject*) PyState_FindModule(PyModuleDef*);
    PyAPI_FUNC(PyGILState_STATE) PyGILState_Ensure(void);
    PyAPI_FUNC(int) PyStructSequence_InitType2(PyTypeObject *type, PyStructSequence_Desc *desc);
    PyAPI_FUNC(PyObject*) PyType_FromSpec(PyType_Spec*);
    """
    assert analyze(code, "Include/pystate.h").findings == []


def test_macro_body_with_continued_comment_lines_is_not_code() -> None:
    code = """
    #define _PyCode_DEF(SIZE) {                                  \\
        PyObject_VAR_HEAD                                        \\
        /* A comment spanning lines, each with a continuation    \\
         * that a naive directive reader loses.                  \\
         */                                                      \\
        PyObject *co_consts;                                     \\
        PyObject *co_names;                                      \\
    }
    static PyObject *real;
    """
    report = analyze(code, "Include/cpython/code.h")
    assert {f.symbol for f in report.findings} == {"real"}


def test_attribute_macro_before_a_function_name_is_not_a_variable() -> None:
    code = """
    static bool _Py_NO_SANITIZE_ADDRESS
    address_in_range(void *p, poolp pool)
    {
        return true;
    }
    static bool real_flag;
    """
    assert symbols(analyze(code, "Objects/obmalloc.c"), "ISO012") == {"real_flag"}


def test_skeleton_keeps_offsets_lines_and_file_scope_text() -> None:
    from bot.analysis.source import Source

    data = (
        b"static int f(void) {\n#ifdef X\n    return 1; /* { */\n#endif\n    return 0;\n}\n"
        b"static const int t[] = {\n#ifdef Y\n    1,\n#endif\n    2};\nstatic int g;\n"
    )
    sk = Source.from_bytes(data).skeleton()
    assert len(sk) == len(data)
    assert [i for i, c in enumerate(sk) if c == 10] == [i for i, c in enumerate(data) if c == 10]
    assert b"#ifdef X" in sk and b"#endif" in sk  # directives of a body are kept
    assert b"#ifdef Y" not in sk  # not inside an initializer (tree-sitter rejects them)
    assert b"return" not in sk and sk.endswith(b"static int g;\n")


def test_static_table_with_ifdef_entries_is_found() -> None:
    code = """
    struct constdef { const char *name; int value; };
    static struct constdef posix_constants_pathconf[] = {
    #ifdef _PC_ABI_AIO_XFER_MAX
        {"PC_ABI_AIO_XFER_MAX", _PC_ABI_AIO_XFER_MAX},
    #endif
        {"PC_LINK_MAX", _PC_LINK_MAX},
    };
    """
    assert symbols(analyze(code, "Modules/posixmodule.c"), "ISO012") == {"posix_constants_pathconf"}


def test_static_after_macro_invocations_without_semicolons() -> None:
    # typeobject.c: SLOT1(...) lines fold what follows into an expression in the tree.
    code = """
    SLOT1(slot_nb_inplace_add, __iadd__, PyObject *)
    SLOT1(slot_nb_inplace_subtract, __isub__, PyObject *)
    static PyObject *name_op[] = {
        &_Py_ID(__lt__),
        &_Py_ID(__le__),
    };
    """
    assert "name_op" in symbols(analyze(code, "Objects/typeobject.c"), "ISO005")


def test_static_types_readied_per_interpreter_from_a_table_are_info() -> None:
    code = """
    static PyTypeObject PyDateTime_DateType = {PyVarObject_HEAD_INIT(NULL, 0) "date"};
    static PyTypeObject Other_Type = {PyVarObject_HEAD_INIT(NULL, 0) "other"};
    static PyTypeObject * const capi_types[] = {
        &PyDateTime_DateType,
    };
    static int init_static_types(PyInterpreterState *interp) {
        for (size_t i = 0; i < Py_ARRAY_LENGTH(capi_types); i++) {
            PyTypeObject *type = capi_types[i];
            if (_PyStaticType_InitForExtension(interp, type) < 0) {
                return -1;
            }
        }
        return 0;
    }
    """
    hits = {f.symbol: f.severity for f in rule_hits(analyze(code), "ISO001")}
    assert hits == {"PyDateTime_DateType": "info", "Other_Type": "error"}
