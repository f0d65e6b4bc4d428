"""Inline suppressions: on the line or just above; without a reason it is reported (ISO900)."""

from __future__ import annotations

from bot.analysis import RULES

from .helpers import analyze, rule_hits


def test_suppression_on_the_line_above_with_reason() -> None:
    code = """
    /* isolation-bot: ignore[ISO005] only touched by the main interpreter */
    static PyObject *main_only;
    static PyObject *other;
    """
    report = analyze(code)
    by = {f.symbol: f for f in rule_hits(report, "ISO005")}
    assert by["main_only"].status == "suppressed"
    assert by["main_only"].status_reason == "only touched by the main interpreter"
    assert by["other"].status == "new"
    assert rule_hits(report, "ISO900") == []


def test_suppression_on_the_same_line_by_rule_name() -> None:
    code = "static int flag;  // isolation-bot: ignore[global-c-state] set once at import\n"
    [f] = rule_hits(analyze(code), "ISO012")
    assert f.status == "suppressed" and f.status_reason == "set once at import"


def test_suppression_of_another_rule_does_not_apply() -> None:
    code = "/* isolation-bot: ignore[ISO012] reason */\nstatic PyObject *x;\n"
    [f] = rule_hits(analyze(code), "ISO005")
    assert f.status == "new"


def test_suppression_two_lines_above_does_not_apply() -> None:
    code = "/* isolation-bot: ignore[ISO005] reason */\n\nstatic PyObject *x;\n"
    [f] = rule_hits(analyze(code), "ISO005")
    assert f.status == "new"


def test_suppression_without_reason_is_reported() -> None:
    code = "/* isolation-bot: ignore[ISO005] */\nstatic PyObject *x;\n"
    report = analyze(code)
    [f] = rule_hits(report, "ISO005")
    assert f.status == "suppressed" and f.status_reason is None
    [s] = rule_hits(report, "ISO900")
    assert s.severity == RULES["ISO900"].severity == "warning"
    assert s.name == "suppression-without-reason" and s.line == 1 and s.symbol == "ISO005"
