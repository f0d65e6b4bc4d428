"""The analysis cache the PR check and tracking share, and the one way analysis leaves the loop.

The analysis of a file depends only on its bytes, its path and the analyser, so an entry is
kept under (blob sha, path, analyser version): the same header on base and head, the same file
in consecutive pushes, every later sync analyse only blobs never seen. ``AnalysisCache`` is an
in-memory LRU in front of the store's table (``tracking_blob_reports``), so another replica or
a restarted service reuses what was analysed before. An entry is a ``FileReport``, or the text
of a non-source file a caller keeps beside the reports (tracking's TSV files). A report skipped
for the time limit is never kept: it is a verdict about a busy moment, not about the blob.

``run_analysis`` is the only way analysis runs: off the event loop (webhook intake stays
responsive), in one worker thread for a few files, in processes for a whole tree; files over
``BIG_FILE_BYTES`` take turns (input built to hurt can make tree-sitter use ~150 bytes per
byte: 650 MB at the 4 MiB size limit, bench/hostile_sources.py).

A cache belongs to its owner (the running service); nothing here is process-global except the
big-file turn, which guards this process's memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from cachetools import LRUCache

from bot.analysis import MAX_FILE_BYTES, timed_out
from bot.analysis.fingerprint import analyser_version
from bot.analysis.model import FileReport, TreeReport
from bot.store.db import Database, format_time
from bot.telemetry import metrics

log = logging.getLogger(__name__)

# A report of a CPython C file takes about 5 KB in memory: 5,000 entries (~25 MB) hold a whole
# tree and the open PRs' files, and keep one serve process under its 150 MB budget (a miss is
# one store read, not an analysis).
MEMORY_ENTRIES = 5_000
# Files over this size are analysed one at a time (CPython has two files over 1 MiB).
BIG_FILE_BYTES = 1024 * 1024
PROCESS_POOL_MIN = 64  # files; below this, process start-up costs more than it saves
# Reports of blobs no tracked tree uses any more are kept this long (reverts, late pushes).
CACHE_KEEP_DAYS = 90

_RAW = "raw-text"  # store rows holding a file's text instead of a report
_CHUNK = 200  # keys per IN (...) query: well under SQLite's parameter limit
_big_files = threading.BoundedSemaphore(1)

Key = tuple[str, str]  # (blob sha, path)
Entry = FileReport | str


class Analyzer(Protocol):
    """The analysis core as its callers use it (injectable so tests can count calls)."""

    version: str

    def analyze(self, path: str, data: bytes) -> FileReport: ...

    def tree(
        self, reports: list[FileReport], ignored_tsv: str | None, globals_to_fix_tsv: str | None
    ) -> TreeReport: ...


core_version = analyser_version  # the analyser's identity, defined by the core


@dataclass
class CoreAnalyzer:
    """bot.analysis.analyze_file / build_tree_report."""

    version: str = field(default_factory=core_version)

    def analyze(self, path: str, data: bytes) -> FileReport:
        from bot.analysis import analyze_file  # looked up per call: tests substitute it

        return analyze_file(path, data)

    def tree(
        self, reports: list[FileReport], ignored_tsv: str | None, globals_to_fix_tsv: str | None
    ) -> TreeReport:
        from bot.analysis import build_tree_report

        # The TSVs are cached as text (TEXT column); the core parses bytes.
        return build_tree_report(
            ".",
            reports,
            ignored_tsv=ignored_tsv.encode() if ignored_tsv is not None else None,
            globals_to_fix_tsv=(
                globals_to_fix_tsv.encode() if globals_to_fix_tsv is not None else None
            ),
        )


# --- running the analysis -------------------------------------------------------------------


def _analyze_bounded(analyzer: Analyzer, path: str, data: bytes) -> FileReport:
    """In a worker thread: big files wait for each other (a thread lock, not an asyncio one:
    it works whatever event loop runs the analysis)."""
    started = time.perf_counter()
    try:
        if BIG_FILE_BYTES < len(data) <= MAX_FILE_BYTES:
            with _big_files:
                return analyzer.analyze(path, data)
        return analyzer.analyze(path, data)
    finally:
        metrics.observe_analysis(time.perf_counter() - started)


def core_analyze_item(item: tuple[str, bytes]) -> FileReport:
    """The real core on one (path, bytes) item: what process pools map over (picklable)."""
    from bot.analysis import analyze_file

    return analyze_file(item[0], item[1])


def analyse_in_processes(
    items: Sequence[tuple[str, bytes]], workers: int | None = None, chunksize: int = 16
) -> list[FileReport]:
    """The real core over many files on several cores (blocking; call it off the loop)."""
    # "spawn": the service process runs threads (event loop, executors); forking it is unsafe.
    workers = workers or min(os.cpu_count() or 1, 4)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        return list(pool.map(core_analyze_item, items, chunksize=chunksize))


async def run_analysis(analyzer: Analyzer, items: Sequence[tuple[str, bytes]]) -> list[FileReport]:
    """Analyse (path, bytes) items off the event loop; reports in the same order.

    A whole tree's worth with the real core (first sync, new analyser version) goes to a
    process pool; anything else runs in one worker thread, big files taking turns."""
    if not items:
        return []
    if len(items) >= PROCESS_POOL_MIN and isinstance(analyzer, CoreAnalyzer):
        return await asyncio.to_thread(analyse_in_processes, items)
    return await asyncio.to_thread(lambda: [_analyze_bounded(analyzer, p, d) for p, d in items])


# --- the store behind the memory ------------------------------------------------------------


async def load_cached(db: Database, keys: Iterable[Key], analyzer: str) -> dict[Key, Entry]:
    """Stored entries for (blob sha, path) keys: a FileReport, or a file's text."""
    wanted = set(keys)
    shas = sorted({sha for sha, _ in wanted})
    found: dict[Key, Entry] = {}
    for i in range(0, len(shas), _CHUNK):
        chunk = shas[i : i + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows = await db.fetchall(
            "SELECT blob_sha, path, analyzer, report FROM tracking_blob_reports "
            f"WHERE analyzer IN (?, ?) AND blob_sha IN ({marks})",
            (analyzer, _RAW, *chunk),
        )
        for r in rows:
            key = (r["blob_sha"], r["path"])
            if key not in wanted:
                continue
            if r["analyzer"] == _RAW:
                found[key] = r["report"]
                continue
            try:
                found[key] = FileReport.from_dict(json.loads(r["report"]))
            except (ValueError, KeyError, TypeError):
                continue  # a damaged row is just a cache miss: analysed again
    return found


async def store_cached(db: Database, entries: Mapping[Key, Entry], analyzer: str) -> None:
    now = format_time(datetime.now(UTC))
    items = [(k, v) for k, v in entries.items() if not (isinstance(v, FileReport) and timed_out(v))]
    for i in range(0, len(items), _CHUNK):
        async with db.transaction() as tx:
            for (sha, path), value in items[i : i + _CHUNK]:
                if isinstance(value, str):
                    kind, text = _RAW, value
                else:
                    kind, text = analyzer, json.dumps(value.to_dict(), separators=(",", ":"))
                await tx.execute(
                    "INSERT INTO tracking_blob_reports (blob_sha, path, analyzer, report, "
                    "created_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (blob_sha, path, analyzer) DO NOTHING",
                    (sha, path, kind, text, now),
                )


async def prune_cached(db: Database, analyzer: str, *, now: datetime | None = None) -> int:
    """Drop other analyser versions' reports, and old reports no tracked tree uses.

    Only a cache: a dropped entry is analysed again when needed. Returns rows deleted."""
    cutoff_text = format_time((now or datetime.now(UTC)) - timedelta(days=CACHE_KEEP_DAYS))
    n = await db.execute(
        "DELETE FROM tracking_blob_reports WHERE analyzer <> ? AND analyzer <> ?",
        (analyzer, _RAW),
    )
    n += await db.execute(
        "DELETE FROM tracking_blob_reports WHERE created_at < ? AND NOT EXISTS ("
        "SELECT 1 FROM tracking_tree_files t WHERE t.blob_sha = tracking_blob_reports.blob_sha"
        " AND t.path = tracking_blob_reports.path)",
        (cutoff_text,),
    )
    return n


# --- the cache ------------------------------------------------------------------------------


class AnalysisCache:
    """An in-memory LRU in front of the store's entries, keyed by (blob sha, path, analyser)."""

    def __init__(self, *, entries: int = MEMORY_ENTRIES) -> None:
        self.memory: LRUCache[tuple[str, str, str], Entry] = LRUCache(maxsize=entries)

    def clear(self) -> None:
        """Forget the in-memory entries (the benchmark's cold-cache figure)."""
        self.memory.clear()

    def cached(self, sha: str, path: str, analyzer: str | None = None) -> Entry | None:
        """The in-memory entry, if any (``analyzer`` defaults to the real core's version)."""
        return self.memory.get((sha, path, analyzer or core_version()))

    def _remember(self, entries: Mapping[Key, Entry], analyzer: str) -> None:
        for (sha, path), value in entries.items():
            if not (isinstance(value, FileReport) and timed_out(value)):
                self.memory[(sha, path, analyzer)] = value

    async def load(self, db: Database, keys: Iterable[Key], analyzer: str) -> dict[Key, Entry]:
        """Entries for the keys that have one: memory first, then the store."""
        found: dict[Key, Entry] = {}
        missing: list[Key] = []
        for sha, path in keys:
            value = self.memory.get((sha, path, analyzer))
            if value is None:
                missing.append((sha, path))
            else:
                found[(sha, path)] = value
        if missing:
            stored = await load_cached(db, missing, analyzer)
            self._remember(stored, analyzer)
            found.update(stored)
        return found

    async def save(self, db: Database, entries: Mapping[Key, Entry], analyzer: str) -> None:
        """Keep entries in memory and in the store (time-limit skips in neither)."""
        self._remember(entries, analyzer)
        await store_cached(db, entries, analyzer)

    async def report(
        self,
        db: Database,
        sha: str,
        path: str,
        read: Callable[[], Awaitable[bytes]],
        analyzer: Analyzer | None = None,
    ) -> FileReport:
        """The analysis of blob ``sha`` as file ``path``; ``read`` fetches its bytes on a miss."""
        analyzer = analyzer or CoreAnalyzer()
        key = (sha, path)
        hit = (await self.load(db, [key], analyzer.version)).get(key)
        if isinstance(hit, FileReport):
            return hit
        data = await read()
        (result,) = await run_analysis(analyzer, [(path, data)])
        await self.save(db, {key: result}, analyzer.version)
        return result
