"""GitHub request pacing, measured against the emulator on a compressed clock.

Usage: python bench/pacing.py [--prs 20] [--factor 40]

1. Backlog: ``--prs`` pull requests opened at once (a backlog after an outage); the bot's
   writes (POST/PATCH/PUT/DELETE) as the emulator recorded them: total, the busiest minute,
   the mean rate, the longest burst within one second. GitHub asks for about one write a
   second and limits content creation to 80 a minute.
2. Secondary limit without Retry-After on the first comment: how long the installation paused
   and how many requests any worker sent to GitHub during the pause (GitHub: none).

Time runs ``--factor`` times faster for the bot's pacing and the emulator's record alike.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from typing import Any
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bot.github.client import BotGitHubAPI
from bot.github.pacing import Gate, ScaledClock
from tests.support.world import HEAD_SOURCE, MODULE_PATH, World, make_world


def busiest(times: list[float], window: float) -> int:
    return max((sum(1 for t in times if s <= t < s + window) for s in times), default=0)


async def backlog(prs: int, factor: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with make_world(f"sqlite:///{tmp}/bot.sqlite3") as world:
            clock = _compress(world, factor)
            world.emu.write_limit = (80, 60.0)
            start = clock.time()
            for i in range(prs):
                world.open_pr({MODULE_PATH: HEAD_SOURCE}, branch=f"b{i}")
            await world.idle(timeout=600)
            writes = world.emu.write_times(world.installation)
            span = max(writes) - start if writes else 0.0
            limited = sum(1 for r in world.emu.requests if r.status in (403, 429))
            print(f"backlog of {prs} PRs: {len(writes)} writes in {span:.0f} s (virtual)")
            print(f"  busiest minute: {busiest(writes, 60)} writes (GitHub's limit: 80)")
            print(f"  busiest second: {busiest(writes, 1)} writes")
            print(f"  mean: {len(writes) / max(span, 1e-9) * 60:.1f} writes a minute")
            print(f"  secondary limits hit: {limited}")


async def secondary_limit(factor: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with make_world(f"sqlite:///{tmp}/bot.sqlite3") as world:
            clock = _compress(world, factor)
            sends: list[float] = []  # when the bot sent each request (its clock)
            paused: list[float] = []  # when the bot learned of the limit
            send, pause = BotGitHubAPI._send, Gate.pause

            async def stamp_send(self: BotGitHubAPI, *args: Any) -> Any:
                sends.append(clock.time())
                return await send(self, *args)

            async def stamp_pause(self: Gate, *args: Any) -> float:
                paused.append(clock.time())
                return await pause(self, *args)

            world.emu.faults.secondary_limit(method="POST", path=r"/issues/\d+/comments$")
            with (
                mock.patch.object(BotGitHubAPI, "_send", stamp_send),
                mock.patch.object(Gate, "pause", stamp_pause),
            ):
                for i in range(4):
                    world.open_pr({MODULE_PATH: HEAD_SOURCE}, branch=f"s{i}")
                while not paused:
                    await asyncio.sleep(0.01)
                gate = world.state.github.pacing.gate(world.installation)  # type: ignore[union-attr]
                until = gate.pause_until
                while clock.time() < until:
                    await asyncio.sleep(0.01)
            (hit,) = [r for r in world.emu.requests if r.status == 403]
            # Requests already sent when the 403 reached the bot may still arrive after it.
            arrived = [r for r in world.emu.requests if hit.answered_at < r.at < until]
            sent = [t for t in sends if paused[0] < t < until]
            await world.make_due()
            await world.idle(timeout=600)
            print(f"secondary limit without Retry-After: paused {until - paused[0]:.0f} s")
            print(f"  requests the bot sent during the pause: {len(sent)}")
            print(f"  arrived at GitHub after the 403 was answered: {len(arrived)}")
            for r in arrived:
                print(f"    {r.method} {r.path} {r.status} at +{r.at - hit.answered_at:.2f} s")


def _compress(world: World, factor: float) -> ScaledClock:
    clock = ScaledClock(factor)
    world.emu.clock = clock.time
    assert world.state.github is not None
    world.state.github.pacing.use_clock(clock)
    return clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=20)
    parser.add_argument("--factor", type=float, default=40.0)
    args = parser.parse_args()
    asyncio.run(backlog(args.prs, args.factor))
    asyncio.run(secondary_limit(args.factor))


if __name__ == "__main__":
    main()
