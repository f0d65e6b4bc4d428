"""scan_paths on a small temporary CPython-like tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.scanner import ScanError, collect_files, scan_paths

MODULE = b"""
static struct PyModuleDef spam_def = {PyModuleDef_HEAD_INIT, "spam", NULL, -1};
static PyObject *SpamError;
PyMODINIT_FUNC
PyInit_spam(void)
{
    return PyModule_Create(&spam_def);
}
"""


def _tree(root: Path, n_extra: int = 0) -> Path:
    (root / "Include").mkdir(parents=True)
    (root / "Include" / "Python.h").write_text("/* */\n")
    mods = root / "Modules"
    (mods / "clinic").mkdir(parents=True)
    (mods / "spammodule.c").write_bytes(MODULE)
    (mods / "clinic" / "spammodule.c.h").write_bytes(b"static PyObject *generated;\n")
    (mods / "notes.txt").write_text("not C")
    for i in range(n_extra):
        (mods / f"extra{i}.c").write_bytes(b"static int flag%d;\n" % i)
    tsv = root / "Tools" / "c-analyzer" / "cpython"
    tsv.mkdir(parents=True)
    (tsv / "globals-to-fix.tsv").write_bytes(
        b"filename\tfuncname\tname\treason\n# static types\nModules/spammodule.c\t-\tSpamError\t-\n"
    )
    (tsv / "ignored.tsv").write_bytes(
        b"filename\tfuncname\tname\treason\nModules/extra0.c\t-\tflag0\tfine\n"
    )
    return root


def test_scan_of_a_checkout_uses_its_tsv_lists(tmp_path: Path) -> None:
    root = _tree(tmp_path / "cpython")
    report = scan_paths([str(root)], jobs=1)
    assert [m.name for m in report.modules] == ["spam"]
    by = {(f.rule, f.symbol): f for f in report.findings}
    assert by[("ISO005", "SpamError")].status == "known"
    assert by[("ISO002", "PyInit_spam")].path == "Modules/spammodule.c"
    assert not any("clinic" in f.path for f in report.findings)
    assert report.files == 2  # Include/Python.h and Modules/spammodule.c; clinic skipped


def test_scan_of_a_subfolder_keeps_checkout_relative_paths(tmp_path: Path) -> None:
    root = _tree(tmp_path / "cpython")
    report = scan_paths([str(root / "Modules" / "spammodule.c")], jobs=1)
    assert {f.path for f in report.findings} == {"Modules/spammodule.c"}


def test_parallel_scan_matches_serial_scan(tmp_path: Path) -> None:
    root = _tree(tmp_path / "cpython", n_extra=40)
    serial = scan_paths([str(root)], jobs=1)
    parallel = scan_paths([str(root)], jobs=2)
    assert serial.to_dict("t") == parallel.to_dict("t")
    flag0 = next(f for f in parallel.findings if f.symbol == "flag0")
    assert flag0.status == "suppressed"
    assert len([f for f in parallel.findings if f.rule == "ISO012"]) == 40


def test_folder_outside_a_checkout_is_its_own_root(tmp_path: Path) -> None:
    (tmp_path / "ext").mkdir()
    (tmp_path / "ext" / "m.cpp").write_bytes(b"static PyObject *cache_obj;\n")
    report = scan_paths([str(tmp_path / "ext")], jobs=1)
    assert [(f.path, f.symbol) for f in report.findings] == [("m.cpp", "cache_obj")]


def test_unreadable_or_missing_paths_raise_scan_error(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match="no such file"):
        scan_paths([str(tmp_path / "missing")])
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ScanError, match="not a C source"):
        scan_paths([str(tmp_path / "a.txt")])
    with pytest.raises(ScanError):
        collect_files([])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_directory(tmp_path: Path) -> None:
    d = tmp_path / "locked"
    d.mkdir()
    d.chmod(0)
    try:
        with pytest.raises(ScanError, match="permission denied"):
            scan_paths([str(d)])
    finally:
        d.chmod(0o755)


def test_same_content_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.scanner as scanner

    calls: list[str] = []
    real = scanner.analyze_file

    def counting(path: str, data: bytes):  # type: ignore[no-untyped-def]
        calls.append(path)
        return real(path, data)

    monkeypatch.setattr(scanner, "analyze_file", counting)
    scanner._CACHE.clear()
    (tmp_path / "a.c").write_bytes(b"static PyObject *x;\n")
    first = scan_paths([str(tmp_path / "a.c")], jobs=1)
    second = scan_paths([str(tmp_path / "a.c")], jobs=1)
    assert calls == ["a.c"] and first.findings == second.findings


def test_pool_failure_falls_back_to_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.scanner as scanner

    def no_pool(jobs: int):  # type: ignore[no-untyped-def]
        raise OSError("no /dev/shm")

    monkeypatch.setattr(scanner, "_pool", no_pool)
    root = _tree(tmp_path / "cpython", n_extra=20)
    report = scan_paths([str(root)], jobs=2)
    assert len([f for f in report.findings if f.rule == "ISO012"]) == 20


def test_reports_are_json_serialisable(tmp_path: Path) -> None:
    import json

    root = _tree(tmp_path / "cpython")
    report = scan_paths([str(root)], jobs=1)
    data = json.loads(json.dumps(report.to_dict("test")))
    assert data["modules"][0]["name"] == "spam"


def test_a_whole_checkout_skips_tools_and_lib(tmp_path: Path) -> None:
    root = _tree(tmp_path / "cpython")
    for sample in ("Tools/peg_generator/peg_extension/peg_extension.c", "Lib/test/ext/m.c"):
        (root / sample).parent.mkdir(parents=True, exist_ok=True)
        (root / sample).write_bytes(MODULE.replace(b"spam", b"sample"))
    whole = scan_paths([str(root)], jobs=1)
    assert [m.name for m in whole.modules] == ["spam"]
    # Asked for by name, a folder outside the isolation area is still scanned.
    tools = scan_paths([str(root / "Tools" / "peg_generator")], jobs=1)
    assert [m.name for m in tools.modules] == ["sample"]
