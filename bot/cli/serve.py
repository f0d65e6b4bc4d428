"""`isolation-bot serve`: run the GitHub App service (webhook intake + workers).

Configuration comes from the environment (bot.config.from_env, see README); ``--port``,
``--host`` and ``--workers`` override it. SIGTERM / SIGINT stop gracefully: no new jobs are
claimed, running jobs finish (or are released for the next process), then the process exits.
Prints ``isolation-bot: listening on http://HOST:PORT`` once the port is bound (``--port 0``
picks a free port; tests read that line).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from dataclasses import replace
from typing import Any

from bot.config import Settings, from_env


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the GitHub App service (webhooks, workers, /healthz, /metrics)",
        description="Run the GitHub App service. Needs GITHUB_WEBHOOK_SECRET; see README.",
    )
    parser.add_argument("--port", type=int, default=None, help="port (default: $PORT or 8080)")
    parser.add_argument("--host", default=None, help="address to bind (default 0.0.0.0)")
    parser.add_argument("--workers", type=int, default=None, help="worker tasks (default 4)")
    parser.set_defaults(handler=run)


def configure_logging(settings: Settings) -> None:
    """JSON lines (or text) on stderr at the configured level, every secret redacted."""
    from bot.telemetry import logs

    secrets = (settings.webhook_secret, settings.webhook_secret_previous, settings.private_key)
    logs.configure(settings.log_level, settings.log_format == "json", secrets)


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> int:
    """Serve until ``stop`` is set or SIGTERM/SIGINT arrives."""
    from bot.service.app import start_service  # the web stack: only for this command
    from bot.service.memory import settle_heap

    runner, url = await start_service(settings)
    settle_heap()  # start-up objects out of the full collections' way (a pause per pass)
    print(f"isolation-bot: listening on {url}", flush=True)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("isolation-bot: stopping (finishing or releasing running jobs)", flush=True)
    await runner.cleanup()  # the app's cleanup stops workers gracefully
    return 0


async def run(args: argparse.Namespace) -> int:
    settings = from_env()
    changes: dict[str, Any] = {}
    if args.port is not None:
        changes["port"] = args.port
    if args.host is not None:
        changes["host"] = args.host
    if args.workers is not None:
        changes["workers"] = args.workers
    settings = replace(settings, **changes)
    settings.require_webhook_secret()  # fail before binding anything
    configure_logging(settings)
    try:
        return await serve(settings)
    except OSError as exc:
        print(
            f"isolation-bot: error: cannot listen on {settings.host}:{settings.port}: {exc}",
            file=sys.stderr,
        )
        return 2
