"""Bring the stored state of a repository's default branch up to one commit, through the API.

The tree of the commit is listed with GET /repos/{o}/{r}/git/trees/{sha}?recursive=1 (one call;
when GitHub truncates it, the needed folders are walked instead). Its tracked entries are
compared with what is cached by blob sha: only blobs never analysed before are read and
analysed. Many of them (a first sync, a full re-sync after an analyser change) are read from
the commit's tarball as it streams in (GET .../tarball/{sha}, one call and a download);
a few, or all when the archive is refused, one call each (GET /git/blobs/{sha}).
Comparing whole trees rather than the push's commit list makes force-pushes and pushes of
more than 20 commits (GitHub lists at most 20) come out right.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gidgethub.abc import GitHubAPI

from bot.github import gitdata
from bot.store.analysis_cache import (
    AnalysisCache,
    Analyzer,
    CoreAnalyzer,
    Entry,
    Key,
    prune_cached,
    run_analysis,
)
from bot.store.db import Database
from bot.tracking.snapshots import get_snapshot, save_snapshot
from bot.tracking.state import Snapshot, format_time, parse_time, snapshot_from_tree
from bot.tracking.tracked import WALK_ROOTS, build_tree, decode_text, is_source, is_tracked

log = logging.getLogger(__name__)

BLOB_CONCURRENCY = 8
# From this many files to read on, one archive download costs fewer calls than a call each.
ARCHIVE_MIN_FILES = 40


@dataclass(frozen=True)
class UpdateResult:
    snapshot: Snapshot
    previous: Snapshot | None  # the snapshot of the commit analysed before this one
    changed_paths: tuple[str, ...]  # tracked paths whose blob differs from the previous head
    analysed: int  # source files analysed now (their blob was not in the cache)
    entries: dict[str, str] = field(default_factory=dict)  # tracked path -> blob sha
    analyzer: str = ""


async def tracked_entries(gh: GitHubAPI, repo: str, sha: str) -> dict[str, str]:
    """path -> blob sha of the tracked files of commit ``sha``."""
    found, truncated = await gitdata.blobs_under(gh, repo, sha, WALK_ROOTS)
    if truncated:
        log.info("%s@%s: tree listing truncated, walked the needed folders", repo, sha[:10])
    return {p: s for p, s in found.items() if is_tracked(p)}


async def commit_time(gh: GitHubAPI, repo: str, sha: str) -> datetime:
    data = await gh.getitem(f"/repos/{repo}/git/commits/{sha}")
    try:
        return parse_time(data["committer"]["date"])
    except (KeyError, TypeError, ValueError):
        return datetime.now(UTC)


def default_analyzer() -> Analyzer:
    """The analyser used when none is given (tests substitute theirs here)."""
    return CoreAnalyzer()


async def _from_archive(gh: GitHubAPI, repo: str, sha: str, missing: list[Key]) -> dict[Key, bytes]:
    """The missing files found in the commit's archive, each checked against its blob sha
    (a file the archive holds differently, e.g. after ``export-subst``, is read as a blob)."""
    by_path = {path: blob for blob, path in missing}
    try:
        files = await gitdata.read_archive(gh, repo, sha, by_path.__contains__)
    except gitdata.ArchiveUnavailable as exc:
        log.info("%s@%s: no archive (%s); reading blob by blob", repo, sha[:10], exc)
        return {}
    found = {
        (by_path[path], path): data
        for path, data in files.items()
        if gitdata.blob_sha(data) == by_path[path]
    }
    log.info(
        "%s@%s: %d of %d files read from the archive", repo, sha[:10], len(found), len(missing)
    )
    return found


async def _analyse_missing(
    gh: GitHubAPI, repo: str, sha: str, missing: list[Key], analyzer: Analyzer
) -> dict[Key, Entry]:
    """Read and analyse the files never analysed before: from the commit's archive when there
    are many (a first sync, a new analyser version: a handful of calls instead of one per
    file), else, and for whatever the archive lacks, blob by blob."""
    got = await _from_archive(gh, repo, sha, missing) if len(missing) >= ARCHIVE_MIN_FILES else {}
    sem = asyncio.Semaphore(BLOB_CONCURRENCY)

    async def fetch(key: Key) -> tuple[Key, bytes]:
        async with sem:
            return key, await gitdata.read_blob(gh, repo, key[0])

    blobs = list(got.items())
    blobs += await asyncio.gather(*(fetch(k) for k in missing if k not in got))
    out: dict[Key, Entry] = {k: decode_text(d) for k, d in blobs if not is_source(k[1])}
    sources = [(k, d) for k, d in blobs if is_source(k[1])]
    reports = await run_analysis(analyzer, [(k[1], d) for k, d in sources])
    out.update((k, r) for (k, _), r in zip(sources, reports, strict=True))
    return out


async def head_sha(db: Database, repo: str) -> str | None:
    """The commit last made the repository's head (``advance_head``), if any."""
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
    cache: AnalysisCache | None = None,
) -> UpdateResult:
    """Analyse commit ``sha`` of ``repo`` (reusing cached blobs) and store its snapshot.

    With ``advance=False`` the head is not moved: the caller calls ``advance_head`` once its
    own follow-up work (attribution) is stored, so a failure there is retried in full.
    ``cache``: the service's analysis cache (a fresh one, the store alone, when None)."""
    analyzer = analyzer or default_analyzer()
    cache = cache if cache is not None else AnalysisCache()
    entries = await tracked_entries(gh, repo, sha)
    prev_sha = await head_sha(db, repo)
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
    cached = await cache.load(db, keys, analyzer.version)
    missing = [k for k in keys if k not in cached]
    if missing:
        fresh = await _analyse_missing(gh, repo, sha, missing, analyzer)
        await cache.save(db, fresh, analyzer.version)
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
