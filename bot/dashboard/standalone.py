"""Run the dashboard on its own: over a seed file, a synthetic demo history, or a store.

    python -m bot.dashboard --demo --port 8081
    python -m bot.dashboard --seed seed.json
    python -m bot.dashboard --database-url sqlite:///isolation-bot.sqlite3

It binds 127.0.0.1 by default. Tests use ``make_app`` directly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from aiohttp import web

from bot.config import Settings
from bot.dashboard.routes import CLOCK_KEY, SETTINGS_KEY, SOURCE_KEY, setup_routes
from bot.summary.source import ProgressSource


def make_app(
    source: ProgressSource,
    settings: Settings | None = None,
    clock: Callable[[], datetime] | None = None,
) -> web.Application:
    app = web.Application()
    app[SOURCE_KEY] = source
    app[SETTINGS_KEY] = settings or Settings()
    if clock is not None:
        app[CLOCK_KEY] = clock
    setup_routes(app)
    return app


def _store_app(url: str, settings: Settings) -> web.Application:
    from bot.store import open_database
    from bot.summary.source import StoreSource

    app = web.Application()
    app[SETTINGS_KEY] = settings

    async def open_store(app: web.Application) -> None:
        db = await open_database(url)
        app[SOURCE_KEY] = StoreSource(db)

        async def close(_: web.Application) -> None:
            await db.close()

        app.on_cleanup.append(close)

    app.on_startup.append(open_store)
    setup_routes(app)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    from bot.summary.seed import SeedError, demo_source, load_seed_file

    parser = argparse.ArgumentParser(prog="python -m bot.dashboard")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--demo", action="store_true", help="a synthetic history")
    group.add_argument("--seed", help="a seed JSON file (see bot/summary/seed.py)")
    group.add_argument("--database-url", help="serve a store (sqlite:///... or postgresql://)")
    parser.add_argument("--repo", default=Settings().meta_issue.repo)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    from dataclasses import replace

    from bot.config import MetaIssue

    settings = replace(Settings(), meta_issue=MetaIssue(repo=args.repo))
    if args.database_url:
        app = _store_app(args.database_url, settings)
    else:
        try:
            if args.demo:
                source = demo_source(args.repo, datetime.now(UTC))
            else:
                source = load_seed_file(args.seed)
        except SeedError as exc:
            print(f"python -m bot.dashboard: {exc}", file=sys.stderr)
            return 2
        app = make_app(source, settings)
    web.run_app(app, host=args.host, port=args.port, print=lambda *_: None)
    return 0
