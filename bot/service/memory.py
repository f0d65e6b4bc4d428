"""The service process's memory: freed memory back to the system (glibc's ``malloc_trim``),
and the start-up heap kept out of the garbage collector's full passes (``settle_heap``).

Objects the service frees go back to CPython's allocator and to glibc, and glibc keeps freed
chunks inside its arenas (one per thread that allocated: the analysis threads, SQLite's
thread, the event loop), returning pages to the system only when the very top of a heap is
free. So after a first sync or a tree-wide pull request a replica's resident size stays near
its high-water mark, and as the arenas fragment under steady traffic it creeps upward
although the live data does not grow (bench/soak.py measured the Python heap flat while the
RSS rose). ``malloc_trim(0)`` hands every wholly free page back (``madvise``): on a soak
replica it released 16 MiB at once. Dask's workers do the same for the same reason.

Other C libraries (musl, macOS) have no ``malloc_trim``: trimming is then a no-op.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

_PAGE = 4096


def _load_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the C library already loaded into the process
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)  # glibc only
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def settle_heap() -> int:
    """Collect, then freeze what is alive (``gc.freeze``): call it once the service has
    started. The modules, classes and functions loaded at start-up (well over 100,000
    objects) then never take part in a full collection again; such a collection stops every
    request in flight, and bench/webhooks.py measured 23-33 ms for one when it still walked
    them. Frozen objects are still freed when no longer referenced; only cycles among them
    would stay, and start-up leaves none once the collection ran. Returns the number frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def resident_bytes() -> int | None:
    """The process's resident set size, from /proc (None where there is no /proc)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class MemoryTrimmer:
    """Calls ``trim(0)`` (glibc's ``malloc_trim``: :meth:`from_c_library`) on demand;
    ``available`` says whether there is one."""

    def __init__(self, trim: Callable[[int], int] | None) -> None:
        self._trim = trim

    @classmethod
    def from_c_library(cls) -> MemoryTrimmer:
        return cls(_load_trim())

    @property
    def available(self) -> bool:
        return self._trim is not None

    def trim(self) -> int | None:
        """Release free pages; the bytes the resident size dropped by (None: not available
        or not measurable)."""
        if self._trim is None:
            return None
        before = resident_bytes()
        self._trim(0)
        after = resident_bytes()
        if before is None or after is None:
            return None
        return before - after


async def run_periodically(
    every: float,
    trimmer: MemoryTrimmer | None = None,
    *,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    passes: int | None = None,
) -> None:
    """Trim every ``every`` seconds (in a thread: a trim walks every arena, which would stall
    the event loop for milliseconds); forever, or ``passes`` times for tests. Does nothing
    when ``every`` is 0 or the C library cannot trim. Ends only when cancelled."""
    trimmer = trimmer if trimmer is not None else MemoryTrimmer.from_c_library()
    if every <= 0 or not trimmer.available:
        return
    done = 0
    while passes is None or done < passes:
        await sleep(every)
        try:
            released = await asyncio.to_thread(trimmer.trim)
        except asyncio.CancelledError:
            raise
        except Exception:  # never fatal: the service runs on, only larger
            log.exception("giving free memory back to the system failed")
        else:
            if released:
                log.debug("gave %.1f MiB of free memory back to the system", released / 2**20)
        done += 1
