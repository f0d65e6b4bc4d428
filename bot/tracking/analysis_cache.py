"""Which files of a tree are tracked, and the store's analysis cache (blob sha -> FileReport).

The analysis of a file depends only on its bytes and its path (and the analyser's version), so
a report is cached under (blob sha, path, analyser version): later pushes, syncs and history
walks analyse only blobs they have never seen.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import bot
from bot.analysis import timed_out
from bot.analysis.model import FileReport, TreeReport
from bot.analysis.paths import SOURCE_SUFFIXES
from bot.store.db import Database
from bot.tracking.state import format_time

SOURCE_DIRS = ("Modules/", "Objects/", "Python/", "PC/")
TSV_DIR = "Tools/c-analyzer/cpython/"
IGNORED_TSV = TSV_DIR + "ignored.tsv"
GLOBALS_TO_FIX_TSV = TSV_DIR + "globals-to-fix.tsv"
TSV_FILES = (IGNORED_TSV, GLOBALS_TO_FIX_TSV)
# Top-level folders to walk when GitHub truncates a recursive tree listing.
WALK_ROOTS = ("Modules", "Objects", "Python", "PC", "Tools/c-analyzer/cpython")

_RAW = "raw-text"  # cache rows holding a TSV file's text instead of a report
_CHUNK = 200  # keys per IN (...) query: well under SQLite's parameter limit


def is_source(path: str) -> bool:
    return path.startswith(SOURCE_DIRS) and path.endswith(SOURCE_SUFFIXES)


def is_tracked(path: str) -> bool:
    return path in TSV_FILES or is_source(path)


class Analyzer(Protocol):
    """The analysis core as tracking uses it (injectable so tests can count calls)."""

    version: str

    def analyze(self, path: str, data: bytes) -> FileReport: ...

    def tree(
        self, reports: list[FileReport], ignored_tsv: str | None, globals_to_fix_tsv: str | None
    ) -> TreeReport: ...


@functools.cache
def core_version() -> str:
    """The package version plus a digest of the analysis core's code: cached reports are
    invalidated by any change of the analyser, released or not."""
    digest = hashlib.sha256()
    root = Path(bot.__file__).parent / "analysis"
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return f"{bot.__version__}+{digest.hexdigest()[:12]}"


@dataclass
class CoreAnalyzer:
    """bot.analysis.analyze_file / build_tree_report."""

    version: str = field(default_factory=core_version)

    def analyze(self, path: str, data: bytes) -> FileReport:
        from bot.analysis import analyze_file

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


def decode_text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


async def load_cached(
    db: Database, keys: Iterable[tuple[str, str]], analyzer: str
) -> dict[tuple[str, str], FileReport | str]:
    """Cached entries for (blob sha, path) keys: a FileReport, or a TSV's text."""
    wanted = set(keys)
    by_sha: dict[str, set[str]] = {}
    for sha, path in wanted:
        by_sha.setdefault(sha, set()).add(path)
    shas = sorted(by_sha)
    found: dict[tuple[str, str], FileReport | str] = {}
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
                if r["path"] in TSV_FILES:
                    found[key] = r["report"]
                continue
            try:
                found[key] = FileReport.from_dict(json.loads(r["report"]))
            except (ValueError, KeyError, TypeError):
                continue  # a damaged row is just a cache miss: analysed again
    return found


async def store_cached(
    db: Database, entries: Mapping[tuple[str, str], FileReport | str], analyzer: str
) -> None:
    now = format_time(datetime.now(UTC))
    items = list(entries.items())
    for i in range(0, len(items), _CHUNK):
        async with db.transaction() as tx:
            for (sha, path), value in items[i : i + _CHUNK]:
                if isinstance(value, FileReport) and timed_out(value):
                    continue  # a verdict about a busy moment, not the blob: analyse again
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


# Reports of blobs no tracked tree uses any more are kept this long (reverts, late pushes).
CACHE_KEEP_DAYS = 90


async def prune_cached(db: Database, analyzer: str, *, now: datetime | None = None) -> int:
    """Drop other analyser versions' reports, and old reports no tracked tree uses.

    Only a cache: a dropped entry is analysed again when needed. Returns rows deleted."""
    cutoff = format_time((now or datetime.now(UTC)) - timedelta(days=CACHE_KEEP_DAYS))
    n = await db.execute(
        "DELETE FROM tracking_blob_reports WHERE analyzer <> ? AND analyzer <> ?",
        (analyzer, _RAW),
    )
    n += await db.execute(
        "DELETE FROM tracking_blob_reports WHERE created_at < ? AND NOT EXISTS ("
        "SELECT 1 FROM tracking_tree_files t WHERE t.blob_sha = tracking_blob_reports.blob_sha"
        " AND t.path = tracking_blob_reports.path)",
        (cutoff,),
    )
    return n


def build_tree(analyzer: Analyzer, entries: Mapping[str, FileReport | str]) -> TreeReport:
    """Tree report from the tracked files of one commit (path -> report, or TSV text)."""
    reports = [v for p, v in sorted(entries.items()) if isinstance(v, FileReport)]
    ignored = entries.get(IGNORED_TSV)
    to_fix = entries.get(GLOBALS_TO_FIX_TSV)
    return analyzer.tree(
        reports,
        ignored if isinstance(ignored, str) else None,
        to_fix if isinstance(to_fix, str) else None,
    )
