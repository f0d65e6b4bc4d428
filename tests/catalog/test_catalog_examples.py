"""Every catalog example is executed: the bad one triggers exactly its rule, the fixed one not.

"Exactly" counts the findings that are not suppressed (the ISO900 example carries an inline
suppression of ISO005 by design; suppressed findings are reported with that status). A rule
that the engine's registry does not list yet is skipped, with the reason in the test report.
"""

from __future__ import annotations

import pytest

from bot.analysis import analyze_file
from bot.analysis.rules.registry import RULES
from bot.catalog import Rule, load_catalog

CATALOG = load_catalog()


def _active_rules(rule: Rule, code: str) -> list[str]:
    report = analyze_file(rule.example_path, code.encode("utf-8"))
    assert not report.skipped, f"{rule.id}: example skipped: {report.skipped}"
    return sorted(f.rule for f in report.findings if f.status != "suppressed")


def _require_engine(rule: Rule) -> None:
    if rule.id not in RULES:
        pytest.skip(f"the engine does not implement {rule.id} yet")


@pytest.mark.parametrize("rule", CATALOG.rules(), ids=lambda r: f"{r.id}-{r.name}")
def test_bad_example_triggers_exactly_its_rule(rule: Rule) -> None:
    _require_engine(rule)
    found = _active_rules(rule, rule.bad_example)
    assert set(found) == {rule.id}, f"{rule.id} bad example found {found}"


@pytest.mark.parametrize("rule", CATALOG.rules(), ids=lambda r: f"{r.id}-{r.name}")
def test_fixed_example_does_not_trigger_its_rule(rule: Rule) -> None:
    _require_engine(rule)
    found = _active_rules(rule, rule.fixed_example)
    assert rule.id not in found, f"{rule.id} fixed example still found {found}"


def test_examples_are_analysed_where_the_rule_applies() -> None:
    # An example under an exempt or info-only path would prove nothing about the rule.
    for rule in CATALOG.rules():
        assert rule.path_status(rule.example_path) == "applies", rule.id


def test_suppression_example_keeps_the_finding_suppressed() -> None:
    rule = CATALOG["suppression-without-reason"]
    report = analyze_file(rule.example_path, rule.fixed_example.encode())
    statuses = {(f.rule, f.status) for f in report.findings}
    assert ("ISO005", "suppressed") in statuses
    assert all(f.rule != "ISO900" for f in report.findings)
