"""Deliveries the bot failed to take are redelivered without a manual step.

GitHub does not retry a failed webhook delivery; bot.service.redelivery asks for it
(``GET /app/hook/deliveries``, ``POST /app/hook/deliveries/{id}/attempts``) for deliveries
refused with 503 (store full) or sent while the bot was down, once each, and never for one
already stored; a delivery that keeps failing is given up after a few attempts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.service import redelivery
from tests.support.world import HEAD_SOURCE, MODULE_PATH, World, make_world, until

UNLIMITED_PAGES = 1_073_741_823


async def _fill_disk(world: World) -> None:
    row = await world.state.db.fetchone("PRAGMA page_count")
    assert row is not None
    await world.state.db.fetchone(f"PRAGMA max_page_count = {int(row['page_count'])}")


async def _free_disk(world: World) -> None:
    await world.state.db.fetchone(f"PRAGMA max_page_count = {UNLIMITED_PAGES}")


def _opened(world: World) -> list[int | None]:
    return [
        d.status for d in world.emu.deliveries if d.event == "pull_request" and d.action == "opened"
    ]


async def test_a_delivery_refused_again_and_again_is_given_up(world: World) -> None:
    await _fill_disk(world)
    _number, head = world.open_pr({MODULE_PATH: HEAD_SOURCE})
    await world.emu.wait_for_deliveries()
    assert _opened(world) == [503]
    # Still full: the sweep asks, the intake refuses again; the attempts are capped.
    for _ in range(redelivery.MAX_ATTEMPTS_PER_DELIVERY + 2):
        await redelivery.sweep(world.state)
        await world.emu.wait_for_deliveries()
    assert _opened(world) == [503] * redelivery.MAX_ATTEMPTS_PER_DELIVERY
    assert world.runs(head) == []
    # Given up: not asked again even once space is back (GitHub's delivery log keeps it for
    # an operator); the bot does not hammer its own broken intake.
    await _free_disk(world)
    assert await redelivery.sweep(world.state) == []


async def test_redelivery_after_the_store_recovers(world: World) -> None:
    await _fill_disk(world)
    number, head = world.open_pr({MODULE_PATH: HEAD_SOURCE})
    await world.emu.wait_for_deliveries()
    assert _opened(world) == [503]
    await _free_disk(world)
    (guid,) = await redelivery.sweep(world.state)
    await world.emu.wait_for_deliveries()
    assert _opened(world) == [503, 202]
    assert [d.id for d in world.emu.deliveries if d.redelivery] == [guid]
    assert await redelivery.sweep(world.state) == []  # stored now: nothing more to ask
    await world.idle()
    (run,) = world.runs(head)
    assert run["conclusion"] == "failure"
    assert len(world.bot_comments(number)) == 1


async def test_deliveries_sent_while_the_bot_was_down_arrive_by_themselves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISOLATION_BOT_REDELIVERY_SECONDS", "0.2")
    async with make_world(f"sqlite:///{tmp_path}/bot.sqlite3", fault_policy=True) as world:
        url = world.emu.webhook_url
        world.emu.webhook_url = "http://127.0.0.1:9/webhook"  # the bot is unreachable
        number, head = world.open_pr({MODULE_PATH: HEAD_SOURCE})
        await world.emu.wait_for_deliveries()
        assert _opened(world) == [0]  # could not connect
        world.emu.webhook_url = url  # back: no manual step from here
        await until(lambda: 202 in _opened(world), what="the redelivery")
        await until(lambda: world.completed(head), what="the check")
        await world.idle()
        assert len(world.runs(head)) == 1
        assert len(world.bot_comments(number)) == 1
        # Sweeps before the bot was back may have failed to connect too; once taken, the
        # delivery is not asked for again.
        statuses = _opened(world)
        assert statuses[-1] == 202 and set(statuses[:-1]) == {0}, statuses


async def test_a_redelivery_that_got_through_is_not_asked_again(world: World) -> None:
    """A ping is answered 200 and not stored: only the newer attempt's success tells the
    sweep it got through."""
    url = world.emu.webhook_url
    world.emu.webhook_url = "http://127.0.0.1:9/webhook"
    world.emu.ping()
    await world.emu.wait_for_deliveries()
    world.emu.webhook_url = url
    (guid,) = await redelivery.sweep(world.state)
    await world.emu.wait_for_deliveries()
    assert [d.status for d in world.emu.deliveries if d.id == guid] == [0, 200]
    assert await redelivery.sweep(world.state) == []
    assert await redelivery.sweep(world.state) == []
    assert len([d for d in world.emu.deliveries if d.id == guid]) == 2
