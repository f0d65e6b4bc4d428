"""N ``isolation-bot serve`` processes on one store, behind a loopback load balancer.

    cluster = BotCluster(emu, app, api_url, database_url, replicas=3)
    await cluster.start()          # all replicas at once (migrations race), then the balancer
    ...                            # emu.webhook_url points at the balancer
    await cluster.replicas[1].kill()   # SIGKILL: the balancer fails over to the others
    await cluster.wait_idle()      # every delivery posted, no job pending or running
    codes = await cluster.stop()   # SIGTERM each live replica: graceful, exit 0

Used by tests/replicas (the multi-replica test) and bench/soak.py. Everything binds
127.0.0.1. Each replica's stderr (its JSON log lines) goes to a file in ``log_dir`` so a long
run never blocks on a pipe, and tests can grep it for secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.emulator import GitHubEmulator
from bot.emulator.state import AppRecord
from bot.store import Database, open_database
from bot.store.queue import Queue, QueueStats

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
# Headers a proxy must not copy (hop-by-hop, or recomputed by the client library).
_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


def replica_env(app: AppRecord, api_url: str, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of one replica: the App's credentials, the emulator, the store, and
    short retry/backoff/lease settings so a test or a soak run recovers in seconds, and fast
    write pacing."""
    return {
        **os.environ,
        "GITHUB_APP_ID": str(app.id),
        "GITHUB_PRIVATE_KEY": app.private_key_pem,
        "GITHUB_WEBHOOK_SECRET": app.webhook_secret,
        "GITHUB_API_URL": api_url,
        "DATABASE_URL": database_url,
        "ISOLATION_BOT_WORKERS": "2",
        "ISOLATION_BOT_JOB_RETRY_SECONDS": "0.2",
        "ISOLATION_BOT_GITHUB_BACKOFF_SECONDS": "0.05",
        "ISOLATION_BOT_LEASE_SECONDS": "5",
        # GitHub's write pacing (1/s per installation and replica) would make hundreds of
        # deliveries take minutes: paced 50 times faster here (tests/faults/test_rate_limits.py
        # checks the pacing itself).
        "ISOLATION_BOT_GITHUB_WRITES_PER_SECOND": "50",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


@dataclass
class Replica:
    """One ``isolation-bot serve`` subprocess."""

    index: int
    env: dict[str, str]
    log_path: Path
    proc: asyncio.subprocess.Process | None = None
    url: str = ""
    stdout: list[str] = field(default_factory=list)
    _drain: asyncio.Task[None] | None = None
    _log_file: Any = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self) -> str:
        self._log_file = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli.main",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            cwd=ROOT,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log_file,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                raw = await asyncio.wait_for(self.proc.stdout.readline(), left)
            except TimeoutError:
                break
            if not raw:
                break
            line = raw.decode(errors="replace")
            self.stdout.append(line)
            if "listening on " in line:
                self.url = line.split("listening on ", 1)[1].strip()
                self._drain = asyncio.create_task(self._read_stdout())
                return self.url
        raise RuntimeError(
            f"replica {self.index} did not start:\n{''.join(self.stdout)}\n{self.log_text()}"
        )

    async def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while raw := await self.proc.stdout.readline():
            self.stdout.append(raw.decode(errors="replace"))

    async def kill(self) -> None:
        """SIGKILL: no cleanup at all, as when a machine dies."""
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()
        await self._finish()

    async def terminate(self, timeout: float = 40.0) -> int:
        """SIGTERM and wait for the graceful exit; the exit code."""
        assert self.proc is not None
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.send_signal(signal.SIGKILL)
                await self.proc.wait()
        await self._finish()
        assert self.proc.returncode is not None
        return self.proc.returncode

    async def _finish(self) -> None:
        if self._drain is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._drain, 5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON log lines (anything else on stderr, a traceback, is returned as
        ``{"unparsed": line}`` so a test can see it)."""
        out: list[dict[str, Any]] = []
        for line in self.log_text().splitlines():
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                value = None
            out.append(value if isinstance(value, dict) else {"unparsed": line})
        return out

    def rss_kib(self) -> int | None:
        """Resident memory from /proc (Linux); None when the process is gone."""
        if not self.alive:
            return None
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return None


class LoadBalancer:
    """Round-robin over the live replicas; a replica that refuses the connection (killed) is
    skipped and the request goes to the next, like a load balancer's failover. A replica that
    dies with the request in flight may have stored it: the retry then answers ``duplicate``,
    which is what makes the failover safe."""

    def __init__(self, replicas: list[Replica]) -> None:
        self.replicas = replicas
        self.url = ""
        self.served: dict[int, int] = {r.index: 0 for r in replicas}
        self.failovers = 0
        self.ack_seconds: list[float] = []  # per answered webhook, failover included
        self._next = itertools.count()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> str:
        app = web.Application(client_max_size=30 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        start = next(self._next)
        began = time.perf_counter()
        n = len(self.replicas)
        for i in range(n):
            replica = self.replicas[(start + i) % n]
            if not replica.alive or not replica.url:
                continue
            try:
                async with self._session.request(
                    request.method, replica.url + request.path_qs, data=body, headers=headers
                ) as resp:
                    data = await resp.read()
                    self.served[replica.index] += 1
                    self.ack_seconds.append(time.perf_counter() - began)
                    return web.Response(
                        status=resp.status,
                        body=data,
                        content_type=resp.content_type,
                    )
            except (aiohttp.ClientConnectionError, TimeoutError):
                self.failovers += 1
                continue
        return web.json_response({"status": "no replica available"}, status=502)


class BotCluster:
    def __init__(
        self,
        emu: GitHubEmulator,
        app: AppRecord,
        api_url: str,
        database_url: str,
        *,
        replicas: int = 3,
        log_dir: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.emu = emu
        self.database_url = database_url
        log_dir.mkdir(parents=True, exist_ok=True)
        base = replica_env(app, api_url, database_url, **(env or {}))
        self.replicas = [
            Replica(i, dict(base), log_dir / f"replica-{i}.log") for i in range(replicas)
        ]
        self.balancer = LoadBalancer(self.replicas)
        self._db: Database | None = None

    async def start(self) -> str:
        """Start every replica at the same moment (their migrations race on purpose), then the
        balancer; point the emulator's webhooks at it. Returns the balancer's URL."""
        await asyncio.gather(*(r.start() for r in self.replicas))
        url = await self.balancer.start()
        self.emu.webhook_url = f"{url}/webhook"
        return url

    async def db(self) -> Database:
        """The store, opened from this (the test's) process, for inspection."""
        if self._db is None:
            self._db = await open_database(self.database_url)
        return self._db

    async def stats(self) -> QueueStats:
        return await Queue(await self.db()).stats()

    async def wait_idle(self, timeout: float = 60.0, settle: int = 3) -> QueueStats:
        """Until every webhook was posted and the queue has nothing pending or running for
        ``settle`` polls in a row (a finished job may enqueue a new one, and its side effects
        emit new webhooks). Raises TimeoutError with the last stats."""
        deadline = time.monotonic() + timeout
        quiet = 0
        stats = await self.stats()
        while time.monotonic() < deadline:
            await self.emu.wait_for_deliveries(max(1.0, deadline - time.monotonic()))
            stats = await self.stats()
            quiet = quiet + 1 if stats.pending == 0 and stats.running == 0 else 0
            if quiet >= settle:
                return stats
            await asyncio.sleep(0.2)
        raise TimeoutError(f"the cluster did not go idle: {stats}")

    async def stop(self) -> list[int | None]:
        """SIGTERM every live replica at once; exit codes (None for one killed before)."""

        async def one(r: Replica) -> int | None:
            if r.proc is None:
                return None
            if not r.alive:
                await r._finish()
                return None if r.proc.returncode == -signal.SIGKILL else r.proc.returncode
            return await r.terminate()

        codes = await asyncio.gather(*(one(r) for r in self.replicas))
        await self.balancer.stop()
        if self._db is not None:
            await self._db.close()
            self._db = None
        return list(codes)

    def logs(self) -> str:
        return "\n".join(f"--- replica {r.index}\n{r.log_text()}" for r in self.replicas)
