"""The worker's contract with handlers: PermanentJobError ends a job at once, any other
failure is retried within max_attempts; internal jobs are dispatched by kind with the
installation they name; a handler's ``ctx.enqueue`` stores a job and wakes the workers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from gidgethub import routing

from bot.config import Settings
from bot.jobs import InternalJob, JobContext, JobHandler, PermanentJobError
from bot.service import worker
from bot.service.local import until
from bot.service.state import ServiceState
from bot.service.worker import JobRunner, WorkerPool
from bot.store import open_database
from bot.store.queue import Queue

Seen = list[tuple[str, dict[str, Any], int | None]]


class Service:
    def __init__(self, state: ServiceState, seen: Seen) -> None:
        self.state = state
        self.seen = seen

    async def job(self, job_id: str | None) -> dict[str, Any]:
        assert job_id is not None
        row = await self.state.queue.get(job_id)
        assert row is not None
        return row

    async def settled(self, job_id: str | None, states: tuple[str, ...]) -> dict[str, Any]:
        """The job's row once its state is one of ``states`` (a bound on waiting only)."""
        row = await self.job(job_id)
        for _ in range(500):
            if row["state"] in states:
                return row
            await asyncio.sleep(0.02)
            row = await self.job(job_id)
        raise AssertionError(f"job {job_id} never reached {states}: {row}")


def _service(tmp_path: Path, handlers: dict[str, JobHandler]) -> Any:
    @contextlib.asynccontextmanager
    async def run() -> AsyncIterator[Service]:
        db = await open_database(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
        queue = Queue(db, max_attempts=3)
        state = ServiceState(Settings(), "secret", db, queue, None, None)  # type: ignore[arg-type]
        seen: Seen = []

        async def client_for(installation_id: int | None, counter: Any) -> Any:
            return object()

        async def bot_login() -> str:
            return "isolation-bot[bot]"

        def recording(handler: JobHandler) -> JobHandler:
            async def wrapped(payload: dict[str, Any], ctx: JobContext) -> None:
                seen.append((ctx.event, payload, ctx.installation_id))
                await handler(payload, ctx)

            return wrapped

        runner = JobRunner(
            db=db,
            settings=state.settings,
            client_for=client_for,
            bot_login=bot_login,
            enqueue=state.enqueue,
            webhooks=routing.Router(),
            jobs={kind: recording(h) for kind, h in handlers.items()},
            require_installation=False,
        )
        state.pool = WorkerPool(queue, 1, execute=runner, retry_base=0.01, retry_cap=0.02)
        state.pool.start()
        try:
            yield Service(state, seen)
        finally:
            await state.pool.stop(grace=1)
            await db.close()

    return run()


async def _noop(payload: dict[str, Any], ctx: JobContext) -> None:
    return None


async def test_permanent_error_ends_the_job_at_once_with_its_cause(tmp_path: Path) -> None:
    async def malformed(payload: dict[str, Any], ctx: JobContext) -> None:
        try:
            payload["number"]
        except KeyError as exc:
            raise PermanentJobError("no number") from exc

    async with _service(tmp_path, {"malformed": malformed}) as svc:
        job_id = await svc.state.enqueue(InternalJob("malformed", {}, installation_id=7))
        row = await svc.settled(job_id, ("dead",))
        assert row["attempts"] == 1
        assert row["last_error"] == "PermanentJobError: no number (KeyError: 'number')"
        assert svc.seen == [("malformed", {"installation_id": 7}, 7)]


async def test_other_errors_are_retried_until_max_attempts(tmp_path: Path) -> None:
    async def flaky(payload: dict[str, Any], ctx: JobContext) -> None:
        raise KeyError("not a malformed payload: a bug or a passing condition")

    async with _service(tmp_path, {"flaky": flaky}) as svc:
        job_id = await svc.state.enqueue(InternalJob("flaky", {"x": 1}))
        row = await svc.settled(job_id, ("dead",))
        assert row["attempts"] == 3  # the queue's max_attempts
        assert len(svc.seen) == 3
        assert "KeyError" in row["last_error"]


async def test_unknown_kind_and_bad_installation_are_permanent(tmp_path: Path) -> None:
    async with _service(tmp_path, {"known": _noop}) as svc:
        unknown = await svc.state.queue.enqueue("unknown", "{}")
        bad = await svc.state.queue.enqueue("known", json.dumps({"installation_id": "7"}))
        not_object = await svc.state.queue.enqueue("known", "[1, 2]")
        for job_id, why in (
            (unknown, "no handler for job kind 'unknown'"),
            (bad, "installation_id is '7'"),
            (not_object, "not a JSON object"),
        ):
            row = await svc.settled(job_id, ("dead",))
            assert row["attempts"] == 1 and why in row["last_error"], row
        assert svc.seen == []


async def test_enqueue_from_a_handler_wakes_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An idle worker would poll only after 60 s: the second job runs because enqueue wakes it.
    monkeypatch.setattr(worker, "POLL_SECONDS", 60.0)

    async def first(payload: dict[str, Any], ctx: JobContext) -> None:
        await ctx.enqueue(InternalJob("second", {"from": ctx.delivery_id}, installation_id=5))

    async with _service(tmp_path, {"first": first, "second": _noop}) as svc:
        job_id = await svc.state.enqueue(InternalJob("first", {}))
        await svc.settled(job_id, ("done",))
        await until(lambda: len(svc.seen) == 2, timeout=10, what="the enqueued job run")
        assert svc.seen[1] == ("second", {"from": job_id, "installation_id": 5}, 5)


async def test_a_context_outside_the_service_cannot_enqueue(tmp_path: Path) -> None:
    ctx = JobContext("e", "d", {}, object(), object(), Settings(), "bot")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="cannot enqueue"):
        await ctx.enqueue(InternalJob("x", {}))
    with pytest.raises(PermanentJobError, match="no repository"):
        ctx.repo  # noqa: B018
