"""The commands' tables on both engines, seen from two replicas."""

from __future__ import annotations

import asyncio

from bot.commands.ratelimit import RateLimiter
from bot.prcheck.suppressions import add_suppression, list_suppressions, remove_suppression
from bot.store import Database


async def test_suppressions_roundtrip(replicas: tuple[Database, Database]) -> None:
    a, b = replicas
    await add_suppression(a, "python/cpython", 5, "ISO001", "Foo_Type", "generated", "mo")
    await add_suppression(a, "python/cpython", 5, "ISO002", "bar", "vendored", "mo")
    await add_suppression(a, "python/cpython", 6, "ISO001", "Foo_Type", "other PR", "mo")
    # Ignoring again replaces the reason (one row per PR, rule, symbol).
    await add_suppression(b, "python/cpython", 5, "ISO001", "Foo_Type", "really generated", "jo")
    got = await list_suppressions(b, "python/cpython", 5)
    assert sorted((s.rule, s.symbol, s.reason, s.user) for s in got) == [
        ("ISO001", "Foo_Type", "really generated", "jo"),
        ("ISO002", "bar", "vendored", "mo"),
    ]
    assert await remove_suppression(b, "python/cpython", 5, "ISO002", "bar")
    assert not await remove_suppression(a, "python/cpython", 5, "ISO002", "bar")
    assert [s.rule for s in await list_suppressions(a, "python/cpython", 5)] == ["ISO001"]
    assert await list_suppressions(a, "python/other", 5) == []


async def test_replicas_share_the_rate_limit(replicas: tuple[Database, Database]) -> None:
    a, b = replicas
    limiters = [RateLimiter(db, limit=5, window_seconds=600) for db in (a, b, a, b)]
    # Twelve one-command comments arrive at once on two replicas: exactly five are admitted.
    decisions = await asyncio.gather(
        *(limiters[i % 4].admit("bob", f"c{i}", [f"c{i}:0"]) for i in range(12))
    )
    assert sum(d.admitted for d in decisions) == 5
    assert sum(d.notify for d in decisions) == 1
