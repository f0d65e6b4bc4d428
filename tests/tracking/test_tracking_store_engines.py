"""Tracking's SQL on both engines: snapshots, module history, events, the analysis cache, the
meta-issue writer's memory. (The other tracking tests use SQLite only.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import Database, open_database
from bot.store.analysis_cache import load_cached, store_cached
from bot.tracking.events import Attribution, module_events, record_events, state_changes
from bot.tracking.meta_issue import _remember, _state
from bot.tracking.snapshots import latest_snapshot, module_history, save_snapshot, snapshot_at
from bot.tracking.state import snapshot_from_tree
from tests.support.store import postgres_unavailable_reason, skip_or_fail, temporary_postgres_url
from tests.tracking.tracktest_support import ToyAnalyzer, module_c

REPO = "python/cpython"
T0 = datetime(2026, 2, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        db = await open_database(f"sqlite:///{tmp_path}/t.sqlite3")
        try:
            yield db
        finally:
            await db.close()
        return
    reason = await postgres_unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    async with temporary_postgres_url() as url:
        db = await open_database(url)
        try:
            yield db
        finally:
            await db.close()


async def test_tracking_sql(engine: Database) -> None:
    toy = ToyAnalyzer()
    a1 = toy.analyze("Modules/a.c", module_c("a", multi=False, pig=False, globals_=("g",)))
    a2 = toy.analyze("Modules/a.c", module_c("a"))
    await store_cached(engine, {("1" * 40, a1.path): a1, ("9" * 40, "x.tsv"): "text"}, "v1")
    await store_cached(engine, {("1" * 40, a1.path): a1}, "v1")  # idempotent
    got = await load_cached(engine, [("1" * 40, a1.path), ("2" * 40, a1.path)], "v1")
    assert got == {("1" * 40, a1.path): a1}
    assert await load_cached(engine, [("1" * 40, a1.path)], "v2") == {}

    s1 = snapshot_from_tree(REPO, "a" * 40, T0, toy.tree([a1], None, None))
    s2 = snapshot_from_tree(REPO, "b" * 40, T0 + timedelta(hours=1), toy.tree([a2], None, None))
    await save_snapshot(engine, s1)
    await save_snapshot(engine, s2)
    await save_snapshot(engine, s2)
    latest = await latest_snapshot(engine, REPO)
    assert latest is not None and latest.sha == s2.sha and latest.modules == s2.modules
    back = await snapshot_at(engine, REPO, T0 + timedelta(minutes=59))
    assert back is not None and back.findings == s1.findings and back.committed_at == T0
    hist = await module_history(engine, REPO, "a")
    assert [p.state.status for p in hist if p.state] == ["not-started", "done"]

    changes = state_changes(s1, s2)
    await record_events(engine, REPO, s2.sha, s2.committed_at, changes, Attribution(5, "me"))
    await record_events(engine, REPO, s2.sha, s2.committed_at, changes, Attribution(5, "me"))
    events = await module_events(engine, REPO, module="a", since=T0)
    assert len(events) == 3 and {e.pr_number for e in events} == {5}

    await _remember(engine, REPO, 1, "s", reappended=False)
    await _remember(engine, REPO, 1, "s2", reappended=True)
    await _remember(engine, REPO, 1, "s3", reappended=False)
    state = await _state(engine, REPO, 1)
    assert state is not None and state["reappended_at"] is not None  # never forgotten


async def test_cache_pruning(engine: Database) -> None:
    from bot.store.analysis_cache import prune_cached

    toy = ToyAnalyzer()
    rep = toy.analyze("Modules/a.c", module_c("a"))
    old = toy.analyze("Modules/b.c", module_c("b"))
    await store_cached(engine, {("1" * 40, rep.path): rep, ("2" * 40, old.path): old}, "v2")
    await store_cached(engine, {("1" * 40, rep.path): rep}, "v1")
    await engine.execute(
        "INSERT INTO tracking_tree_files (repo, path, blob_sha) VALUES (?, ?, ?)",
        (REPO, rep.path, "1" * 40),
    )
    assert await prune_cached(engine, "v2") == 1  # the other version's row
    keys = [("1" * 40, rep.path), ("2" * 40, old.path)]
    assert set(await load_cached(engine, keys, "v2")) == set(keys)  # still young
    later = datetime.now(UTC) + timedelta(days=365)
    assert await prune_cached(engine, "v2", now=later) == 1  # old and unused by any tree
    assert set(await load_cached(engine, keys, "v2")) == {keys[0]}
