"""The PR check's public job API: the one place that names its job kind and coalescing key.

Whoever wants a pull request checked again (``/isolation recheck``, a new suppression) builds
the job with :func:`pr_check_job` and hands it to ``JobContext.enqueue``; the webhook intake
gives PR-check triggers the same key (:func:`pr_key`), so only the newest queued check of one
PR runs. The handler reads the stored payload back with :meth:`PrCheckRequest.from_payload`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.jobs import InternalJob, PermanentJobError, installation_of_job

PR_CHECK = "pr_check"  # the internal job kind


def pr_key(repo: str, number: int) -> str:
    """The queue's coalescing key: only the latest queued check of one PR runs."""
    return f"pr:{repo}#{number}"


@dataclass(frozen=True)
class PrCheckRequest:
    """Check pull request ``number`` of ``repo`` on its current head."""

    repo: str
    number: int
    installation_id: int | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> PrCheckRequest:
        """The request a stored ``pr_check`` payload holds; PermanentJobError when malformed."""
        try:
            repo, number = payload["repo"], payload["number"]
        except KeyError as exc:
            raise PermanentJobError(f"malformed {PR_CHECK} job: no {exc}") from exc
        if not isinstance(repo, str) or repo.count("/") != 1 or not all(repo.split("/")):
            raise PermanentJobError(f"malformed {PR_CHECK} job: repo is {repo!r}")
        if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
            raise PermanentJobError(f"malformed {PR_CHECK} job: number is {number!r}")
        return cls(repo, number, installation_of_job(payload))


def pr_check_job(
    repo: str, number: int, installation_id: int | None, *, dedup_id: str | None = None
) -> InternalJob:
    """The internal job that checks ``repo``#``number`` again (coalesced with its webhooks)."""
    return InternalJob(
        PR_CHECK,
        {"repo": repo, "number": number},
        installation_id=installation_id,
        key=pr_key(repo, number),
        dedup_id=dedup_id,
        repo=repo,
    )
