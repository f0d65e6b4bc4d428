"""The scan output formats: text layout, the JSON contract (against docs/json-output.schema.json)
and SARIF 2.1.0 (against the official schema vendored in tests/data/sarif/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.analysis import analyze_file, build_tree_report
from bot.analysis.catalog import load_catalog
from bot.analysis.model import Finding, Metric, ModuleInfo, Ratio, Summary, TreeReport, TypeInfo
from bot.render.json_report import render_json
from bot.render.sarif import SRCROOT, build_sarif, render_sarif
from bot.render.text import render_text

REPO = Path(__file__).resolve().parents[2]
SARIF_SCHEMA = json.loads((REPO / "tests/data/sarif/sarif-schema-2.1.0.json").read_text())
JSON_SCHEMA = json.loads((REPO / "docs/json-output.schema.json").read_text())


def _finding(rule: str, name: str, path: str, line: int, **kw: Any) -> Finding:
    base: dict[str, Any] = {
        "rule": rule,
        "name": name,
        "severity": "error",
        "path": path,
        "line": line,
        "column": 5,
        "end_line": line,
        "end_column": 20,
        "symbol": "sym_" + rule,
        "message": f"message for {rule}",
    }
    base.update(kw)
    return Finding(**base)


@pytest.fixture
def report() -> TreeReport:
    findings = [
        _finding("ISO005", "global-object", "Modules/b.c", 30, symbol="ExampleError"),
        _finding("ISO001", "static-type", "Modules/a.c", 12, symbol="Counter_Type"),
        _finding(
            "ISO001",
            "static-type",
            "Modules/a.c",
            40,
            symbol="Other_Type",
            status="known",
            status_reason="globals-to-fix.tsv: static types",
        ),
        _finding(
            "ISO012",
            "global-c-state",
            "Modules/a.c",
            3,
            severity="warning",
            symbol="initialized",
            status="suppressed",
            status_reason="set once under the main interpreter",
        ),
        _finding(
            "ISO005",
            "global-object",
            "Modules/b.c",
            8,
            symbol="cache",
            status="suppressed",
            status_reason="ignored.tsv: process-global resources",
        ),
        _finding("ISO016", "heap-type-mutable-or-instantiable", "Modules/b.c", 9, severity="info"),
    ]
    summary = Summary(
        multi_phase=Metric(Ratio(150, 154), Ratio(140, 142)),
        heap_types=Metric(Ratio(203, 245), Ratio(168, 175)),
        per_interpreter_gil=Metric(Ratio(98, 154), Ratio(85, 142)),
    )
    return TreeReport(
        root="/src/cpython",
        modules=[
            ModuleInfo("example", "Modules/a.c", 100, "multi-phase", "per-interpreter-gil", False),
            ModuleInfo("_legacy", "Modules/b.c", 50, "single-phase", None, False),
        ],
        types=[TypeInfo("Counter_Type", "Modules/a.c", 12, "static", "example")],
        findings=findings,
        summary=summary,
        notes=["Modules/c.c: could not analyse fully: 2 parse errors"],
        files=3,
    )


# ---- text ----------------------------------------------------------------------------------


def test_text_groups_by_file_in_line_order_and_ends_with_metrics(report: TreeReport) -> None:
    text = render_text(report)
    lines = text.splitlines()
    assert lines[0] == "Modules/a.c:12:5: ISO001 static-type message for ISO001"
    assert lines[1] == (
        "Modules/a.c:40:5: ISO001 static-type message for ISO001 "
        "[known: globals-to-fix.tsv: static types]"
    )
    assert lines[2] == ""  # a blank line between files
    assert (
        lines[3]
        == "Modules/b.c:9:5: ISO016 heap-type-mutable-or-instantiable message for ISO016 [info]"
    )
    assert lines[4] == "Modules/b.c:30:5: ISO005 global-object message for ISO005"
    assert "suppressed" not in "\n".join(lines[:6])
    assert "Modules/c.c: could not analyse fully: 2 parse errors" in text
    assert "Found 4 findings: 3 errors (1 known), 1 info; 2 suppressed (not shown)" in text
    assert lines[-3].startswith("Multi-phase init:")
    assert "97.4% (150/154)" in lines[-3] and "stdlib  98.6% (140/142)" in lines[-3]
    assert lines[-2].startswith("Heap types:") and "82.9% (203/245)" in lines[-2]
    assert lines[-1].startswith("Per-interpreter GIL:") and "63.6% (98/154)" in lines[-1]


def test_text_show_suppressed_lists_them_with_their_reason(report: TreeReport) -> None:
    text = render_text(report, show_suppressed=True)
    assert (
        "Modules/a.c:3:5: ISO012 global-c-state message for ISO012 [warning] "
        "[suppressed: set once under the main interpreter]"
    ) in text
    assert "2 suppressed\n" in text


def test_text_without_findings(report: TreeReport) -> None:
    empty = TreeReport(report.root, [], [], [], report.summary, files=1)
    assert render_text(empty).startswith("No findings\nScanned 1 file: 0 modules, 0 types\n")


# ---- JSON ----------------------------------------------------------------------------------


def test_json_is_the_documented_contract(report: TreeReport) -> None:
    data = json.loads(render_json(report, tool_version="9.9"))
    jsonschema.validate(data, JSON_SCHEMA, cls=jsonschema.Draft202012Validator)
    assert data["schema_version"] == 1
    assert data["tool"] == {"name": "isolation-bot", "version": "9.9"}
    assert data["summary"]["multi_phase"]["all"] == {"done": 150, "total": 154, "percent": 97.4}
    assert [f["status"] for f in data["findings"]].count("suppressed") == 2
    assert TreeReport.from_dict(data).findings == report.findings  # round trip


@pytest.mark.parametrize(
    ("where", "bad"),
    [
        (("findings", 0, "severity"), "fatal"),
        (("findings", 0, "path"), "/abs/path.c"),
        (("findings", 0, "status"), "ignored"),
        (("modules", 0, "init"), "two-phase"),
        (("types", 0, "kind"), "dynamic"),
        (("summary", "heap_types", "all", "percent"), 101),
    ],
)
def test_json_schema_rejects_contract_violations(
    report: TreeReport, where: tuple[Any, ...], bad: Any
) -> None:
    data = json.loads(render_json(report))
    target: Any = data
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = bad
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, JSON_SCHEMA, cls=jsonschema.Draft202012Validator)


# ---- SARIF ---------------------------------------------------------------------------------


_SARIF_VALIDATOR = jsonschema.Draft4Validator(SARIF_SCHEMA)


def _validate_sarif(log: dict[str, Any]) -> None:
    _SARIF_VALIDATOR.validate(log)


def test_sarif_is_valid_and_carries_rule_metadata(report: TreeReport) -> None:
    catalog = load_catalog()
    text = render_sarif(report, catalog, root_uri="file:///src/cpython", tool_version="1.2.3")
    log = json.loads(text)
    _validate_sarif(log)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "isolation-bot" and driver["version"] == "1.2.3"
    assert [r["id"] for r in driver["rules"]] == list(catalog)
    iso001 = driver["rules"][0]
    assert iso001["name"] == "static-type"
    assert iso001["shortDescription"]["text"].startswith("A `PyTypeObject` defined statically")
    assert "shared by every interpreter" in iso001["fullDescription"]["text"]
    assert "\n" not in iso001["fullDescription"]["text"]  # TOML hard wraps are undone
    assert iso001["helpUri"].startswith("https://")
    assert iso001["defaultConfiguration"]["level"] == "error"
    assert "```c" in iso001["help"]["markdown"]
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in driver["rules"]}
    assert levels["ISO016"] == "note" and levels["ISO003"] == "warning"
    assert run["originalUriBaseIds"] == {SRCROOT: {"uri": "file:///src/cpython/"}}
    assert [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]] == [
        "Modules/c.c: could not analyse fully: 2 parse errors"
    ]


def test_sarif_results_locations_levels_and_suppressions(report: TreeReport) -> None:
    catalog = load_catalog()
    log = build_sarif(report, catalog)
    _validate_sarif(log)
    run = log["runs"][0]
    results = run["results"]
    assert len(results) == len(report.findings)  # suppressed ones are kept, marked
    by_symbol = {r["properties"]["symbol"]: r for r in results}
    static = by_symbol["Counter_Type"]
    loc = static["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "Modules/a.c", "uriBaseId": SRCROOT}
    assert loc["region"] == {"startLine": 12, "startColumn": 5, "endLine": 12, "endColumn": 20}
    assert static["level"] == "error" and static["ruleId"] == "ISO001"
    assert run["tool"]["driver"]["rules"][static["ruleIndex"]]["id"] == "ISO001"
    assert "suppressions" not in static
    assert by_symbol["Other_Type"]["baselineState"] == "unchanged"
    inline = by_symbol["initialized"]["suppressions"]
    assert inline == [
        {
            "kind": "inSource",
            "status": "accepted",
            "justification": "set once under the main interpreter",
        }
    ]
    assert by_symbol["cache"]["suppressions"][0]["kind"] == "external"
    assert by_symbol["sym_ISO016"]["level"] == "note"
    assert "originalUriBaseIds" not in run  # no root URI given
    # The fingerprint ignores the line, so a finding that moves keeps its identity.
    moved = build_sarif(
        TreeReport(
            report.root,
            [],
            [],
            [_finding("ISO001", "static-type", "Modules/a.c", 99, symbol="Counter_Type")],
            report.summary,
        ),
        catalog,
    )["runs"][0]["results"][0]
    assert moved["partialFingerprints"] == static["partialFingerprints"]


def test_sarif_region_never_ends_before_it_starts(report: TreeReport) -> None:
    odd = _finding("ISO006", "py-identifier", "Modules/a.c", 7, end_line=0, end_column=0)
    log = build_sarif(TreeReport("r", [], [], [odd], report.summary), load_catalog())
    _validate_sarif(log)
    assert log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 7,
        "startColumn": 5,
    }


def test_sarif_schema_rejects_a_broken_log(report: TreeReport) -> None:
    # Guards against a schema file that accepts anything (the validation above would pass).
    log = build_sarif(report, load_catalog())
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        _validate_sarif(log)


def test_formats_from_a_real_analysis_of_every_bad_example() -> None:
    """Every catalog bad example analysed as its own file: all three formats are valid."""
    catalog = load_catalog()
    reports = [
        analyze_file(f"Modules/{rule.id.lower()}example.c", rule.bad_example.encode())
        for rule in catalog.rules()
    ]
    tree = build_tree_report(".", reports)
    assert tree.findings, "the examples must produce findings"
    _validate_sarif(build_sarif(tree, catalog))
    data = json.loads(render_json(tree))
    jsonschema.validate(data, JSON_SCHEMA, cls=jsonschema.Draft202012Validator)
    text = render_text(tree, show_suppressed=True)
    for f in tree.findings:
        assert f"{f.path}:{f.line}:{f.column}: {f.rule} {f.name} " in text


def test_text_keeps_one_finding_per_line(report: TreeReport) -> None:
    odd = _finding(
        "ISO005",
        "global-object",
        "Modules/a.c",
        2,
        message="two\nlines",
        status="known",
        status_reason="reason\nwith a break",
    )
    text = render_text(TreeReport(report.root, [], [], [odd], report.summary))
    assert text.splitlines()[0] == (
        "Modules/a.c:2:5: ISO005 global-object two lines [known: reason with a break]"
    )


_RULE_IDS = sorted(load_catalog())
_path_part = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\\x00"),
    min_size=1,
    max_size=12,
)


@st.composite
def _findings(draw: st.DrawFn) -> Finding:
    rule = load_catalog()[draw(st.sampled_from(_RULE_IDS))]
    line = draw(st.integers(1, 10**6))
    return Finding(
        rule=rule.id,
        name=rule.name,
        severity=draw(st.sampled_from(["error", "warning", "info"])),
        path="/".join(draw(st.lists(_path_part, min_size=1, max_size=3))),
        line=line,
        column=draw(st.integers(1, 500)),
        end_line=draw(st.integers(0, line + 3)),
        end_column=draw(st.integers(0, 500)),
        symbol=draw(st.text(max_size=20)),
        message=draw(st.text(min_size=1, max_size=40)),
        status=draw(st.sampled_from(["new", "known", "suppressed"])),
        status_reason=draw(st.none() | st.text(max_size=30)),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(findings=st.lists(_findings(), max_size=6))
def test_any_findings_render_valid_sarif_and_text(findings: list[Finding]) -> None:
    summary = Summary(*(Metric(Ratio(1, 2), Ratio(0, 0)) for _ in range(3)))
    tree = TreeReport("root", [], [], findings, summary, notes=["n"], files=len(findings))
    log = build_sarif(tree, load_catalog(), root_uri="file:///x")
    _validate_sarif(log)
    assert len(log["runs"][0]["results"]) == len(findings)
    text = render_text(tree, show_suppressed=True)
    assert len([ln for ln in text.splitlines() if ": ISO" in ln]) >= len(findings)
    json.loads(render_json(tree))
