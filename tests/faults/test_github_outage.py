"""GitHub down for a while (5xx or timeouts on every route), then back.

Choice: a job's attempts are only spent while GitHub is reachable. On what would be its last
attempt, a job that failed with 5xx answers or timeouts probes ``GET /rate_limit``; while that
fails too, GitHub is down and the job is postponed (``Queue.defer``) with the attempt handed
back, so an outage of any length never makes a job dead, and it runs once GitHub answers. A
route broken for one job while GitHub answers the probe still ends dead after its attempts
(tests/e2e: test_persistent_fault_ends_in_a_clear_failure_report).
"""

from __future__ import annotations

from typing import Any

from tests.support.world import HEAD_SOURCE, MODULE_PATH, World, until


def _waiting_on_outage(rows: list[dict[str, Any]], n: int) -> bool:
    """``n`` jobs, all postponed because GitHub is unreachable (none running, none dead)."""
    return len(rows) == n and all(
        r["state"] == "pending" and "GitHub unreachable" in str(r["last_error"]) for r in rows
    )


async def _outage_then_recovery(world: World, **fault: Any) -> None:
    emu = world.emu
    queue = world.state.queue
    queue.max_attempts = 2
    emu.faults.add(path=".", times=None, **fault)  # every route, the probe's included
    n1, head1 = world.open_pr({MODULE_PATH: HEAD_SOURCE})
    n2, head2 = world.open_pr({"Objects/other.c": "static int x;\n"}, branch="second")
    await emu.wait_for_deliveries()
    # The intake does not need GitHub: both deliveries are stored and acknowledged.
    assert [d.status for d in emu.deliveries if d.event == "pull_request"] == [202, 202]
    # Every failed try probes GitHub: 2 * (max_attempts + 1) probes mean one job at least was
    # tried more often than max_attempts allows; both still wait for GitHub, none is dead.
    await until(
        lambda: len(world.requests_to(r"^GET /rate_limit$")) >= 2 * (queue.max_attempts + 1),
        what="more tries than max_attempts allows",
    )
    rows = await world.jobs()
    assert all(
        r["state"] in ("pending", "running") and "GitHub unreachable" in str(r["last_error"])
        for r in rows
    ), rows
    assert all(r["attempts"] <= queue.max_attempts for r in rows), rows

    emu.faults.clear()  # GitHub is back: no manual step from here
    await world.make_due()
    rows = await world.idle()
    assert [r["state"] for r in rows if r["event"] == "pull_request"] == ["done", "done"], rows
    assert not [r for r in rows if r["state"] == "dead"], rows
    (run1,) = world.runs(head1)  # one check run each, the real result
    assert run1["status"] == "completed" and run1["conclusion"] == "failure"
    (run2,) = world.runs(head2)
    assert run2["status"] == "completed" and run2["conclusion"] == "success"
    assert len(world.bot_comments(n1)) == 1
    assert len(world.bot_comments(n2)) == 1


async def test_5xx_everywhere_then_recovery(world: World) -> None:
    await _outage_then_recovery(world, status=503)


async def test_timeouts_everywhere_then_recovery(world: World) -> None:
    # Every answer comes after 0.4 s; the client gives up after 0.15 s, trying each call twice.
    policy = world.state.github.policy  # type: ignore[union-attr]
    policy.max_attempts, policy.timeout = 2, 0.15
    await _outage_then_recovery(world, status=None, delay=0.4)


async def test_outage_mid_check_shows_a_clear_state_then_the_result(world: World) -> None:
    emu = world.emu
    # GitHub answers the first calls (check run created), then goes down for the rest.
    emu.faults.add(method="GET", path=r"/pulls/\d+/files$", status=502, times=None)
    number, head = world.open_pr({MODULE_PATH: HEAD_SOURCE})
    # While the files listing fails, users see the check completed neutral with the reason.
    (run,) = await until(lambda: world.completed(head), what="a neutral check run")
    assert run["conclusion"] == "neutral"
    assert "could not complete" in run["output"]["summary"]
    emu.faults.add(path=".", status=500, times=None)  # now everything is down
    await world.wait_jobs(lambda rows: _waiting_on_outage(rows, 1), what="the job waiting")
    emu.faults.clear()
    await world.make_due()
    await world.idle()
    # The neutral run is final: the retry reported in a new run, the newest (what GitHub
    # shows), with the real result; every run is completed.
    *earlier, run = world.runs(head)
    assert run["status"] == "completed" and run["conclusion"] == "failure"
    assert earlier and all(r["status"] == "completed" for r in earlier)
    assert {r["conclusion"] for r in earlier} == {"neutral"}
    assert all("could not complete" in r["output"]["summary"] for r in earlier)
    assert len(world.bot_comments(number)) == 1
