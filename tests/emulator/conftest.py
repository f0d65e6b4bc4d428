"""Fixtures: an emulator with an installed App and python/cpython, and a token-holding client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import jwt
import pytest
from gidgethub.aiohttp import GitHubAPI

from bot.emulator import AppRecord, GitHubEmulator

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
        now = int(time.time())
        body: dict[str, object] = {"iat": now - 60, "exp": now + 540, "iss": str(self.app.id)}
        body.update(claims)
        return jwt.encode(body, self.app.private_key_pem, algorithm="RS256")


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
        now = int(time.time())
        token_jwt = jwt.encode(
            {"iat": now - 60, "exp": now + 540, "iss": str(app.id)},
            app.private_key_pem,
            algorithm="RS256",
        )
        data = await gh.post(f"/app/installations/{inst_id}/access_tokens", data=b"", jwt=token_jwt)
        yield World(emu, app, inst_id, url, gh, session, data["token"])
    assert emu.validation_errors == [], emu.validation_errors
