"""build_tree_report: multi-file modules, TSV rows, metrics (all / stdlib), stdlib_only."""

from __future__ import annotations

import textwrap

from bot.analysis import analyze_file, build_tree_report, compute_summary, parse_tsv
from bot.analysis.model import ModuleInfo, TypeInfo


def _file(path: str, code: str):  # type: ignore[no-untyped-def]
    return analyze_file(path, textwrap.dedent(code).encode())


MULTI = """
static PyModuleDef_Slot {n}_slots[] = {{
    {{Py_mod_exec, exec}},
    {{Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED}},
    {{0, NULL}}
}};
static struct PyModuleDef {n}_def = {{
    PyModuleDef_HEAD_INIT, .m_name = "{n}", .m_slots = {n}_slots,
}};
PyMODINIT_FUNC
PyInit_{n}(void)
{{
    return PyModuleDef_Init(&{n}_def);
}}
"""
SINGLE = """
static struct PyModuleDef {n}_def = {{PyModuleDef_HEAD_INIT, "{n}", NULL, -1}};
PyMODINIT_FUNC
PyInit_{n}(void)
{{
    return PyModule_Create(&{n}_def);
}}
"""


def _tree(**kwargs):  # type: ignore[no-untyped-def]
    reports = [
        _file("Modules/_io/_iomodule.c", MULTI.format(n="_io")),
        _file("Modules/_io/fileio.c", 'static PyType_Spec fileio_spec = {"_io.FileIO"};\n'),
        _file("Modules/_sqlite/module.c", MULTI.format(n="_sqlite3")),
        _file("Modules/_sqlite/cursor.c", 'static PyType_Spec cursor_spec = {"c"};\n'),
        _file("Modules/_testcapimodule.c", SINGLE.format(n="_testcapi")),
        _file(
            "Modules/_testcapi/heaptype.c",
            'static PyTypeObject Test_Type = {PyVarObject_HEAD_INIT(NULL, 0) "t"};\n',
        ),
        _file(
            "Modules/readline.c",
            SINGLE.format(n="readline") + "static PyObject *completer;\nstatic int flag;\n",
        ),
        _file("Modules/_decimal/libmpdec/mpdecimal.c", "static PyObject *vendored;\n"),
        _file("Objects/listobject.c", "PyTypeObject PyList_Type = {0};\n"),
    ]
    return build_tree_report(".", reports, **kwargs)


def test_types_are_attributed_to_multi_file_modules() -> None:
    tree = _tree()
    modules = {t.name: t.module for t in tree.types}
    assert modules == {
        "fileio_spec": "_io",
        "cursor_spec": "_sqlite3",
        "Test_Type": "_testcapi",
        "PyList_Type": None,
    }
    assert next(t for t in tree.types if t.name == "Test_Type").is_test


def test_excluded_code_is_never_reported() -> None:
    tree = _tree()
    assert not [f for f in tree.findings if "libmpdec" in f.path]
    assert tree.files == 8  # the vendored file is skipped


def test_metrics_all_and_stdlib() -> None:
    s = _tree().summary
    # Units: _io, _sqlite3 (multi, per-interpreter GIL), _testcapi, readline (single).
    assert s.multi_phase.all.to_dict() == {"done": 2, "total": 4, "percent": 50.0}
    assert s.multi_phase.stdlib.to_dict() == {"done": 2, "total": 3, "percent": 66.7}
    assert (s.per_interpreter_gil.all.done, s.per_interpreter_gil.all.total) == (2, 4)
    # Heap types count in Modules/ only; the static builtin PyList_Type never counts.
    assert (s.heap_types.all.done, s.heap_types.all.total) == (2, 3)
    assert (s.heap_types.stdlib.done, s.heap_types.stdlib.total) == (2, 2)


def test_metrics_of_an_empty_tree_are_complete_not_a_division_error() -> None:
    s = compute_summary([], [])
    assert s.multi_phase.all.percent == 100.0 and s.multi_phase.all.total == 0


def test_metric_counts_types_anywhere_outside_cpython() -> None:
    types = [
        TypeInfo("A", "src/a.c", 1, "static", None),
        TypeInfo("B_spec", "src/b.c", 1, "heap", None),
    ]
    mods = [ModuleInfo("a", "src/a.c", 1, "multi-phase", "unspecified", False)]
    s = compute_summary(mods, types)
    assert (s.heap_types.all.done, s.heap_types.all.total) == (1, 2)
    assert (s.per_interpreter_gil.all.done, s.multi_phase.all.done) == (0, 1)


IGNORED = b"""filename\tfuncname\tname\treason
#-----------------------
# process-global resources

Modules/readline.c\t-\tflag\tset once, read-only afterwards
Modules/gone.c\t-\tstale_row\t-
malformed row without tabs
"""
TO_FIX = b"""filename\tfuncname\tname\treason
##################################
# global objects to fix in extension modules

##-----------------------
## static types

Modules/readline.c\t-\tcompleter\t-
Modules/readline.c\tsome_func\tlocal_static\t-
"""


def test_tsv_parsing_keeps_sections_and_tolerates_bad_rows() -> None:
    rows = parse_tsv(TO_FIX)
    assert [(r.filename, r.funcname, r.name, r.section) for r in rows] == [
        ("Modules/readline.c", None, "completer", "static types"),
        ("Modules/readline.c", "some_func", "local_static", "static types"),
    ]
    ignored = parse_tsv(IGNORED)
    assert [r.name for r in ignored] == ["flag", "stale_row"]
    assert ignored[0].reason == "set once, read-only afterwards"
    assert parse_tsv(None) == [] and parse_tsv(b"\xff\xfe garbage") == []


def test_tsv_rows_mark_findings_known_or_suppressed() -> None:
    tree = _tree(ignored_tsv=IGNORED, globals_to_fix_tsv=TO_FIX)
    by_symbol = {f.symbol: f for f in tree.findings if f.path == "Modules/readline.c"}
    assert by_symbol["flag"].status == "suppressed"
    assert "set once" in (by_symbol["flag"].status_reason or "")
    assert by_symbol["completer"].status == "known"
    assert "static types" in (by_symbol["completer"].status_reason or "")
    assert by_symbol["PyInit_readline"].status == "new"


def test_stdlib_only_drops_test_modules_but_keeps_both_metric_variants() -> None:
    full = _tree()
    std = _tree(stdlib_only=True)
    assert {m.name for m in std.modules} == {"_io", "_sqlite3", "readline"}
    assert not any(f.path.startswith("Modules/_test") for f in std.findings)
    assert any(f.path.startswith("Modules/_test") for f in full.findings)
    assert std.summary == full.summary


def test_tree_report_json_contract() -> None:
    d = _tree().to_dict("0")
    assert d["schema_version"] == 1
    assert set(d["summary"]) == {"multi_phase", "heap_types", "per_interpreter_gil"}
    assert {"name", "path", "line", "init", "multiple_interpreters", "is_test"} <= set(
        d["modules"][0]
    )
