"""GitHub App authentication: the App's JWT and cached installation tokens.

The JWT authenticates as the App itself (GET /app, GET /repos/{o}/{r}/installation, minting
installation tokens). Installation tokens authenticate every other call; GitHub gives them one
hour, so they are cached per installation until about a minute before they expire, and only one
refresh per installation is ever in flight (concurrent jobs wait for the same refresh instead of
minting a token each).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import jwt

# GitHub rejects JWTs whose iat is in the future or whose lifetime exceeds 10 minutes; backdating
# by 60 s absorbs clock drift between us and GitHub, 9 minutes stays under the limit.
JWT_BACKDATE_SECONDS = 60
JWT_LIFETIME_SECONDS = 9 * 60
# Refresh an installation token this long before it expires, so no call races the expiry.
TOKEN_REFRESH_MARGIN_SECONDS = 60


class AuthError(Exception):
    """The App's credentials are missing or GitHub refused them."""


def app_jwt(app_id: str, private_key: str, *, now: float | None = None) -> str:
    """A fresh RS256 JWT that authenticates as the App."""
    if not app_id or not private_key:
        raise AuthError("GITHUB_APP_ID and GITHUB_PRIVATE_KEY are needed to call GitHub as the App")
    issued = int(now if now is not None else time.time())
    claims = {
        "iat": issued - JWT_BACKDATE_SECONDS,
        "exp": issued + JWT_LIFETIME_SECONDS,
        "iss": str(app_id),
    }
    try:
        return jwt.encode(claims, private_key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise AuthError(f"cannot sign the App JWT with GITHUB_PRIVATE_KEY: {exc}") from exc


@dataclass(frozen=True)
class InstallationToken:
    token: str
    expires_at: float  # epoch seconds


def parse_expiry(value: str | None, *, now: float) -> float:
    """GitHub's ``expires_at`` ("2016-07-11T22:14:10Z") as epoch seconds; 1 hour if absent."""
    if not value:
        return now + 3600
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return now + 3600


# Mints a token for an installation id: returns (token, expires_at string).
TokenMinter = Callable[[int], Awaitable[tuple[str, str | None]]]


class InstallationTokenCache:
    """Installation tokens cached until shortly before expiry, one refresh in flight each."""

    def __init__(
        self,
        mint: TokenMinter,
        *,
        clock: Callable[[], float] = time.time,
        margin: float = TOKEN_REFRESH_MARGIN_SECONDS,
    ) -> None:
        self._mint = mint
        self._clock = clock
        self._margin = margin
        self._tokens: dict[int, InstallationToken] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self.mints = 0  # how many tokens were minted (tests and metrics read it)

    def _fresh(self, installation_id: int) -> InstallationToken | None:
        cached = self._tokens.get(installation_id)
        if cached is not None and cached.expires_at - self._margin > self._clock():
            return cached
        return None

    async def get(self, installation_id: int, *, force_refresh: bool = False) -> str:
        """The installation's token; ``force_refresh`` after GitHub answered 401 with it."""
        stale = self._tokens.get(installation_id)
        if not force_refresh:
            cached = self._fresh(installation_id)
            if cached is not None:
                return cached.token
        lock = self._locks.setdefault(installation_id, asyncio.Lock())
        async with lock:
            current = self._tokens.get(installation_id)
            # Another task refreshed while we waited: use its token rather than minting again.
            if current is not None and current is not stale:
                fresh = self._fresh(installation_id)
                if fresh is not None:
                    return fresh.token
            if not force_refresh:
                fresh = self._fresh(installation_id)
                if fresh is not None:
                    return fresh.token
            token, expires = await self._mint(installation_id)
            self.mints += 1
            entry = InstallationToken(token, parse_expiry(expires, now=self._clock()))
            self._tokens[installation_id] = entry
            return entry.token

    def invalidate(self, installation_id: int) -> None:
        self._tokens.pop(installation_id, None)
