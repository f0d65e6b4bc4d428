"""analyze_file: one file's bytes to a FileReport. Pure, synchronous, never raises."""

from __future__ import annotations

from dataclasses import replace

from bot.analysis.context import FileContext
from bot.analysis.cparse import parse
from bot.analysis.inventory import build_inventory
from bot.analysis.model import FileReport, Finding
from bot.analysis.paths import classify_path
from bot.analysis.rules import ALL_DETECTORS, RULES, Hit
from bot.analysis.source import Source
from bot.analysis.suppressions import Suppression, find_suppressions, suppression_for

MAX_FILE_BYTES = 8 * 1024 * 1024  # larger files are skipped (generated or data, never code)
NOTE_PREFIX = "could not analyse fully: "


def analyze_file(path: str, data: bytes) -> FileReport:
    """Analyse one C file. Never raises: problems become notes or a `skipped` reason."""
    path = path.replace("\\", "/")
    try:
        return _analyze(path, data)
    except Exception as exc:  # the contract is "never raises": keep the file, say why
        return FileReport(
            path=path, notes=[f"{NOTE_PREFIX}internal error ({type(exc).__name__}: {exc})"]
        )


def _analyze(path: str, data: bytes) -> FileReport:
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
    parsed = parse(data, src.skeleton())
    end_depth = src.depth_at(len(data) + 1)
    if end_depth != 0:
        notes.append(f"{NOTE_PREFIX}unbalanced braces at end of file (truncated?)")
    ctx = FileContext(path, pclass, src, parsed)
    inv = build_inventory(ctx)

    hits: list[Hit] = []
    for detector in ALL_DETECTORS:
        hits.extend(detector(ctx, inv))

    sups = find_suppressions(data, lambda off: src.line_col(off)[0])
    findings: list[Finding] = []
    for h in hits:
        findings.append(_finding(ctx, h, sups))
    for s in sups:
        if not s.reason:
            line, col = src.line_col(s.offset)
            end_line, end_col = src.line_col(s.end)
            meta = RULES["ISO900"]
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


def _finding(ctx: FileContext, h: Hit, sups: list[Suppression]) -> Finding:
    meta = RULES[h.rule]
    severity = h.severity or meta.severity
    if ctx.pclass.is_test:
        severity = "info"  # test and demo modules: deliberate or irrelevant
    line, col = ctx.src.line_col(h.offset)
    end_line, end_col = ctx.src.line_col(max(h.offset, h.end))
    f = Finding(
        rule=h.rule,
        name=meta.name,
        severity=severity,
        path=ctx.path,
        line=line,
        column=col,
        end_line=end_line,
        end_column=end_col,
        symbol=h.symbol,
        message=h.message,
    )
    s = suppression_for(sups, h.rule, line)
    if s is not None:
        f = replace(f, status="suppressed", status_reason=s.reason or None)
    return f
