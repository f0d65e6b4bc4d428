"""Fault injection per route: GitHub's failure modes on demand (for retry and timeout tests)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

SECONDARY_RATE_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
DOCS = "https://docs.github.com/rest"

# GitHub's bodies for the statuses tests ask for.
_MESSAGES = {
    400: "Problems parsing JSON",
    401: "Bad credentials",
    403: SECONDARY_RATE_LIMIT,
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    422: "Validation Failed",
    429: SECONDARY_RATE_LIMIT,
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
    504: "We couldn't respond to your request in time. Sorry about that. Please try resubmitting "
    "your request and contact us if the problem persists.",
}
_DOC_URLS = {
    403: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits",
    429: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits",
}


def error_body(status: int, message: str | None = None) -> dict[str, object]:
    return {
        "message": message or _MESSAGES.get(status, "Error"),
        "documentation_url": _DOC_URLS.get(status, DOCS),
        "status": str(status),
    }


@dataclass
class Fault:
    method: str | None  # None: any method
    path: re.Pattern[str]
    status: int | None  # None: only the delay, then the normal answer
    times: int | None  # None: for ever
    retry_after: int | None
    delay: float
    message: str | None
    hits: int = 0
    before: Callable[[], None] | None = None  # runs before the request is handled

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return self.path.search(path) is not None


@dataclass
class FaultSet:
    """The active faults; the first that matches a request answers it (and is used up)."""

    rules: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(
        self,
        *,
        method: str | None = None,
        path: str = ".*",
        status: int | None = 500,
        times: int | None = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
        message: str | None = None,
        before: Callable[[], None] | None = None,
    ) -> Fault:
        """Make the next ``times`` requests matching ``method`` and ``path`` (a regex searched
        in the URL path) fail with ``status`` after ``delay`` seconds. ``status=None`` only
        delays them (for client timeouts). ``before`` runs just before such a request is
        handled (with ``status=None``: a person's action landing between two requests of
        the client, e.g. an issue edit between the bot's read and its write)."""
        fault = Fault(
            method, re.compile(path), status, times, retry_after, delay, message, before=before
        )
        with self._lock:
            self.rules.append(fault)
        return fault

    def secondary_limit(
        self,
        *,
        method: str | None = None,
        path: str = ".*",
        times: int | None = 1,
        status: int = 403,
        retry_after: int | None = None,
    ) -> Fault:
        """GitHub's secondary rate limit on the next ``times`` matching requests: 403 (or 429)
        with its message and, as GitHub often sends it, no Retry-After unless given."""
        return self.add(
            method=method, path=path, status=status, times=times, retry_after=retry_after
        )

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.rules:
                if fault.matches(method, path):
                    fault.hits += 1
                    return fault
        return None
