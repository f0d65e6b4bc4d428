"""Giving freed memory back to the system (bot.service.memory)."""

from __future__ import annotations

import threading

import pytest

from bot.service.memory import MemoryTrimmer, resident_bytes, run_periodically, settle_heap

GLIBC = MemoryTrimmer.from_c_library().available


@pytest.mark.skipif(not GLIBC, reason="the C library has no malloc_trim (not glibc)")
def test_trim_returns_pages_that_freed_objects_left_resident() -> None:
    # 60 MB of blocks too large for CPython's own allocator, every hundredth kept: glibc
    # cannot give the holes back by itself, the resident size stays up until a trim.
    blocks = [bytes(1000) + bytes([i % 256]) for i in range(60_000)]
    keep = blocks[::100]
    del blocks
    before = resident_bytes()
    released = MemoryTrimmer.from_c_library().trim()
    after = resident_bytes()
    assert before is not None and after is not None and released is not None
    assert released > 20 * 2**20, (before, after)
    assert len(keep) == 600


def test_without_malloc_trim_nothing_is_called() -> None:
    trimmer = MemoryTrimmer(None)
    assert not trimmer.available
    assert trimmer.trim() is None


async def test_trims_on_its_interval_in_a_thread_and_survives_a_failure() -> None:
    calls: list[str] = []
    waits: list[float] = []
    loop_thread = threading.current_thread()

    def trim(pad: int) -> int:
        # Off the event loop's thread: a trim walks every arena.
        calls.append("loop thread" if threading.current_thread() is loop_thread else "called")
        if len(calls) == 1:
            raise OSError("simulated")
        return 1

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    await run_periodically(30.0, MemoryTrimmer(trim), sleep=sleep, passes=3)
    assert calls == ["called"] * 3  # the first failure is logged, the next passes still run
    assert waits == [30.0] * 3


async def test_zero_interval_or_no_trim_never_trims() -> None:
    calls: list[int] = []

    def trim(pad: int) -> int:
        calls.append(pad)
        return 1

    async def sleep(seconds: float) -> None:
        raise AssertionError("should not wait")

    await run_periodically(0.0, MemoryTrimmer(trim), sleep=sleep, passes=3)
    await run_periodically(60.0, MemoryTrimmer(None), sleep=sleep, passes=3)
    assert calls == []


def test_settle_heap_freezes_what_start_up_left_alive() -> None:
    import gc

    try:
        frozen = settle_heap()
        assert frozen > 1000 and gc.get_freeze_count() == frozen
        # Cycles made afterwards are still collected.
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
