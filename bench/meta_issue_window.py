"""The meta-issue writer's read-to-write window: what runs between the answer of the read a
write is based on and the write itself (docs/deploy.md, "The meta issue and people's edits").

Usage: python bench/meta_issue_window.py

Prints the time of the splice (the only work left in the window; the checklist is rendered
before the read) for bodies of growing size, and, against the GitHub emulator on loopback, the
time from the read's answer to the write being sent, over a few writes.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import timeit
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from gidgethub.aiohttp import GitHubAPI

from bot.tracking.checklist import END_MARKER, START_MARKER
from bot.tracking.meta_issue import splice, write_section

REPO = "python/cpython"


def _section(lines: int, mark: str = " ") -> str:
    rows = "".join(f"- [{mark}] `mod{i}`: multi-phase, no static types\n" for i in range(lines))
    return f"{START_MARKER}\n{rows}{END_MARKER}\n"


def splice_times() -> None:
    for people_lines, lines in ((10, 50), (300, 500), (300, 1000)):
        body = "A line written by a person.\r\n" * people_lines + _section(lines).replace(
            "\n", "\r\n"
        )
        new = _section(lines, "x")
        runs = 200
        seconds = timeit.timeit(lambda b=body, n=new: splice(b, n, may_append=True), number=runs)
        seconds /= runs
        print(f"splice, {len(body):>6} character body: {seconds * 1e6:7.1f} µs")


class TimedAPI(GitHubAPI):
    """Notes when each issue GET answer arrives and when each issue PATCH is sent."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.last_read = 0.0
        self.windows: list[float] = []

    async def _request(self, method: str, url: str, headers: Any, body: bytes = b"") -> Any:
        if method == "PATCH" and "/issues/" in url:
            self.windows.append(time.perf_counter() - self.last_read)
        answer = await super()._request(method, url, headers, body)
        if method == "GET" and "/issues/" in url:
            self.last_read = time.perf_counter()
        return answer


async def emulated_windows() -> None:
    import aiohttp

    from bot.emulator import GitHubEmulator
    from bot.store import open_database

    emu = GitHubEmulator(validate=False)
    app = emu.register_app(slug="isolation-bot")
    emu.create_repo(REPO)
    number = emu.create_issue(REPO, "Meta issue", "People's text.\r\n" * 300, user="vstinner")
    inst = emu.install(app, account="python")
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(f"sqlite:///{folder}/bench.sqlite3")
        try:
            async with emu.serve() as url, aiohttp.ClientSession() as session:
                token = emu.issue_token(inst).token
                gh = TimedAPI(session, "bench", oauth_token=token, base_url=url)
                for i in range(20):
                    text = _section(1000, "x" if i % 2 else " ")
                    await write_section(gh, db, REPO, number, lambda room, t=text: t)
        finally:
            await db.close()
    ms = [w * 1000 for w in gh.windows]
    print(
        f"emulator on loopback, {len(ms)} writes: read answer -> PATCH sent "
        f"median {statistics.median(ms):.2f} ms, max {max(ms):.2f} ms "
        "(on GitHub add one round trip)"
    )


if __name__ == "__main__":
    splice_times()
    asyncio.run(emulated_windows())
