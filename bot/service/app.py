"""The service's composition root: the aiohttp application and what runs beside it.

``create_app(settings)`` builds the app: ``/webhook`` intake, ``/healthz``, ``/readyz``,
``/metrics`` and the dashboard. Startup opens the GitHub session, the queue and the worker
pool (webhooks dispatched to the features' router, internal jobs to their handlers, both
listed in bot.service.routers), and starts the background tasks: daily pruning, the
webhook redelivery sweep and the weekly-summary scheduler. Cleanup stops the workers
gracefully (finish or release running jobs) and closes everything. ``start_service`` binds
it to a port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.caches import ServiceCaches
from bot.config import ConfigError, Settings
from bot.dashboard.routes import setup_routes as setup_dashboard
from bot.github.app import GitHubApp, pacing_for
from bot.github.client import RetryPolicy
from bot.service import memory, redelivery, upkeep
from bot.service.intake import MAX_BODY_BYTES, handle_webhook
from bot.service.routers import JOB_HANDLERS, router
from bot.service.scheduler import run_scheduler
from bot.service.state import STATE, ServiceState
from bot.service.worker import JobRunner, WorkerPool
from bot.store import open_database
from bot.store.github_pause import StorePauses
from bot.store.queue import Queue
from bot.telemetry import metrics

log = logging.getLogger(__name__)


def retry_policy(settings: Settings) -> RetryPolicy:
    """The GitHub client's retry policy, with ``tuning.github_backoff_seconds`` applied."""
    policy = RetryPolicy()
    backoff = settings.tuning.github_backoff_seconds
    if backoff is not None:
        policy.backoff_base = policy.not_found_delay = backoff
    return policy


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
    sizes = state.caches.sizes()
    if state.github is not None:
        sizes["etags"] = (len(state.github.etags), int(state.github.etags.currsize))
    metrics.update_caches(sizes)
    return web.Response(
        body=metrics.render_metrics(), headers={"Content-Type": metrics.CONTENT_TYPE}
    )


def _worker_pool(state: ServiceState, workers: int) -> WorkerPool:
    tuning = state.settings.tuning
    runner = JobRunner(
        db=state.db,
        settings=state.settings,
        client_for=state.client_for,
        bot_login=state.bot_login,
        enqueue=state.enqueue,
        webhooks=router,
        jobs=JOB_HANDLERS,
        require_installation=state.github is not None,
        caches=state.caches,
    )
    return WorkerPool(
        state.queue,
        workers,
        execute=runner,
        github_reachable=state.github_reachable,
        instance_id=state.instance_id,
        retry_base=tuning.job_retry_seconds,
        retry_cap=tuning.job_retry_cap_seconds,
    )


async def create_app(
    settings: Settings,
    *,
    workers: int | None = None,
    policy: RetryPolicy | None = None,
    reclaim: bool | None = None,
) -> web.Application:
    """The service, with its store open. Raises ConfigError without a webhook secret (anyone
    could forge deliveries) and StoreError when the store cannot be opened.

    ``workers`` overrides ``settings.workers`` (0: intake only); ``policy`` the GitHub
    client's retry policy; ``reclaim`` whether jobs left running are taken back at startup
    (default: on SQLite, where one process owns the store)."""
    secret = settings.require_webhook_secret()
    worker_count = workers if workers is not None else settings.workers
    # A connection for each worker, the intake's group commit and the scheduler, opened at
    # startup (PostgreSQL; SQLite has one connection).
    db = await open_database(settings.database_url, min_connections=worker_count + 2)
    app = web.Application(client_max_size=MAX_BODY_BYTES + 1)
    app.router.add_post("/webhook", handle_webhook)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        tuning = settings.tuning
        queue = Queue(db, lease_seconds=tuning.lease_seconds, max_attempts=tuning.job_max_attempts)
        session = aiohttp.ClientSession(headers={"User-Agent": "isolation-bot"})
        github = None
        if settings.app_id and settings.private_key:
            github = GitHubApp(
                settings,
                session,
                policy=policy or retry_policy(settings),
                pacing=pacing_for(settings, StorePauses(db)),  # the pause shared by replicas
            )
        else:
            log.warning("GITHUB_APP_ID / GITHUB_PRIVATE_KEY not set: GitHub calls are anonymous")
        state = ServiceState(
            settings,
            secret,
            db,
            queue,
            session,
            github,
            caches=ServiceCaches.for_settings(settings),
        )
        app[STATE] = state
        # One SQLite process owns the store: jobs left running were killed with the previous
        # process. On PostgreSQL other replicas may be running them: leases decide instead.
        if reclaim if reclaim is not None else db.dialect == "sqlite":
            n = await queue.reclaim_all_running()
            if n:
                log.info("reclaimed %d job(s) left running by the previous process", n)
        state.pool = _worker_pool(state, worker_count)
        state.pool.start()
        state.background.append(asyncio.create_task(upkeep.run_prune_daily(queue)))
        # Check runs left open by a job that is gone (bot.prcheck.sweep).
        state.background.append(asyncio.create_task(upkeep.run_check_run_sweep(state)))
        # Deliveries refused (503) or sent while the bot was down: GitHub does not retry them.
        state.background.append(asyncio.create_task(redelivery.run(state)))
        state.background.append(asyncio.create_task(run_scheduler(state)))
        # Freed memory back to the system, so the resident size follows the live data.
        state.background.append(
            asyncio.create_task(memory.run_periodically(tuning.memory_trim_seconds))
        )
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
    setup_dashboard(app, db, settings)
    return app


async def start_service(settings: Settings) -> tuple[web.AppRunner, str]:
    """Build and bind the service; returns the runner (``await runner.cleanup()`` stops it
    gracefully) and its base URL (the real port when ``settings.port`` is 0)."""
    app = await create_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else settings.port
    return runner, f"http://{settings.host}:{port}"


__all__ = ["STATE", "ConfigError", "ServiceState", "create_app", "retry_policy", "start_service"]
