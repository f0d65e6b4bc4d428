"""Client factories: installation-authenticated clients for webhooks and for code outside them.

``GitHubApp`` is the long-lived object the service keeps (one per process): it owns the token
cache, the ETag cache (one budget, each installation's answers kept apart) and the bot's
login. The module-level ``installation_client`` and ``bot_login`` serve code outside webhooks
(the CLI, the scheduler).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

import aiohttp
from cachetools import LRUCache

from bot.github.auth import AuthError, InstallationTokenCache, app_jwt
from bot.github.client import BotGitHubAPI, CallCounter, RetryPolicy
from bot.github.pacing import Pacing, PacingPolicy, PauseStore

if TYPE_CHECKING:
    from bot.config import Settings

ETAG_ENTRIES = 4096
# The answers kept for conditional requests are decoded JSON, some large (a PR's comments, a
# compare): a count alone let a replica grow by ~20 MiB a minute under bench/soak.py. This
# bounds them by their JSON size too (Python objects take ~3-5x that), over all
# installations together: a budget per installation would let an App installed in many
# places grow with their number.
ETAG_BYTES = 4 * 1024 * 1024


def _answer_size(value: Any) -> int:
    """Rough size of one cached answer: gidgethub stores (etag, last_modified, data, more)."""
    data = value[2] if isinstance(value, tuple) and len(value) > 2 else value
    try:
        return max(1, len(json.dumps(data, separators=(",", ":"))))
    except (TypeError, ValueError):
        return 1024


class EtagCache(LRUCache[Any, Any]):
    """ETag answers, bounded by count and by size. An answer over the whole budget is simply
    not kept (cachetools would raise; gidgethub does not expect that)."""

    def __init__(self, entries: int = ETAG_ENTRIES, size: int = ETAG_BYTES) -> None:
        super().__init__(maxsize=size, getsizeof=_answer_size)
        self.entries = entries

    def __setitem__(self, key: Any, value: Any) -> None:
        try:
            super().__setitem__(key, value)
        except ValueError:  # larger than the whole budget
            self.pop(key, None)
            return
        while len(self) > self.entries:
            self.popitem()


def pacing_for(settings: Settings, store: PauseStore | None = None) -> Pacing:
    """The replica's pacing with the tuning knobs applied; ``store`` shares the pause."""
    tuning = settings.tuning
    policy = PacingPolicy(
        writes_per_second=tuning.github_writes_per_second,
        write_burst=tuning.github_write_burst,
        concurrent_reads=tuning.github_concurrent_reads,
        secondary_wait=tuning.github_secondary_wait_seconds,
    )
    return Pacing(policy, store=store)


class InstallationEtags(MutableMapping[str, Any]):
    """One installation's view of the shared ETag cache (what gidgethub gets as its cache):
    keys carry the installation, so an answer is only ever served to the installation whose
    token fetched it."""

    def __init__(self, shared: EtagCache, installation_id: int) -> None:
        self._shared = shared
        self._id = installation_id

    def __getitem__(self, url: str) -> Any:
        return self._shared[(self._id, url)]

    def __setitem__(self, url: str, value: Any) -> None:
        self._shared[(self._id, url)] = value

    def __delitem__(self, url: str) -> None:
        del self._shared[(self._id, url)]

    def __iter__(self) -> Iterator[str]:
        return (url for (owner, url) in list(self._shared) if owner == self._id)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class GitHubApp:
    """The App's credentials plus everything worth caching across jobs."""

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        *,
        policy: RetryPolicy | None = None,
        pacing: Pacing | None = None,
    ) -> None:
        """``pacing``: the replica's write pacing, read cap and rate-limit pause per
        installation, shared by every client made here (the service gives it the store, so
        replicas share the pause)."""
        if not settings.app_id or not settings.private_key:
            raise AuthError(
                "GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH) must be set "
                "for the bot to call GitHub"
            )
        self.settings = settings
        self.session = session
        self.policy = policy or RetryPolicy()
        self.pacing = pacing or pacing_for(settings)
        self.tokens = InstallationTokenCache(self._mint)
        self.etags = EtagCache()
        self._login: str | None = None

    def jwt(self) -> str:
        assert self.settings.app_id and self.settings.private_key
        return app_jwt(self.settings.app_id, self.settings.private_key)

    def app_client(self, counter: CallCounter | None = None) -> BotGitHubAPI:
        """A client for App-level calls: pass ``jwt=app.jwt()`` to each call."""
        return BotGitHubAPI(
            self.session,
            base_url=self.settings.api_url,
            counter=counter,
            policy=self.policy,
            pacing=self.pacing,
        )

    async def _mint(self, installation_id: int) -> tuple[str, str | None]:
        gh = self.app_client()
        data = await gh.post(
            "/app/installations/{installation_id}/access_tokens",
            {"installation_id": installation_id},
            data=b"",
            jwt=self.jwt(),
        )
        return str(data["token"]), data.get("expires_at")

    def client(self, installation_id: int, counter: CallCounter | None = None) -> BotGitHubAPI:
        """A client authenticated as ``installation_id`` (tokens minted lazily, cached)."""

        async def token(force: bool) -> str:
            return await self.tokens.get(installation_id, force_refresh=force)

        return BotGitHubAPI(
            self.session,
            base_url=self.settings.api_url,
            token_provider=token,
            cache=InstallationEtags(self.etags, installation_id),
            counter=counter,
            policy=self.policy,
            pacing=self.pacing,
            installation_id=installation_id,
        )

    async def installation_id_for(self, repo: str) -> int:
        # An f-string, not a URI template: {repo} would percent-encode the "/" of owner/name.
        data = await self.app_client().getitem(f"/repos/{repo}/installation", jwt=self.jwt())
        return int(data["id"])

    async def bot_login(self) -> str:
        """ "<app slug>[bot]": how the bot's own comments and labels events are authored."""
        if self._login is None:
            data = await self.app_client().getitem("/app", jwt=self.jwt())
            slug = data.get("slug") if isinstance(data, dict) else None
            if not isinstance(slug, str) or not slug:
                # "slug" is optional in GitHub's schema (always sent in practice): without it
                # the bot cannot recognise its own comments, so say so rather than guess.
                raise AuthError(f"GET /app answered without the App's slug: {data!r:.200}")
            self._login = f"{slug}[bot]"
        return self._login


async def installation_client(
    settings: Settings, session: aiohttp.ClientSession, repo: str
) -> BotGitHubAPI:
    """A client for ``repo`` ("owner/name") authenticated as the App's installation on it."""
    app = GitHubApp(settings, session)
    return app.client(await app.installation_id_for(repo))


async def bot_login(settings: Settings, session: aiohttp.ClientSession) -> str:
    """The App's bot login ("<slug>[bot]"), from GET /app."""
    return await GitHubApp(settings, session).bot_login()
