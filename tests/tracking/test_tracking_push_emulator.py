"""Tracking against the GitHub emulator: the App's real deliveries (installation, push) through
the push router with an installation client; snapshots, blob reuse, attribution, the meta issue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import pytest
from gidgethub import sansio
from gidgethub.aiohttp import GitHubAPI

from bot.config import MetaIssue, Settings
from bot.emulator import AppRecord, GitHubEmulator
from bot.jobs import JobContext
from bot.store import Database
from bot.tracking import pipeline
from bot.tracking import router as push_router
from bot.tracking.checklist import END_MARKER, START_MARKER
from bot.tracking.events import module_events
from bot.tracking.snapshots import latest_snapshot, module_history, snapshots_between
from bot.tracking.tree_sync import update_repository
from tests.support.github import installation_client
from tests.tracking.tracktest_support import CountingCore, ToyAnalyzer, module_c

REPO = "python/cpython"
META_BODY = "Tracking issue.\r\n\r\n* keep this  \r\n* and this\t\r\n"


@dataclass
class World:
    emu: GitHubEmulator
    app: AppRecord
    db: Database
    gh: GitHubAPI
    settings: Settings
    meta: int

    async def dispatch(self, event: str, *, after: int = 0) -> int:
        """Dispatch every delivery of ``event`` from index ``after``; returns the new index."""
        ds = self.emu.deliveries
        for d in ds[after:]:
            if d.event != event:
                continue
            ev = sansio.Event(d.payload, event=d.event, delivery_id=d.id)
            ctx = JobContext(
                d.event, d.id, d.payload, self.gh, self.db, self.settings, self.app.bot_login
            )
            await push_router.router.dispatch(ev, ctx)
        return len(ds)

    def blob_requests(self) -> int:
        return sum("/git/blobs/" in r.path for r in self.emu.requests)

    def body(self) -> str:
        return str(self.emu.issue(REPO, self.meta)["body"])


@pytest.fixture(params=["toy", "real core"])
async def world(
    request: pytest.FixtureRequest, db: Database, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[World]:
    analyzer = ToyAnalyzer() if request.param == "toy" else CountingCore()
    # The router uses the default analyser; point it at this test's one.
    monkeypatch.setattr("bot.tracking.tree_sync.default_analyzer", lambda: analyzer)
    emu = GitHubEmulator()
    app = emu.register_app(slug="isolation-bot")
    emu.create_repo(REPO, default_branch="main")
    emu.commit(
        REPO,
        "main",
        {
            "Modules/_abc.c": module_c("_abc", multi=False, pig=False),
            "Modules/_curses.c": module_c("_curses", multi=False, pig=False, static=("Win_Type",)),
            "Modules/_json.c": module_c("_json"),
            "Lib/os.py": b"# untracked\n",
            "Tools/c-analyzer/cpython/ignored.tsv": b"filename\tfuncname\tname\treason\n",
        },
        message="Initial",
        author="guido",
    )
    meta = emu.create_issue(REPO, "Meta issue: per-interpreter GIL", META_BODY, user="vstinner")
    settings = Settings(meta_issue=MetaIssue(repo=REPO, number=meta))
    async with emu.serve() as url, aiohttp.ClientSession() as session:
        inst = emu.install(app, account="python")
        gh = await installation_client(session, url, app, inst)
        yield World(emu, app, db, gh, settings, meta)
    assert emu.validation_errors == [], emu.validation_errors


def pr_branch(
    w: World, branch: str, files: dict[str, bytes | str | None], title: str, user: str = "porter"
) -> int:
    w.emu.create_branch(REPO, branch, "main")
    w.emu.commit(REPO, branch, files, message=title, author=user)
    return w.emu.open_pull_request(REPO, branch, title=title, user=user)


async def test_install_push_attribute_and_checklist(world: World) -> None:
    w = world
    n = await w.dispatch("installation")
    first = await latest_snapshot(w.db, REPO)
    assert first is not None and first.source == "sync"
    assert [m.name for m in first.modules] == ["_abc", "_curses", "_json"]
    assert w.blob_requests() == 4  # three C files and ignored.tsv; Lib/ is never read
    body = w.body()
    assert body.startswith(META_BODY)  # appended after the person's text, which is untouched
    assert START_MARKER in body and "- [x] `_json`" in body and "- [ ] `_abc`" in body
    edits = len(w.emu.issue_body_edits(REPO, w.meta))

    # A merged PR converts _abc completely: one push to main.
    pr = pr_branch(
        w, "isolate-abc", {"Modules/_abc.c": module_c("_abc")}, "gh-103092: Isolate _abc"
    )
    w.emu.merge_pull_request(REPO, pr, user="ericsnowcurrently")
    n = await w.dispatch("push", after=n)
    assert w.blob_requests() == 5  # only the changed blob was fetched
    events = await module_events(w.db, REPO, module="_abc")
    assert {e.kind for e in events} == {"multi-phase", "per-interpreter-gil", "completed"}
    assert {(e.pr_number, e.author) for e in events} == {(pr, "porter")}
    assert f"- [x] `_abc`: multi-phase, no static types, per-interpreter GIL (#{pr})" in w.body()
    assert w.body().startswith(META_BODY)
    assert len(w.emu.issue_body_edits(REPO, w.meta)) == edits + 1

    # A direct push that changes nothing tracked: a snapshot, but no event and no issue edit.
    w.emu.push(REPO, "main", {"Lib/os.py": b"# still untracked\n"}, message="Docs (#777)")
    n = await w.dispatch("push", after=n)
    assert w.blob_requests() == 5
    assert len(await snapshots_between(w.db, REPO)) == 3
    assert len(w.emu.issue_body_edits(REPO, w.meta)) == edits + 1

    # A regression pushed directly, attributed from "(#NNNN)" in the message (no PR association).
    w.emu.push(
        REPO,
        "main",
        {"Modules/_json.c": module_c("_json", static=("Scanner_Type",))},
        message="gh-1: speed up json (#4242)",
        author="someone",
    )
    n = await w.dispatch("push", after=n)
    reg = await module_events(w.db, REPO, module="_json")
    assert [(e.kind, e.pr_number, e.author) for e in reg] == [("regression", 4242, "someone")]
    assert "- [ ] `_json`: multi-phase, per-interpreter GIL; to do: 1 static type" in w.body()
    hist = await module_history(w.db, REPO, "_abc")
    assert [p.state.status if p.state else None for p in hist] == [
        "not-started",
        "done",
        "done",
        "done",
    ]

    # Pushes to other branches and tag pushes are ignored; redelivered pushes change nothing.
    w.emu.push(REPO, "feature", {"Modules/_json.c": module_c("_json")}, message="wip")
    before = len(await snapshots_between(w.db, REPO))
    await w.dispatch("push", after=n)
    await w.dispatch("push", after=0)  # every push delivery again
    assert len(await snapshots_between(w.db, REPO)) == before
    assert len(await module_events(w.db, REPO)) == 4


async def test_force_push_and_truncated_tree(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    w = world
    await w.dispatch("installation")
    # A force-push: main jumps to a commit that is not a descendant (a rewritten history).
    other = w.emu.commit(
        REPO,
        "rewritten",
        {
            "Modules/_abc.c": module_c("_abc"),
            "Modules/_json.c": None,
            "Modules/_new.c": module_c("_new"),
        },
        message="rewrite",
    )

    real_getitem = w.gh.getitem

    async def truncating(url: str, *args: Any, **kwargs: Any) -> Any:
        data = await real_getitem(url, *args, **kwargs)
        # GitHub truncates the recursive listing of huge trees (the root of CPython can be).
        if url.endswith("?recursive=1") and f"/git/trees/{other}" in url:
            data = {**data, "truncated": True, "tree": data["tree"][:1]}
        return data

    monkeypatch.setattr(w.gh, "getitem", truncating)
    result = await update_repository(w.gh, w.db, REPO, other, source="push")
    assert result.changed_paths == ("Modules/_abc.c", "Modules/_json.c", "Modules/_new.c")
    assert result.analysed == 2
    assert [m.name for m in result.snapshot.modules] == ["_abc", "_curses", "_new"]
    assert result.previous is not None and result.previous.module("_json") is not None
    rows = await w.db.fetchall(
        "SELECT path, blob_sha FROM tracking_tree_files WHERE repo = ? ORDER BY path", (REPO,)
    )
    assert {r["path"]: r["blob_sha"] for r in rows} == result.entries
    assert "Modules/_json.c" not in result.entries and "Modules/_new.c" in result.entries


async def test_sync_without_webhook(world: World) -> None:
    w = world
    result = await pipeline.sync_repository(w.gh, w.db, w.settings, REPO)
    assert result.update is not None and result.update.analysed == 3
    again = await pipeline.sync_repository(w.gh, w.db, w.settings, REPO)
    assert again.update is None  # already the analysed head
    assert again.meta_issue is not None and again.meta_issue.outcome == "unchanged"


async def test_meta_issue_elsewhere_is_not_touched(world: World) -> None:
    w = world
    w.settings = replace(w.settings, meta_issue=MetaIssue(repo="python/other", number=1))
    await w.dispatch("installation")
    assert w.emu.issue_body_edits(REPO, w.meta) == []
    assert END_MARKER not in w.body()


async def test_whole_tree_analysis_in_processes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first sync of a big tree analyses in a process pool: same result as in-process."""
    from bot.store import analysis_cache
    from bot.store.analysis_cache import CoreAnalyzer

    w = world
    monkeypatch.setattr(analysis_cache, "PROCESS_POOL_MIN", 1)
    head = w.emu.head_sha(REPO, "main")
    pooled = await update_repository(w.gh, w.db, REPO, head, analyzer=CoreAnalyzer("pool"))
    inline = await update_repository(w.gh, w.db, REPO, head, analyzer=CountingCore("inline"))
    assert pooled.analysed == inline.analysed == 3
    assert pooled.snapshot.modules == inline.snapshot.modules
    assert pooled.snapshot.findings == inline.snapshot.findings


async def test_failed_attribution_is_redone_when_the_job_is_retried(world: World) -> None:
    from gidgethub import GitHubBroken

    w = world
    n = await w.dispatch("installation")
    pr = pr_branch(w, "isolate-abc", {"Modules/_abc.c": module_c("_abc")}, "Isolate _abc")
    w.emu.merge_pull_request(REPO, pr)
    w.emu.faults.add(method="GET", path=r"/commits/[0-9a-f]+/pulls$", status=502, times=1)
    with pytest.raises(GitHubBroken):
        await w.dispatch("push", after=n)  # the worker would retry this job
    assert await module_events(w.db, REPO) == []
    await w.dispatch("push", after=n)  # the retry
    events = await module_events(w.db, REPO, module="_abc")
    assert {e.pr_number for e in events} == {pr} and len(events) == 3


async def test_sync_command_as_the_app(
    world: World, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """``isolation-bot sync``: App JWT -> installation token -> the same pipeline."""
    from bot.cli import sync as sync_cli
    from bot.store import open_database

    w = world
    url = f"sqlite:///{tmp_path}/sync.sqlite3"
    settings = replace(
        w.settings,
        app_id=str(w.app.id),
        private_key=w.app.private_key_pem,
        api_url=w.emu.api_url,
        database_url=url,
    )
    assert await sync_cli.sync(settings, [REPO, "python/missing"]) == 1
    out = capsys.readouterr()
    assert "python/cpython@" in out.out and "3 modules" in out.out
    assert "python/missing: sync failed" in out.err
    assert await sync_cli.sync(settings, [REPO]) == 0
    assert "already up to date" in capsys.readouterr().out
    db = await open_database(url)
    try:
        snap = await latest_snapshot(db, REPO)
        assert snap is not None and snap.source == "sync"
    finally:
        await db.close()
    assert START_MARKER in w.body()


async def test_late_push_does_not_move_the_head_back(world: World) -> None:
    w = world
    n = await w.dispatch("installation")
    w.emu.push(REPO, "main", {"Modules/_abc.c": module_c("_abc")}, message="Isolate _abc (#11)")
    p2 = w.emu.push(
        REPO,
        "main",
        {"Modules/_curses.c": module_c("_curses", multi=False, pig=False)},
        message="Remove the static type (#12)",
    )
    pushes = [d for d in w.emu.deliveries[n:] if d.event == "push"]
    assert len(pushes) == 2
    # Delivered (or processed) out of order: the newer push first, then the older one.
    for d in reversed(pushes):
        ev = sansio.Event(d.payload, event="push", delivery_id=d.id)
        ctx = JobContext("push", d.id, d.payload, w.gh, w.db, w.settings, w.app.bot_login)
        await push_router.router.dispatch(ev, ctx)
    latest = await latest_snapshot(w.db, REPO)
    assert latest is not None and latest.sha == p2
    row = await w.db.fetchone("SELECT sha FROM tracking_heads WHERE repo = ?", (REPO,))
    assert row is not None and row["sha"] == p2
    events = await module_events(w.db, REPO)
    assert not [e for e in events if e.kind == "regression"]  # nothing "undone" by the late one
    assert {(e.module, e.kind) for e in events} >= {
        ("_abc", "completed"),
        ("_curses", "heap-types"),
    }


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"ref": "refs/heads/main"},
        {"ref": "refs/heads/main", "repository": {"default_branch": "main"}, "after": "a" * 40},
        {"ref": "refs/heads/main", "repository": {"full_name": "python/cpython"}, "after": None},
        {"ref": "refs/tags/v1", "repository": {"full_name": REPO, "default_branch": "main"}},
        {
            "ref": "refs/heads/main",
            "deleted": True,
            "after": "0" * 40,
            "repository": {"full_name": REPO, "default_branch": "main"},
        },
        {"action": "created", "installation": {"id": 1}, "repositories": "not a list"},
    ],
)
async def test_malformed_or_irrelevant_deliveries_do_nothing(
    world: World, payload: dict[str, Any]
) -> None:
    w = world
    event = "installation" if "installation" in payload else "push"
    ev = sansio.Event(payload, event=event, delivery_id="x")
    ctx = JobContext(event, "x", payload, w.gh, w.db, w.settings, w.app.bot_login)
    calls = len(w.emu.requests)
    await push_router.router.dispatch(ev, ctx)
    assert len(w.emu.requests) == calls
    assert await latest_snapshot(w.db, REPO) is None


async def test_push_of_several_commits_credits_each_change_to_its_commit(world: World) -> None:
    w = world
    n = await w.dispatch("installation")
    h0 = w.emu.head_sha(REPO, "main")
    a = w.emu.commit(REPO, "main", {"Modules/_abc.c": module_c("_abc")}, "Isolate _abc (#501)")
    b = w.emu.push(
        REPO,
        "main",
        {"Modules/_curses.c": module_c("_curses", multi=False, pig=False)},
        message="Curses heap types (#502)",
        author="someone",
    )
    (delivery,) = [d for d in w.emu.deliveries[n:] if d.event == "push"]
    # One push of both commits (the emulator's push() sends one commit per push).
    payload = dict(delivery.payload)
    payload["before"] = h0
    payload["commits"] = [w.emu._push_commit(w.emu.repo_record(REPO), a), *payload["commits"]]
    ev = sansio.Event(payload, event="push", delivery_id="several")
    ctx = JobContext("push", "several", payload, w.gh, w.db, w.settings, w.app.bot_login)
    await push_router.router.dispatch(ev, ctx)
    abc = await module_events(w.db, REPO, module="_abc")
    curses = await module_events(w.db, REPO, module="_curses")
    assert {(e.sha, e.pr_number) for e in abc} == {(a, 501)}
    assert {(e.sha, e.pr_number, e.author) for e in curses} == {(b, 502, "someone")}
