"""The aiohttp application: /webhook intake, workers, /healthz /readyz /metrics, extras.

``create_app(settings)`` builds it; startup opens the store, the GitHub session and the worker
pool; cleanup stops the workers gracefully (finish or release running jobs) and closes all.
Optional parts by other features are mounted when their module exists: the scheduler
(bot.service.scheduler.run_scheduler(state)) and the dashboard
(bot.dashboard.routes.setup_routes(app, db)).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.config import ConfigError, Settings
from bot.github.app import GitHubApp
from bot.github.client import BotGitHubAPI, CallCounter, RetryPolicy
from bot.github.health import github_reachable
from bot.service import redelivery, upkeep
from bot.service.intake import MAX_BODY_BYTES, handle_webhook
from bot.service.worker import WorkerPool
from bot.store import Database, open_database
from bot.store.queue import Queue
from bot.telemetry import metrics

log = logging.getLogger(__name__)


def _instance_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class ServiceState:
    """What the running service holds; handed to the scheduler as ``app_state``."""

    settings: Settings
    webhook_secret: str
    db: Database
    queue: Queue
    session: aiohttp.ClientSession
    github: GitHubApp | None
    instance_id: str = field(default_factory=lambda: _instance_id())
    pool: WorkerPool | None = None
    background: list[asyncio.Task[Any]] = field(default_factory=list)
    started: bool = False

    def wake_workers(self) -> None:
        if self.pool is not None:
            self.pool.wake()

    async def client_for(self, installation_id: Any, counter: CallCounter) -> BotGitHubAPI:
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


def _policy_from_env() -> RetryPolicy:
    """ISOLATION_BOT_GITHUB_BACKOFF_SECONDS shortens the client's retry backoff (tests)."""
    policy = RetryPolicy()
    value = os.environ.get("ISOLATION_BOT_GITHUB_BACKOFF_SECONDS")
    if value:
        with contextlib.suppress(ValueError):
            policy.backoff_base = policy.not_found_delay = max(0.0, float(value))
    return policy


def _lease_from_env() -> float:
    """ISOLATION_BOT_LEASE_SECONDS: how long a dead replica's job stays claimed before another
    replica takes it (default 60; the multi-replica tests use a few seconds). Workers renew
    the lease every third of it, so it must be well above an event-loop stall."""
    value = os.environ.get("ISOLATION_BOT_LEASE_SECONDS")
    if value:
        with contextlib.suppress(ValueError):
            lease = float(value)
            if lease >= 1.0:
                return lease
        log.warning("ISOLATION_BOT_LEASE_SECONDS=%r is not a number >= 1; using 60", value)
    return 60.0


def _optional(module: str) -> Any | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return None


async def _healthz(request: web.Request) -> web.Response:
    """Liveness: the store answers and the queue can be read."""
    state = request.app[STATE]
    try:
        await state.db.fetchone("SELECT 1 AS ok")
        stats = await state.queue.stats()
    except Exception as exc:
        return web.json_response({"status": "error", "error": type(exc).__name__}, status=503)
    return web.json_response(
        {
            "status": "ok",
            "queue": {
                "pending": stats.pending,
                "running": stats.running,
                "dead": stats.dead,
                "oldest_pending_age": stats.oldest_pending_age,
            },
        }
    )


async def _readyz(request: web.Request) -> web.Response:
    """Readiness: started, workers running, not shutting down."""
    state = request.app[STATE]
    pool = state.pool
    ready = state.started and pool is not None and not pool.stopping.is_set()
    return web.json_response({"ready": ready}, status=200 if ready else 503)


async def _metrics(request: web.Request) -> web.Response:
    state = request.app[STATE]
    with contextlib.suppress(Exception):  # a store hiccup must not break the scrape
        metrics.update_queue(await state.queue.stats())
    return web.Response(
        body=metrics.render_metrics(), headers={"Content-Type": metrics.CONTENT_TYPE}
    )


async def create_app(
    settings: Settings,
    *,
    workers: int | None = None,
    policy: RetryPolicy | None = None,
    reclaim: bool | None = None,
) -> web.Application:
    """The service, with its store open. Raises ConfigError without a webhook secret (anyone
    could forge deliveries) and StoreError when the store cannot be opened."""
    secret = settings.require_webhook_secret()
    db = await open_database(settings.database_url)
    app = web.Application(client_max_size=MAX_BODY_BYTES + 1)
    app.router.add_post("/webhook", handle_webhook)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)

    async def lifecycle(app: web.Application) -> Any:
        queue = Queue(db, lease_seconds=_lease_from_env())
        session = aiohttp.ClientSession(headers={"User-Agent": "isolation-bot"})
        github = None
        if settings.app_id and settings.private_key:
            github = GitHubApp(settings, session, policy=policy or _policy_from_env())
        else:
            log.warning("GITHUB_APP_ID / GITHUB_PRIVATE_KEY not set: GitHub calls are anonymous")
        state = ServiceState(settings, secret, db, queue, session, github)
        app[STATE] = state
        # One SQLite process owns the store: jobs left running were killed with the previous
        # process. On PostgreSQL other replicas may be running them: leases decide instead.
        if reclaim if reclaim is not None else db.dialect == "sqlite":
            n = await queue.reclaim_all_running()
            if n:
                log.info("reclaimed %d job(s) left running by the previous process", n)
        state.pool = WorkerPool(state, workers if workers is not None else settings.workers)
        state.pool.start()
        state.background.append(asyncio.create_task(upkeep.run_prune_daily(queue)))
        # Deliveries refused (503) or sent while the bot was down: GitHub does not retry them.
        state.background.append(asyncio.create_task(redelivery.run(state)))
        scheduler = _optional("bot.service.scheduler")
        if scheduler is not None and hasattr(scheduler, "run_scheduler"):
            state.background.append(asyncio.create_task(scheduler.run_scheduler(state)))
        state.started = True
        yield
        await state.pool.stop()
        for task in state.background:
            task.cancel()
        for task in state.background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await session.close()
        await db.close()

    app.cleanup_ctx.append(lifecycle)
    dashboard = _optional("bot.dashboard.routes")
    if dashboard is not None and hasattr(dashboard, "setup_routes"):
        dashboard.setup_routes(app, db)
    return app


__all__ = ["STATE", "ConfigError", "ServiceState", "create_app"]
