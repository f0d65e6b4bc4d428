"""`scan` where contributors work: [tool.isolation-bot] in pyproject.toml, --format github,
standard input, and --output to files, devices and FIFOs."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from bot.analysis.catalog import load_catalog
from bot.analysis.model import Finding
from bot.analysis.paths import glob_regex
from bot.cli import scan as scan_cli
from bot.cli.main import main
from bot.cli.projectconfig import PathMatcher
from bot.render.github import command, escape_data, escape_property

CATALOG = load_catalog()
STATIC_TYPE = CATALOG["ISO001"].bad_example  # ISO001 error
GLOBAL_OBJECT = CATALOG["ISO005"].bad_example  # ISO005 error on ExampleError
PY_IDENTIFIER = CATALOG["ISO006"].bad_example  # ISO006 warning


def _project(tmp_path: Path, files: dict[str, str], config: str | None = None) -> Path:
    """An extension project: sources under src/, maybe a pyproject.toml."""
    root = tmp_path / "ext"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    if config is not None:
        (root / "pyproject.toml").write_text(config)
    return root


def _scan(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict, str]:
    code = main(["scan", "--no-progress", "--no-cache", "--format", "json", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else {}), err


def _rules(doc: dict) -> set[tuple[str, str]]:
    return {(f["path"], f["rule"]) for f in doc["findings"] if f["status"] != "suppressed"}


TWO_FILES = {"src/a.c": GLOBAL_OBJECT + STATIC_TYPE, "src/bundled/b.c": GLOBAL_OBJECT}


# --- pyproject.toml -------------------------------------------------------------------------


def test_select_and_ignore_from_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project(tmp_path, TWO_FILES, '[tool.isolation-bot]\nselect = ["global-object"]\n')
    code, doc, err = _scan(capsys, str(root))
    assert code == 1, err
    assert _rules(doc) == {("src/a.c", "ISO005"), ("src/bundled/b.c", "ISO005")}

    (root / "pyproject.toml").write_text('[tool.isolation-bot]\nignore = ["ISO005"]\n')
    _, doc, _ = _scan(capsys, str(root))
    assert "ISO005" not in {r for _, r in _rules(doc)}
    assert ("src/a.c", "ISO001") in _rules(doc)


def test_command_line_overrides_the_file_as_ruff_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = '[tool.isolation-bot]\nselect = ["ISO001"]\nignore = ["ISO005"]\n'
    root = _project(tmp_path, TWO_FILES, config)
    # --select starts a new selection: the file's select and ignore no longer apply.
    _, doc, _ = _scan(capsys, str(root), "--select", "ISO005")
    assert {r for _, r in _rules(doc)} == {"ISO005"}
    # --ignore adds to the file's.
    _, doc, _ = _scan(capsys, str(root), "--ignore", "ISO001")
    assert _rules(doc) == set()


def test_exclude_and_extend_exclude(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path, TWO_FILES, '[tool.isolation-bot]\nextend-exclude = ["bundled"]\n')
    _, doc, _ = _scan(capsys, str(root))
    assert {p for p, _ in _rules(doc)} == {"src/a.c"}
    (root / "pyproject.toml").write_text('[tool.isolation-bot]\nexclude = ["src/a.c"]\n')
    _, doc, _ = _scan(capsys, str(root))
    assert {p for p, _ in _rules(doc)} == {"src/bundled/b.c"}
    # --exclude replaces the file's exclude; --extend-exclude adds.
    _, doc, _ = _scan(capsys, str(root), "--exclude", "b.c")
    assert {p for p, _ in _rules(doc)} == {"src/a.c"}
    _, doc, _ = _scan(capsys, str(root), "--extend-exclude", "src/**/b.c")
    assert _rules(doc) == set()


def test_files_named_on_the_command_line_need_force_exclude(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project(tmp_path, TWO_FILES, '[tool.isolation-bot]\nexclude = ["bundled"]\n')
    named = str(root / "src" / "bundled" / "b.c")
    code, doc, _ = _scan(capsys, named)
    assert code == 1 and _rules(doc)
    code, doc, _ = _scan(capsys, named, "--force-exclude")
    assert code == 0 and _rules(doc) == set()


def test_per_file_ignores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = '[tool.isolation-bot.per-file-ignores]\n"src/bundled/*.c" = ["global-object"]\n'
    root = _project(tmp_path, TWO_FILES, config)
    _, doc, _ = _scan(capsys, str(root))
    assert ("src/bundled/b.c", "ISO005") not in _rules(doc)
    assert ("src/a.c", "ISO005") in _rules(doc)


def test_the_file_is_found_from_the_scan_root_upwards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project(tmp_path, TWO_FILES, '[tool.isolation-bot]\nselect = ["ISO001"]\n')
    (root / "src" / "pyproject.toml").write_text("[project]\nname = 'no-table-here'\n")
    _, doc, _ = _scan(capsys, str(root / "src"))
    assert {r for _, r in _rules(doc)} == {"ISO001"}


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ('select = "ISO001"', "select"),
        ("ignore = [1]", "ignore"),
        ('exclude = "bundled"', "exclude"),
        ("extend-exclude = 3", "extend-exclude"),
        ('per-file-ignores = ["x"]', "per-file-ignores"),
        ('per-file-ignores = { "a.c" = "ISO001" }', "per-file-ignores.a.c"),
        ('selct = ["ISO001"]', "selct"),
        ('select = ["ISO999"]', "select"),
        ('per-file-ignores = { "a.c" = ["nonsense"] }', "per-file-ignores.a.c"),
    ],
)
def test_a_malformed_table_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str, named: str
) -> None:
    root = _project(tmp_path, TWO_FILES, f"[tool.isolation-bot]\n{config}\n")
    code, _, err = _scan(capsys, str(root))
    assert code == 2
    assert named in err and "pyproject.toml" in err and "Traceback" not in err


def test_invalid_toml_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path, TWO_FILES, "[tool.isolation-bot]\nselect = [\n")
    code, _, err = _scan(capsys, str(root))
    assert code == 2 and "cannot read" in err


def test_glob_patterns() -> None:
    assert glob_regex("*.c").match("a.c") and not glob_regex("*.c").match("d/a.c")
    assert glob_regex("src/**/gen_*.c").match("src/gen_x.c")
    assert glob_regex("src/**/gen_*.c").match("src/a/b/gen_x.c")
    assert glob_regex("file[0-9].c").match("file3.c")
    assert not glob_regex("file[!0-9].c").match("file3.c")
    m = PathMatcher("/p", ["bundled", "src/*.h"])
    assert m.matches("/p/a/bundled") and m.matches("/p/src/x.h")
    assert not m.matches("/p/lib/src/x.h")
    assert m.matches_or_inside("/p/a/bundled/deep/x.c")


# --- --format github ------------------------------------------------------------------------


def _finding(**kw: object) -> Finding:
    base = dict(
        rule="ISO005",
        name="global-object",
        severity="error",
        path="src/a.c",
        line=3,
        column=18,
        end_line=3,
        end_column=30,
        symbol="ExampleError",
        message="global",
    )
    base.update(kw)
    return Finding(**base)  # type: ignore[arg-type]


def test_workflow_command_escaping() -> None:
    assert escape_data("100%\r\nnext") == "100%25%0D%0Anext"
    assert escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
    line = command(_finding(path="odd,name:x.c", message="50% of\nit: a, b"))
    assert line == (
        "::error file=odd%2Cname%3Ax.c,line=3,endLine=3,col=18,endColumn=30,"
        "title=ISO005 global-object::50%25 of%0Ait: a, b"
    )
    assert command(_finding(severity="warning")).startswith("::warning ")
    assert command(_finding(severity="info")).startswith("::notice ")
    known = command(_finding(status="known", status_reason="globals-to-fix.tsv: x"))
    assert "title=ISO005 global-object (known)" in known and "[known%3A" not in known


def test_github_format_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path, {"src/a.c": GLOBAL_OBJECT + PY_IDENTIFIER})
    os.chdir(root)
    try:
        code = main(["scan", "--no-progress", "--no-cache", "--format", "github", "src"])
    finally:
        os.chdir(tmp_path)
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    assert lines and all(line.startswith(("::error ", "::warning ")) for line in lines)
    assert any(line.startswith("::error file=src/a.c,line=") for line in lines)
    assert any(line.startswith("::warning file=src/a.c,") for line in lines)


# --- standard input -------------------------------------------------------------------------


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_stdin_is_analysed_as_the_given_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "cpython"
    (root / "Include").mkdir(parents=True)
    (root / "Include" / "Python.h").write_text("/* stand-in */\n")
    (root / "Modules").mkdir()
    monkeypatch.chdir(root)
    _stdin(monkeypatch, GLOBAL_OBJECT.encode())
    code, doc, err = _scan(capsys, "-", "--stdin-filename", "Modules/foo.c")
    assert code == 1, err
    assert {(f["path"], f["rule"]) for f in doc["findings"]} >= {("Modules/foo.c", "ISO005")}
    assert not (root / "Modules" / "foo.c").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-"], "--stdin-filename is required"),
        (["-", "src"], "cannot be combined"),
        (["src", "--stdin-filename", "a.c"], "needs - as the path"),
        (["-", "--stdin-filename", "notes.txt"], "not a C source file"),
    ],
)
def test_stdin_usage_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    message: str,
) -> None:
    _project(tmp_path, {"src/a.c": GLOBAL_OBJECT})
    monkeypatch.chdir(tmp_path / "ext")
    _stdin(monkeypatch, b"int x;\n")
    code, _, err = _scan(capsys, *argv)
    assert code == 2 and message in err


# --- --output -------------------------------------------------------------------------------


def test_output_to_a_regular_file_is_atomic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    renamed: list[str] = []
    real_replace = os.replace

    def spy(src: str, dst: str | Path) -> None:
        renamed.append(str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    scan_cli.write_report(target, "new\n")
    assert target.read_text() == "new\n" and renamed == [str(target)]
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_output_to_a_device_is_written_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_rename(*_: object) -> None:
        raise AssertionError("a device must never be replaced by a rename")

    monkeypatch.setattr(scan_cli, "_write_atomically", no_rename)
    monkeypatch.setattr(os, "replace", no_rename)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    scan_cli.write_report(Path(os.devnull), "report\n")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_output_to_a_fifo_is_written_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    root = _project(tmp_path, {"src/a.c": GLOBAL_OBJECT})
    code = main(
        ["scan", "--no-progress", "--no-cache", "--format", "json", "-o", str(fifo), str(root)]
    )
    reader.join(timeout=30)
    assert code == 1
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(received[0])["findings"]
    assert capsys.readouterr().out == ""
