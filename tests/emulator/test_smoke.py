"""A pull request from a fork, read and reported on through the REST API."""

from __future__ import annotations

import base64

from tests.emulator.conftest import REPO, World


async def test_pull_request_from_fork_end_to_end(world: World) -> None:
    emu, gh, t = world.emu, world.gh, world.token
    fork = emu.fork(REPO, "alice")
    emu.commit(fork, "feature", {"Modules/a.c": b"int b;\n", "Objects/n.c": b"n\n", "README": None})
    n = emu.open_pull_request(REPO, head="alice:feature", base="main", title="T", user="alice")

    pr = await gh.getitem(f"/repos/{REPO}/pulls/{n}", oauth_token=t)
    assert pr["head"]["repo"]["full_name"] == "alice/cpython"
    assert pr["changed_files"] == 3
    files = [f async for f in gh.getiter(f"/repos/{REPO}/pulls/{n}/files", oauth_token=t)]
    assert [(f["filename"], f["status"]) for f in files] == [
        ("Modules/a.c", "modified"),
        ("Objects/n.c", "added"),
        ("README", "removed"),
    ]
    blob = await gh.getitem(f"/repos/{REPO}/git/blobs/{files[0]['sha']}", oauth_token=t)
    assert base64.b64decode(blob["content"]) == b"int b;\n"

    run = await gh.post(
        f"/repos/{REPO}/check-runs",
        oauth_token=t,
        data={"name": "isolation", "head_sha": pr["head"]["sha"], "status": "in_progress"},
    )
    await gh.patch(
        f"/repos/{REPO}/check-runs/{run['id']}",
        oauth_token=t,
        data={"conclusion": "success", "output": {"title": "ok", "summary": "s"}},
    )
    comment = await gh.post(
        f"/repos/{REPO}/issues/{n}/comments", data={"body": "hello"}, oauth_token=t
    )
    await gh.post(
        f"/repos/{REPO}/issues/{n}/labels",
        data={"labels": ["topic-subinterpreters"]},
        oauth_token=t,
    )

    [stored] = emu.check_runs(REPO, head_sha=pr["head"]["sha"])
    assert (stored["status"], stored["conclusion"]) == ("completed", "success")
    [c] = emu.issue_comments(REPO, n)
    assert c["id"] == comment["id"] and c["user"]["login"] == "isolation-bot[bot]"
    assert emu.labels_on(REPO, n) == ["topic-subinterpreters"]
