"""``isolation-bot summary [--week YYYY-Www] [--post] [--database-url URL]``.

Renders the weekly summary from the store and prints it. Without ``--week`` it is the upcoming
post so far (the seven days up to now). ``--post`` posts it on the configured issue through the
same once-per-week path as the scheduler: a week already posted is not posted again. Needs
DATABASE_URL (or --database-url); ``--post`` also needs the App's credentials.
Exit status: 0 done, 1 GitHub failed, 2 usage / configuration / store problem.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.config import ConfigError, Settings, from_env
from bot.store.db import Database
from bot.summary.compose import render_summary
from bot.summary.source import StoreSource
from bot.summary.weeks import IsoWeek, WeekError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("summary", help="render (or post) the weekly progress summary")
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--week", help="ISO week YYYY-Www (default: the upcoming post, up to now)")
    p.add_argument("--post", action="store_true", help="post it on the configured issue")
    p.add_argument("--database-url", help="default: DATABASE_URL")


async def render_current_summary(
    db: Database, settings: Settings, week: IsoWeek | str | None = None
) -> str:
    """The summary of ``week`` (default: the upcoming post so far) rendered from the store."""
    return await render_summary(StoreSource(db), settings, week)


async def _post(db: Database, settings: Settings, week: IsoWeek) -> int:
    import aiohttp

    from bot.github import installation_client
    from bot.summary.weekly import GitHubIssuePoster, post_week, summary_target

    repo, issue = summary_target(settings)
    async with aiohttp.ClientSession() as session:

        async def poster() -> GitHubIssuePoster:
            gh = await installation_client(settings, session, repo)
            return GitHubIssuePoster(gh, repo, issue)

        outcome = await post_week(db, settings, StoreSource(db), poster, datetime.now(UTC), week)
    print(
        f"week {outcome.week}: {outcome.status}"
        + (f" (comment {outcome.comment_id})" if outcome.comment_id else "")
    )
    return 0


async def _main(settings: Settings, week: IsoWeek | None, post: bool) -> int:
    from bot.store import open_database

    db = await open_database(settings.database_url)
    try:
        if post:
            from bot.summary.weeks import due_week

            now = datetime.now(UTC)
            due = due_week(now, settings.summary.weekday, settings.summary.hour)
            return await _post(db, settings, week or due)
        print(await render_current_summary(db, settings, week))
        return 0
    finally:
        await db.close()


def run(args: argparse.Namespace) -> int:
    from bot.store import StoreError

    try:
        settings = from_env()
        week = IsoWeek.parse(args.week) if args.week else None
    except (ConfigError, WeekError) as exc:
        print(f"isolation-bot summary: {exc}", file=sys.stderr)
        return 2
    if args.database_url:
        settings = replace(settings, database_url=args.database_url)
    if args.post and (not settings.app_id or not settings.private_key):
        print(
            "isolation-bot summary: --post needs GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or "
            "GITHUB_PRIVATE_KEY_PATH)",
            file=sys.stderr,
        )
        return 2
    try:
        return asyncio.run(_main(settings, week, args.post))
    except (StoreError, WeekError) as exc:
        print(f"isolation-bot summary: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # GitHub errors on --post: say what, exit 1
        if not args.post:
            raise
        print(
            f"isolation-bot summary: posting failed: {type(exc).__name__}: {exc}", file=sys.stderr
        )
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="isolation-bot summary")
    add_arguments(parser)
    return run(parser.parse_args(argv))
