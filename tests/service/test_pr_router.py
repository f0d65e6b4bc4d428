"""The pull-request router's decisions, with the check itself replaced by a recorder."""

from __future__ import annotations

from typing import Any

import pytest
from gidgethub import sansio

from bot.config import Settings
from bot.jobs import JobContext
from bot.prcheck import router as pr_router
from bot.prcheck.router import coalescing_key, triggers_check


class FakeGH:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers, self.urls = answers, []  # type: ignore[var-annotated]

    async def getitem(self, url: str, *args: Any, **kw: Any) -> Any:
        self.urls.append(url)
        return self.answers[url]


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, Any]]:
    calls: list[tuple[str, int, Any]] = []

    async def fake(
        gh: Any, db: Any, settings: Any, *, repo: str, number: int, bot_login: str, pr: Any = None
    ) -> None:
        calls.append((repo, number, pr))

    monkeypatch.setattr(pr_router, "run_pr_check", fake)
    return calls


def ctx(event: str, payload: dict[str, Any], gh: Any = None) -> JobContext:
    return JobContext(
        event=event,
        delivery_id="d",
        payload=payload,
        gh=gh or FakeGH({}),
        db=None,
        settings=Settings(app_id="42"),
        bot_login="bot[bot]",
    )  # type: ignore[arg-type]


REPO = {"full_name": "o/r"}


async def test_rerequest_without_pull_requests_finds_them_by_head_sha(checks: list[Any]) -> None:
    payload = {
        "action": "rerequested",
        "check_run": {
            "name": "isolation",
            "app": {"id": 42},
            "head_sha": "abc",
            "pull_requests": [],
        },
        "repository": REPO,
    }
    gh = FakeGH(
        {
            "/repos/o/r/commits/abc/pulls": [
                {"number": 5, "state": "open"},
                {"number": 6, "state": "closed"},
            ]
        }
    )
    await pr_router.router.dispatch(
        sansio.Event(payload, event="check_run", delivery_id="d"), ctx("check_run", payload, gh)
    )
    assert checks == [("o/r", 5, None)]


async def test_rerequest_of_other_apps_or_names_does_nothing(checks: list[Any]) -> None:
    for run in ({"name": "isolation", "app": {"id": 7}}, {"name": "lint", "app": {"id": 42}}):
        payload = {
            "action": "rerequested",
            "check_run": {**run, "pull_requests": [{"number": 1}]},
            "repository": REPO,
        }
        await pr_router.router.dispatch(
            sansio.Event(payload, event="check_run", delivery_id="d"), ctx("check_run", payload)
        )
    assert checks == []


async def test_edited_runs_only_on_base_change(checks: list[Any]) -> None:
    pr = {"number": 3, "head": {"sha": "h"}, "base": {"sha": "b"}}
    for changes in ({"title": {"from": "x"}}, {"base": {"ref": {"from": "main"}}}):
        payload = {"action": "edited", "changes": changes, "pull_request": pr, "repository": REPO}
        await pr_router.router.dispatch(
            sansio.Event(payload, event="pull_request", delivery_id="d"),
            ctx("pull_request", payload),
        )
    assert checks == [("o/r", 3, pr)]


def test_keys_and_triggers() -> None:
    pr = {"action": "synchronize", "pull_request": {"number": 9}, "repository": REPO}
    assert coalescing_key("pull_request", pr) == "pr:o/r#9"
    assert coalescing_key("pull_request", {**pr, "action": "labeled"}) is None
    assert coalescing_key("issue_comment", pr) is None
    assert coalescing_key("pull_request", {"action": "opened"}) is None  # malformed: no key
    assert triggers_check("check_run", {"action": "rerequested"})
    assert not triggers_check("check_run", {"action": "completed"})
