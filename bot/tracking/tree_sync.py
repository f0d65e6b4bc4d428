"""Bring the stored state of a repository's default branch up to one commit, through the API.

The tree of the commit is listed with GET /repos/{o}/{r}/git/trees/{sha}?recursive=1 (one call;
when GitHub truncates it, the needed folders are walked instead). Its tracked entries are
compared with what is cached by blob sha: only blobs never analysed before are fetched
(GET /git/blobs/{sha}) and analysed. Comparing whole trees rather than the push's commit list
makes force-pushes and pushes of more than 20 commits (GitHub lists at most 20) come out right.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gidgethub.abc import GitHubAPI

from bot.analysis.model import FileReport
from bot.store.db import Database
from bot.tracking.analysis_cache import (
    WALK_ROOTS,
    Analyzer,
    CoreAnalyzer,
    build_tree,
    decode_text,
    is_source,
    is_tracked,
    load_cached,
    prune_cached,
    store_cached,
)
from bot.tracking.snapshots import get_snapshot, save_snapshot
from bot.tracking.state import Snapshot, format_time, parse_time, snapshot_from_tree

log = logging.getLogger(__name__)

BLOB_CONCURRENCY = 8
PROCESS_POOL_MIN = 64  # files; below this, process start-up costs more than it saves


class TrackingError(Exception):
    """The commit could not be analysed (a malformed API answer); the message says why."""


@dataclass(frozen=True)
class UpdateResult:
    snapshot: Snapshot
    previous: Snapshot | None  # the snapshot of the commit analysed before this one
    changed_paths: tuple[str, ...]  # tracked paths whose blob differs from the previous head
    analysed: int  # source files analysed now (their blob was not in the cache)
    entries: dict[str, str] = field(default_factory=dict)  # tracked path -> blob sha
    analyzer: str = ""


async def _tree(gh: GitHubAPI, repo: str, sha: str, recursive: bool) -> dict[str, Any]:
    url = f"/repos/{repo}/git/trees/{sha}" + ("?recursive=1" if recursive else "")
    data = await gh.getitem(url)
    if not isinstance(data, dict) or not isinstance(data.get("tree"), list):
        raise TrackingError(f"GET {url}: unexpected answer (no 'tree' list)")
    return data


def _is_blob(e: Any) -> bool:
    return (
        isinstance(e, dict)
        and e.get("type") == "blob"
        and isinstance(e.get("path"), str)
        and isinstance(e.get("sha"), str)
    )


async def _walk(gh: GitHubAPI, repo: str, sha: str, prefix: str, out: dict[str, str]) -> None:
    """Every blob below tree ``sha``; recursive listing first, folder by folder if truncated."""
    data = await _tree(gh, repo, sha, recursive=True)
    if not data.get("truncated"):
        for e in data["tree"]:
            if _is_blob(e):
                out[prefix + e["path"]] = e["sha"]
        return
    data = await _tree(gh, repo, sha, recursive=False)
    for e in data["tree"]:
        if _is_blob(e):
            out[prefix + e["path"]] = e["sha"]
        elif isinstance(e, dict) and e.get("type") == "tree" and isinstance(e.get("sha"), str):
            await _walk(gh, repo, e["sha"], f"{prefix}{e['path']}/", out)


async def tracked_entries(gh: GitHubAPI, repo: str, sha: str) -> dict[str, str]:
    """path -> blob sha of the tracked files of commit ``sha``."""
    data = await _tree(gh, repo, sha, recursive=True)
    found: dict[str, str] = {}
    if not data.get("truncated"):
        for e in data["tree"]:
            if _is_blob(e):
                found[e["path"]] = e["sha"]
    else:
        log.info("%s@%s: tree listing truncated, walking the needed folders", repo, sha[:10])
        for root in WALK_ROOTS:
            sub = await _subtree_sha(gh, repo, sha, root)
            if sub is not None:
                await _walk(gh, repo, sub, root + "/", found)
    return {p: s for p, s in found.items() if is_tracked(p)}


async def _subtree_sha(gh: GitHubAPI, repo: str, sha: str, path: str) -> str | None:
    current = sha
    for part in path.split("/"):
        data = await _tree(gh, repo, current, recursive=False)
        match = [
            e
            for e in data["tree"]
            if isinstance(e, dict) and e.get("path") == part and e.get("type") == "tree"
        ]
        if not match:
            return None
        current = match[0]["sha"]
    return current


async def fetch_blob(gh: GitHubAPI, repo: str, sha: str) -> bytes:
    data = await gh.getitem(f"/repos/{repo}/git/blobs/{sha}")
    content = data.get("content") if isinstance(data, dict) else None
    if not isinstance(content, str):
        raise TrackingError(f"blob {sha} of {repo}: no content in the answer")
    if data.get("encoding", "base64") == "base64":
        try:
            return base64.b64decode(content)
        except (binascii.Error, ValueError) as exc:
            raise TrackingError(f"blob {sha} of {repo}: invalid base64: {exc}") from exc
    return content.encode("utf-8")


async def commit_time(gh: GitHubAPI, repo: str, sha: str) -> datetime:
    data = await gh.getitem(f"/repos/{repo}/git/commits/{sha}")
    try:
        return parse_time(data["committer"]["date"])
    except (KeyError, TypeError, ValueError):
        return datetime.now(UTC)


def default_analyzer() -> Analyzer:
    """The analyser used when none is given (tests substitute theirs here)."""
    return CoreAnalyzer()


def _core_analyze(item: tuple[str, bytes]) -> FileReport:
    from bot.analysis import analyze_file

    return analyze_file(item[0], item[1])


def _analyse_in_processes(items: list[tuple[str, bytes]]) -> list[FileReport]:
    # "spawn": the service process runs threads (event loop, executors); forking it is unsafe.
    workers = min(os.cpu_count() or 1, 4)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        return list(pool.map(_core_analyze, items, chunksize=16))


async def _analyse_missing(
    gh: GitHubAPI,
    repo: str,
    missing: list[tuple[str, str]],
    analyzer: Analyzer,
) -> dict[tuple[str, str], FileReport | str]:
    sem = asyncio.Semaphore(BLOB_CONCURRENCY)

    async def fetch(key: tuple[str, str]) -> tuple[tuple[str, str], bytes]:
        async with sem:
            return key, await fetch_blob(gh, repo, key[0])

    blobs = await asyncio.gather(*(fetch(k) for k in missing))
    out: dict[tuple[str, str], FileReport | str] = {
        k: decode_text(d) for k, d in blobs if not is_source(k[1])
    }
    sources = [(k, d) for k, d in blobs if is_source(k[1])]
    items = [(k[1], d) for k, d in sources]
    # The analysis is CPU-bound: off the event loop (webhook intake stays responsive), and for
    # a whole tree (first sync, new analyser version) on all cores.
    if len(items) >= PROCESS_POOL_MIN and isinstance(analyzer, CoreAnalyzer):
        reports = await asyncio.to_thread(_analyse_in_processes, items)
    else:
        reports = await asyncio.to_thread(lambda: [analyzer.analyze(p, d) for p, d in items])
    out.update((k, r) for (k, _), r in zip(sources, reports, strict=True))
    return out


async def _previous_head(db: Database, repo: str) -> str | None:
    row = await db.fetchone("SELECT sha FROM tracking_heads WHERE repo = ?", (repo,))
    return str(row["sha"]) if row else None


async def update_repository(
    gh: GitHubAPI,
    db: Database,
    repo: str,
    sha: str,
    *,
    committed_at: datetime | None = None,
    source: str = "push",
    analyzer: Analyzer | None = None,
    advance: bool = True,
) -> UpdateResult:
    """Analyse commit ``sha`` of ``repo`` (reusing cached blobs) and store its snapshot.

    With ``advance=False`` the head is not moved: the caller calls ``advance_head`` once its
    own follow-up work (attribution) is stored, so a failure there is retried in full."""
    analyzer = analyzer or default_analyzer()
    entries = await tracked_entries(gh, repo, sha)
    prev_sha = await _previous_head(db, repo)
    previous = await get_snapshot(db, repo, prev_sha) if prev_sha else None
    old_files = {
        r["path"]: r["blob_sha"]
        for r in await db.fetchall(
            "SELECT path, blob_sha FROM tracking_tree_files WHERE repo = ?", (repo,)
        )
    }
    changed = tuple(
        sorted(p for p in set(entries) | set(old_files) if entries.get(p) != old_files.get(p))
    )
    keys = [(s, p) for p, s in entries.items()]
    cached = await load_cached(db, keys, analyzer.version)
    missing = [k for k in keys if k not in cached]
    if missing:
        fresh = await _analyse_missing(gh, repo, missing, analyzer)
        await store_cached(db, fresh, analyzer.version)
        cached.update(fresh)
    if committed_at is None:
        committed_at = await commit_time(gh, repo, sha)
    tree = await asyncio.to_thread(
        build_tree, analyzer, {p: cached[(s, p)] for p, s in entries.items()}
    )
    snap = snapshot_from_tree(repo, sha, committed_at, tree, source=source)
    await save_snapshot(db, snap)
    log.info(
        "%s@%s: %d tracked files, %d changed, %d analysed",
        repo,
        sha[:10],
        len(entries),
        len(changed),
        len(missing),
    )
    result = UpdateResult(
        snap, previous, changed, sum(is_source(p) for _, p in missing), entries, analyzer.version
    )
    if advance:
        await advance_head(db, result)
    return result


async def advance_head(db: Database, result: UpdateResult) -> None:
    """Make the analysed commit the repository's head: the base of the next comparison."""
    snap = result.snapshot
    now = format_time(datetime.now(UTC))
    async with db.transaction() as tx:
        # Only the paths that changed (computed against this table, under the repo's lock).
        for path in result.changed_paths:
            blob = result.entries.get(path)
            if blob is None:
                await tx.execute(
                    "DELETE FROM tracking_tree_files WHERE repo = ? AND path = ?",
                    (snap.repo, path),
                )
            else:
                await tx.execute(
                    "INSERT INTO tracking_tree_files (repo, path, blob_sha) VALUES (?, ?, ?) "
                    "ON CONFLICT (repo, path) DO UPDATE SET blob_sha = excluded.blob_sha",
                    (snap.repo, path, blob),
                )
        await tx.execute(
            "INSERT INTO tracking_heads (repo, sha, analyzer, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (repo) DO UPDATE SET sha = excluded.sha, analyzer = excluded.analyzer, "
            "updated_at = excluded.updated_at",
            (snap.repo, snap.sha, result.analyzer, now),
        )
    if result.analysed:
        await prune_cached(db, result.analyzer)
