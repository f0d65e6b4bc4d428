"""The per-user rate limit kept in the store."""

from __future__ import annotations

from bot.commands.ratelimit import RateLimiter
from bot.store import Database


async def test_limit_window_and_single_notice(db: Database) -> None:
    now = [1000.0]
    rl = RateLimiter(db, limit=3, window_seconds=600, clock=lambda: now[0])
    first = await rl.admit("Bob", "c1", ["c1:0", "c1:1"])
    assert (first.admitted, first.limited) == (2, False)
    second = await rl.admit("bob", "c2", ["c2:0", "c2:1"])  # logins are case-insensitive
    assert (second.admitted, second.limited, second.notify) == (1, True, True)
    assert second.retry_after == 600
    third = await rl.admit("bob", "c3", ["c3:0"])
    assert (third.admitted, third.limited, third.notify) == (0, True, False)
    # Other users have their own budget.
    assert (await rl.admit("carol", "c4", ["c4:0"])).admitted == 1
    # After the window the budget is back, and a new refusal may be announced again.
    now[0] += 601
    assert (await rl.admit("bob", "c5", ["c5:0", "c5:1", "c5:2"])).admitted == 3
    again = await rl.admit("bob", "c6", ["c6:0"])
    assert again.limited and again.notify


async def test_retry_of_the_same_comment_is_not_counted_twice(db: Database) -> None:
    rl = RateLimiter(db, limit=2, window_seconds=600)
    assert (await rl.admit("bob", "c1", ["c1:0", "c1:1"])).admitted == 2
    retry = await rl.admit("bob", "c1", ["c1:0", "c1:1"])
    assert (retry.admitted, retry.limited) == (2, False)
    assert (await rl.admit("bob", "c2", ["c2:0"])).admitted == 0


async def test_retry_of_a_refused_comment_notifies_again(db: Database) -> None:
    rl = RateLimiter(db, limit=1, window_seconds=600)
    await rl.admit("bob", "c1", ["c1:0"])
    assert (await rl.admit("bob", "c2", ["c2:0"])).notify
    assert (await rl.admit("bob", "c2", ["c2:0"])).notify  # the same comment, retried
    assert not (await rl.admit("bob", "c3", ["c3:0"])).notify


async def test_two_limiters_share_the_store(db: Database) -> None:
    a = RateLimiter(db, limit=2, window_seconds=600)
    b = RateLimiter(db, limit=2, window_seconds=600)
    assert (await a.admit("bob", "c1", ["c1:0"])).admitted == 1
    assert (await b.admit("bob", "c2", ["c2:0"])).admitted == 1
    assert (await a.admit("bob", "c3", ["c3:0"])).admitted == 0
