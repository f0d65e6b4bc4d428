"""The pull-request check in-process (the service app + the emulator over loopback HTTP)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.analysis.tsv import IGNORED_TSV
from bot.prcheck.comment import MARKER
from tests.support.world import (
    BASE_SOURCE,
    HEAD_SOURCE,
    MODULE_PATH,
    REPO,
    World,
    make_world,
    open_pr,
    until,
)


async def test_unchanged_result_does_not_edit_the_comment(world: World) -> None:
    emu = world.emu
    number, head = open_pr(emu, {MODULE_PATH: HEAD_SOURCE})
    await until(lambda: world.completed(head))
    await world.idle()
    (comment,) = emu.issue_comments(REPO, number)
    # A push that changes no finding (a comment line only): no comment edit at all.
    start = len(emu.requests)
    head2 = emu.push(REPO, "feature", {MODULE_PATH: HEAD_SOURCE + "\n/* tidy */\n"})
    await until(lambda: world.completed(head2))
    await world.idle()
    calls = world.calls(start)
    assert not [c for c in calls if c.startswith("PATCH") and "/issues/comments/" in c]
    assert not [c for c in calls if "/labels" in c]
    assert emu.issue_comments(REPO, number) == [comment]
    # The synchronize cost: files, compare, the new head blob, check run x2, PR re-read.
    api = [c for c in calls if not c.endswith("/access_tokens")]
    assert len(api) <= 8, api


async def test_check_run_rerequested_and_recheck_job(world: World) -> None:
    emu = world.emu
    number, head = open_pr(emu, {MODULE_PATH: HEAD_SOURCE})
    (run,) = await until(lambda: world.completed(head))
    await world.idle()
    emu.rerequest_check_run(REPO, run["id"])
    await until(lambda: len(world.completed(head)) == 2)
    await world.state.queue.enqueue(
        "pr_check",
        json.dumps({"repo": REPO, "number": number, "installation_id": world.installation}),
        key=f"pr:{REPO}#{number}",
    )
    world.state.wake_workers()
    await until(lambda: len(world.completed(head)) == 3)
    await world.idle()
    assert {r["conclusion"] for r in world.completed(head)} == {"failure"}
    assert len(emu.issue_comments(REPO, number)) == 1


async def test_rerequest_of_another_apps_check_run_is_ignored(world: World) -> None:
    from bot.prcheck.router import _is_ours

    assert not _is_ours({"name": "isolation", "app": {"id": 1}}, "2")
    assert not _is_ours({"name": "lint", "app": {"id": 2}}, "2")
    assert _is_ours({"name": "isolation", "app": {"id": 2}}, "2")


async def test_fork_pr_is_read_through_the_base_repository(world: World) -> None:
    emu = world.emu
    fork = emu.fork(REPO, "contributor")
    emu.create_branch(fork, "fix")
    head = emu.commit(fork, "fix", {MODULE_PATH: HEAD_SOURCE}, author="contributor")
    number = emu.open_pull_request(REPO, "contributor:fix", user="contributor")
    (run,) = await until(lambda: world.completed(head))
    assert run["conclusion"] == "failure"
    await world.idle()
    blob_reads = [r for r in emu.requests if "/git/blobs/" in r.path]
    assert blob_reads and all(r.path.startswith(f"/repos/{REPO}/") for r in blob_reads)
    assert len(emu.issue_comments(REPO, number)) == 1


async def test_no_c_change_then_c_change_then_reverted(world: World) -> None:
    emu = world.emu
    number, head = open_pr(emu, {"Lib/x.py": "x = 2\n"})
    await until(lambda: world.completed(head))
    await world.idle()
    assert emu.issue_comments(REPO, number) == []
    head2 = emu.push(REPO, "feature", {MODULE_PATH: HEAD_SOURCE})
    await until(lambda: world.completed(head2))
    await until(lambda: emu.issue_comments(REPO, number))
    await world.idle()
    head3 = emu.push(REPO, "feature", {MODULE_PATH: BASE_SOURCE})
    (run,) = await until(lambda: world.completed(head3))
    await world.idle()
    (comment,) = emu.issue_comments(REPO, number)
    assert MARKER in comment["body"] and "no longer changes C files" in comment["body"]
    assert run["conclusion"] == "success"
    assert emu.labels_on(REPO, number) == []  # all three were the bot's own


async def test_renamed_file_keeps_its_findings(world: World) -> None:
    emu = world.emu
    number, head = open_pr(emu, {MODULE_PATH: None, "Modules/_counter2module.c": BASE_SOURCE})
    (run,) = await until(lambda: world.completed(head))
    await world.idle()
    assert run["conclusion"] == "success"  # moved findings are not new
    files = [r for r in emu.requests if r.path.endswith(f"/pulls/{number}/files")]
    assert files


async def test_stale_result_is_dropped_when_the_head_moves(world: World) -> None:
    emu = world.emu
    # The compare call hangs; meanwhile a force-push moves the head on.
    emu.faults.add(method="GET", path=r"/compare/", status=None, delay=1.0, times=1)
    number, head = open_pr(emu, {MODULE_PATH: HEAD_SOURCE})
    await until(lambda: emu.check_runs(REPO, head))
    head2 = emu.push(REPO, "feature", {MODULE_PATH: HEAD_SOURCE + "\n"})
    await until(lambda: world.completed(head2))
    await world.idle()
    (old,) = emu.check_runs(REPO, head)
    assert old["conclusion"] == "cancelled"
    assert len(emu.issue_comments(REPO, number)) == 1


async def test_graceful_stop_finishes_the_running_job(tmp_path: Path, world: World) -> None:
    emu = world.emu
    emu.faults.add(method="GET", path=r"/pulls/\d+/files", status=None, delay=0.5, times=1)
    number, head = open_pr(emu, {MODULE_PATH: HEAD_SOURCE})
    await until(lambda: emu.check_runs(REPO, head))
    assert world.state.pool is not None
    await world.state.pool.stop(grace=10)
    assert world.completed(head) and emu.issue_comments(REPO, number)
    rows = await world.state.db.fetchall("SELECT state FROM jobs WHERE event = 'pull_request'")
    assert rows == [{"state": "done"}]


async def test_over_3000_files_ends_neutral_with_a_message(world: World) -> None:
    emu = world.emu
    files: dict[str, str | None] = {f"Lib/gen/f{i}.py": f"x = {i}\n" for i in range(3001)}
    files[MODULE_PATH] = HEAD_SOURCE
    number, head = open_pr(emu, files)
    (run,) = await until(lambda: world.completed(head), timeout=30)
    await world.idle()
    assert run["conclusion"] == "neutral"
    assert "3000" in run["output"]["summary"]
    assert not [r for r in emu.requests if r.path.endswith(f"/pulls/{number}/files")]
    (comment,) = emu.issue_comments(REPO, number)  # says why there is no result
    assert "skipped" in comment["body"]
    assert emu.labels_on(REPO, number) == []


async def test_malformed_job_is_dead_at_once_with_its_error_kept(world: World) -> None:
    job_id = await world.state.queue.enqueue(
        "pr_check", json.dumps({"repo": REPO, "installation_id": world.installation})
    )
    world.state.wake_workers()
    await world.idle()
    row = await world.state.queue.get(str(job_id))
    assert row is not None and row["state"] == "dead" and row["attempts"] == 1
    assert "KeyError" in row["last_error"] and "number" in row["last_error"]


async def test_suppression_recorded_by_a_command_is_honoured(world: World) -> None:
    from bot.prcheck.suppressions import add_suppression

    emu = world.emu
    number, head = open_pr(emu, {MODULE_PATH: HEAD_SOURCE})
    (run,) = await until(lambda: world.completed(head))
    assert run["conclusion"] == "failure"
    await world.idle()
    await add_suppression(
        world.state.db, REPO, number, "ISO005", "last_result", "a cache, reset per call", "core-dev"
    )
    await world.state.queue.enqueue(
        "pr_check",
        json.dumps({"repo": REPO, "number": number, "installation_id": world.installation}),
        key=f"pr:{REPO}#{number}",
    )
    world.state.wake_workers()
    await until(lambda: len(world.completed(head)) == 2)
    await world.idle()
    assert world.completed(head)[-1]["conclusion"] == "success"
    (comment,) = emu.issue_comments(REPO, number)
    assert "Suppressed for this pull request" in comment["body"]
    assert "core-dev" in comment["body"] and "last_result" in comment["body"]
    assert "isolation-regression" not in emu.labels_on(REPO, number)


@pytest.mark.postgres
async def test_check_and_push_on_postgresql() -> None:
    from tests.support.store import (
        postgres_unavailable_reason,
        skip_or_fail,
        temporary_postgres_url,
    )

    reason = await postgres_unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    async with temporary_postgres_url() as url, make_world(url) as world:
        emu = world.emu
        number, head = open_pr(emu, {MODULE_PATH: HEAD_SOURCE})
        (run,) = await until(lambda: world.completed(head))
        assert run["conclusion"] == "failure"
        head2 = emu.push(REPO, "feature", {MODULE_PATH: BASE_SOURCE + "\n"})
        await until(lambda: world.completed(head2))
        await world.idle()
        (comment,) = emu.issue_comments(REPO, number)
        assert "No change in isolation state" in comment["body"]
        assert emu.labels_on(REPO, number) == []


async def test_a_refused_compare_falls_back_to_the_base_head(world: World) -> None:
    """A GitHub (or a fake) that will not compare still gets the PR checked, base against head."""
    emu = world.emu
    emu.faults.add(method="GET", path=r"^/repos/.+/compare/", status=404, times=1000)
    number, head = open_pr(emu, {MODULE_PATH: HEAD_SOURCE})
    (run,) = await until(lambda: world.completed(head))
    await world.idle()
    emu.faults.clear()
    assert run["conclusion"] == "failure"  # the demo's one regression
    (comment,) = emu.issue_comments(REPO, number)
    assert "fixed" in comment["body"]  # base findings were read: the conversions count as fixed


IGNORED_ROW = "Modules/_countermodule.c\t-\tlast_result\tone cache for the process\n"
TSV_HEADER = "filename\tfuncname\tname\treason\n"


async def test_a_row_the_pr_adds_to_ignored_tsv_suppresses_its_new_global(world: World) -> None:
    # CPython's `make check-c-globals` accepts a global listed in ignored.tsv; the check
    # reads the list as the head has it, so a PR adding both is not a regression.
    emu = world.emu
    tsv = {IGNORED_TSV: TSV_HEADER + IGNORED_ROW}
    number, head = open_pr(emu, {MODULE_PATH: HEAD_SOURCE, **tsv})
    (run,) = await until(lambda: world.completed(head))
    await world.idle()
    assert run["conclusion"] == "success"
    (comment,) = emu.issue_comments(REPO, number)
    assert "last_result" in comment["body"] and "one cache for the process" in comment["body"]
    assert "isolation-regression" not in emu.labels_on(REPO, number)


async def test_ignored_tsv_of_the_base_applies_and_a_pr_removing_the_row_loses_it(
    world: World,
) -> None:
    emu = world.emu
    emu.commit(REPO, "main", {IGNORED_TSV: TSV_HEADER + IGNORED_ROW})
    _, head = open_pr(emu, {MODULE_PATH: HEAD_SOURCE})
    (run,) = await until(lambda: world.completed(head))
    assert run["conclusion"] == "success"
    await world.idle()
    head2 = emu.push(REPO, "feature", {IGNORED_TSV: TSV_HEADER})
    (run2,) = await until(lambda: world.completed(head2))
    assert run2["conclusion"] == "failure"
    await world.idle()
    head3 = emu.push(REPO, "feature", {IGNORED_TSV: None})
    (run3,) = await until(lambda: world.completed(head3))
    assert run3["conclusion"] == "failure"
