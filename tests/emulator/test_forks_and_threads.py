"""Where GitHub is stricter than a naive model: pull requests from forks (not found by head SHA
from the base repository, missing from check runs' and suites' ``pull_requests``), check suites
(webhooks, the suite's run list) and review comment threads (replies, reactions)."""

from __future__ import annotations

import gidgethub
import pytest

from tests.emulator.conftest import REPO, World


def fork_pr(world: World) -> tuple[int, str]:
    emu = world.emu
    fork = emu.fork(REPO, "alice")
    head = emu.commit(fork, "fix", {"Modules/a.c": b"int fixed;\n"}, author="alice")
    return emu.open_pull_request(REPO, head="alice:fix", user="alice"), head


async def test_fork_heads_are_not_found_from_the_base_repository(world: World) -> None:
    emu, gh, t = world.emu, world.gh, world.token
    number, head = fork_pr(world)
    pr = await gh.getitem(f"/repos/{REPO}/pulls/{number}", oauth_token=t)
    assert pr["head"]["repo"]["full_name"] == "alice/cpython"
    assert pr["head"]["sha"] == head and pr["base"]["repo"]["full_name"] == REPO
    # REST checks/create: forks are "not detected and return an empty pull_requests array"
    assert await gh.getitem(f"/repos/{REPO}/commits/{head}/pulls", oauth_token=t) == []
    run = await gh.post(
        f"/repos/{REPO}/check-runs",
        data={"name": "isolation", "head_sha": head, "external_id": f"{REPO}#{number}"},
        oauth_token=t,
    )
    assert run["pull_requests"] == [] and run["external_id"] == f"{REPO}#{number}"
    created = [d for d in emu.deliveries if d.event == "check_run"][-1]
    assert created.payload["check_run"]["pull_requests"] == []
    # a branch of the repository itself is listed everywhere
    emu.create_branch(REPO, "own")
    own = emu.commit(REPO, "own", {"Modules/a.c": b"int own;\n"})
    own_number = emu.open_pull_request(REPO, head="own")
    [found] = await gh.getitem(f"/repos/{REPO}/commits/{own}/pulls", oauth_token=t)
    assert found["number"] == own_number
    run = await gh.post(
        f"/repos/{REPO}/check-runs", data={"name": "isolation", "head_sha": own}, oauth_token=t
    )
    assert [p["number"] for p in run["pull_requests"]] == [own_number]
    # once merged, the fork's head is part of the base repository's history
    merge = emu.merge_pull_request(REPO, number)
    [merged] = await gh.getitem(f"/repos/{REPO}/commits/{merge}/pulls", oauth_token=t)
    assert merged["number"] == number


async def test_check_suites_webhooks_and_run_list(world: World) -> None:
    emu, gh, t = world.emu, world.gh, world.token
    number, head = fork_pr(world)
    suite = emu.request_check_suite(REPO, head)
    requested = emu.deliveries[-1]
    assert (requested.event, requested.action) == ("check_suite", "requested")
    assert requested.payload["check_suite"]["id"] == suite
    assert requested.payload["check_suite"]["status"] == "queued"
    with pytest.raises(Exception, match="no runs"):
        emu.rerequest_check_suite(REPO, suite)
    first = await gh.post(
        f"/repos/{REPO}/check-runs",
        data={"name": "isolation", "head_sha": head, "external_id": f"{REPO}#{number}"},
        oauth_token=t,
    )
    assert first["check_suite"]["id"] == suite  # the suite GitHub made for the commit
    second = await gh.post(
        f"/repos/{REPO}/check-runs",
        data={"name": "isolation", "head_sha": head, "conclusion": "success"},
        oauth_token=t,
    )
    listed = await gh.getitem(f"/repos/{REPO}/check-suites/{suite}/check-runs", oauth_token=t)
    assert listed["total_count"] == 1 and listed["check_runs"][0]["id"] == second["id"]
    every = await gh.getitem(
        f"/repos/{REPO}/check-suites/{suite}/check-runs?filter=all&check_name=isolation",
        oauth_token=t,
    )
    assert [r["id"] for r in every["check_runs"]] == [second["id"], first["id"]]
    emu.rerequest_check_suite(REPO, suite, user="bob")
    again = emu.deliveries[-1]
    assert (again.event, again.action) == ("check_suite", "rerequested")
    body = again.payload["check_suite"]
    assert body["pull_requests"] == [] and body["head_sha"] == head  # a fork head
    assert body["app"]["id"] == world.app.id and again.payload["sender"]["login"] == "bob"
    with pytest.raises(gidgethub.BadRequest) as err:
        await gh.getitem(f"/repos/{REPO}/check-suites/999999/check-runs", oauth_token=t)
    assert err.value.status_code == 404


async def test_review_comment_threads_replies_and_reactions(world: World) -> None:
    emu, gh, t = world.emu, world.gh, world.token
    number, head = fork_pr(world)
    root = emu.review_comment(REPO, number, "bob", "/isolation explain", path="Modules/a.c")
    event = emu.deliveries[-1]
    assert (event.event, event.action) == ("pull_request_review_comment", "created")
    assert event.payload["comment"]["commit_id"] == head
    reply = emu.review_comment(REPO, number, "alice", "hm", in_reply_to=root)
    # the API takes replies to a thread's first comment only ("Replies to replies are not
    # supported"); a person replying in the page always answers the thread
    with pytest.raises(gidgethub.BadRequest) as err:
        await gh.post(
            f"/repos/{REPO}/pulls/{number}/comments/{reply}/replies",
            data={"body": "answered"},
            oauth_token=t,
        )
    assert err.value.status_code == 404
    answer = await gh.post(
        f"/repos/{REPO}/pulls/{number}/comments/{root}/replies",
        data={"body": "answered"},
        oauth_token=t,
    )
    assert answer["in_reply_to_id"] == root and answer["path"] == "Modules/a.c"
    assert answer["user"]["login"] == world.app.bot_login
    listed = await gh.getitem(f"/repos/{REPO}/pulls/{number}/comments", oauth_token=t)
    assert [c["id"] for c in listed] == [root, reply, answer["id"]]
    newest = await gh.getitem(
        f"/repos/{REPO}/pulls/{number}/comments?direction=desc&since=2000-01-01T00:00:00Z",
        oauth_token=t,
    )
    assert newest[0]["id"] == answer["id"]
    future = await gh.getitem(
        f"/repos/{REPO}/pulls/{number}/comments?since=2999-01-01T00:00:00Z", oauth_token=t
    )
    assert future == []
    url = f"/repos/{REPO}/pulls/comments/{root}/reactions"
    eyes = await gh.post(url, data={"content": "eyes"}, oauth_token=t)
    assert [x["content"] for x in emu.review_reactions(REPO, root)] == ["eyes"]
    await gh.delete(f"{url}/{eyes['id']}", oauth_token=t)
    assert emu.review_reactions(REPO, root) == []
    # review comment ids are not issue comment ids: the issue endpoints do not know them
    with pytest.raises(gidgethub.BadRequest) as err:
        await gh.post(
            f"/repos/{REPO}/issues/comments/{root}/reactions",
            data={"content": "eyes"},
            oauth_token=t,
        )
    assert err.value.status_code == 404
    await gh.patch(f"/repos/{REPO}/pulls/comments/{root}", data={"body": "x"}, oauth_token=t)
    assert emu.deliveries[-1].payload["changes"]["body"]["from"] == "/isolation explain"
    await gh.delete(f"/repos/{REPO}/pulls/comments/{reply}", oauth_token=t)
    assert emu.deliveries[-1].action == "deleted"
    with pytest.raises(gidgethub.BadRequest) as err:
        await gh.post(
            f"/repos/{REPO}/pulls/comments/{reply}/reactions",
            data={"content": "+1"},
            oauth_token=t,
        )
    assert err.value.status_code == 404
    emu.lock_issue(REPO, number)
    with pytest.raises(gidgethub.BadRequest) as err:
        await gh.post(
            f"/repos/{REPO}/pulls/{number}/comments/{root}/replies",
            data={"body": "locked"},
            oauth_token=t,
        )
    assert err.value.status_code == 403
