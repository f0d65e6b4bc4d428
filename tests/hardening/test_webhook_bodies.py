"""Hostile webhook bodies against the running app: a clear status, a log line, no half-job.

Intake (POST /webhook, no workers) answers every malformed delivery with its own status code
and logs it; nothing is stored for a rejected one. A signed delivery whose fields the handler
reads are missing or of the wrong type (against GitHub's webhook schemas) is refused with 422.
One that fits the schemas but not the bot (no installation, a repository name that is no
owner/name) is stored and queued, and its job ends dead at the first try with a clear error:
never a crash, never retried forever. Only X-Hub-Signature-256 counts as a signature, made
with the current secret or, during a rotation, GITHUB_WEBHOOK_SECRET_PREVIOUS.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.service.app import STATE, create_app
from tests.support.world import REPO, World, make_world

SECRET = "hardening-secret"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers(
    event: str, body: bytes, delivery: str | None = "d-1", ctype: str = "application/json"
) -> dict[str, str]:
    h = {"Content-Type": ctype, "X-GitHub-Event": event, "X-Hub-Signature-256": sign(body)}
    if delivery is not None:
        h["X-GitHub-Delivery"] = delivery
    return h


def pr_payload(action: str = "opened") -> dict[str, Any]:
    return {
        "action": action,
        "number": 7,
        "pull_request": {
            "number": 7,
            "state": "open",
            "head": {"sha": "a" * 40, "ref": "f", "repo": {"full_name": REPO}},
            "base": {"sha": "b" * 40, "ref": "main", "repo": {"full_name": REPO}},
        },
        "repository": {"full_name": REPO, "owner": {"login": "python"}, "name": "cpython"},
        "installation": {"id": 1},
        "sender": {"login": "someone", "type": "User"},
    }


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    settings = Settings(webhook_secret=SECRET, database_url=f"sqlite:///{tmp_path}/s.db")
    app = await create_app(settings, workers=0)
    async with TestClient(TestServer(app)) as c:
        yield c


def _app(client: TestClient[Any, Any]) -> web.Application:
    app = client.app
    assert app is not None
    return app


async def stored(client: TestClient[Any, Any]) -> tuple[int, int]:
    db = _app(client)[STATE].db
    deliveries = await db.fetchall("SELECT delivery_id FROM deliveries")
    jobs = await db.fetchall("SELECT id FROM jobs")
    return len(deliveries), len(jobs)


def intake_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.service.intake"]


VALID = json.dumps(pr_payload()).encode()


def _deep(n: int) -> bytes:
    return b'{"action": "opened", "x": ' + b"[" * n + b"]" * n + b"}"


# name -> (event, body, headers override, expected status, text in the log line)
REJECTED: dict[str, tuple[str, bytes, dict[str, str], int, str]] = {
    "truncated JSON": ("pull_request", VALID[: len(VALID) // 2], {}, 400, "malformed"),
    "empty body": ("pull_request", b"", {}, 400, "object"),
    "not UTF-8": ("pull_request", b'{"action": "\xff\xfe"}', {}, 400, "malformed"),
    "a JSON array": ("pull_request", b"[1, 2, 3]", {}, 400, "object"),
    "a JSON string": ("pull_request", b'"opened"', {}, 400, "object"),
    "JSON null": ("pull_request", b"null", {}, 400, "object"),
    "100k-deep array": ("pull_request", b"[" * 100_000 + b"]" * 100_000, {}, 400, "deep"),
    "100k-deep object": (
        "pull_request",
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        {},
        400,
        "deep",
    ),
    "deep array inside a payload": ("pull_request", _deep(100_000), {}, 400, "deep"),
    "text/plain": ("pull_request", VALID, {"Content-Type": "text/plain"}, 415, "content type"),
    "no content type": ("pull_request", VALID, {"Content-Type": ""}, 415, "content type"),
    "XML": ("pull_request", b"<xml/>", {"Content-Type": "application/xml"}, 415, "content type"),
    "form without payload field": (
        "pull_request",
        urlencode({"other": "x"}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
        400,
        "malformed",
    ),
    "form payload not JSON": (
        "pull_request",
        urlencode({"payload": "{oops"}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
        400,
        "malformed",
    ),
    "missing delivery id": ("pull_request", VALID, {"X-GitHub-Delivery": ""}, 400, "header"),
    "delivery id too long": (
        "pull_request",
        VALID,
        {"X-GitHub-Delivery": "d" * 500},
        400,
        "delivery",
    ),
    "missing event header": ("", VALID, {}, 400, "header"),
    "bad signature": (
        "pull_request",
        VALID,
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        401,
        "signature",
    ),
    "no signature": ("pull_request", VALID, {"X-Hub-Signature-256": ""}, 401, "signature"),
}


@pytest.mark.parametrize("name", sorted(REJECTED))
async def test_rejected_bodies_get_their_status_a_log_line_and_store_nothing(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture, name: str
) -> None:
    event, body, override, status, logged = REJECTED[name]
    h = headers(event, body)
    if not event:
        del h["X-GitHub-Event"]
    for key, value in override.items():
        if value:
            h[key] = value
        else:
            h.pop(key, None)
    if "Content-Type" not in h:
        h["Content-Type"] = ""  # aiohttp would otherwise add application/octet-stream
    caplog.set_level(logging.INFO)
    resp = await client.post("/webhook", data=body, headers=h)
    assert resp.status == status, await resp.text()
    reason = (await resp.json())["status"]  # a JSON answer saying why
    assert logged in reason.lower()
    # One log line with the status and the same reason.
    assert any(f"{status} {reason}" in line for line in intake_logs(caplog)), intake_logs(caplog)
    assert await stored(client) == (0, 0)


async def test_a_huge_body_is_413_logged_and_not_stored(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = b'{"action": "opened", "x": "' + b"x" * (26 * 1024 * 1024) + b'"}'
    resp = await client.post("/webhook", data=body, headers=headers("pull_request", body))
    assert resp.status == 413
    assert any("too large" in line for line in intake_logs(caplog))
    assert await stored(client) == (0, 0)


async def test_form_encoded_deliveries_are_supported(client: TestClient[Any, Any]) -> None:
    # GitHub sends `payload=<json>` when a webhook is set to application/x-www-form-urlencoded;
    # gidgethub's Event.from_http reads it, and the signature covers the form body.
    body = urlencode({"payload": VALID.decode()}).encode()
    ctype = "application/x-www-form-urlencoded"
    h = headers("pull_request", body, ctype=ctype)
    resp = await client.post("/webhook", data=body, headers=h)
    assert resp.status == 202 and (await resp.json())["status"] == "queued"
    db = _app(client)[STATE].db
    (row,) = await db.fetchall("SELECT payload FROM deliveries")
    assert json.loads(row["payload"]) == json.loads(VALID)  # stored as JSON, like the rest


@pytest.mark.parametrize(
    ("event", "payload", "expected"),
    [
        ("star", {"action": "created"}, "ignored"),  # an event no handler wants
        ("pull_request", {**pr_payload(), "action": "frobnicated"}, "ignored"),  # unknown action
        ("pull_request", {**pr_payload(), "action": 42}, "ignored"),  # action of the wrong type
        ("ping", {"zen": "Keep it logically awesome.", "hook_id": 1}, "pong"),
    ],
)
async def test_unknown_events_and_actions_are_acknowledged_and_not_stored(
    client: TestClient[Any, Any],
    caplog: pytest.LogCaptureFixture,
    event: str,
    payload: dict[str, Any],
    expected: str,
) -> None:
    caplog.set_level(logging.INFO)
    body = json.dumps(payload).encode()
    resp = await client.post("/webhook", data=body, headers=headers(event, body))
    assert resp.status in (200, 202)
    assert (await resp.json())["status"] == expected
    assert intake_logs(caplog)
    assert await stored(client) == (0, 0)


# ---- accepted, but malformed for the handler: the job ends dead at once -----------------


def _without(path: str) -> dict[str, Any]:
    payload = pr_payload()
    *parents, last = path.split(".")
    node = payload
    for p in parents:
        node = node[p]
    del node[last]
    return payload


def _with(path: str, value: Any) -> dict[str, Any]:
    payload = pr_payload()
    *parents, last = path.split(".")
    node = payload
    for p in parents:
        node = node[p]
    node[last] = value
    return payload


# name -> (payload, the field named in the answer)
WRONG_SHAPE: dict[str, tuple[dict[str, Any], str]] = {
    "no repository": (_without("repository"), "repository"),
    "no pull_request": (_without("pull_request"), "pull_request"),
    "no pull_request.number": (_without("pull_request.number"), "pull_request.number"),
    "no head sha": (_without("pull_request.head"), "pull_request.head"),
    "repository is a string": (_with("repository", "python/cpython"), "repository"),
    "repository.full_name is a number": (
        _with("repository.full_name", 12),
        "repository.full_name",
    ),
    "pull_request is a list": (_with("pull_request", [1, 2]), "pull_request"),
    "number is text": (_with("pull_request.number", "seven"), "pull_request.number"),
    "number is null": (_with("pull_request.number", None), "pull_request.number"),
    "top-level number is a string": (_with("number", "7"), "number"),
    "number is a boolean": (_with("pull_request.number", True), "pull_request.number"),
    "installation is a string": (_with("installation", "1"), "installation"),
    "installation.id is a list": (_with("installation.id", [1]), "installation.id"),
}


@pytest.mark.parametrize("name", sorted(WRONG_SHAPE))
async def test_payloads_of_the_wrong_shape_for_their_handler_are_refused_at_intake(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture, name: str
) -> None:
    payload, field = WRONG_SHAPE[name]
    caplog.set_level(logging.INFO)
    body = json.dumps(payload).encode()
    resp = await client.post("/webhook", data=body, headers=headers("pull_request", body))
    assert resp.status == 422, await resp.text()
    reason = (await resp.json())["status"]
    assert f"payload field {field} " in reason
    assert any(f"422 {reason}" in line for line in intake_logs(caplog)), intake_logs(caplog)
    assert await stored(client) == (0, 0)


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("issue_comment", {"action": "created", "issue": {"number": "1"}, "comment": {}}),
        ("check_run", {"action": "rerequested", "check_run": {"id": "9", "head_sha": "a"}}),
        ("check_suite", {"action": "rerequested", "check_suite": None}),
        ("push", {"ref": 1, "after": "a", "repository": {"full_name": REPO}}),
        ("installation", {"action": "created", "installation": {"id": "1"}}),
        ("installation_repositories", {"action": "added", "installation": {"id": 1}}),
        ("issues", {"action": "edited", "issue": {"number": 1, "body": 3}}),
        ("pull_request_review_comment", {"action": "created", "comment": {"id": 1}}),
    ],
)
async def test_every_handled_event_is_checked_at_intake(
    client: TestClient[Any, Any], event: str, payload: dict[str, Any]
) -> None:
    body = json.dumps(payload).encode()
    resp = await client.post("/webhook", data=body, headers=headers(event, body))
    assert resp.status == 422, await resp.text()
    assert await stored(client) == (0, 0)


MALFORMED_FOR_HANDLER: dict[str, dict[str, Any]] = {
    # Both fit GitHub's schemas (installation is optional there): the job says what is wrong.
    "no installation": _without("installation"),
    "repository.full_name is not owner/name": _with("repository.full_name", "../../x/y"),
}


async def test_payloads_malformed_for_their_handler_end_dead_with_a_clear_error(
    tmp_path: Path,
) -> None:
    async with make_world(f"sqlite:///{tmp_path}/bot.sqlite3") as world:
        url = world.emu.webhook_url
        assert url is not None
        secret = world.state.webhook_secret
        async with aiohttp.ClientSession() as http:
            for i, (name, payload) in enumerate(sorted(MALFORMED_FOR_HANDLER.items())):
                body = json.dumps(payload).encode()
                h = headers("pull_request", body, delivery=f"bad-{i}")
                h["X-Hub-Signature-256"] = sign(body, secret)
                async with http.post(url, data=body, headers=h) as resp:
                    assert resp.status == 202, (name, resp.status, await resp.text())
                # One at a time: deliveries for the same PR would supersede each other.
                await _idle(world)
        jobs = await world.state.db.fetchall(
            "SELECT delivery_id, state, attempts, last_error FROM jobs ORDER BY delivery_id"
        )
        assert len(jobs) == len(MALFORMED_FOR_HANDLER)  # every delivery kept
        for job in jobs:
            assert job["state"] == "dead", job
            assert job["attempts"] == 1, job  # not retried: it would fail the same way
            assert job["last_error"], job
        # Every delivery is still there to inspect or redeliver once the cause is fixed.
        deliveries = await world.state.db.fetchall("SELECT delivery_id FROM deliveries")
        assert len(deliveries) == len(MALFORMED_FOR_HANDLER)


async def _idle(world: World) -> None:
    for _ in range(500):
        stats = await world.state.queue.stats()
        if not (stats.pending or stats.running):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("queue never went idle")


# ---- signatures: X-Hub-Signature-256 only, the previous secret during a rotation -----------


async def _post_signed(
    client: TestClient[Any, Any], body: bytes, **signatures: str
) -> aiohttp.ClientResponse:
    h = {"Content-Type": "application/json", "X-GitHub-Event": "pull_request"}
    h["X-GitHub-Delivery"] = f"d-{len(signatures)}-{hash(tuple(signatures.values()))}"
    h.update({k.replace("_", "-"): v for k, v in signatures.items()})
    return await client.post("/webhook", data=body, headers=h)


def _sha1(body: bytes, secret: str = SECRET) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


async def test_only_the_sha256_signature_counts(client: TestClient[Any, Any]) -> None:
    # A valid SHA-1 X-Hub-Signature alone (gidgethub would accept it) is refused.
    resp = await _post_signed(client, VALID, X_Hub_Signature=_sha1(VALID))
    assert resp.status == 401
    # A valid SHA-256 one with a wrong SHA-1 beside it is accepted: only the former counts.
    resp = await _post_signed(
        client, VALID, X_Hub_Signature_256=sign(VALID), X_Hub_Signature="sha1=" + "0" * 40
    )
    assert resp.status == 202
    # A wrong SHA-256 one is refused even with a valid SHA-1 beside it.
    resp = await _post_signed(
        client, VALID, X_Hub_Signature_256="sha256=" + "0" * 64, X_Hub_Signature=_sha1(VALID)
    )
    assert resp.status == 401
    assert await stored(client) == (1, 1)


async def test_rotation_accepts_the_previous_secret_until_it_is_removed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SECURITY.md's rotation: replicas get the new secret with the old one as previous,
    then the App's secret changes; deliveries signed with either are taken, none refused."""
    caplog.set_level(logging.INFO)
    old, new = "old-secret", "new-secret"
    during = Settings(
        webhook_secret=new,
        webhook_secret_previous=old,
        database_url=f"sqlite:///{tmp_path}/a.db",
    )
    app = await create_app(during, workers=0)
    async with TestClient(TestServer(app)) as c:
        for i, secret in enumerate((old, new)):
            body = json.dumps({**pr_payload(), "number": 7 + i}).encode()
            resp = await _post_signed(c, body, X_Hub_Signature_256=sign(body, secret))
            assert resp.status == 202, await resp.text()
        body = json.dumps({**pr_payload(), "number": 9}).encode()
        resp = await _post_signed(c, body, X_Hub_Signature_256=sign(body, "someone-else"))
        assert resp.status == 401
        assert await stored(c) == (2, 2)
    assert any("GITHUB_WEBHOOK_SECRET_PREVIOUS" in line for line in intake_logs(caplog))
    after = Settings(webhook_secret=new, database_url=f"sqlite:///{tmp_path}/b.db")
    app = await create_app(after, workers=0)
    async with TestClient(TestServer(app)) as c:
        resp = await _post_signed(c, VALID, X_Hub_Signature_256=sign(VALID, old))
        assert resp.status == 401  # the rotation is over: the old secret is refused


SCHEMAS = Path("/work/shared/github/webhook-schemas.octokit-webhooks-schemas-7.6.1.json")


@pytest.mark.skipif(not SCHEMAS.exists(), reason="GitHub's webhook schemas are not at hand")
def test_the_intake_shapes_are_those_of_githubs_webhook_schemas() -> None:
    """bot.service.webhook_shapes against @octokit/webhooks-schemas 7.6.1: each field's types
    (the union over the handled actions) and whether its parent requires it."""
    from bot.service import routers, webhook_shapes

    defs = json.loads(SCHEMAS.read_text(encoding="utf-8"))["definitions"]

    def resolve(s: Any) -> Any:
        while isinstance(s, dict) and "$ref" in s:
            s = defs[s["$ref"].split("/")[-1]]
        return s

    def branches(s: Any) -> list[Any]:
        s = resolve(s)
        for key in ("anyOf", "oneOf", "allOf"):
            if key in s:
                return [b for sub in s[key] for b in branches(sub)]
        return [s]

    def types(s: Any, path: list[str]) -> set[str]:
        out: set[str] = set()
        for b in branches(s):
            if not path:
                t = b.get("type", "any")
                out |= set(t) if isinstance(t, list) else {t}
            elif path[0] in b.get("properties", {}):
                out |= types(b["properties"][path[0]], path[1:])
        return out

    def required(s: Any, path: list[str]) -> bool:
        found = [b for b in branches(s) if path[0] in b.get("properties", {})]
        if len(path) == 1:
            return bool(found) and all(path[0] in b.get("required", []) for b in found)
        return all(required(b["properties"][path[0]], path[1:]) for b in found)

    handled: dict[str, list[str]] = {}
    for event, action in _handled_pairs(routers.router):
        name = f"{event}${action or 'event'}"
        handled.setdefault(event, []).append(name)
    assert set(handled) == set(webhook_shapes.FIELDS)
    for event, shape in webhook_shapes.FIELDS.items():
        for path, (allowed, is_required) in shape.items():
            parts = path.split(".")
            derived = set().union(*(types(defs[n], parts) for n in handled[event]))
            assert set(allowed) == derived, (event, path)
            assert is_required == all(required(defs[n], parts) for n in handled[event])


def _handled_pairs(router: Any) -> list[tuple[str, str | None]]:
    """(event, action) pairs a gidgethub Router dispatches (action None: every action)."""
    pairs: list[tuple[str, str | None]] = []
    for event, callbacks in router._shallow_routes.items():
        if callbacks:
            pairs.append((event, None))
    for event, by_key in router._deep_routes.items():
        for key, by_value in by_key.items():
            assert key == "action"
            pairs.extend((event, value) for value in by_value)
    return pairs
