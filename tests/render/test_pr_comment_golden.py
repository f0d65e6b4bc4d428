"""The PR comment and check run for a realistic pull request, read as a reviewer would.

The fixture (tests/support/conversions.py) converts four large modules the way CPython's
conversions did (several thousand lines each; dozens of globals, identifiers and static
types fixed; a few new warnings and info findings). The rendered Markdown is parsed by a
CommonMark renderer (markdown-it-py with GFM tables) and checked for what a reviewer needs on
the first screen. Regenerate the golden files after an intended change with
``ISOLATION_BOT_UPDATE_GOLDEN=1 pytest tests/render/test_pr_comment_golden.py`` and review.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import replace
from functools import cache
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.analysis.model import Finding
from bot.prcheck import check_run
from bot.prcheck import comment as pr_comment
from bot.prcheck.model import CheckResult
from bot.render import escape
from tests.support.conversions import FOUR_MODULES, HEAD_SHA, pr_check_result

GOLDEN = Path(__file__).parent / "golden"
RULES = "https://isolation.example/rules/{rule}"
_md = MarkdownIt("commonmark").enable(["table", "strikethrough"])


@cache
def _result() -> CheckResult:
    return pr_check_result()


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ISOLATION_BOT_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}: run with ISOLATION_BOT_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def _outside_details(markdown: str) -> str:
    return re.sub(r"<details>.*?</details>", "", markdown, flags=re.DOTALL)


def _walk(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    for t in tokens:
        out.append(t)
        if t.children:
            out.extend(_walk(t.children))
    return out


def _new_finding_text(f: Finding) -> str:
    return f"{escape.code(f.symbol, limit=120)} at [{escape.code(f'{f.path}:{f.line}')}]("


def test_code_links_point_at_the_line_in_the_diff_and_at_the_head_commit() -> None:
    r = _result()
    f = r.new[0]
    digest = hashlib.sha256(f.path.encode()).hexdigest()
    comment = pr_comment.render(r)
    assert f"/pull/4242/files#diff-{digest}R{f.line})" in comment
    # The check run belongs to one commit: its lists link the file at that commit.
    blob = f"https://github.com/python/cpython/blob/{HEAD_SHA}/{f.path}#L{f.line}"
    assert blob in check_run.text(r) and blob in check_run.summary(r)


def test_the_fixture_is_a_realistic_conversion() -> None:
    r = _result()
    assert len(r.module_rows) == len(FOUR_MODULES) == 4
    assert len(r.fixed) >= 100 and 5 <= len(r.new) <= 12
    assert {f.severity for f in r.new} == {"warning", "info"}
    assert r.conclusion == "success"


def test_four_module_comment_fits_and_leads_with_what_matters() -> None:
    r = _result()
    body = pr_comment.render(r)
    assert escape.utf16_len(body) < 10_000
    first_screen = body[:2_500]
    for c in FOUR_MODULES:
        row = next(line for line in first_screen.splitlines() if line.startswith(f"| `{c.module}`"))
        assert "converted to multi-phase init" in row
        assert "none → per-interpreter GIL" in row
        assert f"{len(c.types)} → 0 static" in row
    outside = _outside_details(body)
    for f in r.new:
        assert _new_finding_text(f) in outside, f
    # Errors first: the new findings are listed by severity.
    listed = [line for line in outside.splitlines() if line.startswith("- :")]
    order = [pr_comment.SEVERITY_ORDER[f.severity] for f in pr_comment.by_severity(r.new)]
    assert order == sorted(order) and len(listed) == len(r.new)
    # A check that succeeds shows no error marker.
    assert r.conclusion == "success" and ":x:" not in body
    # Fixed findings: counted outside, listed (without advice) only inside <details>.
    assert f"#### Fixed ({len(r.fixed)})" in outside
    for f in r.fixed:
        assert f.message not in body and escape.text(f.message) not in body
    assert "&amp;" not in body


def test_four_module_comment_renders_as_intended() -> None:
    body = pr_comment.render(_result(), rules_url=RULES)
    tokens = _walk(_md.parse(body))
    tables = [t for t in tokens if t.type == "table_open"]
    assert len(tables) == 1
    rows = [t for t in tokens if t.type == "tr_open"]
    assert len(rows) == 1 + len(FOUR_MODULES)
    html = [t.content.strip() for t in tokens if t.type in ("html_block", "html_inline")]
    assert html[0] == pr_comment.MARKER
    assert sum(h.startswith("<details>") for h in html) == 1
    hrefs = [str(t.attrGet("href")) for t in tokens if t.type == "link_open"]
    assert hrefs and all(
        h.startswith(("https://isolation.example/rules/ISO0", "https://github.com/python/cpython/"))
        for h in hrefs
    )
    in_diff = "https://github.com/python/cpython/pull/4242/files#diff-"
    assert sum(h.startswith(in_diff) for h in hrefs) == len(_result().new)
    assert HEAD_SHA[:12] not in body  # no SHA: a push that changes no finding edits nothing
    _golden("pr_comment_four_modules.md", body)


def test_a_new_error_gets_the_error_marker_and_leads() -> None:
    r = _result()
    error = replace(r.new[-1], rule="ISO005", name="global-object", severity="error")
    failing = replace(r, new=[*r.new[:-1], error])
    body = pr_comment.render(failing)
    assert failing.conclusion == "failure"
    assert ":x: **1 new error blocks this pull request.**" in body
    first = next(line for line in body.splitlines() if line.startswith("- :"))
    assert first.startswith("- :x: [ISO005 global-object]")


def test_the_length_budget_holds_on_any_pull_request() -> None:
    r = _result()
    many_new = [replace(f, symbol=f"{f.symbol}_{i}", line=i) for i in range(300) for f in r.new]
    many_fixed = [replace(f, symbol=f"{f.symbol}_{i}") for i in range(40) for f in r.fixed]
    huge = replace(r, new=many_new, fixed=many_fixed)
    body = pr_comment.render(huge)
    assert escape.utf16_len(body) <= pr_comment.MAX_BODY
    assert (
        "more not shown, see [the check run](https://github.com/python/cpython/pull/4242/checks)"
        in body
    )
    assert body.count("<details>") == body.count("</details>")
    # Characters outside the BMP count twice, as GitHub counts them.
    wide = replace(r, new=[replace(f, symbol="\U0001f600" * 100) for f in many_new])
    assert escape.utf16_len(pr_comment.render(wide)) <= pr_comment.MAX_BODY
    # The check run's text holds every new finding (up to its own limit).
    text = check_run.text(huge)
    assert escape.utf16_len(text) <= check_run.MAX_TEXT
    assert escape.utf16_len(check_run.summary(huge)) <= check_run.MAX_SUMMARY


def test_check_run_summary_is_short_and_text_is_complete() -> None:
    r = _result()
    out = check_run.output(r, rules_url=RULES)
    assert escape.utf16_len(out["summary"]) < 6_000  # the text holds the rest
    for c in FOUR_MODULES:
        assert f"| `{c.module}` | converted to multi-phase init" in out["summary"]
    for f in r.new:
        assert _new_finding_text(f) in out["text"]
    for f in r.fixed:
        assert f"`{f.path}:{f.line}`" in out["text"]
    _golden("check_run_four_modules_summary.md", out["summary"])


def test_annotations_only_for_new_findings_on_changed_lines() -> None:
    r = _result()
    anns = check_run.annotations_for(r)
    assert anns and len(anns) == len(r.new)  # every new finding is on a line the PR wrote
    untouched = replace(r, changed_lines={p: frozenset({99_999}) for p in r.changed_lines})
    # None on a changed line: all new findings are annotated rather than none.
    assert len(check_run.annotations_for(untouched)) == len(r.new)
    one = replace(
        r, changed_lines={**untouched.changed_lines, r.new[0].path: frozenset({r.new[0].line})}
    )
    assert [a["start_line"] for a in check_run.annotations_for(one)] == [r.new[0].line]
