"""`isolation-bot scan [PATH ...]`: analyse a CPython checkout, a folder or single files.

    isolation-bot scan ~/cpython --stdlib-only
    isolation-bot scan Modules/_cursesmodule.c --select ISO001,global-object
    isolation-bot scan . --format sarif --output isolation.sarif

Exit status:
  0  no error-severity finding with status "new" or "known"
  1  at least one such finding ("known" counts: a row in globals-to-fix.tsv is a to-do, not
     an exemption; `--no-fail-known` makes only new errors count). Suppressed findings,
     warnings and info never count.
  2  usage error or unreadable path (a message on stderr, never a traceback)
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.analysis.catalog import Catalog, CatalogError, load_catalog
from bot.analysis.model import Finding, TreeReport
from bot.cli.main import EXIT_FINDINGS, EXIT_OK, CLIError

FORMATS = ("text", "json", "sarif")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "scan",
        help="scan C sources for isolation problems",
        description="Scan a CPython checkout, a folder or single files for what stands between "
        "extension modules and isolated subinterpreters.",
        epilog="Exit status: 0 no error finding, 1 an error finding (new or known), "
        "2 usage error or unreadable path.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", default=None, help="default: .")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here, not stdout")
    p.add_argument(
        "--select",
        action="append",
        metavar="RULES",
        help="only these rules (ids or names, comma-separated or repeated)",
    )
    p.add_argument(
        "--ignore",
        action="append",
        metavar="RULES",
        help="drop these rules (ids or names, comma-separated or repeated)",
    )
    p.add_argument(
        "--stdlib-only",
        action="store_true",
        help="leave out test and demo modules (_test*, xx*, _ctypes_test)",
    )
    p.add_argument("-j", "--jobs", type=_positive_int, metavar="N", help="worker processes")
    p.add_argument(
        "--no-fail-known",
        action="store_true",
        help='exit 0 when every error finding is "known" (listed in globals-to-fix.tsv)',
    )
    p.add_argument(
        "--show-suppressed",
        action="store_true",
        help="text format: list suppressed findings too",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    p.set_defaults(handler=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def parse_rule_list(values: Iterable[str] | None, catalog: Catalog, option: str) -> set[str]:
    """Rule ids from repeated/comma-separated ids or names; unknown ones are a usage error."""
    ids: set[str] = set()
    for value in values or ():
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            rule = catalog.get_rule(item)
            if rule is None:
                raise CLIError(
                    f"{option}: unknown rule {item!r} (run `isolation-bot rules` for the list)"
                )
            ids.add(rule.id)
    return ids


def filter_findings(findings: list[Finding], select: set[str], ignore: set[str]) -> list[Finding]:
    return [f for f in findings if (not select or f.rule in select) and f.rule not in ignore]


def exit_status(findings: Iterable[Finding], *, fail_known: bool = True) -> int:
    failing = {"new", "known"} if fail_known else {"new"}
    if any(f.severity == "error" and f.status in failing for f in findings):
        return EXIT_FINDINGS
    return EXIT_OK


def render(report: TreeReport, fmt: str, catalog: Catalog, *, show_suppressed: bool) -> str:
    if fmt == "json":
        from bot.render.json_report import render_json

        return render_json(report)
    if fmt == "sarif":
        from bot.render.sarif import render_sarif

        root = Path(report.root)
        root_uri = root.resolve().as_uri() if root.is_absolute() or root.exists() else None
        return render_sarif(report, catalog, root_uri=root_uri)
    from bot.render.text import render_text

    return render_text(report, show_suppressed=show_suppressed)


def _check_paths(paths: list[str]) -> None:
    # The scanner checks too (ScanError); checking first gives one clear message per path
    # before any work starts.
    for path in paths:
        p = Path(path)
        if not p.exists():
            raise CLIError(f"{path}: no such file or directory")
        if p.is_dir():
            try:
                next(iter(p.iterdir()), None)
            except OSError as exc:
                raise CLIError(f"{path}: cannot read directory ({exc.strerror})") from exc
        else:
            try:
                with p.open("rb"):
                    pass
            except OSError as exc:
                raise CLIError(f"{path}: cannot read file ({exc.strerror})") from exc


def run(args: argparse.Namespace) -> int:
    try:
        catalog = load_catalog()
    except CatalogError as exc:
        raise CLIError(str(exc)) from exc
    select = parse_rule_list(args.select, catalog, "--select")
    ignore = parse_rule_list(args.ignore, catalog, "--ignore")
    paths = list(args.paths) or ["."]
    _check_paths(paths)
    if args.output:
        _check_output(Path(args.output))
    from bot.scanner import scan_paths

    progress = not args.no_progress and sys.stderr.isatty()
    report = scan_paths(paths, jobs=args.jobs, stdlib_only=args.stdlib_only, progress=progress)
    if select or ignore:
        report = dataclasses.replace(
            report, findings=filter_findings(report.findings, select, ignore)
        )
    text = render(report, args.format, catalog, show_suppressed=args.show_suppressed)
    if args.output:
        _write_atomically(Path(args.output), text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return exit_status(report.findings, fail_known=not args.no_fail_known)


def _check_output(path: Path) -> None:
    """Fail before a long scan when --output cannot be written; never truncate it here."""
    if path.is_dir():
        raise CLIError(f"--output {path}: is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise CLIError(f"--output {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CLIError(f"--output {path}: permission denied")


def _write_atomically(path: Path, text: str) -> None:
    # A temporary file then a rename: an interrupted run never leaves half a report behind.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a report is not a secret
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
