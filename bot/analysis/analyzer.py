"""analyze_file: one file's bytes to a FileReport. Pure, synchronous, never raises."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from bot.analysis.branches import Branch, branch_note, branches
from bot.analysis.catalog import load_catalog
from bot.analysis.context import FileContext
from bot.analysis.cparse import parse
from bot.analysis.deadline import TIMEOUT_REASON_PREFIX, AnalysisTimeout, Deadline
from bot.analysis.inventory import build_inventory, is_cython_output
from bot.analysis.model import FileReport, Finding
from bot.analysis.paths import (
    CYTHON_REASON,
    PLAIN_C_REASON,
    STANDALONE_PROGRAM_REASON,
    classify_path,
    rule_exempt,
    rule_info,
)
from bot.analysis.rules import ALL_DETECTORS, Hit
from bot.analysis.rules.static_state import c_state_writers
from bot.analysis.source import Source
from bot.analysis.suppressions import (
    SUPPRESSION_RULE,
    Suppression,
    by_line,
    find_suppressions,
    suppression_for,
)

# Larger files are skipped: generated or data, never hand-written code. CPython's largest C
# file is Parser/parser.c (1.5 MB); the worst input measured (one 4 MB line of `1+1+...`)
# peaks at ~600 MB in tree-sitter, so the limit also bounds memory (bench/hostile_sources.py).
MAX_FILE_BYTES = 4 * 1024 * 1024
# Wall-clock budget per file. Real files take well under a second (parser.c: 0.2 s); a file
# built to be slow (hundreds of thousands of declarations) is stopped and reported skipped.
TIME_LIMIT_SECONDS = 10.0
NOTE_PREFIX = "could not analyse fully: "
_CHECK_EVERY = 1024  # hits between two deadline checks
# Any Python C-API name (comments and strings are already blanked in Source.flat).
_PY_API_NAME = re.compile(rb"\b_?Py[A-Za-z_]")
_PY_INCLUDE = re.compile(rb"#[ \t]*+include[ \t]*+[<\"]Python\.h[>\"]")
_PROGRAM_ENTRY_POINTS = ("main", "wmain", "WinMain", "wWinMain")


def analyze_file(
    path: str, data: bytes, *, time_limit: float | None = TIME_LIMIT_SECONDS
) -> FileReport:
    """Analyse one C file. Never raises: problems become notes or a `skipped` reason.

    ``time_limit`` (seconds, None for no limit): past it the analysis stops and the file is
    reported ``skipped`` with the reason, without partial findings (half a file's findings
    would read as "fixed" in a base/head comparison).
    """
    path = path.replace("\\", "/")
    try:
        return _analyze(path, data, Deadline(time_limit))
    except AnalysisTimeout as exc:
        return FileReport(path=path, skipped=str(exc), notes=[f"{NOTE_PREFIX}{exc}"])
    except Exception as exc:  # the contract is "never raises": keep the file, say why
        return FileReport(
            path=path, notes=[f"{NOTE_PREFIX}internal error ({type(exc).__name__}: {exc})"]
        )


def timed_out(report: FileReport) -> bool:
    """The report says the time limit stopped the analysis: a verdict about this machine at
    this moment, not about the file, so caches must not keep it."""
    return bool(report.skipped and report.skipped.startswith(TIMEOUT_REASON_PREFIX))


def _analyze(path: str, data: bytes, deadline: Deadline) -> FileReport:
    pclass = classify_path(path)
    if pclass.excluded:
        return FileReport(path=path, skipped=f"{pclass.excluded}: never reported")
    if not isinstance(data, bytes | bytearray | memoryview):
        return FileReport(path=path, notes=[f"{NOTE_PREFIX}content is not bytes"])
    data = bytes(data)
    if len(data) > MAX_FILE_BYTES:
        return FileReport(
            path=path,
            skipped=f"file too large ({len(data)} bytes > {MAX_FILE_BYTES} byte limit)",
            notes=[f"{NOTE_PREFIX}file too large ({len(data)} bytes)"],
        )
    notes: list[str] = []
    if not data.strip():
        notes.append(f"{NOTE_PREFIX}empty file")
        return FileReport(path=path, notes=notes)
    if b"\0" in data:
        notes.append(f"{NOTE_PREFIX}NUL bytes in the file (binary?); they were read as spaces")
        data = data.replace(b"\0", b" ")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        notes.append(f"{NOTE_PREFIX}invalid UTF-8 at byte {exc.start}; analysed as bytes")

    src = Source.from_bytes(data)
    deadline.check("preprocessing")
    parsed = parse(data, src.skeleton(), deadline)
    end_depth = src.depth_at(len(data) + 1)
    if end_depth != 0:
        notes.append(f"{NOTE_PREFIX}unbalanced braces at end of file (truncated?)")
    ctx = FileContext(path, pclass, src, parsed)
    relaxed = _relaxed_reason(ctx, data)
    inv = build_inventory(ctx)
    deadline.check("inventory")

    hits: list[tuple[str, Hit]] = []
    for detector in ALL_DETECTORS:
        if rule_exempt(detector.rule, path):
            continue
        for hit in detector.find(ctx, inv):
            hits.append((detector.rule, hit))
            if len(hits) % _CHECK_EVERY == 0:
                deadline.check(f"rule {detector.rule}")
        deadline.check(detector.name)

    writers = c_state_writers(
        ctx, [h.symbol for rule, h in hits if rule == "ISO012" and h.severity is None]
    )
    if writers:
        inv.facts["c_state_writers"] = writers
    sups = find_suppressions(data, lambda off: src.line_col(off)[0])
    findings: list[Finding] = []
    sups_by_line = by_line(sups)  # one lookup per finding: a list scan was quadratic
    for rule, h in hits:
        findings.append(_finding(ctx, rule, h, sups_by_line, relaxed))
        if len(findings) % _CHECK_EVERY == 0:
            deadline.check("findings")
    for s in sups:
        if not s.reason:
            line, col = src.line_col(s.offset)
            end_line, end_col = src.line_col(s.end)
            meta = load_catalog()[SUPPRESSION_RULE]
            findings.append(
                Finding(
                    rule=meta.id,
                    name=meta.name,
                    severity=meta.severity,
                    path=path,
                    line=line,
                    column=col,
                    end_line=end_line,
                    end_column=end_col,
                    symbol=",".join(sorted(s.rules)) or "*",
                    message="isolation-bot suppression without a reason: say why the "
                    "finding is acceptable (ignore[ISO005] <reason>)",
                )
            )
    findings.sort(key=lambda f: (f.line, f.column, f.rule))
    return FileReport(
        path=path,
        modules=[e.info for e in inv.modules],
        types=inv.types,
        findings=findings,
        notes=notes,
        facts=inv.facts,
    )


def _relaxed_reason(ctx: FileContext, data: bytes) -> str | None:
    """Why every finding of this file is only info, or None.

    Cython output: the fix belongs in the .pyx source or in Cython itself, not in the C file
    (and a re-generation would undo a hand edit). Outside CPython's folders, a file that never
    names the Python C API is a plain C library bundled by an extension (lz4's lz4libs/,
    zstandard's zstd/, pycryptodome's ciphers): its statics hold no Python objects. Inside
    CPython's folders such a file may be a module's helper (Modules/rotatingtree.c keeps
    _lsprof's state), so only a standalone program is relaxed there: one that defines its own
    `main` (the py.exe launcher, PC/launcher*.c).
    """
    if is_cython_output(data):
        return CYTHON_REASON
    if _PY_API_NAME.search(ctx.src.flat) or _PY_INCLUDE.search(data):
        return None
    if not ctx.pclass.cpython_area:
        return PLAIN_C_REASON
    if any(name in ctx.functions_by_name for name in _PROGRAM_ENTRY_POINTS):
        return STANDALONE_PROGRAM_REASON
    return None


def _file_branches(ctx: FileContext) -> list[Branch]:
    return branches(ctx.src.code)


def _finding(
    ctx: FileContext,
    rule: str,
    h: Hit,
    sups: Mapping[int, list[Suppression]],
    relaxed: str | None = None,
) -> Finding:
    meta = load_catalog()[rule]
    severity = h.severity or meta.severity
    if rule_info(rule, ctx.path):
        severity = "info"  # the path policy lowers this rule here (Objects/ and Python/ ...)
    message = h.message
    if ctx.pclass.is_test:
        severity = "info"  # test and demo modules: deliberate or irrelevant
    elif relaxed is not None:
        severity = "info"
        message = f"{message} ({relaxed})"
    branch = branch_note(ctx.shared(_file_branches), h.offset)
    if branch is not None and branch.dead:
        # Never compiled: a finding there asks for a change nobody needs.
        severity = "info"
        message = f"{message} (in a branch this file never compiles: {branch.reason})"
    elif branch is not None:
        message = f"{message} ({branch.reason})"
    line, col = ctx.src.line_col(h.offset)
    end_line, end_col = ctx.src.line_col(max(h.offset, h.end))
    f = Finding(
        rule=rule,
        name=meta.name,
        severity=severity,
        path=ctx.path,
        line=line,
        column=col,
        end_line=end_line,
        end_column=end_col,
        symbol=h.symbol,
        message=message,
    )
    s = suppression_for(sups, rule, line)
    if s is not None:
        f = replace(f, status="suppressed", status_reason=s.reason or None)
    return f
