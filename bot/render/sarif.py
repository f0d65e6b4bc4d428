"""SARIF 2.1.0 output of `isolation-bot scan`, for GitHub code scanning and other viewers.

One run; the driver lists every catalog rule with its metadata (id, name, short and full
description, help text and URI, default level); results point at files relative to the scanned
root through the `%SRCROOT%` base id; suppressed findings carry a `suppressions` entry (GitHub
hides them), "known" ones (listed in globals-to-fix.tsv) a `baselineState` of "unchanged".
Notes such as "could not analyse fully" become tool execution notifications.

Pure: a function of the report and the catalog (the root's file URI, which needs the file
system, is passed in by the caller).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from bot import __version__
from bot.analysis.catalog import Catalog, Rule
from bot.analysis.model import Finding, TreeReport

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
SRCROOT = "%SRCROOT%"
INFORMATION_URI = "https://docs.python.org/3/howto/isolating-extensions.html"

# SARIF has no "info" level: "note" is its lowest real level.
LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def _paragraphs(text: str) -> str:
    """TOML prose is hard-wrapped; SARIF viewers show plain text as is, so unwrap it."""
    return "\n\n".join(" ".join(p.split()) for p in text.strip().split("\n\n"))


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": _paragraphs(rule.summary)},
        "fullDescription": {"text": _paragraphs(rule.why)},
        "help": {
            "text": _paragraphs(rule.how_to_fix),
            "markdown": rule.to_markdown(heading_level=2),
        },
        "helpUri": rule.help_uri,
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"tags": ["subinterpreters", "isolation"], "severity": rule.severity},
    }


def _fingerprint(f: Finding) -> str:
    # Stable across line moves: the same identity the PR diff uses (rule, path, symbol).
    return hashlib.sha256("\0".join(f.match_key()).encode("utf-8")).hexdigest()[:32]


def _region(f: Finding) -> dict[str, int]:
    region = {"startLine": max(f.line, 1), "startColumn": max(f.column, 1)}
    # SARIF requires end >= start; the analyser's end may be missing (0) for regex hits.
    if f.end_line >= region["startLine"]:
        region["endLine"] = f.end_line
        if f.end_column >= 1 and (f.end_line > f.line or f.end_column >= region["startColumn"]):
            region["endColumn"] = f.end_column
    return region


def _suppression(f: Finding) -> dict[str, Any]:
    reason = f.status_reason or ""
    # TSV rows (ignored.tsv, a PR command) live outside the file; comments are in the source.
    external = ".tsv" in reason or "command" in reason.lower()
    entry: dict[str, Any] = {"kind": "external" if external else "inSource", "status": "accepted"}
    if reason:
        entry["justification"] = reason
    return entry


def result(f: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    res: dict[str, Any] = {
        "ruleId": f.rule,
        "level": LEVELS.get(f.severity, "warning"),
        "message": {"text": f.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": quote(f.path, safe="/"), "uriBaseId": SRCROOT},
                    "region": _region(f),
                },
                "logicalLocations": [{"name": f.symbol}] if f.symbol else [],
            }
        ],
        "partialFingerprints": {"isolationBot/v1": _fingerprint(f)},
        "properties": {"name": f.name, "symbol": f.symbol, "status": f.status},
    }
    if not res["locations"][0]["logicalLocations"]:
        del res["locations"][0]["logicalLocations"]
    if f.rule in rule_index:
        res["ruleIndex"] = rule_index[f.rule]
    if f.status == "suppressed":
        res["suppressions"] = [_suppression(f)]
    elif f.status == "known":
        res["baselineState"] = "unchanged"
        if f.status_reason:
            res["properties"]["statusReason"] = f.status_reason
    return res


def build_sarif(
    report: TreeReport,
    catalog: Catalog,
    *,
    root_uri: str | None = None,
    tool_version: str = __version__,
) -> dict[str, Any]:
    """The SARIF log as a dict. ``root_uri``: the scanned root as a `file:///.../` URI."""
    rules = catalog.rules()
    rule_index = {r.id: i for i, r in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "isolation-bot",
                "version": tool_version,
                "semanticVersion": tool_version,
                "informationUri": INFORMATION_URI,
                "rules": [rule_descriptor(r) for r in rules],
            }
        },
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {"level": "warning", "message": {"text": note}} for note in report.notes
                ],
            }
        ],
        "results": [result(f, rule_index) for f in report.findings],
        # The analyser counts columns in bytes; C sources are ASCII in practice, where bytes
        # and code points agree.
        "columnKind": "unicodeCodePoints",
        "properties": {"summary": report.summary.to_dict(), "root": report.root},
    }
    if root_uri:
        run["originalUriBaseIds"] = {
            SRCROOT: {"uri": root_uri if root_uri.endswith("/") else root_uri + "/"}
        }
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(
    report: TreeReport,
    catalog: Catalog,
    *,
    root_uri: str | None = None,
    tool_version: str = __version__,
) -> str:
    log = build_sarif(report, catalog, root_uri=root_uri, tool_version=tool_version)
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
