"""Deliveries share transactions (group commit) yet each is answered only once stored: none
lost, none duplicated, with hundreds in flight, redeliveries among them, and failures."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.service.app import STATE, create_app
from bot.store import Database
from bot.store import queue as queue_module
from bot.store.queue import Queue
from tests.service.test_intake import SECRET, headers, pr_payload


async def _counts(db: Database) -> tuple[int, int]:
    row = await db.fetchone(
        "SELECT (SELECT COUNT(*) FROM deliveries) AS d, (SELECT COUNT(*) FROM jobs) AS j"
    )
    assert row is not None
    return int(row["d"]), int(row["j"])


async def _record(q: Queue, delivery: str) -> bool:
    return await q.record_delivery(
        delivery, "pull_request", "synchronize", "{}", key=f"pr:{delivery}", repo="o/r"
    )


async def test_two_hundred_in_flight_are_each_stored_once(db: Database) -> None:
    q = Queue(db)
    ids = [f"d{i}" for i in range(200)] + [f"d{i}" for i in range(0, 200, 5)]  # 40 redeliveries
    results = await asyncio.gather(*(_record(q, d) for d in ids))
    stored = [d for d, ok in zip(ids, results, strict=True) if ok]
    assert sorted(stored) == sorted(set(ids))  # every id exactly once, the copies refused
    assert await _counts(db) == (200, 200)
    jobs = await db.fetchall("SELECT delivery_id, state FROM jobs")
    assert sorted(r["delivery_id"] for r in jobs) == sorted(set(ids))
    assert {r["state"] for r in jobs} == {"pending"}
    assert not await _record(q, "d7")  # a later redelivery too


async def test_a_failed_shared_commit_stores_each_alone(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    q = Queue(db)

    async def broken(self: Queue, rows: Any) -> list[bool]:
        raise RuntimeError("the shared statement failed")

    monkeypatch.setattr(Queue, "_store_deliveries", broken)
    results = await asyncio.gather(*(_record(q, f"d{i}") for i in range(30)))
    assert all(results)
    assert await _counts(db) == (30, 30)


async def test_one_bad_delivery_fails_alone(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    q = Queue(db)
    single = Queue._store_delivery

    async def shared(self: Queue, rows: Any) -> list[bool]:
        raise RuntimeError("the shared statement failed")

    async def one(self: Queue, tx: Any, row: Any) -> bool:
        if row.delivery_id == "bad":
            raise RuntimeError("this row cannot be stored")
        return await single(self, tx, row)

    monkeypatch.setattr(Queue, "_store_deliveries", shared)
    monkeypatch.setattr(Queue, "_store_delivery", one)
    ids = ["a", "b", "bad", "c"]
    results = await asyncio.gather(*(_record(q, d) for d in ids), return_exceptions=True)
    assert results[:2] == [True, True] and results[3] is True
    assert isinstance(results[2], RuntimeError)
    assert await _counts(db) == (3, 3)


async def test_deliveries_share_transactions(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    q = Queue(db)
    batches: list[int] = []
    shared = Queue._store_deliveries

    async def counted(self: Queue, rows: Any) -> list[bool]:
        batches.append(len(rows))
        return await shared(self, rows)

    monkeypatch.setattr(Queue, "_store_deliveries", counted)
    await asyncio.gather(*(_record(q, f"d{i}") for i in range(150)))
    assert sum(batches) == 150
    assert len(batches) < 150 and max(batches) <= queue_module.BATCH_MAX


async def test_the_intake_acknowledges_two_hundred_in_flight(db_url: str, tmp_path: Path) -> None:
    settings = Settings(webhook_secret=SECRET, database_url=db_url)
    app = await create_app(settings, workers=0)
    async with TestClient(TestServer(app)) as client:

        async def send(i: int) -> tuple[int, str]:
            body = json.dumps(pr_payload(number=i % 50 + 1)).encode()
            resp = await client.post(
                "/webhook", data=body, headers=headers("pull_request", body, delivery=f"g-{i}")
            )
            return resp.status, (await resp.json())["status"]

        answers = await asyncio.gather(*(send(i) for i in list(range(200)) + list(range(20))))
        assert all(status == 202 for status, _ in answers)
        outcomes = [o for _, o in answers]
        assert outcomes.count("queued") == 200 and outcomes.count("duplicate") == 20
        db = client.server.app[STATE].db
        assert await _counts(db) == (200, 200)
