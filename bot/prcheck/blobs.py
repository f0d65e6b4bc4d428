"""Blob contents and their analysis, fetched once per SHA and cached for the process.

Blobs are immutable, so a blob SHA is a perfect cache key: the same header on base and head,
the same file in consecutive pushes, the same base in every PR are all fetched and analysed
once. The analysis is cached per (blob SHA, path) because findings carry the path.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from cachetools import LRUCache
from gidgethub.abc import GitHubAPI

from bot.analysis import MAX_FILE_BYTES, timed_out
from bot.analysis.model import FileReport
from bot.analysis.paths import SOURCE_SUFFIXES

BLOB_CACHE_BYTES = 64 * 1024 * 1024
REPORT_CACHE_ENTRIES = 20_000
TREE_CACHE_ENTRIES = 64
# Files over this size are analysed one at a time: input built to hurt can make tree-sitter
# use ~150 bytes per byte (650 MB at the 4 MiB size limit, bench/hostile_sources.py), and the
# check analyses up to 8 files at once. CPython has two files over 1 MiB.
BIG_FILE_BYTES = 1024 * 1024
_big_files = threading.BoundedSemaphore(1)

_blobs: LRUCache[str, bytes] = LRUCache(maxsize=BLOB_CACHE_BYTES, getsizeof=len)
_reports: LRUCache[tuple[str, str], FileReport] = LRUCache(maxsize=REPORT_CACHE_ENTRIES)
# tree sha -> {path: blob sha} for C files (the full listing of CPython is ~1 MB, kept lean).
_trees: LRUCache[str, dict[str, str]] = LRUCache(maxsize=TREE_CACHE_ENTRIES)


class BlobError(Exception):
    """A blob could not be read (bad encoding, missing)."""


def clear_caches() -> None:
    """Forget everything (tests, and the benchmark's cold-cache figure)."""
    _blobs.clear()
    _reports.clear()
    _trees.clear()


def _decode_blob(data: Mapping[str, Any]) -> bytes:
    content = data.get("content")
    encoding = data.get("encoding", "base64")
    if not isinstance(content, str):
        raise BlobError("blob has no content")
    if encoding == "base64":
        try:
            return base64.b64decode(content)
        except (binascii.Error, ValueError) as exc:
            raise BlobError(f"blob content is not valid base64: {exc}") from exc
    return content.encode("utf-8")


async def blob(gh: GitHubAPI, repo: str, sha: str) -> bytes:
    """The blob's bytes, through the BASE repository's API (forks share its object store)."""
    cached = _blobs.get(sha)
    if cached is not None:
        return cached
    data = await gh.getitem(f"/repos/{repo}/git/blobs/{quote(sha, safe='')}")
    content = _decode_blob(data)
    if len(content) <= MAX_FILE_BYTES:  # a huge blob would evict every other (and is skipped)
        _blobs[sha] = content
    return content


async def report(gh: GitHubAPI, repo: str, sha: str, path: str) -> FileReport:
    """The analysis of blob ``sha`` as file ``path`` (analysis runs in a worker thread)."""
    key = (sha, path)
    cached = _reports.get(key)
    if cached is not None:
        return cached
    from bot.analysis import analyze_file
    from bot.telemetry import metrics

    data = await blob(gh, repo, sha)
    started = time.perf_counter()
    result = await asyncio.get_running_loop().run_in_executor(
        None, _analyze_bounded, analyze_file, path, data
    )
    metrics.observe_analysis(time.perf_counter() - started)
    if not timed_out(result):  # a time-limit skip may not happen on a quieter moment
        _reports[key] = result
    return result


def _analyze_bounded(
    analyze: Callable[[str, bytes], FileReport], path: str, data: bytes
) -> FileReport:
    """In the executor thread: big files wait for each other (a thread lock, not an asyncio
    one: it works whatever event loop runs the check)."""
    if BIG_FILE_BYTES < len(data) <= MAX_FILE_BYTES:
        with _big_files:
            return analyze(path, data)
    return analyze(path, data)


def cached_report(sha: str, path: str) -> FileReport | None:
    return _reports.get((sha, path))


async def tree_blob_shas(gh: GitHubAPI, repo: str, tree_sha: str) -> dict[str, str] | None:
    """{path: blob sha} of the C files of a tree (one recursive call, cached by tree SHA).

    None when GitHub truncated the listing (callers then ask per file)."""
    cached = _trees.get(tree_sha)
    if cached is not None:
        return cached
    data = await gh.getitem(f"/repos/{repo}/git/trees/{quote(tree_sha, safe='')}?recursive=1")
    if data.get("truncated"):
        return None
    shas = {
        str(e["path"]): str(e["sha"])
        for e in data.get("tree", [])
        if e.get("type") == "blob" and str(e.get("path", "")).endswith(SOURCE_SUFFIXES)
    }
    _trees[tree_sha] = shas
    return shas


async def contents_sha(gh: GitHubAPI, repo: str, path: str, ref: str) -> str | None:
    """The blob sha of ``path`` at ``ref`` (fallback when the tree listing was truncated)."""
    from gidgethub import BadRequest

    try:
        data = await gh.getitem(
            f"/repos/{repo}/contents/{quote(path, safe='/')}?ref={quote(ref, safe='')}"
        )
    except BadRequest as exc:
        if exc.status_code == 404:
            return None
        raise
    if isinstance(data, Mapping) and data.get("type") == "file":
        return str(data["sha"])
    return None
