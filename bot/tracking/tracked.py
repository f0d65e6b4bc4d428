"""Which files of a tree tracking follows, and the tree report built from their entries.

Tracked: the C sources of the interpreter's module folders, and the c-analyzer TSV files
(kept as text beside the reports, in the shared analysis cache: bot.store.analysis_cache).
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.analysis.model import FileReport, TreeReport
from bot.analysis.paths import SOURCE_SUFFIXES
from bot.analysis.tsv import GLOBALS_TO_FIX_TSV, IGNORED_TSV, TSV_DIR
from bot.store.analysis_cache import Analyzer

SOURCE_DIRS = ("Modules/", "Objects/", "Python/", "PC/")
TSV_FILES = (IGNORED_TSV, GLOBALS_TO_FIX_TSV)
# Top-level folders to walk when GitHub truncates a recursive tree listing.
WALK_ROOTS = ("Modules", "Objects", "Python", "PC", TSV_DIR.rstrip("/"))


def is_source(path: str) -> bool:
    return path.startswith(SOURCE_DIRS) and path.endswith(SOURCE_SUFFIXES)


def is_tracked(path: str) -> bool:
    return path in TSV_FILES or is_source(path)


def decode_text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


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
