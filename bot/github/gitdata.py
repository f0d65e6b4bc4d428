"""Git data through the REST API: tree listings, blobs by SHA, the contents fallback.

The one way the bot reads a repository's files. Git objects are immutable, so a SHA is a
perfect cache key: ``GitData`` keeps blobs (bounded by bytes; a blob over ``keep_bytes`` is
returned but not kept, it would evict every other) and filtered tree listings (by tree SHA).
A ``GitData`` belongs to the running service; nothing here is process-global.

Reads go through the BASE repository's API (forks share its object store). A malformed answer
(no ``tree`` list, a blob without content or with bad base64) raises ``GitDataError``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import tarfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from cachetools import LRUCache
from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from bot.analysis import MAX_FILE_BYTES
from bot.github.client import BotGitHubAPI, RedirectRefused

log = logging.getLogger(__name__)

# A blob is read to be analysed, once: the analysis cache keeps the result (in memory, then in
# the store), so a blob is asked for again only under another path or analyser. 8 MiB is
# plenty, and part of one serve process's 150 MB budget.
BLOB_CACHE_BYTES = 8 * 1024 * 1024
TREE_CACHE_ENTRIES = 64
# A repository archive is read as a stream; these bound what one download may cost.
ARCHIVE_KEEP_BYTES = 256 * 1024 * 1024  # bytes of kept members (CPython's C: ~16 MB)
ARCHIVE_SCAN_BYTES = 4 * 1024 * 1024 * 1024  # uncompressed bytes walked (CPython: ~250 MB)
ARCHIVE_DOWNLOAD_BYTES = 1024 * 1024 * 1024  # compressed bytes read (CPython: ~40 MB)


class GitDataError(Exception):
    """A git object could not be read from the answer (missing content, bad encoding, no tree
    list); the message says which."""


class ArchiveUnavailable(Exception):
    """The archive could not be read (refused, not a redirect, broken or over the limits):
    the caller reads the files one by one instead."""


@dataclass(frozen=True)
class TreeListing:
    blobs: dict[str, str]  # path -> blob sha
    trees: dict[str, str]  # path -> tree sha (the folders listed)
    truncated: bool  # GitHub cut a recursive listing short


def decode_blob(data: Any, what: str = "blob") -> bytes:
    """The bytes of a GET /git/blobs answer."""
    content = data.get("content") if isinstance(data, Mapping) else None
    if not isinstance(content, str):
        raise GitDataError(f"{what}: no content in the answer")
    if data.get("encoding", "base64") == "base64":
        try:
            return base64.b64decode(content)
        except (binascii.Error, ValueError) as exc:
            raise GitDataError(f"{what}: content is not valid base64: {exc}") from exc
    return content.encode("utf-8")


async def read_blob(gh: GitHubAPI, repo: str, sha: str) -> bytes:
    """GET /repos/{repo}/git/blobs/{sha}, decoded (no cache)."""
    data = await gh.getitem(f"/repos/{repo}/git/blobs/{quote(sha, safe='')}")
    return decode_blob(data, f"blob {sha} of {repo}")


async def read_tree(gh: GitHubAPI, repo: str, sha: str, *, recursive: bool) -> TreeListing:
    """One tree listing of ``sha`` (a tree or a commit): its blobs and its folders."""
    url = f"/repos/{repo}/git/trees/{quote(sha, safe='')}" + ("?recursive=1" if recursive else "")
    data = await gh.getitem(url)
    if not isinstance(data, dict) or not isinstance(data.get("tree"), list):
        raise GitDataError(f"GET {url}: unexpected answer (no 'tree' list)")
    blobs: dict[str, str] = {}
    trees: dict[str, str] = {}
    for e in data["tree"]:
        if not (isinstance(e, dict) and isinstance(e.get("path"), str)):
            continue
        if not isinstance(e.get("sha"), str):
            continue
        if e.get("type") == "blob":
            blobs[e["path"]] = e["sha"]
        elif e.get("type") == "tree":
            trees[e["path"]] = e["sha"]
    return TreeListing(blobs, trees, bool(data.get("truncated")))


async def _walk(gh: GitHubAPI, repo: str, sha: str, prefix: str, out: dict[str, str]) -> None:
    """Every blob below tree ``sha``: recursive listing first, folder by folder if truncated."""
    listing = await read_tree(gh, repo, sha, recursive=True)
    if not listing.truncated:
        out.update((prefix + p, s) for p, s in listing.blobs.items())
        return
    listing = await read_tree(gh, repo, sha, recursive=False)
    out.update((prefix + p, s) for p, s in listing.blobs.items())
    for path, sub in listing.trees.items():
        await _walk(gh, repo, sub, f"{prefix}{path}/", out)


async def subtree_sha(gh: GitHubAPI, repo: str, sha: str, path: str) -> str | None:
    """The tree sha of folder ``path`` of ``sha``, one listing per path segment."""
    current = sha
    for part in path.split("/"):
        listing = await read_tree(gh, repo, current, recursive=False)
        found = listing.trees.get(part)
        if found is None:
            return None
        current = found
    return current


async def blobs_under(
    gh: GitHubAPI, repo: str, sha: str, roots: tuple[str, ...]
) -> tuple[dict[str, str], bool]:
    """path -> blob sha of commit ``sha``, and whether the listing was truncated.

    One recursive listing; when GitHub truncates it, only the folders ``roots`` are walked
    (so the result then holds their blobs only)."""
    listing = await read_tree(gh, repo, sha, recursive=True)
    if not listing.truncated:
        return dict(listing.blobs), False
    found: dict[str, str] = {}
    for root in roots:
        sub = await subtree_sha(gh, repo, sha, root)
        if sub is not None:
            await _walk(gh, repo, sub, root + "/", found)
    return found, True


async def contents_sha(gh: GitHubAPI, repo: str, path: str, ref: str) -> str | None:
    """The blob sha of ``path`` at ``ref`` from the contents API; None when it is not a file
    there (404, a folder, a submodule)."""
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


class GitData:
    """Blobs and filtered tree listings by SHA, cached for the life of the owner (the service)."""

    def __init__(
        self,
        *,
        blob_cache_bytes: int = BLOB_CACHE_BYTES,
        keep_bytes: int = MAX_FILE_BYTES,
        tree_entries: int = TREE_CACHE_ENTRIES,
    ) -> None:
        self.keep_bytes = keep_bytes
        self.blobs: LRUCache[str, bytes] = LRUCache(maxsize=blob_cache_bytes, getsizeof=len)
        # (tree sha, suffixes) -> {path: blob sha}, kept lean: CPython's full listing is ~1 MB.
        self.trees: LRUCache[tuple[str, tuple[str, ...]], dict[str, str]] = LRUCache(
            maxsize=tree_entries
        )

    def clear(self) -> None:
        self.blobs.clear()
        self.trees.clear()

    async def blob(self, gh: GitHubAPI, repo: str, sha: str) -> bytes:
        """The blob's bytes (cached by SHA when not over ``keep_bytes``)."""
        cached = self.blobs.get(sha)
        if cached is not None:
            return cached
        content = await read_blob(gh, repo, sha)
        if len(content) <= self.keep_bytes:
            self.blobs[sha] = content
        return content

    async def tree_blob_shas(
        self, gh: GitHubAPI, repo: str, tree_sha: str, suffixes: tuple[str, ...]
    ) -> dict[str, str] | None:
        """{path: blob sha} of a tree's files ending with ``suffixes`` (one recursive call,
        cached by tree SHA). None when GitHub truncated the listing (ask per file then)."""
        key = (tree_sha, suffixes)
        cached = self.trees.get(key)
        if cached is not None:
            return cached
        listing = await read_tree(gh, repo, tree_sha, recursive=True)
        if listing.truncated:
            return None
        shas = {p: s for p, s in listing.blobs.items() if p.endswith(suffixes)}
        self.trees[key] = shas
        return shas


# --- repository archives --------------------------------------------------------------------


def blob_sha(data: bytes) -> str:
    """The git blob id of ``data`` (what a tree listing names it by)."""
    head = b"blob %d\0" % len(data)
    return hashlib.sha1(head + data, usedforsecurity=False).hexdigest()


def archive_path(name: str) -> str | None:
    """A member name of a GitHub tarball as a repository path: the top folder
    (``owner-repo-sha/``) dropped. None for anything that is not a plain relative path below
    it (absolute, ``..``, empty or ``.`` segments, backslashes). Paths are only ever strings
    here: nothing from an archive is written to disk."""
    if name.startswith("/") or "\\" in name or "\0" in name:
        return None
    parts = name.split("/")
    if len(parts) < 2 or any(p in ("", ".", "..") for p in parts):
        return None
    return "/".join(parts[1:])


class _LoopStream:
    """A blocking file object over an aiohttp body, for tarfile in a worker thread: each
    read is scheduled on the event loop (which stays free) and waited for in the thread."""

    def __init__(
        self, content: aiohttp.StreamReader, loop: asyncio.AbstractEventLoop, limit: int
    ) -> None:
        self._content = content
        self._loop = loop
        self._limit = limit
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        size = size if size and size > 0 else 1 << 20
        chunk = asyncio.run_coroutine_threadsafe(self._content.read(size), self._loop).result()
        self.read_bytes += len(chunk)
        if self.read_bytes > self._limit:
            raise ArchiveUnavailable(f"archive over {self._limit} compressed bytes")
        return chunk


def _extract(
    stream: _LoopStream,
    wanted: Callable[[str], bool],
    member_bytes: int,
    keep_bytes: int,
    scan_bytes: int,
) -> dict[str, bytes]:
    """The wanted regular files of a gzip'd tar stream (read once, front to back)."""
    out: dict[str, bytes] = {}
    kept = scanned = 0
    with tarfile.open(fileobj=stream, mode="r|gz") as tar:  # type: ignore[call-overload]
        for member in tar:
            scanned += max(member.size, 0)
            if scanned > scan_bytes:
                raise ArchiveUnavailable(f"archive over {scan_bytes} uncompressed bytes")
            if not member.isreg():
                continue  # folders, symlinks, submodules (git links), hard links
            path = archive_path(member.name)
            if path is None or not wanted(path) or member.size > member_bytes:
                continue  # an oversized file is left to the per-blob path (and its limits)
            handle = tar.extractfile(member)
            if handle is None:
                continue
            data = handle.read()
            kept += len(data)
            if kept > keep_bytes:
                raise ArchiveUnavailable(f"archive keeps over {keep_bytes} bytes")
            out[path] = data
    return out


async def read_archive(
    gh: GitHubAPI,
    repo: str,
    ref: str,
    wanted: Callable[[str], bool],
    *,
    member_bytes: int = MAX_FILE_BYTES,
    keep_bytes: int = ARCHIVE_KEEP_BYTES,
    scan_bytes: int = ARCHIVE_SCAN_BYTES,
    download_bytes: int = ARCHIVE_DOWNLOAD_BYTES,
    read_timeout: float = 60.0,
) -> dict[str, bytes]:
    """path -> bytes of the files of ``ref`` for which ``wanted(path)`` is true, read from
    the repository's tarball as it streams in (one API call, then the download).

    ``GET /repos/{repo}/tarball/{ref}`` answers with a redirect to a download host; the
    download is made with no Authorization header (the link carries its own token). Files
    over ``member_bytes`` are left out. Raises ArchiveUnavailable when the archive is refused
    (403, 404, 5xx after retries), the answer is not a redirect, the download fails, or a
    limit is passed: the caller then reads blob by blob."""
    if not isinstance(gh, BotGitHubAPI):
        raise ArchiveUnavailable("this client cannot read archives")
    try:
        location = await gh.redirect_location(f"/repos/{repo}/tarball/{quote(ref, safe='')}")
    except RedirectRefused as exc:
        raise ArchiveUnavailable(str(exc)) from exc
    loop = asyncio.get_running_loop()
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30.0, sock_read=read_timeout)
    try:
        async with gh.download(location, timeout) as response:
            if response.status != 200:
                raise ArchiveUnavailable(f"archive download: {response.status}")
            stream = _LoopStream(response.content, loop, download_bytes)
            return await asyncio.to_thread(
                _extract, stream, wanted, member_bytes, keep_bytes, scan_bytes
            )
    except (
        aiohttp.ClientError,
        TimeoutError,
        tarfile.TarError,
        zlib.error,
        EOFError,
        OSError,
    ) as exc:
        raise ArchiveUnavailable(f"archive of {repo}@{ref}: {type(exc).__name__}: {exc}") from exc
