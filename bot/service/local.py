"""The bot served on loopback against the GitHub emulator.

One way to wire the two together, shared by `isolation-bot demo`, the benchmarks and the
tests: the emulator serves the REST API, the service uses it as GITHUB_API_URL with the
emulated App's credentials, and the emulator delivers its webhooks to the service. Its
tuning knobs come from the environment, as for ``isolation-bot serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from bot.config import Settings, tuning_from_env
from bot.service.app import start_service

if TYPE_CHECKING:
    from bot.emulator import GitHubEmulator
    from bot.emulator.state import AppRecord

T = TypeVar("T")


def emulated_app_settings(
    app: AppRecord, api_url: str, database_url: str, **extra: Any
) -> Settings:
    """Settings of a bot that is the emulated ``app``, bound to a free loopback port, tuned
    from the environment (bot.config.tuning_from_env) unless ``extra`` names ``tuning``."""
    fields: dict[str, Any] = {
        "app_id": str(app.id),
        "private_key": app.private_key_pem,
        "webhook_secret": app.webhook_secret,
        "api_url": api_url,
        "database_url": database_url,
        "host": "127.0.0.1",
        "port": 0,
        "tuning": tuning_from_env(),
    }
    fields.update(extra)
    return Settings(**fields)


@dataclass(frozen=True)
class LocalBot:
    runner: web.AppRunner  # runner.app holds the service state (bot.service.state.STATE)
    url: str  # the bot's base URL
    api_url: str  # the emulator's base URL


@contextlib.asynccontextmanager
async def bot_on_emulator(
    emu: GitHubEmulator, app: AppRecord, database_url: str, **extra: Any
) -> AsyncIterator[LocalBot]:
    """Serve ``emu`` and the bot (``extra``: more Settings fields; a callable value is given
    the emulator's URL) until the block ends; the emulator's webhooks go to the bot."""
    async with emu.serve() as api_url:
        fields = {k: v(api_url) if callable(v) else v for k, v in extra.items()}
        runner, url = await start_service(
            emulated_app_settings(app, api_url, database_url, **fields)
        )
        emu.webhook_url = f"{url}/webhook"
        try:
            yield LocalBot(runner, url, api_url)
        finally:
            emu.webhook_url = None
            await runner.cleanup()


async def until(
    predicate: Callable[[], T | None], timeout: float = 20.0, what: str = "", interval: float = 0.02
) -> T:
    """Poll ``predicate`` (the bot works asynchronously) until it returns something truthy;
    TimeoutError after ``timeout`` seconds. A bound on waiting, not a timing assertion."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() >= deadline:
            raise TimeoutError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(interval)
