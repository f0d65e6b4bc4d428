"""POST /webhook status codes and what gets stored, on the real app with a SQLite store."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import ConfigError, Settings
from bot.service.app import STATE, create_app

SECRET = "s3cret"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers(event: str, body: bytes, delivery: str = "d-1", **extra: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(body),
        **extra,
    }


def pr_payload(number: int = 7, action: str = "synchronize") -> dict[str, Any]:
    return {
        "action": action,
        "number": number,
        "pull_request": {"number": number, "head": {"sha": "a" * 40}, "base": {"sha": "b" * 40}},
        "repository": {"full_name": "python/cpython"},
        "installation": {"id": 1},
    }


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    settings = Settings(webhook_secret=SECRET, database_url=f"sqlite:///{tmp_path}/s.db")
    app = await create_app(settings, workers=0)
    async with TestClient(TestServer(app)) as c:
        yield c


async def rows(client: TestClient[Any, Any], table: str) -> list[dict[str, Any]]:
    db = client.server.app[STATE].db
    return await db.fetchall(f"SELECT * FROM {table}")


async def test_signed_pr_event_is_stored_with_its_coalescing_key(client: Any) -> None:
    body = json.dumps(pr_payload()).encode()
    resp = await client.post("/webhook", data=body, headers=headers("pull_request", body))
    assert resp.status == 202
    assert (await resp.json())["status"] == "queued"
    (delivery,) = await rows(client, "deliveries")
    assert delivery["delivery_id"] == "d-1" and delivery["event"] == "pull_request"
    (job,) = await rows(client, "jobs")
    assert job["job_key"] == "pr:python/cpython#7" and job["state"] == "pending"


async def test_redelivery_is_acknowledged_but_stored_once(client: Any) -> None:
    body = json.dumps(pr_payload()).encode()
    for _ in range(2):
        resp = await client.post("/webhook", data=body, headers=headers("pull_request", body))
        assert resp.status == 202
    assert (await resp.json())["status"] == "duplicate"
    assert len(await rows(client, "jobs")) == 1


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc"])
async def test_bad_or_missing_signature_is_401_and_stores_nothing(
    client: Any, signature: str | None
) -> None:
    body = json.dumps(pr_payload()).encode()
    h = headers("pull_request", body)
    if signature is None:
        del h["X-Hub-Signature-256"]
    else:
        h["X-Hub-Signature-256"] = signature
    resp = await client.post("/webhook", data=body, headers=h)
    assert resp.status == 401
    assert await rows(client, "deliveries") == [] and await rows(client, "jobs") == []


async def test_signature_over_other_secret_is_401(client: Any) -> None:
    body = json.dumps(pr_payload()).encode()
    h = headers("pull_request", body)
    h["X-Hub-Signature-256"] = sign(body, "other")
    assert (await client.post("/webhook", data=body, headers=h)).status == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b"\xff\xfe", 400),
        (b"[" * 100_000 + b"]" * 100_000, 400),
    ],
)
async def test_malformed_bodies_are_400(client: Any, body: bytes, status: int) -> None:
    resp = await client.post("/webhook", data=body, headers=headers("pull_request", body))
    assert resp.status == status
    assert await rows(client, "deliveries") == []


async def test_missing_event_header_is_400(client: Any) -> None:
    body = b"{}"
    h = headers("push", body)
    del h["X-GitHub-Event"]
    assert (await client.post("/webhook", data=body, headers=h)).status == 400


async def test_wrong_content_type_is_415(client: Any) -> None:
    body = b"{}"
    h = headers("push", body)
    h["Content-Type"] = "text/plain"
    assert (await client.post("/webhook", data=body, headers=h)).status == 415


async def test_oversized_body_is_413_by_content_length_and_by_stream(client: Any) -> None:
    body = b'{"a": "' + b"x" * (25 * 1024 * 1024) + b'"}'
    resp = await client.post("/webhook", data=body, headers=headers("push", b"{}"))
    assert resp.status == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(27):
            yield b"x" * (1024 * 1024)

    resp = await client.post("/webhook", data=chunks(), headers=headers("push", b"{}"))
    assert resp.status == 413
    assert await rows(client, "deliveries") == []


async def test_ping_200_and_unhandled_events_202_ignored(client: Any) -> None:
    body = json.dumps({"zen": "hi", "hook_id": 1}).encode()
    resp = await client.post("/webhook", data=body, headers=headers("ping", body))
    assert resp.status == 200
    body = json.dumps({"action": "starred"}).encode()
    resp = await client.post("/webhook", data=body, headers=headers("star", body, "d-2"))
    assert resp.status == 202 and (await resp.json())["status"] == "ignored"
    # a handled event with an action no handler wants is ignored too
    body = json.dumps(pr_payload(action="labeled")).encode()
    resp = await client.post("/webhook", data=body, headers=headers("pull_request", body, "d-3"))
    assert (await resp.json())["status"] == "ignored"
    assert await rows(client, "deliveries") == []


async def test_title_edit_is_not_keyed_but_base_change_is(client: Any) -> None:
    edited = pr_payload(action="edited")
    edited["changes"] = {"title": {"from": "x"}}
    body = json.dumps(edited).encode()
    await client.post("/webhook", data=body, headers=headers("pull_request", body, "d-4"))
    edited["changes"] = {"base": {"ref": {"from": "3.12"}}}
    body = json.dumps(edited).encode()
    await client.post("/webhook", data=body, headers=headers("pull_request", body, "d-5"))
    keys = {r["delivery_id"]: r["job_key"] for r in await rows(client, "jobs")}
    assert keys == {"d-4": None, "d-5": "pr:python/cpython#7"}


async def test_health_ready_metrics(client: Any) -> None:
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json())["status"] == "ok"
    assert (await client.get("/readyz")).status == 200
    metrics = await client.get("/metrics")
    assert metrics.status == 200
    assert "isolation_bot_deliveries_total" in await metrics.text()
    assert "isolation_bot_queue_depth" in await metrics.text()
    assert 'isolation_bot_cache_entries{cache="blobs"}' in await metrics.text()


async def test_dashboard_routes_are_mounted_next_to_the_webhook(client: Any) -> None:
    pytest.importorskip("bot.dashboard.routes")
    resp = await client.get("/api/progress")
    assert resp.status == 200


async def test_refuses_to_start_without_a_webhook_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GITHUB_WEBHOOK_SECRET"):
        await create_app(Settings(database_url=f"sqlite:///{tmp_path}/s.db"))


DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("event", "file", "status", "key"),
    [
        ("pull_request", "pull_request_opened", "queued", "pr:Codertocat/Hello-World#2"),
        ("pull_request", "pull_request_synchronize", "queued", "pr:Codertocat/Hello-World#2"),
        ("pull_request", "pull_request_labeled", "ignored", None),
        # GitHub leaves check_run.pull_requests empty for forks: stored without a key, and
        # the handler finds the PR by its head SHA.
        ("check_run", "check_run_rerequested", "queued", None),
    ],
)
async def test_real_github_payloads(
    client: Any, event: str, file: str, status: str, key: str | None
) -> None:
    body = (DATA / f"{file}.payload.json").read_bytes()
    resp = await client.post("/webhook", data=body, headers=headers(event, body, file))
    assert resp.status == 202 and (await resp.json())["status"] == status
    jobs = await rows(client, "jobs")
    if status == "ignored":
        assert jobs == []
    else:
        (job,) = jobs
        assert job["job_key"] == key and job["event"] == event


async def test_real_ping(client: Any) -> None:
    body = (DATA / "ping_with-app_id.payload.json").read_bytes()
    resp = await client.post("/webhook", data=body, headers=headers("ping", body))
    assert resp.status == 200


def issue_edit(number: int, sender_type: str) -> dict[str, Any]:
    return {
        "action": "edited",
        "issue": {"number": number, "body": "new", "title": "t", "user": {"login": "a"}},
        "changes": {"body": {"from": "old"}},
        "repository": {"full_name": "python/cpython"},
        "sender": {"login": "isolation-bot[bot]", "type": sender_type},
        "installation": {"id": 1},
    }


@pytest.mark.parametrize(
    ("number", "sender_type", "status"),
    [(84692, "Bot", "queued"), (84692, "User", "ignored"), (12345, "Bot", "ignored")],
)
async def test_only_a_bots_edit_of_the_meta_issue_is_stored(
    client: Any, number: int, sender_type: str, status: str
) -> None:
    # Every issue edit of a busy repository reaches the App: only the meta issue's edits by a
    # bot can matter (a person's edit the bot's write overwrote), the rest cost no job.
    body = json.dumps(issue_edit(number, sender_type)).encode()
    resp = await client.post("/webhook", data=body, headers=headers("issues", body))
    assert resp.status == 202 and (await resp.json())["status"] == status
    assert len(await rows(client, "jobs")) == (1 if status == "queued" else 0)
