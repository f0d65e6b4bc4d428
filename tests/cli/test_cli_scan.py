"""`isolation-bot scan`: exit codes, every format, --output, --select/--ignore, known and
suppressed findings, unreadable paths; in-process through main() and once through the
installed console script."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from bot.analysis.catalog import load_catalog
from bot.analysis.model import Finding
from bot.cli.main import main
from bot.cli.scan import exit_status

REPO = Path(__file__).resolve().parents[2]
JSON_SCHEMA = json.loads((REPO / "docs/json-output.schema.json").read_text())
SARIF_SCHEMA = json.loads((REPO / "tests/data/sarif/sarif-schema-2.1.0.json").read_text())

CATALOG = load_catalog()
STATIC_TYPE = CATALOG["ISO001"].bad_example  # ISO001, error
GLOBAL_OBJECT = CATALOG["ISO005"].bad_example  # ISO005, error
PY_IDENTIFIER = CATALOG["ISO006"].bad_example  # ISO006, warning
CLEAN = CATALOG["ISO002"].fixed_example  # a multi-phase, per-interpreter-GIL module


def _checkout(tmp_path: Path, files: dict[str, str], to_fix: str = "") -> Path:
    """A miniature CPython checkout (the scanner roots reports at Include/Python.h)."""
    root = tmp_path / "cpython"
    (root / "Include").mkdir(parents=True)
    (root / "Include" / "Python.h").write_text("/* stand-in */\n")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if to_fix:
        tsv = root / "Tools" / "c-analyzer" / "cpython" / "globals-to-fix.tsv"
        tsv.parent.mkdir(parents=True)
        tsv.write_text("filename\tfuncname\tname\treason\n" + to_fix)
    return root


def _scan(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["scan", "--no-progress", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_tree_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _checkout(tmp_path, {"Modules/examplemodule.c": CLEAN})
    code, out, err = _scan(capsys, str(root))
    assert code == 0, out + err
    assert "No findings" in out
    assert re.search(r"^Multi-phase init: +100\.0% \(1/1\)", out, re.M)
    assert re.search(r"^Per-interpreter GIL: +100\.0% \(1/1\)", out, re.M)


def test_error_finding_exits_1_and_text_lists_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _checkout(tmp_path, {"Modules/a.c": STATIC_TYPE, "Modules/b.c": PY_IDENTIFIER})
    code, out, _ = _scan(capsys, str(root))
    assert code == 1
    lines = out.splitlines()
    assert any(
        line.startswith("Modules/a.c:") and ": ISO001 static-type " in line for line in lines
    )
    assert any(": ISO006 py-identifier " in line and line.endswith("[warning]") for line in lines)
    assert lines[-3].startswith("Multi-phase init:")


def test_warnings_alone_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _checkout(tmp_path, {"Modules/b.c": PY_IDENTIFIER})
    code, out, _ = _scan(capsys, str(root))
    assert code == 0
    assert "ISO006" in out


def test_scan_defaults_to_the_current_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _checkout(tmp_path, {"Modules/a.c": STATIC_TYPE})
    monkeypatch.chdir(root)
    code, out, _ = _scan(capsys)
    assert code == 1 and "Modules/a.c:" in out


@pytest.mark.parametrize(
    ("options", "rules_left", "code"),
    [
        (["--select", "ISO006"], {"ISO006"}, 0),
        (["--select", "py-identifier,static-type"], {"ISO006", "ISO001"}, 1),
        (["--select", "ISO006", "--select", "global-object"], {"ISO006", "ISO005"}, 1),
        (["--ignore", "ISO001,iso005"], {"ISO006"}, 0),
        (["--ignore", "static-type", "--ignore", "ISO006"], {"ISO005"}, 1),
        (["--select", "ISO001,ISO006", "--ignore", "ISO001"], {"ISO006"}, 0),
    ],
)
def test_select_and_ignore(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    rules_left: set[str],
    code: int,
) -> None:
    root = _checkout(
        tmp_path,
        {"Modules/a.c": STATIC_TYPE, "Modules/b.c": PY_IDENTIFIER, "Modules/c.c": GLOBAL_OBJECT},
    )
    status, out, _ = _scan(capsys, str(root), "--format", "json", *options)
    data = json.loads(out)
    assert {f["rule"] for f in data["findings"]} == rules_left
    assert status == code


def test_unknown_rule_in_select_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _checkout(tmp_path, {"Modules/a.c": STATIC_TYPE})
    code, out, err = _scan(capsys, str(root), "--select", "ISO001,no-such-rule")
    assert code == 2 and out == ""
    assert "--select: unknown rule 'no-such-rule'" in err


def test_json_format_is_valid_against_the_documented_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _checkout(tmp_path, {"Modules/a.c": STATIC_TYPE, "Modules/examplemodule.c": CLEAN})
    code, out, _ = _scan(capsys, str(root), "--format", "json")
    assert code == 1
    data = json.loads(out)
    jsonschema.validate(data, JSON_SCHEMA, cls=jsonschema.Draft202012Validator)
    assert [m["name"] for m in data["modules"]] == ["example"]
    assert {"name": "Counter_Type", "kind": "static"}.items() <= data["types"][0].items()
    assert data["findings"][0]["path"] == "Modules/a.c"


def test_sarif_format_to_a_file_is_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _checkout(tmp_path, {"Modules/a.c": STATIC_TYPE, "Modules/b.c": PY_IDENTIFIER})
    target = tmp_path / "out" / "report.sarif"
    target.parent.mkdir()
    code, out, _ = _scan(capsys, str(root), "--format", "sarif", "--output", str(target))
    assert code == 1 and out == ""
    log = json.loads(target.read_text())
    jsonschema.validate(log, SARIF_SCHEMA, cls=jsonschema.Draft4Validator)
    run = log["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == root.resolve().as_uri() + "/"
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert uris == {"Modules/a.c", "Modules/b.c"}
    assert [p.name for p in target.parent.iterdir()] == ["report.sarif"]  # no temp files left


def test_known_findings_count_unless_no_fail_known(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _checkout(
        tmp_path,
        {"Modules/a.c": STATIC_TYPE},
        to_fix="# static types\nModules/a.c\t-\tCounter_Type\t\n",
    )
    code, out, _ = _scan(capsys, str(root))
    assert code == 1
    assert "[known: globals-to-fix.tsv: static types]" in out
    code, out, _ = _scan(capsys, str(root), "--no-fail-known")
    assert code == 0


def test_suppressed_findings_never_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suppressed = GLOBAL_OBJECT.replace(
        "static PyObject *ExampleError = NULL;",
        "/* isolation-bot: ignore[ISO005] created once by the main interpreter */\n"
        "static PyObject *ExampleError = NULL;",
    )
    assert suppressed != GLOBAL_OBJECT
    root = _checkout(tmp_path, {"Modules/c.c": suppressed})
    code, out, _ = _scan(capsys, str(root))
    assert code == 0
    assert "1 suppressed (not shown)" in out and "ISO005" not in out
    code, out, _ = _scan(capsys, str(root), "--show-suppressed")
    assert "[suppressed: created once by the main interpreter]" in out


def test_exit_status_rule() -> None:
    def f(severity: str, status: str) -> Finding:
        return Finding("ISO001", "static-type", severity, "a.c", 1, 1, 1, 2, "x", "m", status)  # type: ignore[arg-type]

    assert exit_status([]) == 0
    assert exit_status([f("warning", "new"), f("info", "new")]) == 0
    assert exit_status([f("error", "suppressed")]) == 0
    assert exit_status([f("error", "new")]) == 1
    assert exit_status([f("error", "known")]) == 1
    assert exit_status([f("error", "known")], fail_known=False) == 0


# ---- bad paths -------------------------------------------------------------------------------


def test_missing_path_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _scan(capsys, str(tmp_path / "nope"))
    assert code == 2 and out == ""
    assert f"isolation-bot: error: {tmp_path / 'nope'}: no such file or directory" in err
    assert "Traceback" not in err


def test_non_c_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    code, _, err = _scan(capsys, str(notes))
    assert code == 2 and "not a C source file" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "secret.c"
    secret.write_text(STATIC_TYPE)
    secret.chmod(0)
    code, _, err = _scan(capsys, str(secret))
    assert code == 2 and "secret.c" in err and "Traceback" not in err


def test_scanner_error_becomes_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root ignores file modes, so the scanner's own refusal is simulated here.
    import bot.scanner

    def refuse(*args: object, **kwargs: object) -> None:
        raise bot.scanner.ScanError("Modules/x.c: permission denied")

    monkeypatch.setattr(bot.scanner, "scan_paths", refuse)
    root = _checkout(tmp_path, {"Modules/a.c": STATIC_TYPE})
    code, out, err = _scan(capsys, str(root))
    assert (code, out) == (2, "")
    assert "isolation-bot: error: Modules/x.c: permission denied" in err


def test_bad_output_path_fails_before_scanning_and_keeps_existing_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _checkout(tmp_path, {"Modules/a.c": STATIC_TYPE})
    code, _, err = _scan(capsys, str(root), "--output", str(tmp_path / "no" / "dir" / "r.json"))
    assert code == 2 and "does not exist" in err
    code, _, err = _scan(capsys, str(root), "--output", str(tmp_path))
    assert code == 2 and "is a directory" in err


# ---- the installed console script ------------------------------------------------------------


def test_installed_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("isolation-bot")
    if not script.exists():
        found = shutil.which("isolation-bot")
        if found is None:
            pytest.skip("the package is not installed in this environment (no console script)")
        script = Path(found)
    root = _checkout(tmp_path, {"Modules/a.c": STATIC_TYPE})
    proc = subprocess.run(
        [str(script), "scan", str(root), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""  # no progress bar when not on a terminal
    data = json.loads(proc.stdout)
    assert [f["rule"] for f in data["findings"]] == ["ISO001"]
    proc = subprocess.run(
        [str(script), "scan", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "no such file or directory" in proc.stderr and "Traceback" not in proc.stderr


def test_stdlib_only_leaves_out_test_modules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _checkout(
        tmp_path,
        {"Modules/_testfoo.c": STATIC_TYPE, "Modules/b.c": PY_IDENTIFIER},
    )
    code, out, _ = _scan(capsys, str(root), "--format", "json")
    assert {f["path"] for f in json.loads(out)["findings"]} == {"Modules/_testfoo.c", "Modules/b.c"}
    assert code == 0  # a test module's static type is info only
    code, out, _ = _scan(capsys, str(root), "--format", "json", "--stdlib-only")
    assert {f["path"] for f in json.loads(out)["findings"]} == {"Modules/b.c"}


def test_jobs_option_gives_the_same_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {f"Modules/m{i}.c": GLOBAL_OBJECT for i in range(20)}  # enough to go parallel
    root = _checkout(tmp_path, files)
    _, one, _ = _scan(capsys, str(root), "--format", "json", "--jobs", "1")
    _, two, _ = _scan(capsys, str(root), "--format", "json", "--jobs", "2")
    assert json.loads(one)["findings"] == json.loads(two)["findings"]
    assert len(json.loads(one)["findings"]) == 20
