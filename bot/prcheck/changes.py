"""Which changed files the check looks at, from the pull-request files API (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.analysis.paths import SOURCE_SUFFIXES

# GitHub's pull-request files endpoint lists at most 3000 files.
FILES_LIMIT = 3000

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class ChangedFile:
    path: str  # path in the head
    status: str  # added / removed / modified / renamed / copied / changed
    head_sha: str | None  # blob sha in the head; None when removed
    base_path: str | None  # path in the base; None when added
    changed_lines: frozenset[int] = field(default_factory=frozenset)  # head lines added/modified


def is_checked(path: str | None, watched: Iterable[str]) -> bool:
    if not path or not path.endswith(SOURCE_SUFFIXES):
        return False
    return any(path.startswith(w.rstrip("/") + "/") or path == w for w in watched)


def added_lines(patch: str | None) -> frozenset[int]:
    """Head line numbers of the '+' lines of a unified diff hunk list (annotations go there)."""
    lines: set[int] = set()
    if not patch:
        return frozenset()
    current = 0
    for line in patch.splitlines():
        m = _HUNK.match(line)
        if m:
            current = int(m.group(1))
            continue
        if line.startswith("+"):
            lines.add(current)
            current += 1
        elif line.startswith("-") or line.startswith("\\"):
            continue
        else:
            current += 1
    return frozenset(lines)


def select_files(entries: Iterable[Mapping[str, Any]], watched: Iterable[str]) -> list[ChangedFile]:
    """The C sources and headers under the watched paths, renames and removals resolved."""
    watched = tuple(watched)
    selected: list[ChangedFile] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        path = entry.get("filename")
        status = str(entry.get("status") or "modified")
        if not isinstance(path, str):
            continue
        previous = entry.get("previous_filename")
        base_path: str | None
        if status == "added":
            base_path = None
        elif status in ("renamed", "copied") and isinstance(previous, str):
            base_path = previous
        else:
            base_path = path
        if not (is_checked(path, watched) or is_checked(base_path, watched)):
            continue
        head_sha = None if status == "removed" else entry.get("sha")
        # A file renamed out of the watched paths (or to a non-C name) counts as removed here.
        if head_sha is not None and not is_checked(path, watched):
            head_sha = None
        if base_path is not None and not is_checked(base_path, watched):
            base_path = None
        selected.append(
            ChangedFile(
                path=path,
                status=status,
                head_sha=str(head_sha) if head_sha else None,
                base_path=base_path,
                changed_lines=added_lines(entry.get("patch")),
            )
        )
    return selected
