"""The weekly summary renderer: golden files (empty, regressions, huge week), inert text, size."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.analysis.model import Finding, Metric, Ratio, Summary
from bot.summary.model import (
    CompletedModule,
    ModuleRow,
    OpenPullRequest,
    PullRequestChange,
    TrendPoint,
    WeeklyData,
)
from bot.summary.render import MAX_CHARS, marker, render_weekly_summary

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
SINCE = datetime(2026, 11, 16, 9, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=7)
SHA = "0123456789abcdef0123456789abcdef01234567"


def summary(mp: int, heap: int, gil: int, total: int = 160, types: int = 200) -> Summary:
    def metric(done: int, tot: int) -> Metric:
        return Metric(Ratio(done, tot), Ratio(max(done - 10, 0), tot - 20))

    return Summary(metric(mp, total), metric(heap, types), metric(gil, total))


def row(
    name: str, *, init: str = "multi-phase", slot: str = "supported", static: int = 0
) -> ModuleRow:
    return ModuleRow(
        name=name,
        path=f"Modules/{name}module.c",
        init=init,
        slot=slot,
        static_types=tuple(f"{name}_Type{i}" for i in range(static)),
        open_findings=static,
        error_findings=0,
        is_test=False,
        status="not-started" if init == "single-phase" else "partly",
    )


def trend(n: int = 12) -> list[TrendPoint]:
    return [
        TrendPoint(
            f"2026-W{36 + i:02d}",
            SINCE - timedelta(weeks=11 - i),
            summary(90 + i, 120 + 2 * i, 40 + i),
        )
        for i in range(n)
    ]


def base(**kw: object) -> WeeklyData:
    data = WeeklyData(
        repo="python/cpython",
        week="2026-W48",
        since=SINCE,
        until=UNTIL,
        current=summary(101, 142, 52),
        previous=summary(101, 142, 52),
        sha=SHA,
        trend=trend(),
    )
    for k, v in kw.items():
        setattr(data, k, v)
    return data


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE or not path.exists():
        if not UPDATE and os.environ.get("CI"):
            pytest.fail(f"golden file {path} is missing (run with UPDATE_GOLDEN=1 locally)")
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"differs from {path} (UPDATE_GOLDEN=1)"


def test_empty_week_golden() -> None:
    text = render_weekly_summary(base())
    check_golden("summary_empty_week.md", text)
    assert "No merged change moved isolation this week." in text
    assert "no change this week" in text
    assert "xychart-beta" in text


def regressions_week() -> WeeklyData:
    return base(
        previous=summary(99, 140, 52),
        current=summary(101, 142, 51),
        changes=[
            PullRequestChange(
                126001,
                "a" * 40,
                "encukou",
                "forward",
                ("_csv",),
                ("_csv: converted to multi-phase init",),
            ),
            PullRequestChange(
                126002,
                "b" * 40,
                "vstinner",
                "backward",
                ("_json",),
                ("_json: new static types: JsonCache_Type",),
            ),
            PullRequestChange(
                None,
                "c" * 40,
                None,
                "backward",
                ("select",),
                ("select: no longer declares per-interpreter GIL support",),
            ),
        ],
        completed=[CompletedModule("_csv", 126001)],
        new_errors=[
            Finding(
                "ISO001",
                "static-type",
                "error",
                "Modules/_json.c",
                42,
                1,
                50,
                2,
                "JsonCache_Type",
                "static PyTypeObject",
            ),
        ],
        open_prs=[OpenPullRequest(126100, "gh-103092: isolate _curses", "erlend-aasland", 2, 0)],
        single_phase=[
            row("_curses", init="single-phase", slot="none", static=3),
            row("readline", init="single-phase", slot="none"),
        ],
        static_types_left=[
            row("_curses", init="single-phase", slot="none", static=3),
            row("_json", static=1),
        ],
        without_gil_slot=[row("_json", static=1), row("select")],
    )


def test_regressions_week_golden() -> None:
    text = render_weekly_summary(regressions_week())
    check_golden("summary_regressions_week.md", text)
    assert "**Backward (2)**" in text and "**Forward (1)**" in text
    assert "−1 this week" in text and "+2 this week" in text
    assert "[#126002](https://github.com/python/cpython/pull/126002)" in text


def huge_week() -> WeeklyData:
    long = "x" * 400
    changes = [
        PullRequestChange(
            130000 + i,
            f"{i:040x}",
            f"user{i}",
            "forward" if i % 3 else "backward",
            tuple(f"_mod{i}_{j}" for j in range(30)),
            tuple(f"_mod{i}_{j}: {long}" for j in range(30)),
        )
        for i in range(3000)
    ]
    rows = [row(f"_mod{i}", init="single-phase", slot="none", static=5) for i in range(2000)]
    return base(
        previous=summary(10, 10, 10),
        changes=changes,
        completed=[CompletedModule(f"_done{i}", 140000 + i) for i in range(1500)],
        new_errors=[
            Finding(
                "ISO005",
                "global-object",
                "error",
                f"Modules/m{i}.c",
                i + 1,
                1,
                i + 1,
                9,
                f"g{i}",
                long,
            )
            for i in range(5000)
        ],
        open_prs=[OpenPullRequest(150000 + i, long, f"u{i}", 1, 1) for i in range(1000)],
        single_phase=rows,
        static_types_left=rows,
        without_gil_slot=rows,
    )


def test_huge_week_fits_in_a_comment_golden() -> None:
    text = render_weekly_summary(huge_week())
    assert len(text) <= MAX_CHARS < 65_536
    assert len(text.encode("utf-16-le")) // 2 <= 65_536  # GitHub counts UTF-16 units
    assert re.search(r"… and \d+ more", text)
    assert text.startswith(marker("2026-W48"))
    assert "xychart-beta" in text  # the chart survives the cut
    check_golden("summary_huge_week.md", text)


def test_marker_is_hidden_and_names_the_week() -> None:
    text = render_weekly_summary(base())
    assert text.splitlines()[0] == "<!-- isolation-bot:weekly-summary:2026-W48 -->"


def test_pr_controlled_text_is_inert() -> None:
    evil = "<img src=x onerror=alert(1)> @octocat fixes #1234 GH-99 [x](http://evil) **b** |t|"
    data = base(
        changes=[
            PullRequestChange(
                1, "d" * 40, "@evil<b>", "forward", ("m",), (f"m: {evil}",), title=evil
            )
        ],
        open_prs=[OpenPullRequest(2, evil, "octo@cat", 1, 0)],
        new_errors=[Finding("ISO001", "n", "error", "Modules/<x>.c", 1, 1, 1, 1, "`sym`", evil)],
    )
    text = render_weekly_summary(data)
    body = text.split("\n", 1)[1]  # after the marker
    # Backslash-escaped "<" renders as a literal character, never as HTML.
    assert not re.search(r"(?<!\\)<(img|b)", body)
    assert not re.search(r"(?<![\w\u2060])@octocat", body)  # no mention
    assert not re.search(r"#1234", body)  # no cross-reference
    assert "](http://evil)" not in body  # no link injected
    assert not re.search(r"(?<!\\)\*\*b", body)


def test_nothing_analysed_yet() -> None:
    text = render_weekly_summary(base(current=None, previous=None, trend=[]))
    assert "Nothing has been analysed on the default branch yet." in text
    assert "### Headline" not in text


def test_late_post_says_so() -> None:
    text = render_weekly_summary(base(late=True, scheduled_at=UNTIL))
    assert "Posted late" in text and "2026-11-23 09:00 UTC" in text


def test_chart_skipped_with_less_than_two_weeks() -> None:
    assert "xychart-beta" not in render_weekly_summary(base(trend=trend(1)))


def test_dashboard_link_when_the_service_has_a_public_url() -> None:
    text = render_weekly_summary(base(), dashboard_url="https://bot.example.org")
    assert "[the dashboard](https://bot.example.org/)" in text
    assert "the dashboard" not in render_weekly_summary(base())


@settings(max_examples=60, deadline=None)
@example(title="@octocat <b>#12</b> -->", author="@x", detail="GH-1 <!-- x --> www.a.b @y")
@example(title="line\n- [#9](http://x)", author="", detail="<script>@z</script>")
@given(
    title=st.text(max_size=300),
    author=st.text(max_size=40),
    detail=st.text(max_size=300),
)
def test_any_pr_text_stays_inert(title: str, author: str, detail: str) -> None:
    data = base(
        changes=[
            PullRequestChange(7, "e" * 40, author or None, "forward", ("m",), (detail,), title)
        ],
        open_prs=[OpenPullRequest(8, title, author or None, 1, 0)],
    )
    text = render_weekly_summary(data)
    body = text.split("\n", 1)[1]
    assert "<!--" not in body  # cannot fake (or close) a hidden marker
    assert not re.search(r"(?<!\\)<[A-Za-z/!]", body)  # no raw HTML tag opens
    assert not re.search(r"(?<![\w\u2060])@[A-Za-z0-9]", body.replace("[", " "))  # no mention
    assert not re.search(r"(?<![\\\w])#\d", body.replace("[#7]", "").replace("[#8]", ""))
    lines = text.splitlines()
    assert sum(1 for line in lines if line.startswith("- [#7]")) == 1  # one line, not split


def test_long_lists_of_modules_fold_under_their_count() -> None:
    from markdown_it import MarkdownIt

    many = [row(f"_m{i:02d}", init="single-phase", slot="unspecified") for i in range(30)]
    few = [row("_few", static=2)]
    text = render_weekly_summary(base(single_phase=many, static_types_left=few))
    assert "- **Still single-phase (30)**: <details><summary>30 modules</summary>[`_m00`]" in text
    assert "- **Static types left (2 in 1 modules)**: [`_few`]" in text  # short: inline
    assert text.count("<details>") == text.count("</details>") == 1
    tokens = MarkdownIt("commonmark").parse(text)
    inline = next(t for t in tokens if t.type == "inline" and "Still single-phase" in t.content)
    links = [c for c in inline.children or [] if c.type == "link_open"]
    assert len(links) == 30  # the folded names are still links
