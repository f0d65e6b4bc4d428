"""``isolation-bot sync [OWNER/NAME ...]``: analyse the default branch's head now.

What a push or a new installation does, on demand: list the head's tree through the API,
analyse the blobs not cached yet, store a snapshot, attribute module changes, and bring the
meta issue's checklist up to date. Needs the App's credentials (GITHUB_APP_ID,
GITHUB_PRIVATE_KEY) and DATABASE_URL, like the service. Default repository: the meta issue's.
Exit status: 0 done, 1 GitHub or the analysis failed, 2 configuration / store problem.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

import aiohttp
from gidgethub import GitHubException

from bot.config import ConfigError, Settings, from_env


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("sync", help="analyse the default branch's head now")
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("repos", nargs="*", metavar="OWNER/NAME")
    p.add_argument("--database-url", help="default: DATABASE_URL")


async def sync(settings: Settings, repos: Sequence[str]) -> int:
    from bot.github import AuthError, GitHubUnavailable, installation_client
    from bot.store import open_database
    from bot.tracking.pipeline import sync_repository

    status = 0
    db = await open_database(settings.database_url)
    try:
        async with aiohttp.ClientSession() as session:
            for repo in repos:
                try:
                    gh = await installation_client(settings, session, repo)
                    result = await sync_repository(gh, db, settings, repo)
                except (
                    GitHubException,
                    GitHubUnavailable,
                    AuthError,
                    aiohttp.ClientError,
                    OSError,
                ) as exc:
                    print(f"{repo}: sync failed: {type(exc).__name__}: {exc}", file=sys.stderr)
                    status = 1
                    continue
                if result.update is None:
                    print(f"{repo}: already up to date")
                else:
                    s = result.update.snapshot
                    m = s.summary.multi_phase.all
                    print(
                        f"{repo}@{s.sha[:10]}: {len(s.modules)} modules, multi-phase "
                        f"{m.done}/{m.total}, {result.update.analysed} blobs analysed, "
                        f"{len(result.events)} events"
                    )
                if result.meta_issue is not None:
                    print(f"meta issue: {result.meta_issue.message}")
    finally:
        await db.close()
    return status


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from bot.store import StoreError

    try:
        settings = from_env()
    except ConfigError as exc:
        print(f"isolation-bot sync: {exc}", file=sys.stderr)
        return 2
    if args.database_url:
        settings = replace(settings, database_url=args.database_url)
    if not settings.app_id or not settings.private_key:
        print(
            "isolation-bot sync: GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or "
            "GITHUB_PRIVATE_KEY_PATH) are needed to read the repository as the App",
            file=sys.stderr,
        )
        return 2
    repos = args.repos or [settings.meta_issue.repo]
    bad = [r for r in repos if r.count("/") != 1 or not all(r.split("/"))]
    if bad:
        print(f"isolation-bot sync: not OWNER/NAME: {', '.join(bad)}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(sync(settings, repos))
    except StoreError as exc:
        print(f"isolation-bot sync: {exc}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="isolation-bot sync")
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors: argparse printed the message
        return int(exc.code or 0)
    return run(args)
