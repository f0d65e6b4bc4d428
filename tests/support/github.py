"""Talking to the GitHub emulator as the App does: its JWT, and a GitHubAPI client holding an
installation token (what the bot's own client gets, without the bot's client).

    async with emu.serve() as url, aiohttp.ClientSession() as session:
        gh = await installation_client(session, url, app, inst)
"""

from __future__ import annotations

import time

import aiohttp
import jwt
from gidgethub.aiohttp import GitHubAPI

from bot.emulator import AppRecord

USER_AGENT = "isolation-bot"


def app_jwt(app: AppRecord, **claims: object) -> str:
    """The App's JWT (RS256, issued a minute ago, valid nine more); ``claims`` override."""
    now = int(time.time())
    body: dict[str, object] = {"iat": now - 60, "exp": now + 540, "iss": str(app.id)}
    body.update(claims)
    return jwt.encode(body, app.private_key_pem, algorithm="RS256")


async def installation_token(
    session: aiohttp.ClientSession, url: str, app: AppRecord, installation: int
) -> str:
    anon = GitHubAPI(session, USER_AGENT, base_url=url)
    data = await anon.post(
        f"/app/installations/{installation}/access_tokens", data=b"", jwt=app_jwt(app)
    )
    return str(data["token"])


async def installation_client(
    session: aiohttp.ClientSession,
    url: str,
    app: AppRecord,
    installation: int,
    user_agent: str = USER_AGENT,
) -> GitHubAPI:
    """A client on ``url`` authenticated as ``installation`` of ``app``."""
    token = await installation_token(session, url, app, installation)
    return GitHubAPI(session, user_agent, oauth_token=token, base_url=url)
