"""Snapshots and attribution events: derivation from tree reports, storage, queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store import Database
from bot.tracking.events import (
    Attribution,
    module_events,
    pr_from_message,
    record_events,
    state_changes,
)
from bot.tracking.snapshots import (
    latest_snapshot,
    module_history,
    save_snapshot,
    snapshot_at,
    snapshots_between,
)
from bot.tracking.state import Snapshot, snapshot_from_tree
from tests.tracking.tracktest_support import ToyAnalyzer, module_c

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
REPO = "python/cpython"


def snap(sha: str, when: datetime, files: dict[str, bytes]) -> Snapshot:
    toy = ToyAnalyzer()
    reports = [toy.analyze(p, d) for p, d in sorted(files.items())]
    return snapshot_from_tree(REPO, sha, when, toy.tree(reports, None, None))


def test_module_state_from_tree() -> None:
    s = snap(
        "a" * 40,
        T0,
        {
            "Modules/_abc.c": module_c("_abc", heap=("abc_spec",)),
            "Modules/_curses.c": module_c(
                "_curses", multi=False, pig=False, static=("Win_Type",), globals_=("err",)
            ),
            "Modules/_ctypes/_ctypes.c": module_c("_ctypes", static=("A_Type",), heap=("b",)),
        },
    )
    abc, curses, ctypes = s.module("_abc"), s.module("_curses"), s.module("_ctypes")
    assert abc is not None and abc.status == "done" and abc.heap_types == ("abc_spec",)
    assert curses is not None and curses.status == "not-started"
    assert curses.static_types == ("Win_Type",)
    assert curses.global_state_findings == 1 and curses.error_findings == 1
    assert ctypes is not None and ctypes.status == "partly"
    assert len(s.findings) == 1 and s.summary.multi_phase.all.done == 2


async def test_save_and_query(db: Database) -> None:
    files = {"Modules/_curses.c": module_c("_curses", multi=False, pig=False, static=("W",))}
    s1 = snap("1" * 40, T0, files)
    files["Modules/_curses.c"] = module_c("_curses", multi=True, pig=False, static=("W",))
    s2 = snap("2" * 40, T0 + timedelta(days=7), files)
    files["Modules/_curses.c"] = module_c("_curses", heap=("W_spec",))
    s3 = snap("3" * 40, T0 + timedelta(days=14), files)
    assert await latest_snapshot(db, REPO) is None
    for s in (s3, s1, s2):  # stored out of order: queries go by commit time
        await save_snapshot(db, s)
    await save_snapshot(db, s2)  # idempotent
    latest = await latest_snapshot(db, REPO)
    assert latest is not None and latest.sha == s3.sha
    assert latest.summary == s3.summary and latest.modules == s3.modules
    assert latest.committed_at == s3.committed_at
    at = await snapshot_at(db, REPO, T0 + timedelta(days=8))
    assert at is not None and at.sha == s2.sha
    assert await snapshot_at(db, REPO, T0 - timedelta(seconds=1)) is None
    between = await snapshots_between(db, REPO, T0 + timedelta(days=1), None)
    assert [s.sha for s in between] == [s2.sha, s3.sha]
    light = await snapshots_between(db, REPO, with_findings=False)
    assert [s.sha for s in light] == [s1.sha, s2.sha, s3.sha] and light[0].findings == ()
    history = await module_history(db, REPO, "_curses")
    assert [(p.sha, p.state.status if p.state else None) for p in history] == [
        (s1.sha, "not-started"),
        (s2.sha, "partly"),
        (s3.sha, "done"),
    ]
    assert await module_history(db, REPO, "nope") == []
    assert await latest_snapshot(db, "other/repo") is None


def test_state_changes_kinds() -> None:
    before = snap(
        "1" * 40,
        T0,
        {
            "Modules/a.c": module_c("a", multi=False, pig=False, static=("T1", "T2")),
            "Modules/b.c": module_c("b"),
            "Modules/c.c": module_c("c", multi=True, pig=False),
        },
    )
    after = snap(
        "2" * 40,
        T0,
        {
            "Modules/a.c": module_c("a", multi=True, pig=True, static=(), heap=("S",)),
            "Modules/b.c": module_c("b", static=("New_Type",)),
            "Modules/c.c": module_c("c", multi=False, pig=False),
            "Modules/d.c": module_c("d"),
        },
    )
    got = {(c.module, c.kind, c.detail) for c in state_changes(before, after)}
    assert got == {
        ("a", "multi-phase", "converted to multi-phase init"),
        ("a", "heap-types", "static types converted: T1, T2"),
        ("a", "per-interpreter-gil", "declares per-interpreter GIL support"),
        ("a", "completed", "multi-phase, heap types, per-interpreter GIL"),
        ("b", "regression", "new static types: New_Type"),
        ("c", "regression", "back to single-phase init"),
        ("d", "completed", "new module, fully isolated"),
    }
    assert state_changes(None, after) == []  # a first snapshot attributes nothing


def test_pr_from_message() -> None:
    assert pr_from_message("gh-103092: Isolate _abc (#12345)\n\nbody (#1)") == 12345
    assert pr_from_message("gh-1: x (GH-777)") == 777
    assert pr_from_message("Merge branch\n\nsee (#42)") == 42
    assert pr_from_message("no number gh-103092") is None
    assert pr_from_message("") is None
    assert pr_from_message("Merge pull request #31 from porter/abc\n\nIsolate (#2)") == 31


async def test_record_and_query_events(db: Database) -> None:
    before = snap("1" * 40, T0, {"Modules/a.c": module_c("a", multi=False, pig=False)})
    after = snap("2" * 40, T0, {"Modules/a.c": module_c("a")})
    changes = state_changes(before, after)
    who = Attribution(12345, "ericsnowcurrently")
    stored = await record_events(db, REPO, after.sha, T0, changes, who)
    again = await record_events(db, REPO, after.sha, T0, changes, who)  # redelivery
    assert len(stored) == len(again) == 3
    events = await module_events(db, REPO)
    assert len(events) == 3
    assert {e.kind for e in events} == {"multi-phase", "per-interpreter-gil", "completed"}
    assert all(e.pr_number == 12345 and e.author == "ericsnowcurrently" for e in events)
    assert await module_events(db, REPO, module="zzz") == []
    assert await module_events(db, REPO, since=T0 + timedelta(seconds=1)) == []
    assert len(await module_events(db, REPO, module="a", since=T0)) == 3


async def _parts(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM tracking_snapshot_parts")
    assert row is not None
    return int(row["n"])


async def test_unchanged_files_are_not_stored_again(db: Database) -> None:
    files = {
        f"Modules/m{i}.c": module_c(f"m{i}", multi=False, pig=False, globals_=("g", "h"))
        for i in range(20)
    }
    await save_snapshot(db, snap("1" * 40, T0, files))
    first = await _parts(db)
    assert first == 20 + 2  # one findings part per file, the modules part, the types part
    await save_snapshot(db, snap("2" * 40, T0 + timedelta(hours=1), files))
    assert await _parts(db) == first  # a push touching no C file stores no new part
    files["Modules/m3.c"] = b"/* moved down */\n" + files["Modules/m3.c"]
    await save_snapshot(db, snap("3" * 40, T0 + timedelta(hours=2), files))
    assert await _parts(db) == first + 1  # only m3's findings (lines moved)
    latest = await latest_snapshot(db, REPO)
    assert latest is not None and len(latest.findings) == 40
    assert {f.line for f in latest.findings if f.path == "Modules/m3.c"} == {4, 5}


async def test_rows_written_as_plain_json_stay_readable(db: Database) -> None:
    s = snap("4" * 40, T0, {"Modules/a.c": module_c("a", globals_=("g",))})
    import json

    await db.execute(
        "INSERT INTO tracking_snapshots (repo, sha, committed_at, created_at, source, summary, "
        "modules, types, findings, files) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            REPO,
            s.sha,
            "2026-01-05T12:00:00Z",
            "2026-01-05T12:00:00Z",
            "push",
            json.dumps(s.summary.to_dict()),
            json.dumps([m.to_dict() for m in s.modules]),
            json.dumps([t.to_dict() for t in s.types]),
            json.dumps([f.to_dict() for f in s.findings]),
            1,
        ),
    )
    got = await latest_snapshot(db, REPO)
    assert got is not None and got.modules == s.modules and got.findings == s.findings
    assert [p.state for p in await module_history(db, REPO, "a")] == [s.modules[0]]
