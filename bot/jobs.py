"""The job contract between the service's worker and the features' handlers.

The service stores two kinds of jobs in one durable queue (bot.store.queue): webhook
deliveries, dispatched to the features' gidgethub routers by event and action, and internal
jobs that a feature asks for (a PR check after ``/isolation recheck``), dispatched by their
kind to the handler the feature registers for it. Both handlers get a :class:`JobContext`.

Failures: a handler raises :class:`PermanentJobError` when the job can never succeed (its
payload lacks what the handler needs, the envelope names no repository or installation);
the job ends at once with the reason kept on it. Any other exception is retried, with
backoff, until the queue's ``max_attempts``.

This module sits below the features and the service: both import it, it imports neither.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.caches import ServiceCaches

if TYPE_CHECKING:
    from gidgethub.abc import GitHubAPI

    from bot.config import Settings
    from bot.store.db import Database


class PermanentJobError(Exception):
    """The job fails the same way on every try: it ends at once (dead), with this message.

    Raised for payloads malformed for their handler and for envelope errors. Chain the
    original error (``raise PermanentJobError(...) from exc``): the worker records both."""


@dataclass(frozen=True)
class InternalJob:
    """A job a feature asks the service to run later, by ``kind``.

    ``fields`` is the kind's own JSON-able payload; ``installation_id`` names the GitHub App
    installation the job's client authenticates as (None: unauthenticated). ``key`` coalesces
    queued jobs (only the newest pending job of one key runs); ``dedup_id`` makes enqueueing
    idempotent (a retried command enqueues nothing twice).
    """

    kind: str
    fields: Mapping[str, Any]
    installation_id: int | None = None
    key: str | None = None
    dedup_id: str | None = None
    repo: str | None = None  # "owner/name" the job is about, for logs and metrics

    def payload(self) -> dict[str, Any]:
        """What the queue stores: the kind's fields and the installation id."""
        return {**self.fields, "installation_id": self.installation_id}


def installation_of_job(payload: Mapping[str, Any]) -> int | None:
    """The installation id an internal job's stored payload names (None when it names none).

    PermanentJobError when it is there but not a positive integer."""
    ident = payload.get("installation_id")
    if ident is None:
        return None
    if not isinstance(ident, int) or isinstance(ident, bool) or ident <= 0:
        raise PermanentJobError(f"malformed job: installation_id is {ident!r}")
    return ident


Enqueue = Callable[[InternalJob], Awaitable[str | None]]
"""Store an internal job and wake the local workers; returns the job id (None: a duplicate)."""


async def _cannot_enqueue(job: InternalJob) -> str | None:
    raise RuntimeError(f"this JobContext cannot enqueue jobs (asked for {job.kind!r})")


@dataclass
class JobContext:
    """What a handler gets for one job; built by the worker (bot.service.worker).

    ``gh`` is a gidgethub ``GitHubAPI`` already authenticated as the App's installation for the
    job (with retries, ETag caching and call counting); handlers use the plain gidgethub
    methods: getitem, getiter, post, patch, put, delete. ``enqueue`` stores an internal job
    and wakes the local worker pool; contexts built outside the service refuse it.
    """

    event: str  # X-GitHub-Event, or the internal job's kind
    delivery_id: str  # X-GitHub-Delivery, or the internal job's id
    payload: dict[str, Any]
    gh: GitHubAPI
    db: Database
    settings: Settings
    bot_login: str  # "<app slug>[bot]"
    installation_id: int | None = None
    enqueue: Enqueue = field(default=_cannot_enqueue)
    caches: ServiceCaches = field(default_factory=ServiceCaches)  # the service's, shared

    @property
    def repo(self) -> str:
        """ "owner/name" of the repository a webhook is about; PermanentJobError when the
        payload names none (the event cannot be handled, now or on a retry)."""
        repository = self.payload.get("repository")
        name = repository.get("full_name") if isinstance(repository, dict) else None
        if not isinstance(name, str):
            raise PermanentJobError(f"malformed payload: no repository.full_name in {self.event}")
        return name


JobHandler = Callable[[dict[str, Any], JobContext], Awaitable[None]]
"""Runs one internal job from its stored payload; raises PermanentJobError when malformed."""
