"""A pull request that moves under a running check: force-pushed, closed, its branch deleted.

The files listing is held back (an emulator delay) so the change lands mid-check, after the
check run was created for the old head."""

from __future__ import annotations

from tests.support.world import HEAD_SOURCE, MODULE_PATH, REPO, World, until


async def _mid_check(world: World) -> tuple[int, str]:
    """Open a PR whose files listing answers after 0.6 s; return once its check is running."""
    world.emu.faults.add(method="GET", path=r"/pulls/\d+/files$", status=None, delay=0.6)
    number, head = world.open_pr({MODULE_PATH: HEAD_SOURCE})
    await until(lambda: world.runs(head), what="the check run of the first head")
    assert world.runs(head)[0]["status"] == "in_progress"
    return number, head


async def test_force_push_mid_check_checks_the_latest_head_once(world: World) -> None:
    emu = world.emu
    number, old = await _mid_check(world)
    # A rebase: the new head sits on main, the old head is no longer in the branch.
    new = emu.push(REPO, "feature", {MODULE_PATH: HEAD_SOURCE + "\n/* v2 */\n"}, force_onto="main")
    rows = await world.idle()
    assert {r["state"] for r in rows} <= {"done", "superseded"}, rows  # nothing dead or lost
    (stale,) = world.runs(old)  # the stale result was dropped, the run says so
    assert stale["status"] == "completed" and stale["conclusion"] == "cancelled"
    assert "new head" in stale["output"]["summary"]
    (latest,) = world.runs(new)
    assert latest["status"] == "completed" and latest["conclusion"] == "failure"
    assert len(world.bot_comments(number)) == 1  # one comment, for the latest head
    (pr,) = await world.state.db.fetchall(
        "SELECT head_sha, conclusion FROM pr_state WHERE number = ?", (number,)
    )
    assert pr == {"head_sha": new, "conclusion": "failure"}


async def test_pr_closed_mid_check_ends_neutral_without_a_comment(world: World) -> None:
    emu = world.emu
    number, head = await _mid_check(world)
    emu.close_pull_request(REPO, number)
    rows = await world.idle()
    # One job (the closed event is not queued: nothing to check), done on its first try.
    assert [(r["state"], r["attempts"]) for r in rows if r["event"] == "pull_request"] == [
        ("done", 1)
    ]
    (run,) = world.runs(head)
    assert run["status"] == "completed" and run["conclusion"] == "neutral"
    assert "closed" in run["output"]["summary"]
    assert world.bot_comments(number) == []
    assert emu.labels_on(REPO, number) == []
    # Reopened: checked again, on a new check run, with one comment.
    emu.reopen_pull_request(REPO, number)
    await world.idle()
    runs = world.runs(head)
    assert [r["conclusion"] for r in runs] == ["neutral", "failure"]
    assert len(world.bot_comments(number)) == 1


async def test_head_branch_deleted_mid_check_ends_neutral(world: World) -> None:
    emu = world.emu
    number, head = await _mid_check(world)
    emu.delete_branch(REPO, "feature")  # GitHub closes the PR
    rows = await world.idle()
    assert not [r for r in rows if r["state"] == "dead"], rows
    (run,) = world.runs(head)
    assert run["status"] == "completed" and run["conclusion"] == "neutral"
    assert world.bot_comments(number) == []
    # Each job ran once: no exception loop.
    assert all(r["attempts"] == 1 for r in rows if r["event"] == "pull_request"), rows
