"""The `isolation` check run's output (pure): title, markdown summary, annotations."""

from __future__ import annotations

from typing import Any

from bot.analysis.model import Finding
from bot.prcheck.comment import DEFAULT_RULES_URL, render, rule_url
from bot.prcheck.model import CheckResult
from bot.render import escape

CHECK_NAME = "isolation"
ANNOTATIONS_PER_REQUEST = 50  # GitHub's limit per create/update call
MAX_ANNOTATIONS = 500
MAX_SUMMARY = 60_000  # GitHub allows 65,535 characters
_LEVEL = {"error": "failure", "warning": "warning", "info": "notice"}


def summary(result: CheckResult, *, rules_url: str = DEFAULT_RULES_URL) -> str:
    """The check run summary: the comment's content (without its marker) plus the commit."""
    body = render(result, rules_url=rules_url).split("\n", 1)[1]
    head, base = escape.code(result.head_sha[:12]), escape.code(result.base_sha[:12])
    body = f"Checked {head} against base {base}.\n\n{body}"
    return body[:MAX_SUMMARY]


def annotation(f: Finding, *, rules_url: str = DEFAULT_RULES_URL) -> dict[str, Any]:
    """One annotation (plain text, GitHub does not render markdown in annotations)."""
    start = max(1, f.line)
    end = max(start, f.end_line or start)
    ann: dict[str, Any] = {
        "path": f.path,
        "start_line": start,
        "end_line": end,
        "annotation_level": _LEVEL.get(f.severity, "warning"),
        "title": escape.plain(f"{f.rule} {f.name}: {f.symbol}", limit=255),
        "message": escape.plain(
            f"{f.message}\n{rule_url(rules_url, f.rule, f.name)}", limit=64_000
        ),
    }
    if start == end and f.column and f.end_column and f.end_column >= f.column:
        ann["start_column"] = f.column
        ann["end_column"] = f.end_column
    return ann


def annotations_for(
    result: CheckResult, *, rules_url: str = DEFAULT_RULES_URL
) -> list[dict[str, Any]]:
    """Annotations for the new findings that sit on lines the PR changed (capped)."""
    out = []
    for f in result.new:
        lines = result.changed_lines.get(f.path)
        if lines is not None and not (set(range(f.line, max(f.line, f.end_line) + 1)) & lines):
            continue
        out.append(annotation(f, rules_url=rules_url))
    return out[:MAX_ANNOTATIONS]


def batches(
    items: list[dict[str, Any]], size: int = ANNOTATIONS_PER_REQUEST
) -> list[list[dict[str, Any]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def output(
    result: CheckResult,
    annotations_batch: list[dict[str, Any]] | None = None,
    *,
    rules_url: str = DEFAULT_RULES_URL,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "title": result.title[:255],
        "summary": summary(result, rules_url=rules_url),
    }
    if annotations_batch:
        out["annotations"] = annotations_batch
    return out
