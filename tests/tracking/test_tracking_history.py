"""``isolation-bot history`` on a synthetic git repository the test creates."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import history as history_cli
from bot.store import open_database
from bot.store.analysis_cache import CoreAnalyzer
from bot.tracking.events import module_events
from bot.tracking.history import HistoryError, list_commits, select_points, walk_history
from bot.tracking.snapshots import latest_snapshot, snapshots_between
from tests.tracking.tracktest_support import CountingCore, ToyAnalyzer, module_c


def git(repo: Path, *args: str, when: str | None = None) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Porter",
        "GIT_AUTHOR_EMAIL": "porter@example.invalid",
        "GIT_COMMITTER_NAME": "Porter",
        "GIT_COMMITTER_EMAIL": "porter@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    if when:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
    out = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def commit(repo: Path, files: dict[str, bytes | None], message: str, when: str) -> str:
    for path, data in files.items():
        target = repo / path
        if data is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, when=when)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three weeks of a tiny CPython-like history, with a side branch merged in."""
    repo = tmp_path_factory.mktemp("cpython")
    git(repo, "init", "-q", "-b", "main")
    commit(
        repo,
        {
            "Modules/_curses.c": module_c("_curses", multi=False, pig=False, static=("Win_Type",)),
            "Modules/_abc.c": module_c("_abc", multi=False, pig=False),
            "Modules/_testcapi.c": module_c("_testcapi", multi=False, pig=False),
            "Lib/os.py": b"# not tracked\n",
            "Tools/c-analyzer/cpython/ignored.tsv": b"filename\tfuncname\tname\treason\n",
        },
        "Initial import",
        "2026-01-05T10:00:00Z",
    )
    commit(
        repo,
        {"Modules/_abc.c": module_c("_abc")},
        "gh-103092: Isolate _abc (#1001)",
        "2026-01-06T10:00:00Z",
    )
    commit(repo, {"Lib/os.py": b"# still not tracked\n"}, "Docs (#1002)", "2026-01-07T10:00:00Z")
    # A side branch whose commits are not on the first-parent line.
    git(repo, "checkout", "-q", "-b", "side")
    commit(
        repo,
        {"Modules/_curses.c": module_c("_curses", multi=True, pig=False, static=("Win_Type",))},
        "WIP curses",
        "2026-01-13T09:00:00Z",
    )
    git(repo, "checkout", "-q", "main")
    git(
        repo,
        "merge",
        "-q",
        "--no-ff",
        "side",
        "-m",
        "Convert _curses to multi-phase (#1003)",
        when="2026-01-13T10:00:00Z",
    )
    commit(
        repo,
        {"Modules/_curses.c": module_c("_curses", heap=("win_spec",))},
        "gh-101714: _curses heap types (#1004)",
        "2026-01-20T10:00:00Z",
    )
    commit(
        repo,
        {"Modules/_abc.c": module_c("_abc", static=("Oops_Type",))},
        "Add a static type (#1005)",
        "2026-01-21T10:00:00Z",
    )
    return repo


def test_first_parent_commits_and_selection(clone: Path) -> None:
    commits = list_commits(clone)
    assert [c.subject for c in commits] == [
        "Initial import",
        "gh-103092: Isolate _abc (#1001)",
        "Docs (#1002)",
        "Convert _curses to multi-phase (#1003)",  # "WIP curses" is not first-parent
        "gh-101714: _curses heap types (#1004)",
        "Add a static type (#1005)",
    ]
    weeks = select_points(commits, "week")
    assert [c.subject for c in weeks] == [
        "Docs (#1002)",
        "Convert _curses to multi-phase (#1003)",
        "Add a static type (#1005)",
    ]
    assert len(select_points(commits, "day")) == 6
    since = list_commits(
        clone,
        since=datetime(2026, 1, 13, tzinfo=UTC),
        until=datetime(2026, 1, 20, 23, 0, tzinfo=UTC),
    )
    assert [c.subject[:7] for c in since] == ["Convert", "gh-1017"]


@pytest.mark.parametrize("kind", ["toy", "real core"])
def test_walk_reuses_blobs_and_attributes(clone: Path, kind: str) -> None:
    toy: ToyAnalyzer | CountingCore = ToyAnalyzer() if kind == "toy" else CountingCore()
    points = list(walk_history(clone, toy, every="commit"))
    assert len(points) == 6
    # Each blob analysed once: 3 files first, then one changed file per commit; the docs
    # commit and the merge's unchanged files cost nothing.
    assert [p.analysed for p in points] == [3, 1, 0, 1, 1, 1]
    assert len(toy.calls) == 7
    mp = [p.snapshot.summary.multi_phase for p in points]
    assert [(m.stdlib.done, m.stdlib.total) for m in mp] == [
        (0, 2),
        (1, 2),
        (1, 2),
        (2, 2),
        (2, 2),
        (2, 2),
    ]
    assert (mp[0].all.done, mp[0].all.total) == (0, 3)  # _testcapi counts in "all"
    changes = {
        (c.module, c.kind, by.subject if by else None) for p in points for c, by in p.changes
    }
    assert ("_abc", "completed", "gh-103092: Isolate _abc (#1001)") in changes
    assert ("_curses", "multi-phase", "Convert _curses to multi-phase (#1003)") in changes
    assert ("_curses", "completed", "gh-101714: _curses heap types (#1004)") in changes
    assert ("_abc", "regression", "Add a static type (#1005)") in changes


def test_parallel_walk_matches_serial(clone: Path) -> None:
    serial = list(walk_history(clone, CoreAnalyzer(), every="commit", jobs=1, batch=2))
    parallel = list(walk_history(clone, CoreAnalyzer(), every="commit", jobs=2, batch=4))
    assert [p.snapshot.modules for p in parallel] == [p.snapshot.modules for p in serial]
    assert [p.snapshot.summary for p in parallel] == [p.snapshot.summary for p in serial]
    assert [p.analysed for p in parallel] == [p.analysed for p in serial] == [3, 1, 0, 1, 1, 1]


def test_weekly_walk_finds_the_commit_that_changed_a_module(clone: Path) -> None:
    points = list(walk_history(clone, ToyAnalyzer(), every="week"))
    assert len(points) == 3
    last = points[-1]
    by_kind = {(c.module, c.kind): by for c, by in last.changes}
    # Both changes of the third week are attributed to the right commit inside the week.
    assert by_kind[("_curses", "completed")].subject.endswith("(#1004)")
    assert by_kind[("_abc", "regression")].subject.endswith("(#1005)")


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="not a git repository"):
        list(walk_history(tmp_path, ToyAnalyzer()))


def test_cli_csv_json_and_import(
    clone: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    assert history_cli.main([str(clone), "--every", "week", "--format", "csv"], ToyAnalyzer()) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["multi_phase_stdlib_done"] for r in rows] == ["1", "2", "2"]
    assert rows[-1]["heap_types_stdlib_total"] == "2" and rows[0]["committed_at"] == (
        "2026-01-07T10:00:00Z"
    )
    out = tmp_path / "h.json"
    assert (
        history_cli.main(
            [
                str(clone),
                "--every",
                "commit",
                "--format",
                "json",
                "-o",
                str(out),
                "--import",
                "--database-url",
                url,
                "--repo",
                "python/cpython",
                "--since",
                "2026-01-06",
            ],
            ToyAnalyzer(),
        )
        == 0
    )
    data = json.loads(out.read_text())
    assert len(data) == 5 and data[0]["subject"].endswith("(#1001)")
    assert "imported 5 snapshots" in capsys.readouterr().err

    async def check() -> None:
        db = await open_database(url)
        try:
            snaps = await snapshots_between(db, "python/cpython")
            assert len(snaps) == 5 and all(s.source == "history" for s in snaps)
            latest = await latest_snapshot(db, "python/cpython")
            assert latest is not None and latest.module("_abc") is not None
            events = await module_events(db, "python/cpython", module="_curses")
            assert {(e.kind, e.pr_number) for e in events} >= {
                ("multi-phase", 1003),
                ("completed", 1004),
            }
        finally:
            await db.close()

    import asyncio

    asyncio.run(check())


def test_cli_until_date_includes_the_day(clone: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [str(clone), "--every", "commit", "--since", "2026-01-13", "--until", "2026-01-20"]
    assert history_cli.main(args, ToyAnalyzer()) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["committed_at"][:10] for r in rows] == ["2026-01-13", "2026-01-20"]
    assert history_cli.main([str(clone), "--since", "yesterday"], ToyAnalyzer()) == 2
    assert "not a date" in capsys.readouterr().err


def test_cli_bad_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert history_cli.main([str(tmp_path / "missing")], ToyAnalyzer()) == 2
    assert "not a git repository" in capsys.readouterr().err
