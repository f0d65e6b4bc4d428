"""Patterns of older CPython trees (3.11 layout, hand-written snippets): the version gate of
ISO003, export-macro static types, module globals named like builtin exceptions, and the
_Py_IDENTIFIER era."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.scanner import python_version, scan_paths
from tests.analysis.helpers import analyze, rule_hits, symbols

MULTI_PHASE_NO_SLOT = b"""
static PyModuleDef_Slot spam_slots[] = {
    {Py_mod_exec, spam_exec},
    {0, NULL}
};
static struct PyModuleDef spam_def = {
    PyModuleDef_HEAD_INIT, "spam", NULL, 0, NULL, spam_slots, NULL, NULL, NULL
};
PyMODINIT_FUNC
PyInit_spam(void)
{
    return PyModuleDef_Init(&spam_def);
}
"""


def _checkout(root: Path, minor: int | None) -> Path:
    (root / "Include").mkdir(parents=True)
    (root / "Include" / "Python.h").write_text("/* */\n")
    if minor is not None:
        (root / "Include" / "patchlevel.h").write_text(
            "#define PY_MAJOR_VERSION        3\n"
            f"#define PY_MINOR_VERSION        {minor}\n"
            "#define PY_MICRO_VERSION        2\n"
        )
    (root / "Modules").mkdir()
    (root / "Modules" / "spammodule.c").write_bytes(MULTI_PHASE_NO_SLOT)
    return root


@pytest.mark.parametrize(("minor", "expected"), [(11, 0), (12, 1), (13, 1), (None, 1)])
def test_iso003_only_where_the_slot_exists(
    tmp_path: Path, minor: int | None, expected: int
) -> None:
    root = _checkout(tmp_path / "cpython", minor)
    report = scan_paths([str(root)], jobs=1)
    assert [(m.name, m.init) for m in report.modules] == [("spam", "multi-phase")]
    assert sum(f.rule == "ISO003" for f in report.findings) == expected


def test_python_version_from_patchlevel(tmp_path: Path) -> None:
    root = _checkout(tmp_path / "cpython", 11)
    assert python_version(str(root)) == (3, 11)
    assert python_version(str(tmp_path)) is None  # no Include/patchlevel.h
    (root / "Include" / "patchlevel.h").write_bytes(b"\xff\xfe garbage #define PY_MAJOR_VERSION")
    assert python_version(str(root)) is None


def test_static_type_exported_with_py_exported_symbol() -> None:
    code = """
    Py_EXPORTED_SYMBOL PyTypeObject _PyBufferView_Type = {
        PyVarObject_HEAD_INIT(NULL, 0)
        "_io._BufferView",
        sizeof(bufferview),
    };
    """
    r = analyze(code, "Modules/_io/bufview.c")
    assert [(t.name, t.kind) for t in r.types] == [("_PyBufferView_Type", "static")]
    assert symbols(r, "ISO001") == {"_PyBufferView_Type"}


EXC_GLOBAL = """
PyObject *PyExc_SpamArgError = NULL;
static PyObject *_PyExc_SpamInternal;
"""


def test_module_global_named_like_a_builtin_exception_is_reported() -> None:
    r = analyze(EXC_GLOBAL, "Modules/_spam/_spam.c")
    assert symbols(r, "ISO005") == {"PyExc_SpamArgError", "_PyExc_SpamInternal"}
    r = analyze(EXC_GLOBAL, "src/ext/errors.c")  # an extension project
    assert symbols(r, "ISO005") == {"PyExc_SpamArgError", "_PyExc_SpamInternal"}


def test_builtin_exception_objects_stay_allowed() -> None:
    r = analyze(EXC_GLOBAL, "Objects/exceptions.c")
    assert rule_hits(r, "ISO005") == []


def test_py_identifier_era() -> None:
    code = """
    _Py_IDENTIFIER(encode);
    static PyObject *
    spam_call(PyObject *self)
    {
        _Py_IDENTIFIER(close);
        _Py_static_string(PyId_empty, "");
        return _PyObject_CallMethodIdNoArgs(self, &PyId_close);
    }
    """
    r = analyze(code, "Modules/spammodule.c")
    assert symbols(r, "ISO006") >= {"PyId_encode", "PyId_close", "PyId_empty"}
