"""Every catalog example is executed: the bad one triggers exactly its rule, the fixed one not.

"Exactly" counts the findings that are not suppressed (the ISO900 example carries an inline
suppression of ISO005 by design; suppressed findings are reported with that status). A rule
without a detector yet is skipped, with the reason in the test report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from bot.analysis import analyze_file
from bot.analysis.catalog import Rule, load_catalog
from bot.analysis.rules import ALL_DETECTORS
from bot.analysis.suppressions import SUPPRESSION_RULE

CATALOG = load_catalog()
ENGINE_RULES = {d.rule for d in ALL_DETECTORS} | {SUPPRESSION_RULE}


def _active_rules(rule: Rule, code: str) -> list[str]:
    report = analyze_file(rule.example_path, code.encode("utf-8"))
    assert not report.skipped, f"{rule.id}: example skipped: {report.skipped}"
    return sorted(f.rule for f in report.findings if f.status != "suppressed")


def _require_engine(rule: Rule) -> None:
    if rule.id not in ENGINE_RULES:
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


def _python_include_dirs() -> list[str] | None:
    """Include dirs of a CPython >= 3.12 (the examples use Py_mod_multiple_interpreters):
    ISOLATION_BOT_PYTHON_INCLUDE (os.pathsep-separated, e.g. a configured source tree's
    `Include` and its top directory for pyconfig.h), else the running interpreter's headers."""
    override = os.environ.get("ISOLATION_BOT_PYTHON_INCLUDE")
    if override:
        return override.split(os.pathsep)
    if sys.version_info >= (3, 12):
        include = sysconfig.get_path("include")
        if include and os.path.isfile(os.path.join(include, "Python.h")):
            return [include]
    # Another installed CPython >= 3.12 (pyenv's or Debian's) beside the 3.11 running us.
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    patterns = [
        (pyenv / "versions", "*/include/python3.1[2-9]*/Python.h"),
        (Path("/usr/include"), "python3.1[2-9]*/Python.h"),
        (Path("/usr/local/include"), "python3.1[2-9]*/Python.h"),
    ]
    found = sorted(
        (h.parent for root, pattern in patterns for h in root.glob(pattern)),
        key=lambda p: p.name,
        reverse=True,
    )
    if found:
        return [str(found[0])]
    return None


@pytest.mark.parametrize("rule", CATALOG.rules(), ids=lambda r: f"{r.id}-{r.name}")
def test_examples_compile(rule: Rule, tmp_path: Path) -> None:
    """The examples are real C: both compile cleanly (-Wall) against Python's headers."""
    includes = _python_include_dirs()
    compiler = shutil.which("gcc") or shutil.which("cc")
    if includes is None or compiler is None:
        pytest.skip("needs a C compiler and CPython >= 3.12 headers (ISOLATION_BOT_PYTHON_INCLUDE)")
    for kind, code in (("bad", rule.bad_example), ("fixed", rule.fixed_example)):
        source = tmp_path / f"{kind}.c"
        source.write_text(code, encoding="utf-8")
        proc = subprocess.run(
            [
                compiler,
                "-std=c11",
                "-fsyntax-only",
                "-Wall",
                "-Wno-unused-function",
                "-Wno-unused-variable",
                *(f"-I{d}" for d in includes),
                str(source),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0 and not proc.stderr.strip(), f"{kind}:\n{proc.stderr}"


EXAMPLES = [
    pytest.param(rule, n, ex, id=f"{rule.id}-{n}")
    for rule in CATALOG.rules()
    for n, ex in enumerate(rule.examples, 1)
]


@pytest.mark.parametrize(("rule", "n", "example"), EXAMPLES)
def test_more_examples_get_their_severity(rule: Rule, n: int, example: object) -> None:
    """Each `[[examples]]` entry: the rule's findings in it have exactly the stated severity
    (none at all for "none")."""
    from bot.analysis.catalog import Example

    assert isinstance(example, Example)
    report = analyze_file(example.path, example.code.encode("utf-8"))
    got = {f.severity for f in report.findings if f.rule == rule.id and f.status != "suppressed"}
    expected = set() if example.severity == "none" else {example.severity}
    assert got == expected, f"{rule.id} example {n} ({example.title}): {got}"


def test_catalog_examples_cover_the_precision_patterns() -> None:
    # The rules whose false alarms were removed show the cases they now tell apart.
    for rule_id in ("ISO004", "ISO005", "ISO007", "ISO009", "ISO011", "ISO012", "ISO014", "ISO019"):
        assert CATALOG[rule_id].examples, rule_id
