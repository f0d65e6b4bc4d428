"""What a webhook handler gets: the event, an authenticated GitHub client, the store, config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gidgethub.abc import GitHubAPI

    from bot.config import Settings
    from bot.store.db import Database


@dataclass
class JobContext:
    """Built by the worker for each job it runs (bot.service.worker).

    ``gh`` is a gidgethub ``GitHubAPI`` already authenticated as the App's installation for the
    event's repository (with retries, ETag caching and call counting); handlers use the plain
    gidgethub methods: getitem, getiter, post, patch, put, delete.
    """

    event: str  # X-GitHub-Event
    delivery_id: str  # X-GitHub-Delivery
    payload: dict[str, Any]
    gh: GitHubAPI
    db: Database
    settings: Settings
    bot_login: str  # "<app slug>[bot]"

    @property
    def repo(self) -> str:
        """ "owner/name" of the repository the event is about."""
        return str(self.payload["repository"]["full_name"])
