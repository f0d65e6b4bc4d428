from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.emulator import GitHubEmulator
from tests.support.bot_process import BotProcess, setup_repo
from tests.support.samples import BASE_SOURCE, MODULE_PATH


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """The emulator serving a repository with the demo's C module, and a bot process."""
    emu = GitHubEmulator()
    app = setup_repo(emu, {MODULE_PATH: BASE_SOURCE, "Lib/x.py": "x = 1\n"})
    async with emu.serve() as api_url:
        bot = BotProcess(emu, app, api_url, tmp_path / "bot.sqlite3")
        await bot.start()
        try:
            yield {"emu": emu, "app": app, "bot": bot, "api_url": api_url}
        finally:
            code = await bot.stop()  # SIGTERM: graceful shutdown
        assert code == 0, bot.log()
        assert "stopping (finishing or releasing running jobs)" in bot.log()
        assert emu.validation_errors == [], emu.validation_errors
