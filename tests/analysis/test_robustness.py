"""analyze_file never raises: odd bytes, huge files, binary and truncated input."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.analysis import MAX_FILE_BYTES, FileReport, analyze_file

C_TOKENS = st.sampled_from(
    [
        b"static ",
        b"PyObject ",
        b"*",
        b"x",
        b" = ",
        b"{",
        b"}",
        b";",
        b"\n",
        b"#ifdef X\n",
        b"#else\n",
        b"#endif\n",
        b"/*",
        b"*/",
        b'"',
        b"'",
        b"\\\n",
        b"PyTypeObject T = {",
        b"PyMODINIT_FUNC PyInit_a(void) {",
        b"PyModuleDef_Init(&d)",
        b"PyType_Spec s = {",
        b"#define M(a) a\n",
        b"(",
        b")",
        b",",
        b"\x00",
        b"\xff",
        b'extern "C" {',
    ]
)


def _check(report: FileReport, path: str) -> None:
    assert isinstance(report, FileReport) and report.path == path
    # Never raising is the floor; the analyser should not even hit its own safety net.
    assert not any("internal error" in n for n in report.notes), report.notes
    for f in report.findings:
        assert f.line >= 1 and f.column >= 1 and f.end_line >= f.line


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    _check(analyze_file("Modules/fuzz.c", data), "Modules/fuzz.c")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(C_TOKENS, max_size=80).map(b"".join))
def test_c_like_token_soup_never_crashes(data: bytes) -> None:
    _check(analyze_file("Modules/soup.c", data), "Modules/soup.c")


def test_empty_file_gets_a_note() -> None:
    r = analyze_file("Modules/empty.c", b"")
    assert r.findings == [] and any("could not analyse fully: empty" in n for n in r.notes)


def test_invalid_utf8_is_analysed_with_a_note() -> None:
    r = analyze_file("Modules/latin1.c", b"/* caf\xe9 */\nstatic PyObject *x;\n")
    assert [f.symbol for f in r.findings] == ["x"]
    assert any("invalid UTF-8" in n for n in r.notes)


def test_nul_bytes_are_analysed_with_a_note() -> None:
    r = analyze_file("Modules/nul.c", b"static PyObject *x;\x00\x00\n")
    assert [f.symbol for f in r.findings] == ["x"]
    assert any("NUL" in n for n in r.notes)


def test_truncated_file_keeps_what_precedes_the_cut() -> None:
    code = b"static PyObject *before;\nstatic int f(void) {\n    if (x) {\n        return"
    r = analyze_file("Modules/cut.c", code)
    assert "before" in {f.symbol for f in r.findings}
    assert any("unbalanced" in n for n in r.notes)


def test_oversized_file_is_skipped_with_the_reason() -> None:
    data = b"static PyObject *x;\n" * (MAX_FILE_BYTES // 20 + 10)
    r = analyze_file("Modules/huge.c", data)
    assert r.skipped and "too large" in r.skipped
    assert r.findings == [] and r.notes


def test_deeply_nested_input_does_not_recurse_to_death() -> None:
    data = b"static int f(void) {" + b"{" * 20000 + b"}" * 20000 + b"}\nstatic int g;\n"
    r = analyze_file("Modules/deep.c", data)
    assert "g" in {f.symbol for f in r.findings}


def test_non_bytes_input_is_a_note_not_an_exception() -> None:
    r = analyze_file("Modules/x.c", "text instead of bytes")  # type: ignore[arg-type]
    assert r.notes and r.findings == []


def test_excluded_paths_are_skipped_without_parsing() -> None:
    for path in (
        "Modules/clinic/spam.c.h",
        "Modules/expat/xmlparse.c",
        "Modules/_decimal/libmpdec/mpdecimal.c",
        "Modules/unicodedata_db.h",
        "Modules/cjkcodecs/mappings_jp.h",
        "Objects/mimalloc/alloc.c",
        "Python/bytecodes.c",
        "Modules/_hacl/Hacl_Hash_MD5.c",
    ):
        r = analyze_file(path, b"static PyObject *x;\n")
        assert r.skipped and r.findings == [], path
