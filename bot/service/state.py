"""What the running service holds, in one object the app keeps under :data:`STATE`.

Built by bot.service.app at startup; the intake, the worker pool, the redelivery sweep and
the scheduler read it. It sits below all of them (it imports none), so they import it
rather than the app that wires them together.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from bot.caches import ServiceCaches
from bot.config import Settings
from bot.github.app import GitHubApp
from bot.github.client import BotGitHubAPI, CallCounter
from bot.github.health import github_reachable
from bot.jobs import InternalJob
from bot.store import Database
from bot.store.queue import Queue

if TYPE_CHECKING:
    from bot.service.worker import WorkerPool


def _instance_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


async def store_job(queue: Queue, job: InternalJob) -> str | None:
    """Store an internal job in ``queue``; its id, or None when ``job.dedup_id`` was used."""
    return await queue.enqueue(
        job.kind, json.dumps(job.payload()), key=job.key, dedup_id=job.dedup_id, repo=job.repo
    )


@dataclass
class ServiceState:
    """The service's store, queue, GitHub access and worker pool."""

    settings: Settings
    webhook_secret: str
    db: Database
    queue: Queue
    session: aiohttp.ClientSession
    github: GitHubApp | None
    instance_id: str = field(default_factory=_instance_id)
    pool: WorkerPool | None = None
    background: list[asyncio.Task[Any]] = field(default_factory=list)
    started: bool = False
    caches: ServiceCaches = field(default_factory=ServiceCaches)  # handed to every job
    # Redelivery sweep: delivery guid -> (the failed attempt we asked GitHub to redeliver,
    # how many times we asked) (bot.service.redelivery).
    redelivery_asked: dict[str, tuple[int, int]] = field(default_factory=dict)

    def wake_workers(self) -> None:
        if self.pool is not None:
            self.pool.wake()

    async def enqueue(self, job: InternalJob) -> str | None:
        """Store an internal job and wake the local workers to run it now."""
        job_id = await store_job(self.queue, job)
        self.wake_workers()
        return job_id

    async def client_for(self, installation_id: int | None, counter: CallCounter) -> BotGitHubAPI:
        """A client for the installation; unauthenticated when the App has no credentials."""
        if self.github is not None and installation_id is not None:
            return self.github.client(int(installation_id), counter)
        return BotGitHubAPI(self.session, base_url=self.settings.api_url, counter=counter)

    async def github_reachable(self) -> bool:
        """Whether GitHub answers at all (bot.github.health): the worker asks before it gives
        up on a job that failed with 5xx answers or timeouts."""
        timeout = self.github.policy.timeout if self.github is not None else None
        return await github_reachable(
            self.session, self.settings.api_url, timeout=min(timeout or 10.0, 10.0)
        )

    async def bot_login(self) -> str:
        if self.github is None:
            return "isolation-bot[bot]"
        return await self.github.bot_login()


STATE: web.AppKey[ServiceState] = web.AppKey("isolation_bot_state", ServiceState)
