"""Webhooks: shaped like GitHub's (checked against the octokit webhook schemas), signed, and
POSTed in order; redeliveries keep their id."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp import web
from gidgethub import sansio
from multidict import CIMultiDict

from bot.emulator import Delivery, GitHubEmulator
from bot.emulator.state import CheckRun
from tests.emulator.conftest import REPO, make_emulator

SCHEMAS = Path(__file__).parents[1] / "data" / "github" / "webhook-schemas-subset.json"


@cache
def _schemas() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMAS.read_text(encoding="utf-8"))
    return data


def schema_errors(d: Delivery) -> list[str]:
    schemas = _schemas()
    name = f"{d.event}${d.action or 'event'}"
    assert name in schemas["definitions"], f"no schema for {name}: add it to the subset"
    validator = jsonschema.Draft7Validator(
        {"definitions": schemas["definitions"], "$ref": f"#/definitions/{name}"}
    )
    return [
        f"{name} {'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in validator.iter_errors(d.payload)
    ]


def every_event(emu: GitHubEmulator) -> None:
    """Drive the emulator through every kind of change it emits an event for."""
    app = emu.apps()[0]
    emu.ping()
    fork = emu.fork(REPO, "alice")
    emu.commit(fork, "feature", {"Modules/a.c": b"int b;\n"})
    n = emu.open_pull_request(REPO, head="alice:feature", title="T", user="alice")
    emu.push(fork, "feature", {"Modules/a.c": b"int c;\n"}, author="alice")
    emu.create_branch(REPO, "3.13")
    emu.edit_pull_request(REPO, n, base="3.13", title="T2")
    emu.set_draft(REPO, n, True)
    emu.set_draft(REPO, n, False)
    emu.close_pull_request(REPO, n)
    emu.reopen_pull_request(REPO, n)
    cid = emu.comment(REPO, n, user="bob", body="/isolation help")
    emu.edit_comment(REPO, cid, "/isolation recheck")
    emu.delete_comment(REPO, cid)
    rc = emu.review_comment(REPO, n, user="bob", body="/isolation help", path="Modules/a.c")
    emu.review_comment(REPO, n, user="alice", body="thanks", in_reply_to=rc)
    emu.edit_review_comment(REPO, rc, "/isolation recheck")
    emu.delete_review_comment(REPO, rc)
    # what POST .../comments does for the App's installation token
    emu.add_comment(REPO, n, app.bot_login, "status", app_id=app.id)
    i = emu.create_issue(REPO, "meta", "body", user="bob")
    emu.edit_issue_body(REPO, i, "new body")
    emu.close_issue(REPO, i)
    emu.reopen_issue(REPO, i)
    repo = emu.repo_record(REPO)
    for issue in (repo.issues[i], repo.issues[n]):
        emu.add_labels(repo, issue, ["topic-subinterpreters"], "bob")
        emu.remove_label(repo, issue, "topic-subinterpreters", "bob")
    emu.merge_pull_request(REPO, n, user="guido")
    emu.push(REPO, "main", {"Objects/o.c": b"o\n"}, author="guido")
    run = CheckRun(
        emu.next_id(),
        repo.full_name,
        emu.head_sha(REPO, "main"),
        "isolation",
        app.id,
        status="completed",
        conclusion="success",
        started_at=1,
        completed_at=2,
        check_suite_id=emu.next_id(),
    )
    emu.add_check_run(run)
    emu.emit_check_run(repo, run, "created", app.bot_login)
    emu.emit_check_run(repo, run, "completed", app.bot_login)
    emu.rerequest_check_run(REPO, run.id, user="bob")
    emu.request_check_suite(REPO, emu.head_sha(REPO, "main"))
    emu.rerequest_check_suite(REPO, run.check_suite_id, user="bob")


def test_every_emitted_payload_matches_the_webhook_schema() -> None:
    emu, _, _ = make_emulator()
    every_event(emu)
    kinds = {(d.event, d.action) for d in emu.deliveries}
    assert len(kinds) >= 20  # the drive above really covers the events
    errors = [e for d in emu.deliveries for e in schema_errors(d)]
    assert errors == []


def test_payloads_carry_what_handlers_read() -> None:
    emu, app, inst_id = make_emulator()
    every_event(emu)
    by_kind = {(d.event, d.action): d.payload for d in emu.deliveries}
    opened = by_kind[("pull_request", "opened")]
    assert opened["installation"]["id"] == inst_id
    assert opened["repository"]["full_name"] == REPO
    assert opened["pull_request"]["head"]["repo"]["full_name"] == "alice/cpython"
    assert opened["pull_request"]["base"]["ref"] == "main"
    assert by_kind[("issue_comment", "created")]["issue"]["pull_request"]["url"].endswith(
        "/pulls/1"
    )
    assert by_kind[("issue_comment", "edited")]["changes"]["body"]["from"] == "/isolation help"
    push = by_kind[("push", None)]
    assert push["commits"][-1]["added"] == ["Objects/o.c"]
    assert by_kind[("check_run", "rerequested")]["check_run"]["app"]["id"] == app.id
    suite = by_kind[("check_suite", "rerequested")]["check_suite"]
    assert suite["app"]["id"] == app.id and suite["head_sha"] == emu.head_sha(REPO, "main")
    review = by_kind[("pull_request_review_comment", "edited")]
    assert review["changes"]["body"]["from"] == "/isolation help"
    assert review["pull_request"]["number"] == 1
    assert review["comment"]["pull_request_url"].endswith("/pulls/1")
    reply = next(
        d.payload
        for d in emu.deliveries
        if d.event == "pull_request_review_comment" and d.payload["comment"]["body"] == "thanks"
    )
    assert reply["comment"]["in_reply_to_id"] == review["comment"]["id"]


def test_deliveries_are_signed_like_github() -> None:
    emu, app, _ = make_emulator()
    emu.create_issue(REPO, "t")
    d = emu.deliveries[-1]
    assert d.headers["User-Agent"].startswith("GitHub-Hookshot/")
    assert d.headers["Content-Type"] == "application/json"
    event = sansio.Event.from_http(d.headers, d.body, secret=app.webhook_secret)
    assert (event.event, event.delivery_id, event.data) == ("issues", d.id, d.payload)
    with pytest.raises(sansio.ValidationFailure):
        sansio.Event.from_http(d.headers, d.body + b" ", secret=app.webhook_secret)
    headers, body = emu.signed_delivery("ping", {"zen": "z"})
    assert sansio.Event.from_http(headers, body, secret=app.webhook_secret).data == {"zen": "z"}
    headers, _ = emu.signed_delivery("ping", {"zen": "z"}, secret="wrong")
    with pytest.raises(sansio.ValidationFailure):
        sansio.Event.from_http(headers, body, secret=app.webhook_secret)


def test_repositories_without_the_app_send_nothing() -> None:
    emu = GitHubEmulator()
    emu.register_app()
    emu.create_repo("someone/else")
    emu.push("someone/else", "main", {"x": b"x"})
    emu.create_issue("someone/else", "t")
    assert emu.deliveries == []


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[CIMultiDict[str], bytes]]]]:
    got: list[tuple[CIMultiDict[str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        got.append((CIMultiDict(request.headers), await request.read()))
        return web.Response(status=202 if len(got) % 2 else 500)

    app = web.Application()
    app.router.add_post("/webhook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/webhook", got
    finally:
        await runner.cleanup()


async def test_deliveries_are_posted_in_order_and_redelivered(
    receiver: tuple[str, list[tuple[CIMultiDict[str], bytes]]],
) -> None:
    url, got = receiver
    emu, app, _ = make_emulator()
    emu.webhook_url = url
    emu.create_issue(REPO, "before serving")  # queued until the server runs
    async with emu.serve():
        n = emu.create_issue(REPO, "while serving")
        emu.comment(REPO, n, user="bob", body="hi")
        await emu.wait_for_deliveries()
        assert [json.loads(b).get("action") for _, b in got] == [
            "created",  # installation
            "opened",
            "opened",
            "created",
        ]
        assert [d.status for d in emu.deliveries] == [202, 500, 202, 500]
        for headers, body in got:
            sansio.Event.from_http(headers, body, secret=app.webhook_secret)
        failed = emu.deliveries[1]
        again = await emu.redeliver(failed.id)
        assert again.id == failed.id and again.redelivery and again.status == 202
        assert got[-1][1] == failed.body
        assert got[-1][0]["X-GitHub-Delivery"] == failed.id


async def test_wait_covers_deliveries_emitted_while_serving(
    receiver: tuple[str, list[tuple[CIMultiDict[str], bytes]]],
) -> None:
    url, got = receiver
    emu, _, _ = make_emulator()
    async with emu.serve():
        await emu.wait_for_deliveries()  # the installation event, before the URL is set
        emu.webhook_url = url
        emu.create_issue(REPO, "t")
        await emu.wait_for_deliveries()
        assert emu.deliveries[-1].status is not None
        assert len(got) == 1


async def test_unreachable_webhook_url_is_recorded_not_raised() -> None:
    emu, _, _ = make_emulator()
    emu.webhook_url = "http://127.0.0.1:9/nothing-listens-here"
    async with emu.serve():
        emu.create_issue(REPO, "t")
        await emu.wait_for_deliveries()
    assert emu.deliveries[-1].status == 0
