"""Commands wired to the real parts: the rule catalog and the tracking store."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.analysis.model import Finding, Metric, Ratio, Summary
from bot.commands.handlers import resolve_rule
from bot.commands.runner import handle_comment_event
from bot.commands.status_source import TrackingStatusSource
from bot.store import Database
from bot.tracking.events import Attribution, Change, record_events
from bot.tracking.snapshots import save_snapshot
from bot.tracking.state import ModuleState, Snapshot
from tests.commands.cmdtest_support import FakeGitHub, comment_payload, make_ctx


def test_resolve_rule_by_id_and_name() -> None:
    by_id = resolve_rule("iso001")
    by_name = resolve_rule("Static-Type")
    assert by_id is not None and by_id is by_name
    assert resolve_rule("ISO999") is None


async def test_explain_uses_the_catalog(db: Database) -> None:
    gh = FakeGitHub()
    payload = comment_payload("/isolation explain static-type\n/isolation explain ISO999")
    await handle_comment_event(make_ctx(gh, db, payload), payload)
    (reply,) = gh.replies()
    assert "#### ISO001 static-type" in reply
    assert "Why this breaks isolation" in reply
    assert "I don't know the rule `ISO999`" in reply


def _metric(done: int, total: int) -> Metric:
    return Metric(Ratio(done, total), Ratio(done, total))


async def test_status_reads_the_tracking_store(db: Database) -> None:
    repo = "python/cpython"
    source = TrackingStatusSource(db)
    assert await source.latest_snapshot(repo) is None

    finding = Finding(
        "ISO001",
        "static-type",
        "error",
        "Modules/_cursesmodule.c",
        77,
        1,
        90,
        2,
        "PyCursesWindow_Type",
        "static type",
    )
    when = datetime(2026, 11, 1, tzinfo=UTC)
    await save_snapshot(
        db,
        Snapshot(
            repo=repo,
            sha="feedfacecafe0000",
            committed_at=when,
            summary=Summary(_metric(1, 2), _metric(0, 1), _metric(0, 2)),
            modules=(
                ModuleState(
                    "_curses",
                    "Modules/_cursesmodule.c",
                    "multi-phase",
                    "supported",
                    False,
                    static_types=("PyCursesWindow_Type",),
                    open_findings=1,
                ),
            ),
            findings=(finding,),
        ),
    )
    await record_events(
        db,
        repo,
        "feedfacecafe0000",
        when,
        [Change("_curses", "multi-phase", "converted to multi-phase init")],
        Attribution(pr_number=555, author="alice"),
    )
    gh = FakeGitHub()
    payload = comment_payload("/isolation status _curses\n/isolation status")
    await handle_comment_event(make_ctx(gh, db, payload), payload)
    (reply,) = gh.replies()
    assert "`supported`" in reply
    assert "blob/feedfacecafe0000/Modules/_cursesmodule.c#L77" in reply
    assert "/python/cpython/pull/555" in reply and "converted to multi" in reply
    assert "50.0% (1/2)" in reply


async def test_summary_for_maintainers_without_the_weekly_marker(db: Database) -> None:
    gh = FakeGitHub()
    gh.permissions["mia"] = {"permission": "admin", "role_name": "admin"}
    payload = comment_payload("/isolation summary", user="mia")
    await handle_comment_event(make_ctx(gh, db, payload), payload)
    (reply,) = gh.replies()
    assert "Isolation progress" in reply
    assert "weekly-summary" not in reply
    assert reply.count("<!--") == 1  # only our reply marker
