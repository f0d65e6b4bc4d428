"""The real server process (``python -m bot.cli.main serve``) against the GitHub emulator."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.emulator import GitHubEmulator
from bot.emulator.state import AppRecord

REPO = "python/cpython"
ROOT = Path(__file__).resolve().parents[2]  # the repository root


class BotProcess:
    """One `isolation-bot serve` subprocess; restartable on the same store."""

    def __init__(
        self,
        emu: GitHubEmulator,
        app: AppRecord,
        api_url: str,
        db_path: Path,
        *,
        port: int = 0,  # 0: any free port (a test that must know it in advance picks one)
        **env: str,
    ) -> None:
        self.emu, self.app, self.api_url, self.db_path = emu, app, api_url, db_path
        self.port = port
        self.extra_env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""
        self.output: list[str] = []

    async def start(self) -> str:
        env = {
            **os.environ,
            "GITHUB_APP_ID": str(self.app.id),
            "GITHUB_PRIVATE_KEY": self.app.private_key_pem,
            "GITHUB_WEBHOOK_SECRET": self.app.webhook_secret,
            "GITHUB_API_URL": self.api_url,
            "DATABASE_URL": f"sqlite:///{self.db_path}",
            "ISOLATION_BOT_WORKERS": "2",
            "ISOLATION_BOT_JOB_RETRY_SECONDS": "0.05",
            "ISOLATION_BOT_GITHUB_BACKOFF_SECONDS": "0.01",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli.main",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = (await asyncio.wait_for(self.proc.stdout.readline(), 20)).decode()
            if not line:
                break
            self.output.append(line)
            if "listening on " in line:
                self.url = line.split("listening on ", 1)[1].strip()
                self.emu.webhook_url = f"{self.url}/webhook"
                self._drain = asyncio.create_task(self._read_rest())
                return self.url
        raise RuntimeError("server did not start:\n" + "".join(self.output))

    async def _read_rest(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.output.append(line.decode())

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        self._drain.cancel()

    async def stop(self) -> int:
        """SIGTERM and wait for the graceful exit."""
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), 30)
        await asyncio.gather(self._drain, return_exceptions=True)
        return code

    def log(self) -> str:
        return "".join(self.output)

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        con = sqlite3.connect(self.db_path)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(sql, params)]
        finally:
            con.close()


async def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def completed_runs(emu: GitHubEmulator, sha: str) -> list[dict[str, Any]]:
    return [r for r in emu.check_runs(REPO, sha) if r["status"] == "completed"]


def setup_repo(emu: GitHubEmulator, base_files: dict[str, str]) -> AppRecord:
    app = emu.register_app("isolation-bot", owner="python")
    emu.create_repo(REPO)
    emu.commit(REPO, "main", base_files, message="base")
    emu.install(app, "python")
    return app
