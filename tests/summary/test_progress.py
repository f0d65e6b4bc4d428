"""Pure computations shared by the summary and the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.analysis.model import Finding
from bot.summary.progress import (
    completed_modules,
    completing_prs,
    filter_rows,
    group_changes,
    module_rows,
    new_error_findings,
    sort_rows,
)
from bot.summary.seed import make_event, make_snapshot, summary_of
from tests.summary.sumtest_support import REPO, mod

T = datetime(2026, 11, 20, tzinfo=UTC)


def finding(symbol: str, severity: str = "error", status: str = "new") -> Finding:
    return Finding("ISO005", "g", severity, "Modules/x.c", 1, 1, 1, 2, symbol, "m", status)  # type: ignore[arg-type]


def test_rows_filters_and_sorting() -> None:
    snap = make_snapshot(
        REPO,
        "s",
        T,
        [
            mod("b", "single", static=("B1", "B2"), findings=4),
            mod("a", "done"),
            mod("c", "multi", static=("C1",)),
            mod("_testx", "single", is_test=True),
        ],
    )
    rows = module_rows(snap)
    assert [r.name for r in rows] == ["_testx", "a", "b", "c"]
    assert [r.status for r in rows] == ["not-started", "done", "not-started", "partly"]
    assert [r.name for r in filter_rows(rows, "single-phase")] == ["_testx", "b"]
    assert [r.name for r in filter_rows(rows, "no-gil-slot")] == ["_testx", "b", "c"]
    assert [r.name for r in filter_rows(rows, "static-types")] == ["b", "c"]
    assert [r.name for r in filter_rows(rows, "stdlib")] == ["a", "b", "c"]
    assert [r.name for r in sort_rows(rows, "static_types", descending=True)][:2] == ["b", "c"]
    assert [r.name for r in sort_rows(rows, "status")] == ["_testx", "b", "c", "a"]
    with pytest.raises(ValueError, match="unknown filter"):
        filter_rows(rows, "nope")
    with pytest.raises(ValueError, match="unknown sort key"):
        sort_rows(rows, "nope")


def test_completing_pr_is_forgotten_after_a_regression() -> None:
    evs = [
        make_event(REPO, "a", "completed", T, pr=1),
        make_event(REPO, "b", "completed", T, pr=2),
        make_event(REPO, "b", "regression", T + timedelta(hours=1), pr=3),
        make_event(REPO, "c", "multi-phase", T, pr=4),
    ]
    assert completing_prs(evs) == {"a": 1}


def test_completed_modules_and_new_errors() -> None:
    before = make_snapshot(REPO, "1", T, [mod("a", "multi"), mod("b")], [finding("old")])
    after = make_snapshot(
        REPO,
        "2",
        T + timedelta(days=1),
        [mod("a"), mod("b"), mod("n")],
        [
            finding("old"),
            finding("new"),
            finding("warn", "warning"),
            finding("sup", status="suppressed"),
        ],
    )
    evs = [make_event(REPO, "a", "completed", T + timedelta(days=1), pr=77)]
    done = completed_modules(before, after, evs)
    assert [(c.name, c.pr) for c in done] == [("a", 77), ("n", None)]
    assert [f.symbol for f in new_error_findings(before, after)] == ["new"]
    assert [f.symbol for f in new_error_findings(None, after)] == ["new", "old"]


def test_changes_grouped_by_pr_and_a_mixed_pr_counts_as_backward() -> None:
    evs = [
        make_event(REPO, "a", "multi-phase", T, pr=10, author="x"),
        make_event(REPO, "b", "heap-types", T, pr=10, author="x"),
        make_event(REPO, "c", "heap-types", T, pr=11, author="y"),
        make_event(REPO, "c", "regression", T, pr=11, author="y"),
        make_event(REPO, "d", "completed", T, sha="f" * 40),
    ]
    changes = group_changes(evs)
    assert [(c.number, c.direction, c.modules) for c in changes] == [
        (10, "forward", ("a", "b")),
        (11, "backward", ("c",)),
        (None, "forward", ("d",)),
    ]


def test_summary_of_module_states() -> None:
    s = summary_of([mod("a"), mod("b", "single", static=("T",)), mod("_t", "multi", is_test=True)])
    assert (s.multi_phase.all.done, s.multi_phase.all.total) == (2, 3)
    assert (s.multi_phase.stdlib.done, s.multi_phase.stdlib.total) == (1, 2)
    assert (s.heap_types.all.done, s.heap_types.all.total) == (2, 3)
    assert (s.per_interpreter_gil.all.done, s.per_interpreter_gil.all.total) == (1, 3)
