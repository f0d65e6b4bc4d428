"""The intake's own log lines carry the delivery id and repository, like the jobs' lines."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.service.app import STATE, create_app
from bot.telemetry import logs
from tests.service.test_intake import SECRET, headers, pr_payload


async def test_a_store_failure_is_logged_with_the_delivery_and_repo(tmp_path: Path) -> None:
    settings = Settings(webhook_secret=SECRET, database_url=f"sqlite:///{tmp_path}/s.db")
    app = await create_app(settings, workers=0)
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    logs.configure_logging("INFO", json=True, secrets=[SECRET], stream=stream)
    try:
        async with TestClient(TestServer(app)) as client:
            state: Any = client.server.app[STATE]

            async def broken(*args: Any, **kwargs: Any) -> bool:
                raise OSError("disk I/O error")

            state.queue.record_delivery = broken
            body = json.dumps(pr_payload()).encode()
            resp = await client.post(
                "/webhook", data=body, headers=headers("pull_request", body, delivery="d-42")
            )
            assert resp.status == 503
    finally:
        for handler in list(logs._installed):
            root.removeHandler(handler)
        logs._installed.clear()
        root.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    (failure,) = [rec for rec in lines if "could not store delivery" in rec["msg"]]
    assert failure["delivery_id"] == "d-42" and failure["repo"] == "python/cpython"
    assert failure["event"] == "pull_request" and "disk I/O error" in failure["exc"]
    assert SECRET not in stream.getvalue()
