"""GitHubEmulator: the emulator's state and driver API (core.py) served over HTTP (server.py).

The top of the package's import chain: serving -> server -> core -> shapes -> state.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from aiohttp import web

from .core import EmulatorCore
from .server import make_app


class GitHubEmulator(EmulatorCore):
    """A stateful GitHub: drive it from tests, serve it over HTTP, read what the bot did."""

    @contextlib.asynccontextmanager
    async def serve(self, port: int = 0, host: str = "127.0.0.1") -> AsyncIterator[str]:
        """Serve the REST API (and deliver webhooks) in the running event loop."""
        runner = web.AppRunner(make_app(self), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1] if runner.addresses else port
        base_url = f"http://{host}:{bound}"
        self.api_url = base_url
        # The archive download host: the same app on a second port, i.e. another origin.
        download_site = web.TCPSite(runner, host, 0)
        await download_site.start()
        self.archives.url = f"http://{host}:{runner.addresses[-1][1]}"
        worker = self.start_delivering()
        try:
            yield base_url
        finally:
            await self.stop_delivering(worker)
            await runner.cleanup()

    @contextlib.contextmanager
    def serve_in_thread(self, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
        """Serve from a thread with its own event loop (for synchronous callers)."""
        ready = threading.Event()
        box: dict[str, Any] = {}

        async def main() -> None:
            stop = asyncio.Event()
            box["stop"] = stop
            box["loop"] = asyncio.get_running_loop()
            try:
                async with self.serve(port, host) as url:
                    box["url"] = url
                    ready.set()
                    await stop.wait()
            except BaseException as exc:  # report start-up failures to the caller
                box["error"] = exc
                ready.set()

        thread = threading.Thread(
            target=asyncio.run, args=(main(),), daemon=True, name="github-emulator"
        )
        thread.start()
        ready.wait(30)
        if "error" in box:
            raise box["error"]
        try:
            yield box["url"]
        finally:
            box["loop"].call_soon_threadsafe(box["stop"].set)
            thread.join(30)
