"""Repository archives the way GitHub serves them: the API redirects, another host downloads.

``GET /repos/{owner}/{repo}/tarball/{ref}`` answers 302 with a ``Location`` on the download
host (GitHub's is codeload.github.com), carrying a short-lived token in its query: the API's
Authorization header is not needed there and must not be sent there. The emulator serves the
download host on a second port of the same server (another origin), and records every
download with whether it carried an Authorization header, so tests can check the client.

The archive is GitHub's "legacy" tarball: gzip'd ustar/pax, one top folder
``{owner}-{repo}-{short sha}/``, a pax global header whose comment is the commit sha.
"""

from __future__ import annotations

import gzip
import io
import secrets
import tarfile
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from .gitobjects import ObjectStore

TOKEN_SECONDS = 300  # GitHub's archive links expire after a few minutes
_CACHED_ARCHIVES = 4


@dataclass(frozen=True)
class DownloadRecord:
    path: str
    status: int
    authorization: bool  # the request carried an Authorization header


@dataclass
class ArchiveHost:
    """The download host's state: its base URL once served, issued links, downloads made."""

    url: str | None = None
    downloads: list[DownloadRecord] = field(default_factory=list)
    _tokens: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    _cache: OrderedDict[tuple[str, str], bytes] = field(default_factory=OrderedDict)

    def link(self, api_url: str, repo: str, sha: str, now: float | None = None) -> str:
        """A download URL for commit ``sha`` of ``repo``, valid for TOKEN_SECONDS."""
        now = time.time() if now is None else now
        token = secrets.token_urlsafe(16)
        self._tokens = {t: v for t, v in self._tokens.items() if v[2] > now}
        self._tokens[token] = (repo, sha, now + TOKEN_SECONDS)
        return f"{self.url or api_url}/{repo}/legacy.tar.gz/{sha}?token={token}"

    def valid(self, token: str, repo: str, sha: str, now: float | None = None) -> bool:
        found = self._tokens.get(token)
        now = time.time() if now is None else now
        return found is not None and found[:2] == (repo, sha) and found[2] > now

    def archive(self, store: ObjectStore, repo: str, sha: str) -> bytes:
        """The gzip'd tarball of commit ``sha`` (the last few kept: benches download twice)."""
        key = (repo, sha)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        data = build_tarball(store, repo, sha)
        self._cache[key] = data
        while len(self._cache) > _CACHED_ARCHIVES:
            self._cache.popitem(last=False)
        return data


def build_tarball(store: ObjectStore, repo: str, sha: str) -> bytes:
    commit = store.commits[sha]
    top = f"{repo.replace('/', '-')}-{sha[:7]}/"
    raw = io.BytesIO()
    # gzip level 6 (GitHub's), but mtime 0 so the same commit always gives the same bytes.
    with (
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz,
        tarfile.open(
            fileobj=gz, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": sha}
        ) as tar,
    ):
        folder = tarfile.TarInfo(top.rstrip("/"))
        folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o775, commit.timestamp
        tar.addfile(folder)
        for path, entry in store.walk_tree(commit.tree):
            info = tarfile.TarInfo(top + path)
            info.mtime = commit.timestamp
            if entry.is_tree:
                info.type, info.mode = tarfile.DIRTYPE, 0o775
                tar.addfile(info)
                continue
            data = store.blobs[entry.sha]
            info.size, info.mode = len(data), 0o664
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()
