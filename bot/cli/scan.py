"""`isolation-bot scan [PATH ...]`: analyse a CPython checkout, a folder or single files.

    isolation-bot scan ~/cpython --stdlib-only
    isolation-bot scan Modules/_cursesmodule.c --select ISO001,global-object
    isolation-bot scan . --format sarif --output isolation.sarif
    isolation-bot scan . --format github          # annotations in a GitHub Actions step
    isolation-bot scan - --stdin-filename Modules/foo.c < foo.c   # editors, formatters

Results are cached between runs (see --cache-dir); the scanned project's pyproject.toml may
hold a [tool.isolation-bot] table (bot.cli.projectconfig) which the flags override.

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
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.analysis.catalog import Catalog, CatalogError, load_catalog
from bot.analysis.model import Finding, TreeReport
from bot.cli.errors import EXIT_FINDINGS, EXIT_OK, CLIError
from bot.cli.projectconfig import (
    PathMatcher,
    ProjectConfig,
    exclude_matcher,
    load_project_config,
    split_patterns,
)

FORMATS = ("text", "json", "sarif", "github")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "scan",
        help="scan C sources for isolation problems",
        description="Scan a CPython checkout, a folder or single files for what stands between "
        "extension modules and isolated subinterpreters.",
        epilog="Exit status: 0 no error finding, 1 an error finding (new or known), "
        "2 usage error or unreadable path.",
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        default=None,
        help="files or folders (default: .); - reads one file from standard input",
    )
    p.add_argument(
        "--stdin-filename",
        metavar="PATH",
        help="with -: the path the standard input is analysed as (e.g. Modules/foo.c)",
    )
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
    add_cache_options(p)
    p.add_argument(
        "--exclude",
        action="append",
        metavar="PATTERNS",
        help="globs to leave out while walking folders; replaces the pyproject.toml's exclude",
    )
    p.add_argument(
        "--extend-exclude",
        action="append",
        metavar="PATTERNS",
        help="globs to leave out, in addition to exclude",
    )
    p.add_argument(
        "--force-exclude",
        action="store_true",
        help="apply the exclusions to files named on the command line too (pre-commit)",
    )
    p.set_defaults(handler=run)


def add_cache_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where analysis results are kept between runs "
        "(default: $XDG_CACHE_HOME/isolation-bot, else ~/.cache/isolation-bot)",
    )
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")


def open_cache(args: argparse.Namespace) -> Any:
    """The ResultCache the flags ask for, or None with --no-cache."""
    if args.no_cache:
        return None
    from bot.analysis.fingerprint import analyser_version
    from bot.scanner import ResultCache, default_cache_dir

    return ResultCache(args.cache_dir or default_cache_dir(), analyser_version())


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
    if fmt == "github":
        from bot.render.github import render_github

        return render_github(report)
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


def rule_selection(
    config: ProjectConfig, args: argparse.Namespace, catalog: Catalog
) -> tuple[set[str], set[str]]:
    """(select, ignore) in force, ruff's way: a later --select starts a new selection (the
    file's select and ignore no longer apply), --ignore adds to the ignore in force. An empty
    select means every rule."""
    where = f"{config.path}: [tool.isolation-bot]"
    select: set[str] = set()
    ignore: set[str] = set()
    if config.select is not None:
        select = parse_rule_list(config.select, catalog, f"{where} select")
    ignore = parse_rule_list(config.ignore, catalog, f"{where} ignore")
    if args.select:
        select, ignore = parse_rule_list(args.select, catalog, "--select"), set()
    ignore |= parse_rule_list(args.ignore, catalog, "--ignore")
    return select, ignore


def per_file_ignores(config: ProjectConfig, catalog: Catalog) -> list[tuple[PathMatcher, set[str]]]:
    where = f"{config.path}: [tool.isolation-bot] per-file-ignores"
    return [
        (PathMatcher(config.root, [pattern]), parse_rule_list(rules, catalog, f"{where}.{pattern}"))
        for pattern, rules in config.per_file_ignores.items()
    ]


def apply_per_file_ignores(
    findings: list[Finding], root: str, ignores: list[tuple[PathMatcher, set[str]]]
) -> list[Finding]:
    if not ignores:
        return findings
    kept = []
    for f in findings:
        abspath = os.path.join(root, *f.path.split("/"))
        if not any(f.rule in rules and m.matches(abspath) for m, rules in ignores):
            kept.append(f)
    return kept


def run(args: argparse.Namespace) -> int:
    try:
        catalog = load_catalog()
    except CatalogError as exc:
        raise CLIError(str(exc)) from exc
    from bot.scanner import scan_paths, scan_root, scan_source

    paths = list(args.paths) or ["."]
    stdin = paths == ["-"]
    if "-" in paths and not stdin:
        raise CLIError("- (standard input) cannot be combined with other paths")
    if stdin and not args.stdin_filename:
        raise CLIError("scan -: --stdin-filename is required (the path to analyse it as)")
    if args.stdin_filename and not stdin:
        raise CLIError("--stdin-filename needs - as the path")
    if not stdin:
        _check_paths(paths)
    if args.output:
        _check_output(Path(args.output))
    if stdin:
        root = scan_root([args.stdin_filename])
        if not os.path.isdir(root):
            root = os.getcwd()
    else:
        root = scan_root(paths)
    config = load_project_config(root)
    select, ignore = rule_selection(config, args, catalog)
    file_ignores = per_file_ignores(config, catalog)
    excluded = exclude_matcher(
        config,
        exclude=split_patterns(args.exclude) if args.exclude is not None else None,
        extend_exclude=split_patterns(args.extend_exclude),
    )
    cache = open_cache(args)
    if stdin:
        target = os.path.abspath(args.stdin_filename)
        rel = os.path.relpath(target, root).replace(os.sep, "/")
        if args.force_exclude and excluded.matches_or_inside(target):
            report = scan_source(rel, b"", root=root, cache=None)
            report = dataclasses.replace(report, findings=[], files=0)
        else:
            data = sys.stdin.buffer.read()
            report = scan_source(rel, data, root=root, stdlib_only=args.stdlib_only, cache=cache)
    else:
        progress = not args.no_progress and sys.stderr.isatty()
        report = scan_paths(
            paths,
            jobs=args.jobs,
            stdlib_only=args.stdlib_only,
            progress=progress,
            cache=cache,
            exclude=excluded.matches if excluded else None,
            force_exclude=excluded.matches_or_inside if args.force_exclude else None,
        )
    findings = report.findings
    if select or ignore:
        findings = filter_findings(findings, select, ignore)
    findings = apply_per_file_ignores(findings, root, file_ignores)
    if findings is not report.findings:
        report = dataclasses.replace(report, findings=findings)
    text = render(report, args.format, catalog, show_suppressed=args.show_suppressed)
    if args.output:
        write_report(Path(args.output), text)
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


def write_report(path: Path, text: str) -> None:
    """Write ``text`` to ``path``: a regular file (or a new one) through a temporary file and a
    rename, so an interrupted run never leaves half a report behind; anything else (a device
    such as /dev/null, a FIFO, a terminal) in place, because renaming over it would replace
    the device node itself with a regular file (as root, in a container's CI step)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        return
    _write_atomically(path, text)


def _write_atomically(path: Path, text: str) -> None:
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
