"""Shared helpers of the analysis tests: analyse a C snippet and pick findings."""

from __future__ import annotations

import textwrap

from bot.analysis import FileReport, Finding, analyze_file


def analyze(code: str, path: str = "Modules/spammodule.c") -> FileReport:
    return analyze_file(path, textwrap.dedent(code).encode())


def rule_hits(report: FileReport, rule: str) -> list[Finding]:
    return [f for f in report.findings if f.rule == rule]


def symbols(report: FileReport, rule: str) -> set[str]:
    return {f.symbol for f in rule_hits(report, rule)}
