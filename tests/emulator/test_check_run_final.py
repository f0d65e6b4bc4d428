"""A completed check run is final, as on GitHub: a PATCH that would change its status or its
conclusion is refused with 422; its output and annotations can still be updated."""

from __future__ import annotations

from typing import Any

from tests.emulator.conftest import REPO, World
from tests.emulator.test_rest import raw


async def _patch(world: World, run_id: int, body: dict[str, Any]) -> tuple[int, Any]:
    status, _, answer = await raw(
        world, "PATCH", f"/repos/{REPO}/check-runs/{run_id}", token=world.token, body=body
    )
    return status, answer


async def test_a_completed_run_keeps_its_status_and_conclusion(world: World) -> None:
    sha = world.emu.head_sha(REPO, "main")
    run = await world.gh.post(
        f"/repos/{REPO}/check-runs",
        data={"name": "isolation", "head_sha": sha, "status": "in_progress"},
        oauth_token=world.token,
    )
    output = {"title": "t", "summary": "s"}
    # In progress: anything goes, and the conclusion completes it.
    assert (await _patch(world, run["id"], {"status": "in_progress"}))[0] == 200
    status, _ = await _patch(world, run["id"], {"conclusion": "neutral", "output": output})
    assert status == 200

    for body in (
        {"status": "in_progress"},
        {"status": "queued"},
        {"conclusion": "success"},
        {"status": "completed", "conclusion": "failure", "output": output},
    ):
        status, answer = await _patch(world, run["id"], body)
        assert status == 422, body
        assert "completed check run" in answer["message"]
    [stored] = world.emu.check_runs(REPO, head_sha=sha)
    assert (stored["status"], stored["conclusion"]) == ("completed", "neutral")
    assert stored["output"]["title"] == "t"  # the refused PATCHes changed nothing

    # What does not change the state is accepted: the same conclusion, output, annotations.
    ann = {
        "path": "Modules/a.c",
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "warning",
        "message": "m",
    }
    same = {"status": "completed", "conclusion": "neutral", "output": output}
    assert (await _patch(world, run["id"], same))[0] == 200
    more = {"output": {"title": "t2", "summary": "s2", "annotations": [ann]}}
    assert (await _patch(world, run["id"], more))[0] == 200
    [stored] = world.emu.check_runs(REPO, head_sha=sha)
    assert (stored["status"], stored["conclusion"]) == ("completed", "neutral")
    assert stored["output"]["title"] == "t2" and len(stored["annotations"]) == 1
    assert world.emu.validation_errors == []

    # A re-run is a new check run; the listing shows the newest per name.
    second = await world.gh.post(
        f"/repos/{REPO}/check-runs",
        data={"name": "isolation", "head_sha": sha, "status": "in_progress"},
        oauth_token=world.token,
    )
    listed = await world.gh.getitem(
        f"/repos/{REPO}/commits/{sha}/check-runs", oauth_token=world.token
    )
    assert [r["id"] for r in listed["check_runs"]] == [second["id"]]
