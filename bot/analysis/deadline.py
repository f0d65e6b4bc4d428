"""A wall-clock budget for analysing one file.

The analysis core is otherwise pure; the one impure input is the clock, read only here, so a
caller (or a test) can pass ``Deadline(None)`` for an unlimited run or inject a fake clock.
Why inside the core and not at the edge: the PR check and the tree sync run ``analyze_file``
in worker threads, and a thread cannot be cancelled from outside; an ``asyncio`` timeout
around it would answer on time but leave the thread burning CPU (and memory) until done.
So the analyser checks the budget itself: in tree-sitter's progress callback during the
parse, and between (and inside) its passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

TIMEOUT_REASON_PREFIX = "analysis took longer than "


class AnalysisTimeout(Exception):
    """The file's analysis ran out of time (raised by Deadline.check, caught by analyze_file)."""

    def __init__(self, seconds: float, stage: str) -> None:
        super().__init__(f"{TIMEOUT_REASON_PREFIX}{seconds:g} s (stopped during {stage})")
        self.seconds = seconds
        self.stage = stage


class Deadline:
    """``expired()`` / ``check(stage)`` against ``seconds`` from construction (None: never)."""

    __slots__ = ("_at", "_clock", "seconds")

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._at = None if seconds is None else clock() + seconds

    def expired(self) -> bool:
        return self._at is not None and self._clock() > self._at

    def check(self, stage: str) -> None:
        if self.expired():
            raise AnalysisTimeout(self.seconds or 0.0, stage)


UNLIMITED = Deadline(None)
