"""A content-addressed object store with git's real SHA-1 ids (blobs, trees, commits).

The ids match what git (and so GitHub) would compute for the same content, so a blob SHA
from a PR's file list can be fetched through /git/blobs/{sha} and checked against the data.
"""

from __future__ import annotations

import difflib
import hashlib
from collections import deque
from dataclasses import dataclass, field


def git_sha(kind: str, data: bytes) -> str:
    """The object id git gives ``data`` of type ``kind`` (blob, tree, commit)."""
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class TreeEntry:
    name: str
    mode: str  # "100644" file, "040000" directory (git writes "40000")
    sha: str

    @property
    def is_tree(self) -> bool:
        return self.mode == "040000"


@dataclass
class Commit:
    sha: str
    tree: str
    parents: list[str]
    message: str
    author: str  # login
    timestamp: int  # unix seconds
    files: dict[str, str] = field(default_factory=dict)  # flattened path -> blob sha


class ObjectStore:
    """All repositories share one store, like a GitHub fork network shares objects."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.trees: dict[str, list[TreeEntry]] = {}
        self.commits: dict[str, Commit] = {}

    def put_blob(self, data: bytes) -> str:
        sha = git_sha("blob", data)
        self.blobs[sha] = data
        return sha

    def _put_tree(self, entries: list[TreeEntry]) -> str:
        # git sorts entries by name, with directories compared as if they ended in "/".
        entries = sorted(entries, key=lambda e: e.name + ("/" if e.is_tree else ""))
        raw = b"".join(
            f"{e.mode.lstrip('0')} {e.name}\0".encode() + bytes.fromhex(e.sha) for e in entries
        )
        sha = git_sha("tree", raw)
        self.trees[sha] = entries
        return sha

    def build_tree(self, files: dict[str, str]) -> str:
        """Write the nested trees for a flat {path: blob sha} map; returns the root tree sha."""
        children: dict[str, dict[str, str]] = {}
        entries: list[TreeEntry] = []
        for path, sha in files.items():
            head, sep, rest = path.partition("/")
            if sep:
                children.setdefault(head, {})[rest] = sha
            else:
                entries.append(TreeEntry(head, "100644", sha))
        for name, sub in children.items():
            entries.append(TreeEntry(name, "040000", self.build_tree(sub)))
        return self._put_tree(entries)

    def walk_tree(self, sha: str, prefix: str = "") -> list[tuple[str, TreeEntry]]:
        """Every entry below tree ``sha`` with its full path, trees before their contents."""
        out: list[tuple[str, TreeEntry]] = []
        for entry in self.trees.get(sha, []):
            path = prefix + entry.name
            out.append((path, entry))
            if entry.is_tree:
                out.extend(self.walk_tree(entry.sha, path + "/"))
        return out

    def put_commit(
        self,
        files: dict[str, str],
        parents: list[str],
        message: str,
        author: str,
        timestamp: int,
    ) -> Commit:
        tree = self.build_tree(files)
        ident = f"{author} <{author}@users.noreply.github.com> {timestamp} +0000"
        raw = f"tree {tree}\n"
        raw += "".join(f"parent {p}\n" for p in parents)
        raw += f"author {ident}\ncommitter {ident}\n\n{message}\n"
        sha = git_sha("commit", raw.encode())
        commit = Commit(sha, tree, list(parents), message, author, timestamp, dict(files))
        self.commits[sha] = commit
        return commit

    def ancestors(self, sha: str) -> list[str]:
        """``sha`` and every commit reachable from it, breadth first."""
        seen: dict[str, None] = {}
        queue = deque([sha])
        while queue:
            cur = queue.popleft()
            if cur in seen or cur not in self.commits:
                continue
            seen[cur] = None
            queue.extend(self.commits[cur].parents)
        return list(seen)

    def merge_base(self, base: str, head: str) -> str | None:
        head_set = set(self.ancestors(head))
        for sha in self.ancestors(base):
            if sha in head_set:
                return sha
        return None


@dataclass(frozen=True)
class FileChange:
    filename: str
    status: str  # added, modified, removed, renamed
    sha: str | None  # blob sha of the new side (None for removed... GitHub sends the old one)
    previous_filename: str | None
    additions: int
    deletions: int
    patch: str | None


_PATCH_LIMIT = 200_000  # bytes of text above which GitHub leaves the patch out


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8", errors="replace").splitlines()


def _line_diff(old: bytes, new: bytes) -> tuple[int, int, str | None]:
    a, b = _lines(old), _lines(new)
    diff = list(difflib.unified_diff(a, b, lineterm="", n=3))[2:]  # drop the ---/+++ header
    adds = sum(1 for line in diff if line.startswith("+"))
    dels = sum(1 for line in diff if line.startswith("-"))
    patch = "\n".join(diff) if len(old) + len(new) < _PATCH_LIMIT else None
    return adds, dels, patch


def diff_files(store: ObjectStore, old: dict[str, str], new: dict[str, str]) -> list[FileChange]:
    """GitHub-style file changes from tree ``old`` to tree ``new``, sorted by filename.

    A removed path and an added path with the same blob are reported as one rename, as git's
    exact-rename detection does.
    """
    removed = {p: s for p, s in old.items() if p not in new}
    added = {p: s for p, s in new.items() if p not in old}
    by_sha: dict[str, list[str]] = {}
    for path, sha in sorted(removed.items()):
        by_sha.setdefault(sha, []).append(path)
    changes: list[FileChange] = []
    for path, sha in sorted(added.items()):
        sources = by_sha.get(sha)
        if sources:
            prev = sources.pop(0)
            del removed[prev]
            changes.append(FileChange(path, "renamed", sha, prev, 0, 0, ""))
        else:
            adds, _, patch = _line_diff(b"", store.blobs[sha])
            changes.append(FileChange(path, "added", sha, None, adds, 0, patch))
    for path, sha in removed.items():
        _, dels, patch = _line_diff(store.blobs[sha], b"")
        changes.append(FileChange(path, "removed", sha, None, 0, dels, patch))
    for path, sha in new.items():
        if path in old and old[path] != sha:
            adds, dels, patch = _line_diff(store.blobs[old[path]], store.blobs[sha])
            changes.append(FileChange(path, "modified", sha, None, adds, dels, patch))
    changes.sort(key=lambda c: c.filename)
    return changes
