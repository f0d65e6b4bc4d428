"""End to end: the real `isolation-bot serve` process against the GitHub emulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.prcheck.comment import MARKER
from tests.support.bot_process import REPO, completed_runs, wait_until
from tests.support.samples import HEAD_SOURCE, MODULE_PATH

pytestmark = pytest.mark.slow

FIXED_HEAD = HEAD_SOURCE.replace(
    "static PyObject *last_result = NULL;", "/* no process-wide state */"
).replace(
    "    Py_XSETREF(last_result, PyLong_FromLong(self->value));\n"
    "    return Py_XNewRef(last_result);",
    "    return PyLong_FromLong(self->value);",
)


def open_pr(emu: Any, source: str = HEAD_SOURCE) -> tuple[int, str]:
    emu.create_branch(REPO, "feature")
    head = emu.commit(REPO, "feature", {MODULE_PATH: source}, author="contributor")
    return emu.open_pull_request(REPO, "feature", user="contributor"), head


async def reported(emu: Any, number: int, sha: str, bot: Any = None) -> dict[str, Any]:
    await wait_until(lambda: completed_runs(emu, sha), what=f"check run on {sha[:8]}")
    await wait_until(lambda: emu.issue_comments(REPO, number), what="the status comment")
    return completed_runs(emu, sha)[-1]


async def test_pr_lifecycle_check_comment_labels_push_and_duplicate(world: dict[str, Any]) -> None:
    emu, bot = world["emu"], world["bot"]
    number, head = open_pr(emu)
    run = await reported(emu, number, head)
    assert run["name"] == "isolation" and run["conclusion"] == "failure"  # the new ISO005
    assert any(a["path"] == MODULE_PATH for a in run["annotations"])
    (comment,) = emu.issue_comments(REPO, number)
    assert comment["user"]["login"] == "isolation-bot[bot]" and MARKER in comment["body"]
    assert "converted to multi-phase init" in comment["body"]
    await wait_until(lambda: len(emu.labels_on(REPO, number)) == 3, what="labels")
    assert sorted(emu.labels_on(REPO, number)) == [
        "isolation-improved",
        "isolation-regression",
        "topic-subinterpreters",
    ]
    # A human label is never touched.
    emu.add_labels(emu.repo_record(REPO), emu.issue_record(REPO, number), ["bug"], "maintainer")

    # A push fixing the regression: same comment edited, regression label removed.
    head2 = emu.push(REPO, "feature", {MODULE_PATH: FIXED_HEAD}, author="contributor")
    run2 = await reported(emu, number, head2)
    assert run2["conclusion"] == "success"
    await wait_until(
        lambda: "isolation-regression" not in emu.labels_on(REPO, number),
        what="the regression label removed",
    )
    (edited,) = emu.issue_comments(REPO, number)
    assert edited["id"] == comment["id"] and edited["body"] != comment["body"]
    assert "bug" in emu.labels_on(REPO, number)

    # Redelivering the opened event: acknowledged, stored once, nothing runs again.
    opened = next(d for d in emu.deliveries if d.event == "pull_request" and d.action == "opened")
    jobs_before = bot.rows("SELECT id FROM jobs")
    again = await emu.redeliver(opened.id)
    assert again.status == 202
    assert bot.rows("SELECT id FROM jobs") == jobs_before
    assert len(bot.rows("SELECT * FROM deliveries WHERE delivery_id = ?", (opened.id,))) == 1
    await wait_until(
        lambda: not bot.rows("SELECT id FROM jobs WHERE state IN ('pending', 'running')"),
        what="an idle queue",
    )
    assert len(emu.issue_comments(REPO, number)) == 1
    assert len(emu.check_runs(REPO, head)) == 1


async def test_pr_touching_no_c_file_gets_a_check_but_no_comment(world: dict[str, Any]) -> None:
    emu, bot = world["emu"], world["bot"]
    emu.create_branch(REPO, "docs")
    head = emu.commit(REPO, "docs", {"Lib/x.py": "x = 2\n"})
    number = emu.open_pull_request(REPO, "docs")
    await wait_until(lambda: completed_runs(emu, head), what="the check run")
    await wait_until(
        lambda: not bot.rows("SELECT id FROM jobs WHERE state != 'done'"), what="an idle queue"
    )
    assert completed_runs(emu, head)[0]["conclusion"] == "success"
    assert emu.issue_comments(REPO, number) == []
    assert emu.labels_on(REPO, number) == []


async def test_killed_mid_job_finishes_once_after_restart(world: dict[str, Any]) -> None:
    emu, bot = world["emu"], world["bot"]
    # The files listing hangs long enough to kill the server in the middle of the job.
    emu.faults.add(method="GET", path=r"/pulls/\d+/files", status=None, delay=2.0, times=1)
    number, head = open_pr(emu)
    # Killed after the check run was created and recorded, while the files listing hangs.
    await wait_until(
        lambda: bot.rows("SELECT check_run_id FROM pr_state WHERE head_sha = ?", (head,)),
        what="the check run recorded",
    )
    await bot.kill()
    assert bot.rows("SELECT state FROM jobs WHERE event = 'pull_request'") == [{"state": "running"}]
    await bot.start()
    await reported(emu, number, head)
    await wait_until(
        lambda: (
            bot.rows("SELECT state FROM jobs WHERE event = 'pull_request'") == [{"state": "done"}]
        ),
        what="the job done",
    )
    assert len(emu.check_runs(REPO, head)) == 1  # the interrupted run was reused
    assert len(emu.issue_comments(REPO, number)) == 1


async def test_transient_faults_end_in_success(world: dict[str, Any]) -> None:
    emu = world["emu"]
    emu.faults.add(method="GET", path=r"/pulls/\d+/files", status=502, times=2)
    emu.faults.add(method="GET", path=r"/git/blobs/", status=403, retry_after=0, times=1)
    emu.faults.add(method="POST", path=r"/issues/\d+/comments", status=500, times=1)
    number, head = open_pr(emu)
    run = await reported(emu, number, head)
    assert run["conclusion"] == "failure"  # the real result, not an error report
    assert len(emu.issue_comments(REPO, number)) == 1


async def test_persistent_fault_ends_in_a_clear_failure_report(world: dict[str, Any]) -> None:
    emu, bot = world["emu"], world["bot"]
    emu.faults.add(method="GET", path=r"/pulls/\d+/files", status=500, times=None)
    number, head = open_pr(emu)
    await wait_until(
        lambda: (
            bot.rows("SELECT state FROM jobs WHERE event = 'pull_request'") == [{"state": "dead"}]
        ),
        timeout=30,
        what="the job dead",
    )
    # Every try made its own run (a completed run is final) and completed it neutral.
    runs = emu.check_runs(REPO, head)
    assert runs and all(r["status"] == "completed" for r in runs)
    run = runs[-1]  # the newest: what GitHub shows
    assert run["status"] == "completed" and run["conclusion"] == "neutral"
    assert "could not complete" in run["output"]["summary"]
    assert "GitHubBroken" in run["output"]["summary"]
    assert {r["conclusion"] for r in runs} == {"neutral"}
    assert emu.issue_comments(REPO, number) == []
    emu.faults.clear()


async def test_bad_signature_stores_nothing(world: dict[str, Any]) -> None:
    import aiohttp

    emu, bot = world["emu"], world["bot"]
    headers, body = emu.signed_delivery("pull_request", {"action": "opened"}, secret="wrong")
    async with (
        aiohttp.ClientSession() as s,
        s.post(f"{bot.url}/webhook", data=body, headers=headers) as resp,
    ):
        assert resp.status == 401
    assert bot.rows("SELECT * FROM deliveries") == []
    await asyncio.sleep(0)
