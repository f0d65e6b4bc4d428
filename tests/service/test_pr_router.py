"""The pull-request router's decisions, with the check itself replaced by a recorder."""

from __future__ import annotations

from typing import Any

import pytest
from gidgethub import sansio

from bot.config import Settings
from bot.jobs import InternalJob, JobContext
from bot.prcheck import router as pr_router
from bot.prcheck.lifecycle import pr_of_external_id
from bot.prcheck.router import coalescing_key, triggers_check


class FakeGH:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers, self.urls = answers, []  # type: ignore[var-annotated]

    async def getitem(self, url: str, *args: Any, **kw: Any) -> Any:
        self.urls.append(url)
        return self.answers[url]


class FakeDB:
    """pr_state rows by (repo, head_sha): what the check stored on its last run."""

    def __init__(self, heads: dict[tuple[str, str], list[int]] | None = None) -> None:
        self.heads = heads or {}

    async def fetchall(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        assert "FROM pr_state" in sql
        return [{"number": n} for n in self.heads.get(tuple(params), [])]


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, Any]]:
    calls: list[tuple[str, int, Any]] = []

    async def fake(
        gh: Any,
        db: Any,
        settings: Any,
        *,
        repo: str,
        number: int,
        bot_login: str,
        pr: Any = None,
        **kw: Any,
    ) -> None:
        calls.append((repo, number, pr))

    monkeypatch.setattr(pr_router, "run_pr_check", fake)
    return calls


QUEUED: list[InternalJob] = []


def ctx(event: str, payload: dict[str, Any], gh: Any = None, db: Any = None) -> JobContext:
    """A context whose ``enqueue`` records the job and runs it at once (as the worker would)."""
    context = JobContext(
        event=event,
        delivery_id="d",
        payload=payload,
        gh=gh or FakeGH({}),
        db=db or FakeDB(),
        settings=Settings(app_id="42"),
        bot_login="bot[bot]",
        installation_id=99,
    )  # type: ignore[arg-type]

    async def enqueue(job: InternalJob) -> str | None:
        QUEUED.append(job)
        await pr_router.run_pr_check_job(job.payload(), context)
        return "job"

    context.enqueue = enqueue
    return context


@pytest.fixture(autouse=True)
def _queued() -> None:
    QUEUED.clear()


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
    # found by a lookup, not named by the delivery: checked in a job under the PR's key
    assert [(j.kind, j.key, j.installation_id) for j in QUEUED] == [("pr_check", "pr:o/r#5", 99)]


async def dispatch(event: str, payload: dict[str, Any], gh: Any = None, db: Any = None) -> None:
    await pr_router.router.dispatch(
        sansio.Event(payload, event=event, delivery_id="d"), ctx(event, payload, gh, db)
    )


def fork_rerun(external_id: str, **run: Any) -> dict[str, Any]:
    """check_run.rerequested of our run on a fork's head: GitHub sends no pull_requests."""
    body = {"name": "isolation", "app": {"id": 42}, "head_sha": "f0", "pull_requests": []}
    return {
        "action": "rerequested",
        "check_run": {**body, "id": 1, "external_id": external_id, **run},
        "repository": REPO,
    }


async def test_fork_rerun_reads_the_runs_external_id(checks: list[Any]) -> None:
    payload = fork_rerun("o/r#7")
    gh = FakeGH({})  # no request at all: the payload names the PR
    await dispatch("check_run", payload, gh)
    assert checks == [("o/r", 7, None)] and gh.urls == [] and QUEUED == []
    # the intake gives the delivery that PR's key, so the check runs in the delivery's job
    assert coalescing_key("check_run", payload) == "pr:o/r#7"
    assert coalescing_key("check_run", fork_rerun("O/R#7")) == "pr:o/r#7"


async def test_fork_rerun_with_a_foreign_external_id_uses_the_stored_state(
    checks: list[Any],
) -> None:
    for external_id in ("other/repo#7", "o/r#x", "o/r#-1", "", "o/r#0"):
        assert coalescing_key("check_run", fork_rerun(external_id)) is None
    db = FakeDB({("o/r", "f0"): [8]})
    gh = FakeGH({})  # the stored state knows the fork's head: GitHub is not asked
    await dispatch("check_run", fork_rerun("other/repo#7"), gh, db)
    assert checks == [("o/r", 8, None)] and gh.urls == []
    assert [j.key for j in QUEUED] == ["pr:o/r#8"]


async def test_fork_rerun_nothing_found_checks_nothing(checks: list[Any]) -> None:
    gh = FakeGH({"/repos/o/r/commits/f0/pulls": []})  # what GitHub answers for a fork head
    await dispatch("check_run", fork_rerun(""), gh)
    assert checks == [] and QUEUED == [] and gh.urls == ["/repos/o/r/commits/f0/pulls"]


def suite_rerun(pull_requests: list[Any], app_id: int = 42) -> dict[str, Any]:
    return {
        "action": "rerequested",
        "check_suite": {
            "id": 77,
            "head_sha": "f0",
            "app": {"id": app_id},
            "pull_requests": pull_requests,
        },
        "repository": REPO,
    }


SUITE_RUNS = "/repos/o/r/check-suites/77/check-runs?check_name=isolation&filter=all&per_page=100"


async def test_suite_rerun_of_a_fork_head_lists_the_suites_runs(checks: list[Any]) -> None:
    runs = [{"external_id": "o/r#3"}, {"external_id": "o/r#3"}, {"external_id": "x/y#4"}]
    gh = FakeGH({SUITE_RUNS: {"total_count": 3, "check_runs": runs}})
    payload = suite_rerun([])
    assert coalescing_key("check_suite", payload) is None
    await dispatch("check_suite", payload, gh)
    assert checks == [("o/r", 3, None)] and gh.urls == [SUITE_RUNS]
    assert [j.key for j in QUEUED] == ["pr:o/r#3"]


async def test_suite_rerun_of_a_branch_head_uses_its_pull_requests(checks: list[Any]) -> None:
    payload = suite_rerun([{"number": 5}])
    assert coalescing_key("check_suite", payload) == "pr:o/r#5"
    gh = FakeGH({})
    await dispatch("check_suite", payload, gh)
    assert checks == [("o/r", 5, None)] and gh.urls == [] and QUEUED == []


async def test_pull_requests_into_another_repository_are_not_ours(checks: list[Any]) -> None:
    def pr(number: int, base: str) -> dict[str, Any]:
        return {"number": number, "base": {"repo": {"url": f"https://api.github.com/repos/{base}"}}}

    payload = suite_rerun([pr(4, "fork/r"), pr(5, "O/R")])
    assert coalescing_key("check_suite", payload) == "pr:o/r#5"
    await dispatch("check_suite", payload, FakeGH({}))
    assert checks == [("o/r", 5, None)]


async def test_suite_rerun_falls_back_to_stored_state(checks: list[Any]) -> None:
    gh = FakeGH({SUITE_RUNS: {"total_count": 0, "check_runs": []}})
    await dispatch("check_suite", suite_rerun([]), gh, FakeDB({("o/r", "f0"): [9, 2]}))
    assert checks == [("o/r", 9, None), ("o/r", 2, None)]
    assert [j.key for j in QUEUED] == ["pr:o/r#9", "pr:o/r#2"]


async def test_other_apps_suites_are_ignored(checks: list[Any]) -> None:
    gh = FakeGH({})
    await dispatch("check_suite", suite_rerun([{"number": 5}], app_id=7), gh)
    await dispatch("check_suite", {**suite_rerun([]), "action": "requested"}, gh)
    assert checks == [] and gh.urls == []


def test_external_id_parsing() -> None:
    assert pr_of_external_id("python/cpython#123", "python/cpython") == 123
    assert pr_of_external_id("Python/CPython#123", "python/cpython") == 123
    for bad in (None, 5, "python/cpython", "python/cpython#", "python/cpython#1e3", "a/b#1"):
        assert pr_of_external_id(bad, "python/cpython") is None
    assert pr_of_external_id("python/cpython#١٢", "python/cpython") is None  # not ASCII digits


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
    assert triggers_check("check_suite", {"action": "rerequested"})
    assert not triggers_check("check_suite", {"action": "requested"})
    assert not triggers_check("check_run", {"action": "completed"})
