"""Re-runs of the check on pull requests from forks, against an emulator that behaves like
GitHub: no ``pull_requests`` in check run and suite payloads for a fork head, and ``[]`` from
``GET /repos/{o}/{r}/commits/{sha}/pulls`` on the base repository."""

from __future__ import annotations

from typing import Any

from tests.support.world import HEAD_SOURCE, MODULE_PATH, REPO, World, until


async def fork_pr(world: World) -> tuple[int, str, dict[str, Any]]:
    """A contributor's PR from a fork, checked once: (number, head sha, its check run)."""
    emu = world.emu
    fork = emu.fork(REPO, "contributor")
    head = emu.commit(fork, "fix", {MODULE_PATH: HEAD_SOURCE}, author="contributor")
    number = emu.open_pull_request(REPO, "contributor:fix", user="contributor")
    (run,) = await until(lambda: world.completed(head))
    await world.idle()
    assert run["pull_requests"] == [] and run["external_id"] == f"{REPO}#{number}"
    return number, head, run


async def job_keys(world: World) -> list[tuple[str, str | None]]:
    """(webhook event or internal job kind, coalescing key) of every stored job."""
    rows = await world.state.db.fetchall(
        "SELECT kind, event, job_key FROM jobs ORDER BY created_at"
    )
    return [(str(r["event"] if r["kind"] == "webhook" else r["kind"]), r["job_key"]) for r in rows]


async def test_rerun_of_a_fork_pr_runs_the_check_again(world: World) -> None:
    emu = world.emu
    number, head, run = await fork_pr(world)
    start = len(emu.requests)
    emu.rerequest_check_run(REPO, run["id"], user="contributor")
    await until(lambda: len(world.completed(head)) == 2)
    await world.idle()
    assert {r["conclusion"] for r in world.completed(head)} == {"failure"}
    # the run's external_id named the PR: no lookup by SHA at all
    assert not world.requests_to(r"/commits/[0-9a-f]+/pulls", start)
    # the delivery carried the PR's key, as the PR's own webhooks do
    assert ("check_run", f"pr:{REPO}#{number}") in await job_keys(world)
    assert len(emu.issue_comments(REPO, number)) == 1


async def test_rerun_without_an_external_id_uses_the_stored_pr_state(world: World) -> None:
    emu = world.emu
    number, head, run = await fork_pr(world)
    # a run made before the check wrote external_id (or by hand): nothing names the PR
    record = emu.check_run_record(run["id"])
    assert record is not None
    record.external_id = None
    emu.rerequest_check_run(REPO, run["id"])
    await until(lambda: len(world.completed(head)) == 2)
    await world.idle()
    keys = await job_keys(world)
    assert ("check_run", None) in keys  # GitHub's payload names no PR: no key at intake
    assert ("pr_check", f"pr:{REPO}#{number}") in keys  # the check itself runs under it


async def test_rerun_all_checks_of_a_fork_pr(world: World) -> None:
    emu = world.emu
    number, head, run = await fork_pr(world)
    start = len(emu.requests)
    emu.rerequest_check_suite(REPO, run["check_suite"]["id"], user="contributor")
    await until(lambda: len(world.completed(head)) == 2)
    await world.idle()
    assert world.requests_to(r"GET /repos/.+/check-suites/\d+/check-runs", start)
    assert ("pr_check", f"pr:{REPO}#{number}") in await job_keys(world)
    # a suite requested for a new push is left to the pull_request events
    emu.request_check_suite(REPO, head)
    await world.idle()
    assert len(world.completed(head)) == 2
