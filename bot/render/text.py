"""Text output of `isolation-bot scan`: findings grouped by file, then counts and metrics.

    Modules/_cursesmodule.c:171:18: ISO005 global-object PyCursesError is a mutable global ...
    Modules/_cursesmodule.c:2589:14: ISO001 static-type PyCursesWindow_Type is ... [known]

    Found 2 findings: 2 errors (1 known); 3 suppressed (not shown)
    Multi-phase init:     97.4% (150/154)   stdlib 98.6% (140/142)

Pure: a function of the report and the catalog.
"""

from __future__ import annotations

from collections import Counter
from itertools import groupby

from bot.analysis.catalog import SEVERITIES
from bot.analysis.model import Finding, Metric, TreeReport

METRIC_LABELS = {
    "multi_phase": "Multi-phase init",
    "heap_types": "Heap types",
    "per_interpreter_gil": "Per-interpreter GIL",
}


def _sort_key(f: Finding) -> tuple[str, int, int, str]:
    return (f.path, f.line, f.column, f.rule)


def finding_line(f: Finding) -> str:
    """`path:line:col: ISO001 static-type message`, with the status when not new."""
    # One finding per line whatever the message holds (C names from odd sources, reasons).
    message = " ".join(f.message.split())
    line = f"{f.path}:{f.line}:{f.column}: {f.rule} {f.name} {message}"
    if f.severity != "error":
        line += f" [{f.severity}]"
    if f.status == "known":
        line += " [known" + _reason(f) + "]"
    elif f.status == "suppressed":
        line += " [suppressed" + _reason(f) + "]"
    return line


def _reason(f: Finding) -> str:
    return f": {' '.join(f.status_reason.split())}" if f.status_reason else ""


def _plural(n: int, word: str) -> str:
    if word == "info":
        return f"{n} info"
    return f"{n} {word}{'' if n == 1 else 's'}"


def counts_line(findings: list[Finding], *, show_suppressed: bool) -> str:
    shown = [f for f in findings if f.status != "suppressed"]
    suppressed = len(findings) - len(shown)
    if not shown:
        text = "No findings"
    else:
        by_sev = Counter(f.severity for f in shown)
        known = Counter(f.severity for f in shown if f.status == "known")
        parts = []
        for sev in SEVERITIES:
            if by_sev[sev]:
                part = _plural(by_sev[sev], sev)
                if known[sev]:
                    part += f" ({known[sev]} known)"
                parts.append(part)
        text = f"Found {_plural(len(shown), 'finding')}: " + ", ".join(parts)
    if suppressed:
        text += f"; {suppressed} suppressed" + ("" if show_suppressed else " (not shown)")
    return text


def metric_line(label: str, metric: Metric, width: int, frac_width: int = 0) -> str:
    a, s = metric.all, metric.stdlib
    frac = f"({a.done}/{a.total})"
    return (
        f"{label + ':':<{width}} {a.percent:5.1f}% {frac:<{frac_width}}"
        f"   stdlib {s.percent:5.1f}% ({s.done}/{s.total})"
    )


def render_text(report: TreeReport, *, show_suppressed: bool = False) -> str:
    """The whole text report; always ends with the metrics."""
    findings = sorted(report.findings, key=_sort_key)
    visible = [f for f in findings if show_suppressed or f.status != "suppressed"]
    out: list[str] = []
    for _, group in groupby(visible, key=lambda f: f.path):
        out.extend(finding_line(f) for f in group)
        out.append("")
    if report.notes:
        out.append("Notes:")
        out.extend(f"  {note}" for note in report.notes)
        out.append("")
    out.append(counts_line(findings, show_suppressed=show_suppressed))
    out.append(
        f"Scanned {_plural(report.files, 'file')}: {_plural(len(report.modules), 'module')}, "
        f"{_plural(len(report.types), 'type')}"
    )
    width = max(len(label) for label in METRIC_LABELS.values()) + 1
    metrics = [(label, getattr(report.summary, name)) for name, label in METRIC_LABELS.items()]
    frac_width = max(len(f"({m.all.done}/{m.all.total})") for _, m in metrics)
    out.extend(metric_line(label, m, width, frac_width) for label, m in metrics)
    return "\n".join(out) + "\n"
