"""History from a local clone: the metrics at each point of the default branch's past.

Uses the ``git`` binary only (no network): ``git log --first-parent`` lists the commits,
``git ls-tree -r`` gives each point's blob shas, one long-lived ``git cat-file --batch`` reads
contents. A blob is analysed once for the whole walk (cache by blob sha and path), so a point
costs only the files that changed since the previous one: years of weekly points take minutes.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Literal

from bot.analysis.model import FileReport
from bot.store.analysis_cache import Analyzer, CoreAnalyzer, core_analyze_item
from bot.tracking.events import Change, pr_from_message, state_changes
from bot.tracking.state import Snapshot, format_time, parse_time, snapshot_from_tree
from bot.tracking.tracked import WALK_ROOTS, build_tree, decode_text, is_source, is_tracked

Every = Literal["week", "day", "commit"]


class HistoryError(Exception):
    """Not a git repository, git missing, an unknown revision: the message says which."""


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    committed_at: datetime
    subject: str
    author: str


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    commit: Commit
    snapshot: Snapshot
    analysed: int  # blobs analysed at this point (not seen before in the walk)
    # Module changes since the previous point, each with the commit that most likely made it.
    changes: tuple[tuple[Change, Commit | None], ...] = ()


def _git(repo: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, check=False, timeout=600
        )
    except FileNotFoundError as exc:
        raise HistoryError("the git binary was not found on PATH") from exc
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()
        raise HistoryError(f"git {' '.join(args[:2])} failed in {repo}: {err}")
    return done.stdout


def list_commits(
    repo: Path,
    *,
    rev: str = "HEAD",
    since: datetime | None = None,
    until: datetime | None = None,
    paths: Sequence[str] = (),
) -> list[Commit]:
    """First-parent commits of ``rev``, oldest first, within [since, until] (commit time)."""
    args = ["log", "--first-parent", "--format=%H%x1f%cI%x1f%an%x1f%s%x1e", rev]
    if since is not None:
        args.append(f"--since={format_time(since)}")
    if until is not None:
        args.append(f"--until={format_time(until)}")
    if paths:
        args += ["--", *paths]
    out = _git(repo, *args).decode("utf-8", "replace")
    commits = []
    for record in out.split("\x1e"):
        fields = record.strip("\n").split("\x1f")
        if len(fields) != 4:
            continue
        sha, when, author, subject = fields
        commits.append(Commit(sha, parse_time(when), subject, author))
    commits.reverse()
    # git filters by commit time but stops at the first older commit only approximately.
    return [
        c
        for c in commits
        if (since is None or c.committed_at >= since) and (until is None or c.committed_at <= until)
    ]


def select_points(commits: Sequence[Commit], every: Every) -> list[Commit]:
    """The last commit of each UTC day / ISO week (the state at its end), or every commit."""
    if every == "commit":
        return list(commits)

    def period(c: Commit) -> tuple[int, ...]:
        if every == "day":
            return (c.committed_at.year, c.committed_at.month, c.committed_at.day)
        iso = c.committed_at.isocalendar()
        return (iso.year, iso.week)

    chosen: dict[tuple[int, ...], Commit] = {}
    for c in commits:
        chosen[period(c)] = c  # oldest first: the last one of a period wins
    return list(chosen.values())


def tracked_blobs(repo: Path, sha: str) -> dict[str, str]:
    """path -> blob sha of the tracked files of commit ``sha``."""
    out = _git(repo, "ls-tree", "-r", "-z", sha, "--", *WALK_ROOTS)
    entries: dict[str, str] = {}
    for item in out.split(b"\0"):
        if not item:
            continue
        meta, _, raw_path = item.partition(b"\t")
        parts = meta.split()
        if len(parts) != 3 or parts[1] != b"blob":
            continue
        path = raw_path.decode("utf-8", "surrogateescape")
        if is_tracked(path):
            entries[path] = parts[2].decode()
    return entries


class BlobReader:
    """One ``git cat-file --batch`` process for all reads of a walk."""

    def __init__(self, repo: Path) -> None:
        self._proc = subprocess.Popen(
            ["git", "-C", str(repo), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def read(self, sha: str) -> bytes:
        stdin, stdout = self._pipes()
        stdin.write(sha.encode() + b"\n")
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3 or header[1] != b"blob":
            raise HistoryError(f"git cat-file: {sha} is not a readable blob")
        size = int(header[2])
        data = stdout.read(size)
        stdout.read(1)  # the newline after the contents
        return data

    def read_many(self, shas: Sequence[str]) -> list[bytes]:
        """Many blobs in one exchange: a thread writes the requests while this one reads the
        answers (a single thread writing them all first could fill both pipes and hang)."""
        stdin, stdout = self._pipes()

        def write() -> None:
            stdin.write(b"".join(s.encode() + b"\n" for s in shas))
            stdin.flush()

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        out = []
        try:
            for sha in shas:
                header = stdout.readline().split()
                if len(header) != 3 or header[1] != b"blob":
                    raise HistoryError(f"git cat-file: {sha} is not a readable blob")
                out.append(stdout.read(int(header[2])))
                stdout.read(1)
        finally:
            writer.join()
        return out

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        if self._proc.stdin is None or self._proc.stdout is None:
            raise HistoryError("git cat-file is not running")
        return self._proc.stdin, self._proc.stdout

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)
        if self._proc.stdout:
            self._proc.stdout.close()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _changing_commit(
    repo: Path, previous: Commit, current: Commit, path: str, cache: dict[str, list[Commit]]
) -> Commit | None:
    """The last first-parent commit in (previous, current] touching ``path``."""
    if path not in cache:
        args = ["log", "--first-parent", "--format=%H%x1f%cI%x1f%an%x1f%s%x1e"]
        args += [f"{previous.sha}..{current.sha}", "--", path]
        out = _git(repo, *args).decode("utf-8", "replace")
        found = []
        for record in out.split("\x1e"):
            fields = record.strip("\n").split("\x1f")
            if len(fields) == 4:
                found.append(Commit(fields[0], parse_time(fields[1]), fields[3], fields[2]))
        cache[path] = found
    return cache[path][0] if cache[path] else None


def _analyse_batch(
    analyzer: Analyzer, items: list[tuple[str, bytes]], pool: ProcessPoolExecutor | None
) -> list[FileReport]:
    if pool is not None and len(items) > 4:
        return list(pool.map(core_analyze_item, items, chunksize=8))
    return [analyzer.analyze(path, data) for path, data in items]


def walk_history(
    repo: Path,
    analyzer: Analyzer,
    *,
    repo_name: str = "python/cpython",
    rev: str = "HEAD",
    since: datetime | None = None,
    until: datetime | None = None,
    every: Every = "week",
    progress: Callable[[int, int], None] | None = None,
    jobs: int = 1,
    batch: int = 16,
) -> Iterator[HistoryPoint]:
    """Yield one point per selected commit, oldest first.

    ``jobs`` > 1 analyses in that many processes (only with the real core, ``CoreAnalyzer``);
    the blobs new in ``batch`` consecutive points are analysed together to keep them busy.
    """
    if not (repo / ".git").exists() and not (repo / "HEAD").exists():
        raise HistoryError(f"{repo} is not a git repository (no .git)")
    points = select_points(list_commits(repo, rev=rev, since=since, until=until), every)
    cache: dict[tuple[str, str], FileReport | str] = {}
    previous: HistoryPoint | None = None
    use_pool = jobs > 1 and isinstance(analyzer, CoreAnalyzer)
    with contextlib.ExitStack() as stack:
        reader = stack.enter_context(BlobReader(repo))
        pool = stack.enter_context(ProcessPoolExecutor(jobs)) if use_pool else None
        for first in range(0, len(points), batch):
            chunk = points[first : first + batch]
            trees = [tracked_blobs(repo, c.sha) for c in chunk]
            # Read every blob new in this batch once, then analyse them together.
            wanted: dict[tuple[str, str], None] = {}
            for entries in trees:
                for path, blob in sorted(entries.items()):
                    if (blob, path) not in cache:
                        wanted[(blob, path)] = None
            contents = reader.read_many([blob for blob, _ in wanted])
            new = dict(zip(wanted, contents, strict=True))
            sources = [(k, d) for k, d in new.items() if is_source(k[1])]
            reports = _analyse_batch(analyzer, [(k[1], d) for k, d in sources], pool)
            cache.update((k, r) for (k, _), r in zip(sources, reports, strict=True))
            cache.update((k, decode_text(d)) for k, d in new.items() if not is_source(k[1]))
            first_seen = set(new)
            for j, (commit, entries) in enumerate(zip(chunk, trees, strict=True)):
                keys = {(b, p) for p, b in entries.items()}
                analysed = sum(1 for k in keys & first_seen if is_source(k[1]))
                first_seen -= keys
                tree = build_tree(analyzer, {p: cache[(b, p)] for p, b in entries.items()})
                snap = snapshot_from_tree(
                    repo_name, commit.sha, commit.committed_at, tree, source="history"
                )
                attributed: list[tuple[Change, Commit | None]] = []
                if previous is not None:
                    per_path: dict[str, list[Commit]] = {}
                    for change in state_changes(previous.snapshot, snap):
                        if every == "commit":
                            attributed.append((change, commit))
                            continue
                        m = snap.module(change.module)
                        path = m.path if m else ""
                        by = _changing_commit(repo, previous.commit, commit, path, per_path)
                        attributed.append((change, by))
                point = HistoryPoint(commit, snap, analysed, tuple(attributed))
                previous = point
                if progress:
                    progress(first + j + 1, len(points))
                yield point
            # Keep only what the last tree uses: memory stays at about one tree's reports.
            last = {(b, p) for p, b in trees[-1].items()}
            for key in [k for k in cache if k not in last]:
                del cache[key]


def pr_of(commit: Commit | None) -> int | None:
    return pr_from_message(commit.subject) if commit else None
