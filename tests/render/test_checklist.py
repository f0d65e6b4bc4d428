"""The meta-issue checklist section: golden files and the rules it must keep.

Regenerate the golden files after an intended change with
``ISOLATION_BOT_UPDATE_GOLDEN=1 pytest tests/render/test_checklist.py`` and review the diff.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.analysis.model import Metric, Ratio, Summary
from bot.tracking.checklist import END_MARKER, START_MARKER, module_line, percent, render_checklist
from bot.tracking.events import ModuleEvent
from bot.tracking.state import ModuleState, Snapshot

GOLDEN = Path(__file__).parent / "golden"
WHEN = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _summary() -> Summary:
    return Summary(
        multi_phase=Metric(Ratio(150, 158), Ratio(140, 144)),
        heap_types=Metric(Ratio(300, 360), Ratio(280, 333)),
        per_interpreter_gil=Metric(Ratio(120, 158), Ratio(115, 144)),
    )


def _modules() -> tuple[ModuleState, ...]:
    pig = "per-interpreter-gil"
    return (
        ModuleState("_abc", "Modules/_abc.c", "multi-phase", pig, False, (), ("abc_spec",)),
        ModuleState("math", "Modules/mathmodule.c", "multi-phase", pig, False),
        ModuleState(
            "_ctypes",
            "Modules/_ctypes/_ctypes.c",
            "multi-phase",
            "unspecified",
            False,
            ("PyCArg_Type", "Simple_Type"),
            ("cfield_spec",),
            7,
            2,
            5,
        ),
        ModuleState(
            "faulthandler",
            "Modules/faulthandler.c",
            "multi-phase",
            "not-supported",
            False,
        ),
        ModuleState(
            "_curses",
            "Modules/_cursesmodule.c",
            "single-phase",
            None,
            False,
            ("PyCursesWindow_Type",),
            (),
            3,
            3,
            1,
        ),
        ModuleState("readline", "Modules/readline.c", "single-phase", None, False, (), (), 4, 1, 4),
        ModuleState("_testcapi", "Modules/_testcapimodule.c", "single-phase", None, True),
    )


def _snapshot(modules: tuple[ModuleState, ...] | None = None) -> Snapshot:
    return Snapshot(
        "python/cpython", "a" * 40, WHEN, _summary(), _modules() if modules is None else modules
    )


def _event(module: str, kind: str, pr: int | None) -> ModuleEvent:
    return ModuleEvent("id", "python/cpython", module, kind, pr, "b" * 40, "someone", WHEN, "")


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ISOLATION_BOT_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8", newline="")
    assert path.exists(), f"missing golden file {path}: run with ISOLATION_BOT_UPDATE_GOLDEN=1"
    with path.open(encoding="utf-8", newline="") as f:
        assert text == f.read()


def test_checklist_golden() -> None:
    events = [
        _event("_abc", "multi-phase", 11111),
        _event("_abc", "completed", 12345),
        _event("math", "completed", None),  # history import without a PR: no "(#...)"
        _event("_ctypes", "heap-types", 22222),
    ]
    text = render_checklist(_snapshot(), events)
    _golden("checklist_cpython_like.md", text)
    assert "- [x] `_abc`: multi-phase, heap types, per-interpreter GIL (#12345)" in text
    assert "_testcapi" not in text  # test modules count in "all" but are not listed


def test_checklist_no_snapshot_golden() -> None:
    _golden("checklist_empty.md", render_checklist(None, []))


def test_checklist_hostile_names_golden() -> None:
    hostile = (
        ModuleState("x`y", "Modules/a.c", "single-phase", None, False),
        ModuleState("@octocat", "Modules/b.c", "single-phase", None, False),
        ModuleState(END_MARKER, "Modules/c.c", "single-phase", None, False),
        ModuleState("[link](http://evil)<img src=x>", "Modules/d.c", "single-phase", None, False),
        ModuleState("a\nb", "Modules/e.c", "single-phase", None, False),
    )
    text = render_checklist(_snapshot(hostile), [])
    _golden("checklist_hostile.md", text)
    # The markers appear exactly once each, at the start and the end.
    assert text.count(START_MARKER) == 1 and text.count(END_MARKER) == 1
    assert text.startswith(START_MARKER) and text.endswith(END_MARKER + "\n")
    assert "`@octocat`" in text  # inside a code span: no mention
    body_lines = text.splitlines()
    assert all(not line.startswith("<img") for line in body_lines)


@pytest.mark.parametrize(
    ("done", "total", "expected"),
    [
        (76, 118, "64% (76/118)"),
        (117, 118, "99% (117/118)"),
        (5, 5, "100% (5/5)"),
        (0, 0, "n/a (0/0)"),
    ],
)
def test_percent_is_rounded_down(done: int, total: int, expected: str) -> None:
    assert percent(Ratio(done, total)) == expected


def test_long_lists_are_cut_within_the_budget() -> None:
    many = tuple(
        ModuleState(f"mod{i:04d}", f"Modules/m{i}.c", "single-phase", None, False)
        for i in range(2000)
    )
    text = render_checklist(_snapshot(many), [], max_chars=5000)
    assert len(text) <= 5000
    assert "more" in text and text.endswith(END_MARKER + "\n")


def test_partly_done_line_lists_what_is_left() -> None:
    m = ModuleState(
        "_ctypes", "p", "multi-phase", "unspecified", False, ("A", "B"), ("C",), 9, 1, 4
    )
    assert module_line(m, None) == (
        "- [ ] `_ctypes`: multi-phase; to do: 2 static types, missing per-interpreter GIL slot, "
        "4 global-state findings"
    )


def test_section_does_not_depend_on_the_commit() -> None:
    """A push that changes no module state must render the same section (no issue edit)."""
    a = _snapshot()
    b = Snapshot("python/cpython", "c" * 40, datetime(2027, 1, 1, tzinfo=UTC), a.summary, a.modules)
    assert render_checklist(a, []) == render_checklist(b, [])


def test_a_long_group_folds_under_its_count() -> None:
    pig = "per-interpreter-gil"
    done = tuple(
        ModuleState(f"_mod{i:02d}", f"Modules/_mod{i:02d}.c", "multi-phase", pig, False)
        for i in range(40)
    )
    text = render_checklist(_snapshot(done + _modules()[2:]))
    assert "### Done (40)\n\n<details><summary>40 modules</summary>\n\n- [x] `_mod00`" in text
    assert text.count("<details>") == text.count("</details>") == 1  # short groups stay open
    assert "### Not started (2)\n\n- [ ] `_curses`" in text
    assert text.count("- [x] `_mod") == 40
