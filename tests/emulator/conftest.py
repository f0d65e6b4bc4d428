"""Fixtures: an emulator with an installed App and python/cpython, and a token-holding client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from gidgethub.aiohttp import GitHubAPI

from bot.emulator import AppRecord, GitHubEmulator
from tests.support.github import app_jwt, installation_token

REPO = "python/cpython"


@dataclass
class World:
    emu: GitHubEmulator
    app: AppRecord
    inst_id: int
    url: str
    gh: GitHubAPI
    session: aiohttp.ClientSession
    token: str

    def jwt(self, **claims: object) -> str:
        return app_jwt(self.app, **claims)


def make_emulator() -> tuple[GitHubEmulator, AppRecord, int]:
    emu = GitHubEmulator()
    app = emu.register_app(slug="isolation-bot")
    emu.create_repo(REPO, default_branch="main")
    emu.commit(REPO, "main", {"Modules/a.c": b"int a;\n", "README": b"hi\n"}, author="guido")
    inst_id = emu.install(app, account="python")
    return emu, app, inst_id


@pytest.fixture
async def world() -> AsyncIterator[World]:
    emu, app, inst_id = make_emulator()
    async with emu.serve() as url, aiohttp.ClientSession() as session:
        gh = GitHubAPI(session, "isolation-bot-tests", base_url=url)
        token = await installation_token(session, url, app, inst_id)
        yield World(emu, app, inst_id, url, gh, session, token)
    assert emu.validation_errors == [], emu.validation_errors
