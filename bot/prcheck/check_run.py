"""The `isolation` check run's output (pure): title, short summary, full text, annotations.

The summary is what the Checks tab shows first: the commits compared, the verdict, the
module table (as in the PR comment) and the first new findings. The ``text`` holds the full
lists the comment folds or cuts: every new finding with its advice, every fixed finding,
suppressions and notes.
Annotations mark new findings on the lines the PR changed; when none of them is on a changed
line (a finding about a declaration the PR did not touch), all new findings are annotated so
the check still points at them.
"""

from __future__ import annotations

from typing import Any

from bot.analysis.model import Finding
from bot.prcheck.comment import (
    DEFAULT_HTML_URL,
    DEFAULT_RULES_URL,
    MAX_NOTES_SHOWN,
    Links,
    by_severity,
    fixed_counts,
    module_table,
    new_line,
    verdict,
)
from bot.prcheck.model import CheckResult
from bot.render import escape
from bot.render.links import rule_url

CHECK_NAME = "isolation"
ANNOTATIONS_PER_REQUEST = 50  # GitHub's limit per create/update call
MAX_ANNOTATIONS = 500
MAX_SUMMARY = 60_000  # GitHub allows 65,535 characters (summary and text each)
MAX_TEXT = 60_000
MAX_NEW_IN_SUMMARY = 20
_LEVEL = {"error": "failure", "warning": "warning", "info": "notice"}


def _fit(lines: list[str], limit: int, more: str) -> str:
    """Lines joined, cut at a line boundary to ``limit`` UTF-16 units, saying how many are cut."""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        n = escape.utf16_len(line) + 1
        if used + n > limit - 200:
            out.append(f"\n… {len(lines) - i} more lines not shown ({more}).")
            break
        out.append(line)
        used += n
    return "\n".join(out).rstrip() + "\n"


def summary(
    result: CheckResult,
    *,
    rules_url: str = DEFAULT_RULES_URL,
    html_url: str = DEFAULT_HTML_URL,
) -> str:
    """The check run summary: the commits compared, the verdict, the module table, the first
    new findings and the fixed ones counted."""
    head, base = escape.code(result.head_sha[:12]), escape.code(result.base_sha[:12])
    out = [f"Checked {head} against base {base}.", ""]
    if result.skipped is not None:
        out.append(f"The check was skipped: {escape.text(result.skipped)}")
        return "\n".join(out) + "\n"
    if not result.files_checked:
        out.append("This pull request no longer changes C files under the watched paths.")
        return "\n".join(out) + "\n"
    if result.changes_isolation_state or result.new:
        out += [verdict(result), ""]
    else:
        out += [f"No change in isolation state in the {len(result.files_checked)} checked files."]
    table = module_table(result)
    if table:
        out += [*table, ""]
    if result.new:  # what the check is about: new findings, errors first (all in the text)
        links_ = Links.of(result, rules_url, html_url, in_diff=False)
        shown = by_severity(result.new)[:MAX_NEW_IN_SUMMARY]
        out += [f"New ({len(result.new)}):", "", *(new_line(f, links_) for f in shown)]
        if len(result.new) > len(shown):
            out.append(f"- … {len(result.new) - len(shown)} more in the full list below")
        out.append("")
    if result.fixed:
        out += [f"Fixed ({len(result.fixed)}):", "", *fixed_counts(result), ""]
    if result.new or result.fixed:
        out.append("The full lists are below.")
    if result.remaining:
        n = len(result.remaining)
        out.append(f"{n} finding{'s' * (n != 1)} in the changed files predate this pull request.")
    if result.notes:  # "this file was not analysed" matters before any list
        notes = [f"- {escape.text(note, limit=300)}" for note in result.notes[:MAX_NOTES_SHOWN]]
        out += ["", "<details><summary>Analysis notes</summary>", "", *notes, "", "</details>"]
    return _fit(out, MAX_SUMMARY, "see the pull request's comment")


def text(
    result: CheckResult,
    *,
    rules_url: str = DEFAULT_RULES_URL,
    html_url: str = DEFAULT_HTML_URL,
) -> str:
    """Every new finding in full, every fixed finding, suppressions and notes ('' if none)."""
    links_ = Links.of(result, rules_url, html_url, in_diff=False)
    out: list[str] = []
    if result.new or result.regressions:
        out += [f"### New in this pull request ({len(result.new) + len(result.regressions)})", ""]
        out += [
            f"- :warning: {escape.code(c.module)}: {escape.text(c.description)}"
            for c in result.regressions
        ]
        out += [new_line(f, links_) for f in by_severity(result.new)]
        out.append("")
    if result.fixed:
        out += [f"### Fixed ({len(result.fixed)})", ""]
        for f in sorted(result.fixed, key=lambda f: (result.module_of(f.path), f.rule, f.line)):
            out.append(
                f"- {escape.text(f.rule, limit=20)} {escape.text(f.name, limit=60)} "
                f"{escape.code(f.symbol, limit=120)} ({escape.code(f'{f.path}:{f.line}')})"
            )
        out.append("")
    if result.suppressed:
        out += [f"### Suppressed ({len(result.suppressed)})", ""]
        out += [
            f"- {links_.rule(s.finding)} {escape.code(s.finding.symbol)} by "
            f"{escape.text(s.user)}: {escape.text(s.reason, limit=200)}"
            for s in result.suppressed
        ]
        out.append("")
    if result.notes:
        out += ["### Analysis notes", ""]
        out += [f"- {escape.text(note, limit=300)}" for note in result.notes]
    return _fit(out, MAX_TEXT, "the limit of a check run's text") if out else ""


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


def _on_changed_lines(result: CheckResult, f: Finding) -> bool:
    lines = result.changed_lines.get(f.path)
    if lines is None:  # no patch (a binary or huge diff): the whole file counts as changed
        return True
    return bool(set(range(f.line, max(f.line, f.end_line) + 1)) & lines)


def annotations_for(
    result: CheckResult, *, rules_url: str = DEFAULT_RULES_URL
) -> list[dict[str, Any]]:
    """Annotations for the new findings on lines the PR changed (all new findings when none
    is on a changed line), errors first, capped."""
    chosen = [f for f in result.new if _on_changed_lines(result, f)] or list(result.new)
    folded = fold([annotation(f, rules_url=rules_url) for f in by_severity(chosen)])
    return folded[:MAX_ANNOTATIONS]


def fold(annotations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One annotation per file, level and title (the same rule on the same symbol): the first
    occurrence, its message naming the other lines. Each 50 annotations cost a request (and
    GitHub asks integrations to keep writes few), so repeats are folded, order kept."""
    first: dict[tuple[str, str, str], dict[str, Any]] = {}
    others: dict[tuple[str, str, str], list[int]] = {}
    out: list[dict[str, Any]] = []
    for ann in annotations:
        key = (ann["path"], ann["annotation_level"], ann["title"])
        if key in first:
            others[key].append(ann["start_line"])
            continue
        first[key], others[key] = ann, []
        out.append(ann)
    for key, lines in others.items():
        if lines:
            ann = first[key] = dict(first[key])
            shown = sorted(set(lines))
            more = ", ".join(str(n) for n in shown[:100])
            if len(shown) > 100:
                more += f" and {len(shown) - 100} more"
            # Digits and fixed words only: the message was escaped already.
            also = f"\nAlso on line{'s' if len(lines) > 1 else ''} {more}."
            ann["message"] = ann["message"][: 64_000 - len(also)] + also
    return [first[(a["path"], a["annotation_level"], a["title"])] for a in out]


def batches(
    items: list[dict[str, Any]], size: int = ANNOTATIONS_PER_REQUEST
) -> list[list[dict[str, Any]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def output(
    result: CheckResult,
    annotations_batch: list[dict[str, Any]] | None = None,
    *,
    rules_url: str = DEFAULT_RULES_URL,
    html_url: str = DEFAULT_HTML_URL,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "title": result.title[:255],
        "summary": summary(result, rules_url=rules_url, html_url=html_url),
    }
    full = text(result, rules_url=rules_url, html_url=html_url)
    if full:
        out["text"] = full
    if annotations_batch:
        out["annotations"] = annotations_batch
    return out
