"""Module and type inventory of single files: names, init style, slots, state, test flags."""

from __future__ import annotations

from .helpers import analyze

SINGLE = """
static struct PyModuleDef readline_module = {PyModuleDef_HEAD_INIT, "readline", NULL, 0};
static PyObject *make(void) { return PyModule_Create(&readline_module); }
PyMODINIT_FUNC
PyInit_readline(void)
{
    PyObject *m = make();  /* created in a helper: depth <= 2 is followed */
    return m;
}
"""


def test_single_phase_module_created_in_a_helper() -> None:
    [m] = analyze(SINGLE, "Modules/readline.c").modules
    assert (m.name, m.init, m.multiple_interpreters) == ("readline", "single-phase", None)
    assert m.init_function == "PyInit_readline" and m.def_name == "readline_module"
    assert m.line == 4 and not m.is_test


def test_initfunc_macro_resolves_to_the_last_definition() -> None:
    code = """
    #ifdef MS_WINDOWS
    #  define INITFUNC PyInit_nt
    #else
    #  define INITFUNC PyInit_posix
    #endif
    static PyModuleDef_Slot posixmodile_slots[] = {
        {Py_mod_exec, posixmodule_exec},
        {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
        {0, NULL}
    };
    static struct PyModuleDef posixmodule = {
        PyModuleDef_HEAD_INIT,
        .m_name = "posix",
        .m_size = sizeof(_posixstate),
        .m_slots = posixmodile_slots,
        .m_traverse = _posix_traverse,
        .m_clear = _posix_clear,
        .m_free = _posix_free,
    };
    PyMODINIT_FUNC
    INITFUNC(void)
    {
        return PyModuleDef_Init(&posixmodule);
    }
    """
    [m] = analyze(code, "Modules/posixmodule.c").modules
    assert (m.name, m.init_function) == ("posix", "INITFUNC")
    assert m.multiple_interpreters == "per-interpreter-gil"
    assert m.has_state and m.has_gc_hooks


def test_modinit_func_name_macro() -> None:
    code = """
    #define MODULE_NAME _interpreters
    #define MODULE_NAME_STR Py_STRINGIFY(MODULE_NAME)
    #define MODINIT_FUNC_NAME RESOLVE_MODINIT_FUNC_NAME(MODULE_NAME)
    static struct PyModuleDef moduledef = {
        .m_base = PyModuleDef_HEAD_INIT, .m_name = MODULE_NAME_STR, .m_slots = module_slots,
    };
    static PyModuleDef_Slot module_slots[] = {
        {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED},
        {0, NULL},
    };
    PyMODINIT_FUNC
    MODINIT_FUNC_NAME(void)
    {
        return PyModuleDef_Init(&moduledef);
    }
    """
    [m] = analyze(code, "Modules/_interpretersmodule.c").modules
    assert m.name == "_interpreters" and m.multiple_interpreters == "supported"


def test_init_returning_no_module_is_dropped() -> None:
    code = """
    PyMODINIT_FUNC
    PyInit__testmultiphase_export_null(void)
    {
        return NULL;
    }
    """
    assert analyze(code, "Modules/_testmultiphase.c").modules == []


def test_prototype_is_not_an_init() -> None:
    assert analyze("PyMODINIT_FUNC PyInit_spam(void);\n", "Modules/spam.h").modules == []


def test_test_and_demo_modules_are_flagged() -> None:
    code = SINGLE.replace("readline", "xxsubtype")
    [m] = analyze(code, "Modules/xxsubtype.c").modules
    assert m.is_test


def test_type_inventory_static_and_heap_with_module() -> None:
    code = """
    static PyTypeObject Old_Type = {PyVarObject_HEAD_INIT(NULL, 0) "spam.Old"};
    static PyType_Spec New_spec = {"spam.New", 0, 0, Py_TPFLAGS_DEFAULT, New_slots};
    static PyType_Spec *not_a_spec;
    extern PyType_Spec Declared_spec;
    """ + SINGLE.replace("readline", "spam")
    report = analyze(code, "Modules/spam.c")
    assert [(t.name, t.kind, t.module, t.line) for t in report.types] == [
        ("Old_Type", "static", "spam", 2),
        ("New_spec", "heap", "spam", 3),
    ]


def test_cjk_macro_init_is_resolved_with_its_header() -> None:
    from bot.analysis import analyze_file, build_tree_report

    header = b"""
    #define I_AM_A_MODULE_FOR(loc)                                  \\
        static struct PyModuleDef _cjk_module = {                   \\
            PyModuleDef_HEAD_INIT,                                  \\
            .m_name = "_codecs_"#loc,                               \\
            .m_size = sizeof(cjkcodecs_module_state),               \\
            .m_slots = _cjk_slots,                                  \\
            .m_free = _cjk_free,                                    \\
        };                                                          \\
        PyMODINIT_FUNC                                              \\
        PyInit__codecs_##loc(void)                                  \\
        {                                                           \\
            return PyModuleDef_Init(&_cjk_module);                  \\
        }
    static struct PyModuleDef_Slot _cjk_slots[] = {
        {Py_mod_exec, _cjk_exec},
        {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
        {0, NULL}
    };
    """
    source = b'#include "cjkcodecs.h"\nI_AM_A_MODULE_FOR(jp)\n'
    c_report = analyze_file("Modules/cjkcodecs/_codecs_jp.c", source)
    [m] = c_report.modules
    assert (m.name, m.init) == ("_codecs_jp", "multi-phase")
    h_report = analyze_file("Modules/cjkcodecs/cjkcodecs.h", header)
    assert h_report.modules == []  # the macro definition itself is not a module
    tree = build_tree_report(".", [c_report, h_report])
    [m] = tree.modules
    assert m.multiple_interpreters == "per-interpreter-gil" and m.has_state
    assert not [f for f in tree.findings if f.rule == "ISO003"]


def test_cjk_module_without_header_slot_gets_iso003_from_the_tree_pass() -> None:
    from bot.analysis import analyze_file, build_tree_report

    c_report = analyze_file("Modules/cjkcodecs/_codecs_kr.c", b"I_AM_A_MODULE_FOR(kr)\n")
    tree = build_tree_report(".", [c_report])
    assert [(f.rule, f.symbol) for f in tree.findings] == [("ISO003", "PyInit__codecs_kr")]
