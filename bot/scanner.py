"""The I/O edge of `isolation-bot scan`: walk paths, read files, analyse them in parallel.

Paths in the report are relative to the scan root: the enclosing CPython checkout when the
paths are inside one (so `scan Modules/` still reports `Modules/...` and path rules apply),
else the scanned folder (or a single file's folder). The tree's own c-analyzer lists
(Tools/c-analyzer/cpython/{ignored,globals-to-fix}.tsv) are applied when present.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_all_start_methods, get_context

from bot.analysis import (
    FileReport,
    TreeReport,
    analyze_file,
    build_tree_report,
    classify_path,
    timed_out,
)
from bot.analysis.paths import SOURCE_SUFFIXES

TSV_DIR = ("Tools", "c-analyzer", "cpython")
_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".tox", ".venv"})
# A CPython checkout given as a whole is scanned where the isolation effort lives (the folders
# the metrics are defined over, plus Include/ for slot tables and cached C-API pointers), not
# Tools/, Lib/ or Doc/, whose C files are build helpers and samples, not stdlib modules.
CHECKOUT_DIRS = ("Modules", "Objects", "Python", "PC", "Include")
_PARALLEL_MIN_FILES = 16  # below this the process pool costs more than it saves

# Per-process cache: the same content at the same path is never parsed twice.
_CACHE: dict[tuple[bytes, str], FileReport] = {}
_CACHE_MAX = 20_000


class ScanError(Exception):
    """A path given to the scanner cannot be scanned (missing, unreadable, not C)."""


def analyze_cached(rel: str, data: bytes) -> FileReport:
    key = (hashlib.blake2b(data, digest_size=16).digest(), rel)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    report = analyze_file(rel, data)
    if timed_out(report):
        return report  # about this moment's load, not the content: try again next time
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[key] = report
    return report


def _checkout_root(path: str) -> str | None:
    """The CPython checkout containing `path`, if any."""
    cur = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(path) or ".")
    while True:
        if os.path.isfile(os.path.join(cur, "Include", "Python.h")) and os.path.isdir(
            os.path.join(cur, "Modules")
        ):
            return cur
        parent = os.path.dirname(cur)
        if parent == cur:
            return None
        cur = parent


def scan_root(paths: Sequence[str]) -> str:
    roots = {_checkout_root(p) for p in paths}
    if len(roots) == 1 and None not in roots:
        return roots.pop()  # type: ignore[return-value]
    dirs = [os.path.abspath(p if os.path.isdir(p) else os.path.dirname(p) or ".") for p in paths]
    return os.path.commonpath(dirs)


def _walk(path: str) -> Iterator[str]:
    if os.path.isfile(path):
        yield os.path.abspath(path)
        return
    for dirpath, dirnames, filenames in os.walk(path, onerror=None):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(SOURCE_SUFFIXES):
                yield os.path.abspath(os.path.join(dirpath, name))


def collect_files(paths: Sequence[str]) -> tuple[str, list[tuple[str, str]]]:
    """(root, [(absolute path, path relative to root)]); ScanError for bad paths."""
    if not paths:
        raise ScanError("no path to scan")
    for p in paths:
        if not os.path.exists(p):
            raise ScanError(f"{p}: no such file or directory")
        if not os.access(p, os.R_OK) or (os.path.isdir(p) and not os.access(p, os.X_OK)):
            raise ScanError(f"{p}: permission denied")
        if os.path.isfile(p) and not p.endswith(SOURCE_SUFFIXES):
            raise ScanError(f"{p}: not a C source file ({', '.join(SOURCE_SUFFIXES)})")
    root = scan_root(paths)
    seen: set[str] = set()
    files: list[tuple[str, str]] = []
    targets: list[str] = []
    for p in paths:
        if os.path.isdir(p) and _checkout_root(p) == os.path.abspath(p):
            targets.extend(
                os.path.join(p, d) for d in CHECKOUT_DIRS if os.path.isdir(os.path.join(p, d))
            )
        else:
            targets.append(p)
    for p in targets:
        for abspath in _walk(p):
            if abspath in seen:
                continue
            seen.add(abspath)
            files.append((abspath, os.path.relpath(abspath, root).replace(os.sep, "/")))
    return root, files


def _analyze_one(abspath: str, rel: str) -> FileReport:
    if classify_path(rel).excluded:
        return analyze_file(rel, b"")  # never reported: do not even read it
    try:
        with open(abspath, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return FileReport(
            path=rel,
            skipped=f"unreadable: {exc.strerror or exc}",
            notes=[f"could not analyse fully: unreadable ({exc})"],
        )
    return analyze_cached(rel, data)


def _analyze_chunk(chunk: list[tuple[str, str]]) -> list[FileReport]:
    return [_analyze_one(a, r) for a, r in chunk]


def _chunks(files: list[tuple[str, str]], n: int) -> list[list[tuple[str, str]]]:
    """Balanced chunks: biggest files first, dealt round-robin."""

    def size(item: tuple[str, str]) -> int:
        try:
            return os.path.getsize(item[0])
        except OSError:
            return 0

    ordered = sorted(files, key=size, reverse=True)
    return [c for c in (ordered[i::n] for i in range(n)) if c]


def _read_tsv(root: str, name: str) -> bytes | None:
    try:
        with open(os.path.join(root, *TSV_DIR, name), "rb") as fh:
            return fh.read()
    except OSError:
        return None


_VERSION_RE = re.compile(rb"#\s*define\s+PY_(MAJOR|MINOR)_VERSION\s+(\d+)")


def python_version(root: str) -> tuple[int, int] | None:
    """(major, minor) of the CPython checkout at `root`, from Include/patchlevel.h."""
    try:
        with open(os.path.join(root, "Include", "patchlevel.h"), "rb") as fh:
            found = {k.decode(): int(v) for k, v in _VERSION_RE.findall(fh.read(65536))}
    except (OSError, ValueError):
        return None
    if "MAJOR" not in found or "MINOR" not in found:
        return None
    return found["MAJOR"], found["MINOR"]


def _pool(jobs: int) -> Executor:
    # fork: workers inherit the loaded parser, no re-import cost (Linux); spawn elsewhere.
    ctx = get_context("fork") if "fork" in get_all_start_methods() else get_context()
    return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx)


def scan_paths(
    paths: Sequence[str],
    *,
    jobs: int | None = None,
    stdlib_only: bool = False,
    progress: bool = False,
) -> TreeReport:
    """Scan a CPython checkout, folders or single files into one TreeReport."""
    root, files = collect_files(paths)
    jobs = max(1, jobs or os.cpu_count() or 1)
    reports: list[FileReport] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(files), unit="file", desc="scanning", leave=False)
    parallel = jobs > 1 and len(files) >= _PARALLEL_MIN_FILES
    if parallel:
        try:
            # A few chunks per worker: balanced load, little pickling overhead.
            with _pool(jobs) as pool:
                futures = [pool.submit(_analyze_chunk, c) for c in _chunks(files, jobs * 4)]
                for fut in as_completed(futures):
                    done = fut.result()
                    reports.extend(done)
                    if bar is not None:
                        bar.update(len(done))
        except (OSError, BrokenProcessPool):
            # No process pool here (sandbox without /dev/shm, a killed worker): go serial,
            # losing nothing (the per-process cache keeps what this process already did).
            reports.clear()
            if bar is not None:
                bar.reset()
            parallel = False
    if not parallel:
        for a, r in files:
            reports.append(_analyze_one(a, r))
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    display_root = os.path.relpath(root)
    if display_root.startswith(".."):
        display_root = root
    return build_tree_report(
        display_root,
        reports,
        ignored_tsv=_read_tsv(root, "ignored.tsv"),
        globals_to_fix_tsv=_read_tsv(root, "globals-to-fix.tsv"),
        stdlib_only=stdlib_only,
        python_version=python_version(root),
    )
