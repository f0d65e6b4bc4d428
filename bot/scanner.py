"""The I/O edge of `isolation-bot scan`: walk paths, read files, analyse them in parallel.

Paths in the report are relative to the scan root: the enclosing CPython checkout when the
paths are inside one (so `scan Modules/` still reports `Modules/...` and path rules apply),
else the scanned folder (or a single file's folder). The tree's own c-analyzer lists
(Tools/c-analyzer/cpython/{ignored,globals-to-fix}.tsv) are applied when present.

A ``ResultCache`` keeps each file's analysis on disk between runs, keyed by the analyser's
version, the file's path in the report and its content: a second scan of an unchanged tree
reads every file once to hash it and analyses none.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_all_start_methods, get_context
from typing import Any

from bot.analysis import (
    FileReport,
    TreeReport,
    analyze_file,
    build_tree_report,
    classify_path,
    timed_out,
)
from bot.analysis.paths import SOURCE_SUFFIXES
from bot.analysis.tsv import GLOBALS_TO_FIX_TSV, IGNORED_TSV

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


def default_cache_dir() -> str:
    """$XDG_CACHE_HOME/isolation-bot, else ~/.cache/isolation-bot (the XDG default)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = xdg if os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "isolation-bot")


_CACHE_FORMAT = "isolation-bot-result/1"
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by isolation-bot.\n"
)


class ResultCache:
    """File analyses on disk: one small JSON file per (analyser version, path, content).

    Entries are immutable and written to a temporary file then renamed into place, so runs
    sharing a cache never see half an entry and the last writer of equal content wins. An
    entry that cannot be read or is not ours (corrupt, truncated, another format, another
    key) counts as a miss and is written again. Write failures (read-only, full disk) only
    lose the caching, never the scan. ``hits`` and ``misses`` count this object's lookups.
    """

    def __init__(self, directory: str, version: str) -> None:
        self.root = directory
        self.version = version
        safe = re.sub(r"[^A-Za-z0-9._+-]", "_", version)
        self.directory = os.path.join(directory, "results", safe)
        self.hits = 0
        self.misses = 0
        self._prepared = False

    def key(self, rel: str, data: bytes) -> str:
        h = hashlib.blake2b(digest_size=20)
        for part in (self.version.encode(), rel.encode("utf-8", "surrogateescape"), data):
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
        return h.hexdigest()

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], key + ".json")

    def get(self, key: str) -> FileReport | None:
        try:
            with open(self._path(key), "rb") as fh:
                entry = json.loads(fh.read())
            if entry.get("format") != _CACHE_FORMAT or entry.get("key") != key:
                raise ValueError("not an entry for this key")
            report = FileReport.from_dict(entry["report"])
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            self.misses += 1
            return None
        self.hits += 1
        return report

    def put(self, key: str, report: FileReport) -> None:
        if timed_out(report) or any("internal error (" in n for n in report.notes):
            return  # about this moment (load, memory), or a bug the next version may fix
        entry = {"format": _CACHE_FORMAT, "key": key, "report": report.to_dict()}
        path = self._path(key)
        try:
            self._prepare()
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        except OSError:
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(entry, fh, separators=(",", ":"))
            os.replace(tmp, path)
        except (OSError, TypeError, ValueError):
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def _prepare(self) -> None:
        # Like ruff's: a CACHEDIR.TAG (backup tools skip the folder) and a .gitignore of "*"
        # (a cache inside a checkout is never committed).
        if self._prepared:
            return
        os.makedirs(self.root, exist_ok=True)
        for name, text in (("CACHEDIR.TAG", _CACHEDIR_TAG), (".gitignore", "*\n")):
            target = os.path.join(self.root, name)
            if not os.path.exists(target):
                with contextlib.suppress(OSError), open(target, "w", encoding="utf-8") as fh:
                    fh.write(text)
        self._prepared = True


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


Exclude = Callable[[str], bool]  # absolute path of a file or folder -> leave it out


def _walk(path: str, exclude: Exclude | None = None) -> Iterator[str]:
    if os.path.isfile(path):
        yield os.path.abspath(path)
        return
    for dirpath, dirnames, filenames in os.walk(path, onerror=None):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in _SKIP_DIRS
            and not d.startswith(".")
            and not (exclude and exclude(os.path.abspath(os.path.join(dirpath, d))))
        )
        for name in sorted(filenames):
            if name.endswith(SOURCE_SUFFIXES):
                abspath = os.path.abspath(os.path.join(dirpath, name))
                if not (exclude and exclude(abspath)):
                    yield abspath


def collect_files(
    paths: Sequence[str], *, exclude: Exclude | None = None, force_exclude: Exclude | None = None
) -> tuple[str, list[tuple[str, str]]]:
    """(root, [(absolute path, path relative to root)]); ScanError for bad paths.

    ``exclude`` leaves out files and folders met while walking a folder; a path named in
    ``paths`` is scanned anyway unless ``force_exclude`` says otherwise (as ruff does:
    pre-commit and editors name files one by one, and ask for the exclusions)."""
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
        if force_exclude is not None and force_exclude(os.path.abspath(p)):
            continue
        for abspath in _walk(p, exclude):
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


def _analyze_data_chunk(chunk: list[tuple[str, bytes]]) -> list[FileReport]:
    return [analyze_cached(r, d) for r, d in chunk]


def _analyze_indexed_chunk(
    chunk: list[tuple[int, str, bytes]],
) -> list[tuple[int, FileReport]]:
    return [(i, analyze_cached(r, d)) for i, r, d in chunk]


def _read(abspath: str, rel: str) -> bytes | FileReport:
    """The file's bytes, or the report of a file that is not read (excluded, unreadable)."""
    if classify_path(rel).excluded:
        return analyze_file(rel, b"")  # never reported: do not even read it
    try:
        with open(abspath, "rb") as fh:
            return fh.read()
    except OSError as exc:
        return FileReport(
            path=rel,
            skipped=f"unreadable: {exc.strerror or exc}",
            notes=[f"could not analyse fully: unreadable ({exc})"],
        )


def _chunks(items: list[Any], n: int, size: Callable[[Any], int]) -> list[list[Any]]:
    """Balanced chunks: biggest items first, dealt round-robin."""
    ordered = sorted(items, key=size, reverse=True)
    return [c for c in (ordered[i::n] for i in range(n)) if c]


def _file_size(item: tuple[str, str]) -> int:
    try:
        return os.path.getsize(item[0])
    except OSError:
        return 0


def _read_tsv(root: str, path: str) -> bytes | None:
    try:
        with open(os.path.join(root, *path.split("/")), "rb") as fh:
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


def _analyze_all(
    items: list[Any],
    chunk_worker: Callable[[list[Any]], list[Any]],
    size: Callable[[Any], int],
    jobs: int,
    bar: Any,
) -> list[Any]:
    """``chunk_worker``'s results for ``items`` (one per item, any order), on a process pool
    when worth it."""
    reports: list[Any] = []
    if jobs > 1 and len(items) >= _PARALLEL_MIN_FILES:
        try:
            # A few chunks per worker: balanced load, little pickling overhead.
            with _pool(jobs) as pool:
                futures = [pool.submit(chunk_worker, c) for c in _chunks(items, jobs * 4, size)]
                for fut in as_completed(futures):
                    done = fut.result()
                    reports.extend(done)
                    if bar is not None:
                        bar.update(len(done))
            return reports
        except (OSError, BrokenProcessPool):
            # No process pool here (sandbox without /dev/shm, a killed worker): go serial,
            # losing nothing (the per-process cache keeps what this process already did).
            if bar is not None:
                bar.update(-len(reports))
            reports.clear()
    for item in items:
        reports.extend(chunk_worker([item]))
        if bar is not None:
            bar.update(1)
    return reports


def analyze_files(
    files: list[tuple[str, str]],
    *,
    jobs: int | None = None,
    progress: bool = False,
    cache: ResultCache | None = None,
) -> list[FileReport]:
    """One report per (absolute path, path in the report); ``cache`` answers for unchanged
    content and keeps what had to be analysed."""
    jobs = max(1, jobs or os.cpu_count() or 1)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(files), unit="file", desc="scanning", leave=False)
    try:
        if cache is None:
            return _analyze_all(files, _analyze_chunk, _file_size, jobs, bar)
        reports: list[FileReport] = []
        todo: list[tuple[str, bytes]] = []
        keys: dict[str, str] = {}
        for abspath, rel in files:
            data = _read(abspath, rel)
            if isinstance(data, FileReport):
                reports.append(data)
                continue
            key = cache.key(rel, data)
            hit = cache.get(key)
            if hit is not None:
                reports.append(hit)
            else:
                keys[rel] = key
                todo.append((rel, data))
        if bar is not None:
            bar.update(len(reports))
        fresh = _analyze_all(todo, _analyze_data_chunk, lambda item: len(item[1]), jobs, bar)
        for report in fresh:
            cache.put(keys[report.path], report)
        return reports + fresh
    finally:
        if bar is not None:
            bar.close()


def analyze_sources(
    sources: list[tuple[str, bytes]], *, jobs: int | None = None, cache: ResultCache | None = None
) -> list[FileReport]:
    """One report per (path in the report, content), in order: contents read elsewhere (git
    blobs, standard input), through ``cache`` when given."""
    jobs = max(1, jobs or os.cpu_count() or 1)
    found: dict[int, FileReport] = {}
    todo: list[tuple[str, bytes]] = []
    slots: list[int] = []
    for i, (rel, data) in enumerate(sources):
        if classify_path(rel).excluded:
            found[i] = analyze_file(rel, b"")
            continue
        hit = cache.get(cache.key(rel, data)) if cache is not None else None
        if hit is not None:
            found[i] = hit
        else:
            todo.append((rel, data))
            slots.append(i)
    # The pool answers in any order, and one path may come twice (a file's base and head).
    indexed = [(i, rel, data) for i, (rel, data) in zip(slots, todo, strict=True)]
    for i, report in _analyze_all(
        indexed, _analyze_indexed_chunk, lambda item: len(item[2]), jobs, None
    ):
        rel, data = sources[i]
        if cache is not None:
            cache.put(cache.key(rel, data), report)
        found[i] = report
    return [found[i] for i in range(len(sources))]


def tree_report(root: str, reports: list[FileReport], *, stdlib_only: bool = False) -> TreeReport:
    """The TreeReport of ``reports`` with the tree's TSVs and Python version at ``root``."""
    display_root = os.path.relpath(root)
    if display_root.startswith(".."):
        display_root = root
    return build_tree_report(
        display_root,
        reports,
        ignored_tsv=_read_tsv(root, IGNORED_TSV),
        globals_to_fix_tsv=_read_tsv(root, GLOBALS_TO_FIX_TSV),
        stdlib_only=stdlib_only,
        python_version=python_version(root),
    )


def scan_paths(
    paths: Sequence[str],
    *,
    jobs: int | None = None,
    stdlib_only: bool = False,
    progress: bool = False,
    cache: ResultCache | None = None,
    exclude: Exclude | None = None,
    force_exclude: Exclude | None = None,
) -> TreeReport:
    """Scan a CPython checkout, folders or single files into one TreeReport."""
    root, files = collect_files(paths, exclude=exclude, force_exclude=force_exclude)
    reports = analyze_files(files, jobs=jobs, progress=progress, cache=cache)
    return tree_report(root, reports, stdlib_only=stdlib_only)


def scan_source(
    rel: str,
    data: bytes,
    *,
    root: str,
    stdlib_only: bool = False,
    cache: ResultCache | None = None,
) -> TreeReport:
    """Scan ``data`` as the file ``rel`` of the tree at ``root`` (standard input: the file
    need not exist; the tree's TSVs apply when ``root`` has them)."""
    if not rel.endswith(SOURCE_SUFFIXES):
        raise ScanError(f"{rel}: not a C source file ({', '.join(SOURCE_SUFFIXES)})")
    if classify_path(rel).excluded:
        report = analyze_file(rel, b"")
    elif cache is None:
        report = analyze_cached(rel, data)
    else:
        key = cache.key(rel, data)
        hit = cache.get(key)
        report = hit if hit is not None else analyze_cached(rel, data)
        if hit is None:
            cache.put(key, report)
    return tree_report(root, [report], stdlib_only=stdlib_only)
