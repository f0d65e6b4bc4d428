"""Prometheus metrics for /metrics, in one module-level registry (not the global default one,
so tests and several apps in one process never collide with library collectors).

The service wires them: the intake counts deliveries, workers time jobs, the GitHub client
counts calls and records the rate limit, the PR check times analysis, and ``update_queue``
(with ``Queue.stats()``, also called by the workers) and ``update_caches`` are called before
each scrape.
Names and labels are documented in docs/deploy.md ("Metrics").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Protocol

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST  # "text/plain; version=0.0.4; charset=utf-8"

DELIVERIES = Counter(
    "isolation_bot_deliveries_total",
    "Webhook deliveries received, by event and outcome "
    "(queued, duplicate, ignored, bad_signature, malformed, too_large, ping, error).",
    ["event", "outcome"],
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "isolation_bot_queue_depth",
    "Pending jobs (waiting to run) at the last update.",
    registry=REGISTRY,
)
QUEUE_JOBS = Gauge(
    "isolation_bot_queue_jobs",
    "Jobs by state (pending, running, dead) at the last update.",
    ["state"],
    registry=REGISTRY,
)
QUEUE_OLDEST_AGE = Gauge(
    "isolation_bot_queue_oldest_age_seconds",
    "Age of the oldest pending job (0 when none is pending).",
    registry=REGISTRY,
)
CACHE_ENTRIES = Gauge(
    "isolation_bot_cache_entries",
    "Entries held by each in-memory cache (blobs, trees, analyses, permissions, etags) at "
    "the last scrape.",
    ["cache"],
    registry=REGISTRY,
)
CACHE_BYTES = Gauge(
    "isolation_bot_cache_bytes",
    "Bytes held by each cache bounded by size (blobs; etags: JSON size) at the last scrape.",
    ["cache"],
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "isolation_bot_job_duration_seconds",
    "Time to run one job, by kind (webhook event name or internal kind).",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
JOBS = Counter(
    "isolation_bot_jobs_total",
    "Jobs finished, by kind and outcome (done, retry, dead, released).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
GITHUB_API_CALLS = Counter(
    "isolation_bot_github_api_calls_total",
    "GitHub REST calls, by HTTP method and response status (or 'error' without a response).",
    ["method", "status"],
    registry=REGISTRY,
)
GITHUB_RATE_LIMIT_REMAINING = Gauge(
    "isolation_bot_github_rate_limit_remaining",
    "x-ratelimit-remaining from the last GitHub response.",
    registry=REGISTRY,
)
JOB_API_CALLS = Histogram(
    "isolation_bot_job_github_api_calls",
    "GitHub API calls made by one job, by kind.",
    ["kind"],
    buckets=(0, 1, 2, 4, 8, 16, 32, 64, 128, 256),
    registry=REGISTRY,
)
ACK_LATENCY = Histogram(
    "isolation_bot_webhook_ack_seconds",
    "Time from receiving a webhook to answering it (stored and acknowledged).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
    registry=REGISTRY,
)
ANALYSIS_SECONDS = Histogram(
    "isolation_bot_analysis_seconds",
    "Time to analyse one file (tree-sitter parse + checks).",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=REGISTRY,
)


# -- hooks the service calls (small functions so callers need not know label names) ---------


def observe_delivery(event: str, outcome: str) -> None:
    DELIVERIES.labels(event or "unknown", outcome).inc()


def observe_ack_latency(seconds: float) -> None:
    ACK_LATENCY.observe(max(0.0, seconds))


def observe_job(kind: str, outcome: str, seconds: float, api_calls: int | None = None) -> None:
    JOB_DURATION.labels(kind).observe(max(0.0, seconds))
    JOBS.labels(kind, outcome).inc()
    if api_calls is not None:
        JOB_API_CALLS.labels(kind).observe(api_calls)


def observe_github_call(
    method: str, status: int | str | None, rate_limit_remaining: str | int | None = None
) -> None:
    """One GitHub request: ``status`` None when no response came (timeout, connection)."""
    GITHUB_API_CALLS.labels(method.upper(), "error" if status is None else str(status)).inc()
    if rate_limit_remaining is not None:
        with contextlib.suppress(ValueError):  # a malformed header is not worth a crash
            GITHUB_RATE_LIMIT_REMAINING.set(float(rate_limit_remaining))


def observe_analysis(seconds: float) -> None:
    ANALYSIS_SECONDS.observe(max(0.0, seconds))


class QueueCounts(Protocol):
    """What the queue gauges read (bot.store.queue.QueueStats has it); telemetry stays below
    the store, so it names the shape rather than importing it."""

    @property
    def pending(self) -> int: ...
    @property
    def running(self) -> int: ...
    @property
    def dead(self) -> int: ...
    @property
    def oldest_pending_age(self) -> float | None: ...


def update_queue(stats: QueueCounts) -> None:
    """Copy ``Queue.stats()`` into the queue gauges (call it before rendering /metrics)."""
    QUEUE_DEPTH.set(stats.pending)
    QUEUE_JOBS.labels("pending").set(stats.pending)
    QUEUE_JOBS.labels("running").set(stats.running)
    QUEUE_JOBS.labels("dead").set(stats.dead)
    QUEUE_OLDEST_AGE.set(stats.oldest_pending_age or 0.0)


def update_caches(sizes: Mapping[str, tuple[int, int | None]]) -> None:
    """Copy the caches' sizes ({cache: (entries, bytes or None)}, bot.caches.ServiceCaches
    .sizes()) into the cache gauges (call it before rendering /metrics)."""
    for name, (entries, size) in sizes.items():
        CACHE_ENTRIES.labels(name).set(entries)
        if size is not None:
            CACHE_BYTES.labels(name).set(size)


class _Exposition:
    """This module's registry, then the default global one (process and GC collectors, and
    metrics other modules registered there), skipping any family name already produced so
    the scrape never has a metric twice."""

    def collect(self) -> Iterator[Metric]:
        seen: set[str] = set()
        for registry in (REGISTRY, prometheus_client.REGISTRY):
            for family in registry.collect():
                if family.name not in seen:
                    seen.add(family.name)
                    yield family


def render_metrics() -> bytes:
    """The metrics in the Prometheus text format, for ``GET /metrics`` (serve it with
    ``CONTENT_TYPE``)."""
    return generate_latest(_Exposition())
