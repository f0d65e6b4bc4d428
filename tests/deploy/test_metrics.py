"""bot.telemetry.metrics: the /metrics exposition."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from bot.store.queue import QueueStats
from bot.telemetry import metrics


def samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(metrics.render_metrics().decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_hooks_show_up_in_the_exposition() -> None:
    before = samples()
    key = ("isolation_bot_deliveries_total", (("event", "pull_request"), ("outcome", "queued")))
    metrics.observe_delivery("pull_request", "queued")
    metrics.observe_delivery("pull_request", "queued")
    metrics.observe_job("pull_request", "done", 1.5, api_calls=6)
    metrics.observe_github_call("get", 200, "4321")
    metrics.observe_github_call("post", None)
    metrics.observe_analysis(0.02)
    metrics.observe_ack_latency(0.004)
    metrics.update_queue(
        QueueStats(pending=3, running=2, dead=1, done=9, superseded=4, oldest_pending_age=12.5)
    )
    after = samples()
    assert after[key] - before.get(key, 0) == 2
    assert after[("isolation_bot_queue_depth", ())] == 3
    assert after[("isolation_bot_queue_jobs", (("state", "dead"),))] == 1
    assert after[("isolation_bot_queue_oldest_age_seconds", ())] == 12.5
    assert after[("isolation_bot_github_rate_limit_remaining", ())] == 4321
    calls = ("isolation_bot_github_api_calls_total", (("method", "POST"), ("status", "error")))
    assert after[calls] - before.get(calls, 0) == 1
    count = ("isolation_bot_job_duration_seconds_count", (("kind", "pull_request"),))
    assert after[count] - before.get(count, 0) == 1
    assert after[("isolation_bot_analysis_seconds_count", ())] >= 1


def test_every_family_appears_once_and_process_metrics_are_included() -> None:
    text = metrics.render_metrics().decode()
    type_lines = [line for line in text.splitlines() if line.startswith("# TYPE ")]
    names = [line.split()[2] for line in type_lines]
    assert len(names) == len(set(names))
    assert "isolation_bot_job_duration_seconds" in names
    assert metrics.CONTENT_TYPE.startswith("text/plain")


def test_malformed_rate_limit_header_is_ignored() -> None:
    metrics.observe_github_call("GET", 200, "4000")
    metrics.observe_github_call("GET", 200, "not-a-number")
    assert samples()[("isolation_bot_github_rate_limit_remaining", ())] == 4000


def test_cache_sizes_show_up_per_cache() -> None:
    metrics.update_caches({"blobs": (3, 4096), "analyses": (7, None)})
    after = samples()
    assert after[("isolation_bot_cache_entries", (("cache", "blobs"),))] == 3
    assert after[("isolation_bot_cache_bytes", (("cache", "blobs"),))] == 4096
    assert after[("isolation_bot_cache_entries", (("cache", "analyses"),))] == 7
    assert ("isolation_bot_cache_bytes", (("cache", "analyses"),)) not in after


def test_service_caches_report_entries_and_blob_bytes() -> None:
    from bot.caches import ServiceCaches

    caches = ServiceCaches()
    caches.git.blobs["a" * 40] = b"x" * 100
    caches.git.blobs["b" * 40] = b"y" * 50
    sizes = caches.sizes()
    assert sizes["blobs"] == (2, 150)
    assert sizes["analyses"] == (0, None) and sizes["permissions"] == (0, None)
