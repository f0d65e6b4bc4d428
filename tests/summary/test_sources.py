"""Where the summary's data come from: seed files, the PR-check state, the store adapter."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.prcheck.store import PrState, save
from bot.store import Database
from bot.summary.open_prs import RECENT_SECONDS, candidate_prs
from bot.summary.seed import (
    SeedError,
    demo_source,
    load_seed,
    load_seed_file,
    make_snapshot,
    seed_store,
)
from bot.summary.source import MemorySource, StoreSource
from tests.summary.sumtest_support import REPO, mod

T = datetime(2026, 11, 20, 12, tzinfo=UTC)


def seed_doc() -> dict[str, object]:
    return {
        "repo": REPO,
        "snapshots": [
            {
                "sha": "a" * 40,
                "committed_at": "2026-11-19T10:00:00Z",
                "modules": [mod("_abc", "multi").to_dict()],
            },
            {
                "sha": "b" * 40,
                "committed_at": "2026-11-20T10:00:00Z",
                "modules": [mod("_abc").to_dict()],
            },
        ],
        "events": [
            {"module": "_abc", "kind": "completed", "at": "2026-11-20T10:00:00Z", "pr_number": 7}
        ],
        "open_prs": [{"number": 8, "title": "t", "improvements": 1}],
    }


async def test_seed_document_loads() -> None:
    src = load_seed(seed_doc())
    latest = await src.latest_snapshot(REPO)
    assert latest is not None and latest.sha == "b" * 40
    assert latest.summary.per_interpreter_gil.all.done == 1
    assert [e.pr_number for e in await src.module_events(REPO)] == [7]
    assert [p.number for p in await src.open_pull_requests(REPO)] == [8]
    before = await src.snapshot_at(REPO, datetime(2026, 11, 19, 23, tzinfo=UTC))
    assert before is not None and before.sha == "a" * 40


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "expected a JSON object"),
        ({}, "missing 'repo'"),
        ({"repo": REPO, "snapshots": [{"sha": "x"}]}, r"snapshots\[0\]: missing 'modules'"),
        (
            {"repo": REPO, "snapshots": [{"sha": "x", "modules": [], "committed_at": "nope"}]},
            "malformed",
        ),
        ({"repo": REPO, "events": [{"module": "m"}]}, r"events\[0\]: missing 'kind'"),
    ],
)
def test_bad_seed_documents_say_where(doc: object, message: str) -> None:
    with pytest.raises(SeedError, match=message):
        load_seed(doc)  # type: ignore[arg-type]


def test_seed_file_errors(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="cannot read seed file"):
        load_seed_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(SeedError, match="cannot read seed file"):
        load_seed_file(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(seed_doc()), encoding="utf-8")
    assert REPO in load_seed_file(good).snapshots


async def test_demo_history_moves_forward_and_back() -> None:
    src = demo_source(REPO, T, weeks=16)
    snaps = src.snapshots[REPO]
    assert len(snaps) == 16
    kinds = {e.kind for e in src.events[REPO]}
    assert "regression" in kinds and "completed" in kinds
    first, last = snaps[0].summary.multi_phase.all, snaps[-1].summary.multi_phase.all
    assert last.done > first.done


async def test_store_source_reads_what_the_tracking_part_stored(db: Database) -> None:
    mem = load_seed(seed_doc())
    await seed_store(db, mem)
    store = StoreSource(db)
    for when in (datetime(2026, 11, 19, 12, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)):
        a, b = await mem.snapshot_at(REPO, when), await store.snapshot_at(REPO, when)
        assert a is not None and b is not None and a.sha == b.sha and a.summary == b.summary
    whens = [datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 19, 12, tzinfo=UTC), T]
    assert await store.metrics_at(REPO, whens) == await mem.metrics_at(REPO, whens)
    assert (await store.metrics_at(REPO, whens))[0] is None
    hist = await store.module_history(REPO, "_abc")
    assert [p.state.status for p in hist if p.state] == ["partly", "done"]
    evs = await store.module_events(REPO, since=datetime(2026, 11, 20, tzinfo=UTC))
    assert [e.kind for e in evs] == ["completed"]


async def test_open_pr_candidates_from_the_pr_check_state(db: Database) -> None:
    def state(n: int, result: dict[str, object] | None) -> PrState:
        return PrState(repo=REPO, number=n, result=result)

    await save(db, state(1, {"improvements": ["_abc: multi-phase"], "regressions": []}))
    await save(db, state(2, {"improvements": [], "regressions": ["x", "y"]}))
    await save(db, state(3, {"improvements": [], "regressions": []}))  # nothing to review
    await save(db, state(4, None))
    await db.execute("UPDATE pr_state SET result = '{not json' WHERE number = 4")
    await save(db, state(5, {"improvements": ["old"]}))
    await db.execute(
        "UPDATE pr_state SET updated_at = ? WHERE number = 5", (time.time() - RECENT_SECONDS - 60,)
    )
    prs = await candidate_prs(db, REPO)
    assert [(p.number, p.improvements, p.regressions) for p in prs] == [(1, 1, 0), (2, 0, 2)]
    assert await StoreSource(db).open_pull_requests(REPO) == prs


async def test_memory_source_window_is_inclusive() -> None:
    src = MemorySource()
    src.add(REPO, [make_snapshot(REPO, "s", T, [mod("a")])])
    assert [s.sha for s in await src.snapshots_between(REPO, T, T)] == ["s"]
    assert await src.snapshots_between(REPO, T + timedelta(seconds=1), T + timedelta(days=1)) == []


async def test_seed_round_trip_and_standalone_seed_file(tmp_path: Path) -> None:
    from bot.summary.seed import dump_seed

    demo = demo_source(REPO, T, weeks=6)
    doc = dump_seed(demo, REPO)
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    again = load_seed_file(path)
    assert [s.sha for s in again.snapshots[REPO]] == [s.sha for s in demo.snapshots[REPO]]
    assert [s.summary for s in again.snapshots[REPO]] == [s.summary for s in demo.snapshots[REPO]]
    assert [(e.id, e.kind, e.pr_number) for e in again.events[REPO]] == [
        (e.id, e.kind, e.pr_number) for e in demo.events[REPO]
    ]
    assert again.open_prs[REPO] == demo.open_prs[REPO]
