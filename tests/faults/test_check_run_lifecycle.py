"""The check run's lifecycle against an emulator as strict as GitHub (a completed run is
final): every run the check creates ends completed, a retry never reopens a completed run,
never sends its annotations twice, and runs whose try died are ended by the next check of the
PR, by the reclaimed job, or by the sweep. On both engines (the ``db`` fixture)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from bot.config import Settings
from bot.emulator import GitHubEmulator
from bot.emulator.state import AppRecord
from bot.github.app import GitHubApp
from bot.jobs import InternalJob, JobContext
from bot.prcheck import store as pr_state
from bot.prcheck.check_run import CHECK_NAME
from bot.prcheck.jobs import pr_key
from bot.prcheck.run import StaleResult, run_pr_check
from bot.prcheck.sweep import PR_RUN_SETTLE, run_settle_job, sweep_once
from bot.store import Database
from bot.store.queue import Queue
from tests.support.samples import BASE_SOURCE, HEAD_SOURCE, MODULE_PATH

REPO = "python/cpython"


class Killed(BaseException):
    """The process died (as SIGKILL: no except-Exception handler runs)."""


@dataclass
class Scene:
    emu: GitHubEmulator
    app: AppRecord
    gh: Any
    db: Database
    settings: Settings
    installation: int

    async def check(self, number: int, *, gh: Any = None, job: str | None = "job-1") -> Any:
        return await run_pr_check(
            gh or self.gh,
            self.db,
            self.settings,
            repo=REPO,
            number=number,
            bot_login=self.app.bot_login,
            job=job,
        )

    def runs(self, sha: str) -> list[dict[str, Any]]:
        return [r for r in self.emu.check_runs(REPO, sha) if r["name"] == CHECK_NAME]

    def refused(self) -> list[Any]:
        """Check-run requests GitHub refused (a try to reopen or recomplete a final run)."""
        return [r for r in self.emu.requests if r.status == 422 and "/check-runs" in r.path]


@pytest.fixture
async def scene(db: Database) -> AsyncIterator[Scene]:
    emu = GitHubEmulator()
    app = emu.register_app("isolation-bot", owner="python")
    emu.create_repo(REPO)
    emu.commit(REPO, "main", {MODULE_PATH: BASE_SOURCE})
    installation = emu.install(app, "python")
    async with emu.serve() as api_url, aiohttp.ClientSession() as session:
        settings = Settings(
            app_id=str(app.id),
            private_key=app.private_key_pem,
            api_url=api_url,
            database_url="sqlite:///unused",
        )
        gh = GitHubApp(settings, session).client(installation)
        yield Scene(emu, app, gh, db, settings, installation)
    assert emu.validation_errors == []


def open_pr(scene: Scene, source: str = HEAD_SOURCE) -> tuple[int, str]:
    scene.emu.create_branch(REPO, "feature")
    head = scene.emu.commit(REPO, "feature", {MODULE_PATH: source}, author="contributor")
    return scene.emu.open_pull_request(REPO, "feature", user="contributor"), head


def push(scene: Scene, revision: int) -> str:
    source = HEAD_SOURCE + f"\n/* revision {revision} */\n"
    return scene.emu.push(REPO, "feature", {MODULE_PATH: source}, author="contributor")


class Dies:
    """A GitHub client whose process dies at one request: ``before`` it is sent, or right
    after GitHub handled it (``after``); ``when(method, url, data)`` picks the request."""

    def __init__(
        self, gh: Any, when: Callable[[str, str, Any], bool], *, after: bool = True
    ) -> None:
        self._gh, self._when, self._after = gh, when, after

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gh, name)

    async def _call(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        hit = self._when(method, url, kwargs.get("data"))
        if hit and not self._after:
            raise Killed(f"killed before {method} {url}")
        answer = await getattr(self._gh, method.lower())(url, *args, **kwargs)
        if hit:
            raise Killed(f"killed after {method} {url}")
        return answer

    async def post(self, url: str, *args: Any, **kwargs: Any) -> Any:
        return await self._call("POST", url, *args, **kwargs)

    async def patch(self, url: str, *args: Any, **kwargs: Any) -> Any:
        return await self._call("PATCH", url, *args, **kwargs)


def completes_the_run(method: str, url: str, data: Any) -> bool:
    return method == "PATCH" and "/check-runs/" in url and (data or {}).get("status") == "completed"


def creates_the_run(method: str, url: str, data: Any) -> bool:
    return method == "POST" and url.endswith("/check-runs")


def comments(method: str, url: str, data: Any) -> bool:
    return "/comments" in url


async def test_a_retry_after_the_result_never_touches_the_run_again(scene: Scene) -> None:
    number, head = open_pr(scene)
    with pytest.raises(Killed):  # the run got its result and annotations; the comment did not
        await scene.check(number, gh=Dies(scene.gh, comments, after=False))
    (run,) = scene.runs(head)
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
    annotations = len(run["annotations"])
    assert annotations > 0
    state = await pr_state.get(scene.db, REPO, number)
    assert (state.run_state, state.run_job) == (pr_state.RUN_REPORTED, "job-1")

    start = len(scene.emu.requests)
    result = await scene.check(number)  # the retry of the same job
    assert result is not None and result.conclusion == "failure"
    (run,) = scene.runs(head)
    assert len(run["annotations"]) == annotations  # not sent twice
    sent = [f"{r.method} {r.path}" for r in scene.emu.requests[start:]]
    assert not [s for s in sent if "/check-runs" in s], sent
    assert len(scene.emu.issue_comments(REPO, number)) == 1
    assert scene.refused() == []

    # A new trigger on the same head (a recheck, a re-run) gets a new run: the old is final.
    await scene.check(number, job="job-2")
    old, new = scene.runs(head)
    assert old["id"] == run["id"] and len(old["annotations"]) == annotations
    assert (new["status"], new["conclusion"]) == ("completed", "failure")
    assert len(new["annotations"]) == annotations
    assert scene.refused() == []


async def test_could_not_complete_then_the_result_in_a_new_run(scene: Scene) -> None:
    number, head = open_pr(scene)
    scene.emu.faults.add(method="GET", path=r"/pulls/\d+/files$", status=422, times=1)
    with pytest.raises(Exception, match="Validation Failed"):
        await scene.check(number)
    (neutral,) = scene.runs(head)
    assert (neutral["status"], neutral["conclusion"]) == ("completed", "neutral")
    assert "could not complete" in neutral["output"]["summary"]

    await scene.check(number)  # the worker's retry: the real result shows, in a new run
    old, new = scene.runs(head)
    assert old["id"] == neutral["id"] and old["conclusion"] == "neutral"
    assert (new["status"], new["conclusion"]) == ("completed", "failure")
    assert scene.refused() == []  # nothing tried to reopen the neutral run
    state = await pr_state.get(scene.db, REPO, number)
    assert (state.check_run_id, state.run_state) == (new["id"], pr_state.RUN_REPORTED)


async def test_killed_after_completing_before_recording(scene: Scene) -> None:
    """The window between GitHub completing the run with the result and the store saying
    so: the retry finds the run completed with exactly its result and adopts it (nothing
    sent to the run again, no second run)."""
    number, head = open_pr(scene)
    with pytest.raises(Killed):
        await scene.check(number, gh=Dies(scene.gh, completes_the_run))
    state = await pr_state.get(scene.db, REPO, number)
    assert state.run_state == pr_state.RUN_OPEN  # the store did not learn it
    (run,) = scene.runs(head)
    annotations = len(run["annotations"])
    start = len(scene.emu.requests)
    result = await scene.check(number)
    assert result is not None
    (run,) = scene.runs(head)
    assert (run["status"], run["conclusion"]) == ("completed", result.conclusion)
    assert len(run["annotations"]) == annotations
    sent = [f"{r.method} {r.path}" for r in scene.emu.requests[start:]]
    assert [s for s in sent if "/check-runs" in s] == [f"GET /repos/{REPO}/check-runs/{run['id']}"]
    assert len(scene.emu.issue_comments(REPO, number)) == 1
    state = await pr_state.get(scene.db, REPO, number)
    assert (state.check_run_id, state.run_state) == (run["id"], pr_state.RUN_REPORTED)


async def test_killed_after_an_interim_completion_before_recording(scene: Scene) -> None:
    """The same window after the run was completed "could not complete": the retry finds
    it final with another result and reports in a new run, without trying to reopen it."""
    number, head = open_pr(scene)
    scene.emu.faults.add(method="GET", path=r"/pulls/\d+/files$", status=422, times=1)
    with pytest.raises(Killed):
        await scene.check(number, gh=Dies(scene.gh, completes_the_run))
    state = await pr_state.get(scene.db, REPO, number)
    assert state.run_state == pr_state.RUN_OPEN  # the store did not learn it
    result = await scene.check(number)
    assert result is not None
    old, new = scene.runs(head)
    assert (old["status"], old["conclusion"]) == ("completed", "neutral")
    assert (new["status"], new["conclusion"]) == ("completed", result.conclusion)
    assert scene.refused() == []
    assert len(scene.emu.issue_comments(REPO, number)) == 1


async def test_the_next_check_ends_the_run_of_a_superseded_head(scene: Scene) -> None:
    number, old = open_pr(scene)
    with pytest.raises(Killed):
        await scene.check(number, gh=Dies(scene.gh, creates_the_run))  # id never saved
    with pytest.raises(Killed):  # another PR state: a run open with its id saved
        await scene.check(number, gh=Dies(scene.gh, completes_the_run, after=False))
    assert [r["status"] for r in scene.runs(old)] == ["in_progress"]
    new = push(scene, 1)
    await scene.check(number, job="job-2")
    (stale,) = scene.runs(old)
    assert (stale["status"], stale["conclusion"]) == ("completed", "cancelled")
    assert f"Superseded by {new}" in stale["output"]["summary"]
    assert [r["conclusion"] for r in scene.runs(new)] == ["failure"]


async def test_a_run_being_created_on_an_old_head_is_found_and_ended(scene: Scene) -> None:
    number, old = open_pr(scene)
    with pytest.raises(Killed):
        await scene.check(number, gh=Dies(scene.gh, creates_the_run))
    state = await pr_state.get(scene.db, REPO, number)
    assert (state.run_state, state.check_run_id) == (pr_state.RUN_CREATING, None)
    new = push(scene, 1)
    await scene.check(number, job="job-2")
    (stale,) = scene.runs(old)
    assert (stale["status"], stale["conclusion"]) == ("completed", "cancelled")
    assert [r["status"] for r in scene.runs(new)] == ["completed"]


async def test_a_reclaimed_job_ends_its_run_when_the_pr_closed(scene: Scene) -> None:
    number, head = open_pr(scene)
    with pytest.raises(Killed):
        await scene.check(number, gh=Dies(scene.gh, completes_the_run, after=False))
    scene.emu.close_pull_request(REPO, number)
    assert await scene.check(number) is None  # the reclaimed job: nothing to check
    (run,) = scene.runs(head)
    assert (run["status"], run["conclusion"]) == ("completed", "neutral")
    assert run["output"]["title"] == "Pull request closed"


async def test_a_reclaimed_job_ends_its_run_when_superseded(scene: Scene) -> None:
    number, head = open_pr(scene)
    payload_pr = scene.emu.pull_request(REPO, number)
    with pytest.raises(Killed):
        await scene.check(number, gh=Dies(scene.gh, completes_the_run, after=False))
    new = push(scene, 1)
    with pytest.raises(StaleResult):  # its payload names the old head; the PR moved on
        await run_pr_check(
            scene.gh,
            scene.db,
            scene.settings,
            repo=REPO,
            number=number,
            bot_login=scene.app.bot_login,
            pr=payload_pr,
            job="job-1",
        )
    (run,) = scene.runs(head)
    assert (run["status"], run["conclusion"]) == ("completed", "cancelled")
    assert f"Superseded by {new}" in run["output"]["summary"]
    assert scene.runs(new) == []  # its own check is the new head's job


async def _settle(scene: Scene, queue: Queue) -> int:
    """Run the queued settle jobs like a worker would; how many ran."""
    ran = 0
    while (job := await queue.claim("w")) is not None:
        assert job.kind == PR_RUN_SETTLE
        payload = json.loads(job.payload)
        ctx = JobContext(
            event=job.kind,
            delivery_id=job.id,
            payload=payload,
            gh=scene.gh,
            db=scene.db,
            settings=scene.settings,
            bot_login=scene.app.bot_login,
            installation_id=payload["installation_id"],
        )
        await run_settle_job(payload, ctx)
        await queue.complete(job.id, "w")
        ran += 1
    return ran


async def test_the_sweep_ends_runs_whose_job_is_gone(scene: Scene) -> None:
    queue = Queue(scene.db, lease_seconds=60)

    async def enqueue(job: InternalJob) -> str | None:
        return await queue.enqueue(
            job.kind, json.dumps(job.payload()), key=job.key, dedup_id=job.dedup_id, repo=job.repo
        )

    async def installation_for(repo: str) -> int:
        return scene.installation

    # Three PRs whose try died: one still at that head, one pushed since, one closed since.
    numbers, heads = [], []
    for i, kill in enumerate((completes_the_run, creates_the_run, completes_the_run)):
        scene.emu.create_branch(REPO, f"f{i}")
        heads.append(scene.emu.commit(REPO, f"f{i}", {MODULE_PATH: HEAD_SOURCE + f"/* {i} */\n"}))
        numbers.append(scene.emu.open_pull_request(REPO, f"f{i}"))
        with pytest.raises(Killed):
            await scene.check(numbers[i], gh=Dies(scene.gh, kill, after=kill is creates_the_run))
    moved = scene.emu.push(REPO, "f1", {MODULE_PATH: BASE_SOURCE + "\n"})
    scene.emu.close_pull_request(REPO, numbers[2])
    # The third PR's job is still running (another replica): its run is left to it.
    await queue.enqueue("webhook", "{}", key=pr_key(REPO, numbers[2]))
    assert await queue.claim("other") is not None
    assert await sweep_once(scene.db, enqueue, installation_for, older_than=120) == 0  # fresh
    later = time.time() + 181
    assert await sweep_once(scene.db, enqueue, installation_for, older_than=120, now=later) == 2
    assert await sweep_once(scene.db, enqueue, installation_for, older_than=120, now=later) == 0
    assert await _settle(scene, queue) == 2

    (interrupted,) = scene.runs(heads[0])
    assert (interrupted["status"], interrupted["conclusion"]) == ("completed", "neutral")
    assert "did not finish" in interrupted["output"]["title"]
    (superseded,) = scene.runs(heads[1])  # found on GitHub: its id was never saved
    assert (superseded["status"], superseded["conclusion"]) == ("completed", "cancelled")
    assert f"Superseded by {moved}" in superseded["output"]["summary"]
    assert [r["status"] for r in scene.runs(heads[2])] == ["in_progress"]  # its job is alive

    await scene.db.execute("UPDATE jobs SET state = 'dead' WHERE state = 'running'")
    assert await sweep_once(scene.db, enqueue, installation_for, older_than=120, now=later) == 1
    assert await _settle(scene, queue) == 1
    (closed,) = scene.runs(heads[2])
    assert (closed["status"], closed["conclusion"]) == ("completed", "neutral")
    assert closed["output"]["title"] == "Pull request closed"
    assert await sweep_once(scene.db, enqueue, installation_for, older_than=120, now=later) == 0
    assert scene.refused() == []


async def test_the_sweep_runs_periodically_and_survives_a_failed_pass(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.prcheck.sweep import run_periodically

    class FlakyStore:
        calls = 0

        async def fetchall(self, sql: str, params: Any = ()) -> list[Any]:
            FlakyStore.calls += 1
            if FlakyStore.calls == 1:
                raise RuntimeError("the store hiccups")
            assert "updated_at < ?" in sql and params[-1] == pytest.approx(time.time() - 70, abs=5)
            return []

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 4:
            raise asyncio.CancelledError

    async def enqueue(job: InternalJob) -> str | None:
        raise AssertionError("nothing to queue")

    async def installation_for(repo: str) -> int:
        raise AssertionError("nothing to look up")

    with pytest.raises(asyncio.CancelledError):
        await run_periodically(
            FlakyStore(),  # type: ignore[arg-type]
            enqueue,
            installation_for,
            lease_seconds=10,
            every=300,
            first_delay=90,
            sleep=sleep,
        )
    assert slept == [90, 300, 300, 300]
    assert FlakyStore.calls == 3  # the failed pass was logged; the next ones ran
    assert "check-run sweep failed" in caplog.text
