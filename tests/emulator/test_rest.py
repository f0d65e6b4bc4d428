"""The REST side: pagination, ETags, faults, authentication, errors, request validation."""

from __future__ import annotations

import base64
import time
from typing import Any

import gidgethub
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from multidict import CIMultiDict

from tests.emulator.conftest import REPO, World


async def raw(
    world: World,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> tuple[int, CIMultiDict[str], Any]:
    """One request without gidgethub's error mapping: (status, headers, JSON body)."""
    hdrs = {"Accept": "application/vnd.github+json"}
    if token is not None:
        hdrs["Authorization"] = f"token {token}"
    hdrs.update(headers or {})
    async with world.session.request(
        method, world.url + path, json=body if data is None else None, data=data, headers=hdrs
    ) as resp:
        text = await resp.read()
        import json

        return resp.status, CIMultiDict(resp.headers), json.loads(text) if text else None


def many_files_pr(world: World, count: int) -> int:
    emu = world.emu
    emu.create_branch(REPO, "big")
    emu.commit(REPO, "big", {f"Modules/f{i:04d}.c": f"int v{i};\n" for i in range(count)})
    return emu.open_pull_request(REPO, head="big")


async def test_pull_files_paginate_with_link_header(world: World) -> None:
    n = many_files_pr(world, 250)
    status, headers, page1 = await raw(
        world, "GET", f"/repos/{REPO}/pulls/{n}/files?per_page=100", token=world.token
    )
    assert status == 200 and len(page1) == 100
    link = headers["Link"]
    assert 'rel="next"' in link and 'rel="last"' in link and "page=3" in link
    # like GitHub, links name the repository by id
    repo_id = world.emu.repo_record(REPO).id
    assert f"{world.url}/repositories/{repo_id}/pulls/{n}/files?" in link
    files = [
        f
        async for f in world.gh.getiter(
            f"/repos/{REPO}/pulls/{n}/files?per_page=100", oauth_token=world.token
        )
    ]
    assert len(files) == 250
    assert len({f["filename"] for f in files}) == 250
    # the request log shows the canonical /repos/{owner}/{repo} form for every page
    pages = [r for r in world.emu.requests if r.path == f"/repos/{REPO}/pulls/{n}/files"]
    assert [r.query.get("page") for r in pages] == [None, None, "2", "3"]
    # the last page has prev/first and no next
    status, headers, page3 = await raw(
        world, "GET", f"/repos/{REPO}/pulls/{n}/files?per_page=100&page=3", token=world.token
    )
    assert len(page3) == 50 and 'rel="next"' not in headers["Link"]
    assert 'rel="first"' in headers["Link"]


async def test_pull_files_stop_at_3000(world: World) -> None:
    n = many_files_pr(world, 3005)
    pr = await world.gh.getitem(f"/repos/{REPO}/pulls/{n}", oauth_token=world.token)
    assert pr["changed_files"] == 3005
    files = [
        f
        async for f in world.gh.getiter(
            f"/repos/{REPO}/pulls/{n}/files?per_page=100", oauth_token=world.token
        )
    ]
    assert len(files) == 3000


async def test_etag_gives_free_304(world: World) -> None:
    path = f"/repos/{REPO}"
    status, headers, _ = await raw(world, "GET", path, token=world.token)
    etag = headers["ETag"]
    remaining = int(headers["x-ratelimit-remaining"])
    status, headers, body = await raw(
        world, "GET", path, token=world.token, headers={"If-None-Match": etag}
    )
    assert status == 304 and body is None
    assert int(headers["x-ratelimit-remaining"]) == remaining  # 304s cost nothing
    # a change makes the old ETag stale
    world.emu.commit(REPO, "main", {"Objects/x.c": b"x\n"})
    status, headers, _ = await raw(
        world, "GET", path, token=world.token, headers={"If-None-Match": etag}
    )
    assert status == 200 and headers["ETag"] != etag


async def test_faults_fail_then_recover(world: World) -> None:
    world.emu.faults.add(method="GET", path=r"^/repos/.+/pulls/\d+$", status=502, times=2)
    n = many_files_pr(world, 1)
    for _ in range(2):
        status, _, body = await raw(world, "GET", f"/repos/{REPO}/pulls/{n}", token=world.token)
        assert status == 502 and body["message"]
    status, _, body = await raw(world, "GET", f"/repos/{REPO}/pulls/{n}", token=world.token)
    assert status == 200 and body["number"] == n
    statuses = [r.status for r in world.emu.requests if r.path.endswith(f"/pulls/{n}")]
    assert statuses == [502, 502, 200]


async def test_secondary_rate_limit_fault_has_retry_after(world: World) -> None:
    world.emu.faults.add(path=r"/issues/\d+/comments$", status=403, retry_after=7, times=1)
    world.emu.faults.add(path=r"/issues/\d+/comments$", status=429, retry_after=3, times=1)
    n = world.emu.create_issue(REPO, "t")
    status, headers, body = await raw(
        world, "POST", f"/repos/{REPO}/issues/{n}/comments", token=world.token, body={"body": "x"}
    )
    assert status == 403 and headers["Retry-After"] == "7"
    assert "secondary rate limit" in body["message"] and body["documentation_url"]
    with pytest.raises(gidgethub.BadRequest) as info:
        await world.gh.post(
            f"/repos/{REPO}/issues/{n}/comments", data={"body": "x"}, oauth_token=world.token
        )
    assert info.value.status_code == 429
    await world.gh.post(
        f"/repos/{REPO}/issues/{n}/comments", data={"body": "x"}, oauth_token=world.token
    )
    assert len(world.emu.issue_comments(REPO, n)) == 1  # failed posts stored nothing


async def test_delay_fault_then_normal_answer(world: World) -> None:
    world.emu.faults.add(path="^/rate_limit$", status=None, delay=0.05, times=1)
    status, _, body = await raw(world, "GET", "/rate_limit", token=world.token)
    assert status == 200 and body["resources"]["core"]["limit"] == 5000
    assert world.emu.faults.rules[0].hits == 1
    world.emu.faults.clear()
    assert world.emu.faults.rules == []


async def test_auth_failures(world: World) -> None:
    path = f"/repos/{REPO}/issues"
    assert (await raw(world, "GET", path))[0] == 401
    assert (await raw(world, "GET", path, token="ghs_not_a_token"))[0] == 401
    # the App JWT is not a repository credential
    assert (await raw(world, "GET", path, headers={"Authorization": f"Bearer {world.jwt()}"}))[
        0
    ] == 401
    # an installation token is not an App credential
    assert (await raw(world, "GET", "/app", token=world.token))[0] == 401
    # expired JWT, JWT living too long, JWT signed by another key
    expired = world.jwt(iat=int(time.time()) - 1200, exp=int(time.time()) - 600)
    too_long = world.jwt(exp=int(time.time()) + 3600)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    forged = jwt.encode(
        {"iat": int(time.time()), "exp": int(time.time()) + 300, "iss": str(world.app.id)},
        pem,
        algorithm="RS256",
    )
    for bad in (expired, too_long, forged, "a.b.c"):
        status, _, body = await raw(
            world, "GET", "/app", headers={"Authorization": f"Bearer {bad}"}
        )
        assert status == 401, bad
        assert body["documentation_url"].startswith("https://docs.github.com")
    status, _, body = await raw(
        world, "GET", "/app", headers={"Authorization": f"Bearer {world.jwt()}"}
    )
    assert status == 200 and body["slug"] == "isolation-bot"
    by_client_id = world.jwt(iss=world.app.client_id)
    status, _, body = await raw(
        world, "GET", "/app", headers={"Authorization": f"Bearer {by_client_id}"}
    )
    assert status == 200 and body["client_id"] == world.app.client_id


async def test_token_scope_and_expiry(world: World) -> None:
    emu = world.emu
    emu.create_repo("mallory/secret")
    emu.commit("mallory/secret", "main", {"x": b"x"})
    status, _, body = await raw(world, "GET", "/repos/mallory/secret", token=world.token)
    assert status == 404 and body["message"] == "Not Found"
    emu.expire_tokens()
    assert (await raw(world, "GET", f"/repos/{REPO}", token=world.token))[0] == 401
    fresh = await world.gh.post(
        f"/app/installations/{world.inst_id}/access_tokens", data=b"", jwt=world.jwt()
    )
    assert (await raw(world, "GET", f"/repos/{REPO}", token=fresh["token"]))[0] == 200


async def test_malformed_request_is_rejected_and_recorded(world: World) -> None:
    sha = world.emu.head_sha(REPO, "main")
    status, _, body = await raw(
        world,
        "POST",
        f"/repos/{REPO}/check-runs",
        token=world.token,
        body={"name": "isolation", "head_sha": sha, "conclusion": "great"},
    )
    assert status == 422 and body["message"].startswith("Invalid request")
    assert len(world.emu.validation_errors) == 1
    assert "conclusion" in world.emu.validation_errors[0]
    status, _, body = await raw(
        world, "POST", f"/repos/{REPO}/check-runs", token=world.token, data=b"{not json"
    )
    assert status == 400 and body["message"] == "Problems parsing JSON"
    assert world.emu.check_runs(REPO) == []
    world.emu.validation_errors.clear()


async def test_check_run_annotations_limit_and_accumulate(world: World) -> None:
    sha = world.emu.head_sha(REPO, "main")
    run = await world.gh.post(
        f"/repos/{REPO}/check-runs",
        data={"name": "isolation", "head_sha": sha},
        oauth_token=world.token,
    )
    ann = {
        "path": "Modules/a.c",
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "failure",
        "message": "m",
    }

    async def patch(count: int) -> int:
        status, _, _ = await raw(
            world,
            "PATCH",
            f"/repos/{REPO}/check-runs/{run['id']}",
            token=world.token,
            body={"output": {"title": "t", "summary": "s", "annotations": [ann] * count}},
        )
        return status

    assert await patch(51) == 422
    # the description itself says maxItems 50: a malformed request, recorded as such
    assert [e for e in world.emu.validation_errors if "too long" in e]
    world.emu.validation_errors.clear()
    assert await patch(50) == 200
    assert await patch(30) == 200
    [stored] = world.emu.check_runs(REPO, head_sha=sha)
    assert len(stored["annotations"]) == 80 and stored["output"]["annotations_count"] == 80
    listed = await world.gh.getitem(
        f"/repos/{REPO}/commits/main/check-runs", oauth_token=world.token
    )
    assert listed["total_count"] == 1 and listed["check_runs"][0]["id"] == run["id"]
    status, _, _ = await raw(
        world,
        "POST",
        f"/repos/{REPO}/check-runs",
        token=world.token,
        body={"name": "isolation", "head_sha": "0" * 40},
    )
    assert status == 422


async def test_issue_states_locked_deleted(world: World) -> None:
    emu = world.emu
    n = emu.create_issue(REPO, "meta", "body")
    emu.lock_issue(REPO, n)
    status, _, body = await raw(
        world, "POST", f"/repos/{REPO}/issues/{n}/comments", token=world.token, body={"body": "x"}
    )
    assert status == 403 and "locked" in body["message"]
    emu.delete_issue(REPO, n)
    assert (await raw(world, "GET", f"/repos/{REPO}/issues/{n}", token=world.token))[0] == 410
    assert (await raw(world, "GET", f"/repos/{REPO}/issues/999", token=world.token))[0] == 404


async def test_issue_body_edits_are_recorded(world: World) -> None:
    n = world.emu.create_issue(REPO, "meta", "before")
    await world.gh.patch(
        f"/repos/{REPO}/issues/{n}", data={"body": "after"}, oauth_token=world.token
    )
    await world.gh.patch(
        f"/repos/{REPO}/issues/{n}", data={"body": "after"}, oauth_token=world.token
    )  # unchanged: not an edit
    assert world.emu.issue_body_edits(REPO, n) == ["after"]
    assert world.emu.issue(REPO, n)["body"] == "after"


async def test_comments_reactions_labels(world: World) -> None:
    emu, gh, t = world.emu, world.gh, world.token
    n = emu.create_issue(REPO, "t")
    c = await gh.post(f"/repos/{REPO}/issues/{n}/comments", data={"body": "hi"}, oauth_token=t)
    status, _, _ = await raw(
        world, "POST", f"/repos/{REPO}/issues/{n}/comments", token=t, body={"body": "x" * 65537}
    )
    assert status == 422
    first = await raw(
        world,
        "POST",
        f"/repos/{REPO}/issues/comments/{c['id']}/reactions",
        token=t,
        body={"content": "eyes"},
    )
    again = await raw(
        world,
        "POST",
        f"/repos/{REPO}/issues/comments/{c['id']}/reactions",
        token=t,
        body={"content": "eyes"},
    )
    assert (first[0], again[0]) == (201, 200) and first[2]["id"] == again[2]["id"]
    await gh.delete(
        f"/repos/{REPO}/issues/comments/{c['id']}/reactions/{first[2]['id']}", oauth_token=t
    )
    assert emu.reactions(REPO, c["id"]) == []

    labels = await gh.post(
        f"/repos/{REPO}/issues/{n}/labels",
        data={"labels": ["isolation-improved", "bug"]},
        oauth_token=t,
    )
    assert [x["name"] for x in labels] == ["isolation-improved", "bug"]
    left = await gh.delete(f"/repos/{REPO}/issues/{n}/labels/bug", oauth_token=t)
    assert emu.labels_on(REPO, n) == ["isolation-improved"]
    del left
    status, _, body = await raw(world, "DELETE", f"/repos/{REPO}/issues/{n}/labels/bug", token=t)
    assert status == 404 and body["message"] == "Label does not exist"
    status, _, body = await raw(
        world, "POST", f"/repos/{REPO}/labels", token=t, body={"name": "BUG", "color": "ff0000"}
    )
    assert status == 422 and body["errors"][0]["code"] == "already_exists"
    await gh.patch(
        f"/repos/{REPO}/labels/isolation-improved",
        data={"color": "00ff00", "description": "d"},
        oauth_token=t,
    )
    label = await gh.getitem(f"/repos/{REPO}/labels/isolation-improved", oauth_token=t)
    assert (label["color"], label["description"]) == ("00ff00", "d")


@pytest.mark.parametrize(
    ("level", "permission"),
    [
        ("read", "read"),
        ("triage", "read"),
        ("write", "write"),
        ("maintain", "write"),
        ("admin", "admin"),
    ],
)
async def test_collaborator_permission(world: World, level: str, permission: str) -> None:
    world.emu.set_permission(REPO, "bob", level)
    body = await world.gh.getitem(
        f"/repos/{REPO}/collaborators/bob/permission", oauth_token=world.token
    )
    assert (body["permission"], body["role_name"]) == (permission, level)


async def test_unknown_route_is_githubs_404(world: World) -> None:
    status, _, body = await raw(world, "GET", "/no/such/route", token=world.token)
    assert world.emu.validation_errors == ["no such route in the emulator: GET /no/such/route"]
    world.emu.validation_errors.clear()
    assert status == 404 and body == {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest",
        "status": "404",
    }


async def test_primary_rate_limit_exhaustion(world: World) -> None:
    world.emu.rate_limit = world.emu.rate_used(world.inst_id) + 2
    path = f"/repos/{REPO}"
    assert (await raw(world, "GET", path, token=world.token))[0] == 200
    status, headers, _ = await raw(world, "GET", path, token=world.token)
    assert status == 200 and headers["x-ratelimit-remaining"] == "0"
    status, headers, body = await raw(world, "GET", path, token=world.token)
    assert status == 403 and "rate limit exceeded" in body["message"]
    assert headers["x-ratelimit-remaining"] == "0" and int(headers["x-ratelimit-reset"]) > 0
    # /rate_limit itself still answers
    status, _, body = await raw(world, "GET", "/rate_limit", token=world.token)
    assert status == 200 and body["resources"]["core"]["remaining"] == 0
    world.emu.reset_rate_limits()
    assert (await raw(world, "GET", path, token=world.token))[0] == 200


async def test_git_reads(world: World) -> None:
    gh, t = world.gh, world.token
    emu = world.emu
    emu.commit(REPO, "main", {"Objects/typeobject.c": b"static PyTypeObject T;\n"})
    ref = await gh.getitem(f"/repos/{REPO}/git/ref/heads/main", oauth_token=t)
    sha = ref["object"]["sha"]
    assert sha == emu.head_sha(REPO, "main")
    commit = await gh.getitem(f"/repos/{REPO}/git/commits/{sha}", oauth_token=t)
    tree = await gh.getitem(
        f"/repos/{REPO}/git/trees/{commit['tree']['sha']}?recursive=1", oauth_token=t
    )
    paths = {e["path"]: e["type"] for e in tree["tree"]}
    assert paths["Objects"] == "tree" and paths["Objects/typeobject.c"] == "blob"
    rest_commit = await gh.getitem(f"/repos/{REPO}/commits/{sha}", oauth_token=t)
    assert [f["filename"] for f in rest_commit["files"]] == ["Objects/typeobject.c"]
    content = await gh.getitem(
        f"/repos/{REPO}/contents/{{+path}}?ref=main",
        {"path": "Objects/typeobject.c"},
        oauth_token=t,
    )
    assert content["path"] == "Objects/typeobject.c" and content["encoding"] == "base64"
    listing = await gh.getitem(f"/repos/{REPO}/contents/Objects?ref=main", oauth_token=t)
    assert [e["name"] for e in listing] == ["typeobject.c"]
    cmp = await gh.getitem(
        f"/repos/{REPO}/compare/{commit['parents'][0]['sha']}...main", oauth_token=t
    )
    assert (cmp["status"], cmp["ahead_by"], cmp["behind_by"]) == ("ahead", 1, 0)
    status, _, _ = await raw(world, "GET", f"/repos/{REPO}/git/blobs/{'0' * 40}", token=t)
    assert status == 404


async def test_commit_pulls_finds_open_and_merged(world: World) -> None:
    emu, gh, t = world.emu, world.gh, world.token
    emu.create_branch(REPO, "feature")
    head = emu.commit(REPO, "feature", {"Modules/a.c": b"int f;\n"})
    n = emu.open_pull_request(REPO, head="feature")
    [pr] = await gh.getitem(f"/repos/{REPO}/commits/{head}/pulls", oauth_token=t)
    assert pr["number"] == n
    merge = emu.merge_pull_request(REPO, n)
    [pr] = await gh.getitem(f"/repos/{REPO}/commits/{merge}/pulls", oauth_token=t)
    assert pr["number"] == n and pr["merged_at"]
    listed = await gh.getitem(f"/repos/{REPO}/pulls?state=closed", oauth_token=t)
    assert [p["number"] for p in listed] == [n]
    assert await gh.getitem(f"/repos/{REPO}/pulls", oauth_token=t) == []


async def test_raw_media_type_for_blobs_and_contents(world: World) -> None:
    sha = world.emu.store.commits[world.emu.head_sha(REPO, "main")].files["Modules/a.c"]
    for path in (f"/repos/{REPO}/git/blobs/{sha}", f"/repos/{REPO}/contents/Modules/a.c"):
        async with world.session.get(
            world.url + path,
            headers={
                "Authorization": f"token {world.token}",
                "Accept": "application/vnd.github.raw",
            },
        ) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("application/vnd.github.raw")
            assert await resp.read() == b"int a;\n"


async def test_closing_through_the_api_emits_closed(world: World) -> None:
    emu = world.emu
    n = emu.create_issue(REPO, "t")
    await world.gh.patch(
        f"/repos/{REPO}/issues/{n}",
        data={"state": "closed", "state_reason": "completed", "title": "t2"},
        oauth_token=world.token,
    )
    kinds = [(d.event, d.action) for d in emu.deliveries[-2:]]
    assert kinds == [("issues", "edited"), ("issues", "closed")]
    assert emu.issue(REPO, n)["state"] == "closed"
    assert emu.deliveries[-1].payload["sender"]["login"] == "isolation-bot[bot]"


async def test_contents_over_one_megabyte_leave_content_out(world: World) -> None:
    big = b"/* filler */\n" * 90_000  # ~1.2 MB
    world.emu.commit(REPO, "main", {"Objects/big.c": big})
    body = await world.gh.getitem(
        f"/repos/{REPO}/contents/{{+path}}", {"path": "Objects/big.c"}, oauth_token=world.token
    )
    assert (body["encoding"], body["content"], body["size"]) == ("none", "", len(big))
    blob = await world.gh.getitem(f"/repos/{REPO}/git/blobs/{body['sha']}", oauth_token=world.token)
    assert base64.b64decode(blob["content"]) == big
