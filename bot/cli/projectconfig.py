"""`[tool.isolation-bot]` in the scanned project's pyproject.toml (ruff's names and rules).

    [tool.isolation-bot]
    select = ["ISO001", "global-object"]     # only these rules (ids or names)
    ignore = ["ISO017"]                      # drop these
    exclude = ["third_party"]                # leave these out when walking folders
    extend-exclude = ["Modules/_vendored/*.c"]
    per-file-ignores = { "tests/*.c" = ["ISO005"] }

The file is the closest pyproject.toml with a ``[tool.isolation-bot]`` table, from the scan root
upwards (a pyproject.toml without the table is passed over, as ruff does). Patterns are globs:
one without a ``/`` matches a file or folder name anywhere (``*.h``, ``vendored``), one with a
``/`` matches the path relative to the pyproject.toml's folder (``src/*.c``, ``src/**/gen_*.c``).
An excluded folder excludes everything below it.

Command-line flags override the file: ``--select`` replaces the file's select and its ignore
(a new selection starts over, as in ruff), ``--ignore`` adds to the ignore in force,
``--exclude`` replaces ``exclude``, ``--extend-exclude`` adds to both files' lists.

A malformed table (wrong type, unknown key, unknown rule) is a usage error naming the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.analysis.paths import glob_regex
from bot.cli.errors import CLIError

SECTION = "isolation-bot"
KEYS = ("select", "ignore", "exclude", "extend-exclude", "per-file-ignores")


class ProjectConfigError(CLIError):
    """The project's [tool.isolation-bot] table cannot be used (exit status 2)."""


@dataclass(frozen=True)
class ProjectConfig:
    """The table's values; ``path`` is None when no pyproject.toml has the table."""

    path: str | None = None
    root: str = "."  # the pyproject.toml's folder: relative patterns start here
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def find_pyproject(start: str) -> str | None:
    """The closest pyproject.toml with a [tool.isolation-bot] table, from ``start`` upwards."""
    cur = os.path.abspath(start)
    if not os.path.isdir(cur):
        cur = os.path.dirname(cur)
    while True:
        candidate = os.path.join(cur, "pyproject.toml")
        if os.path.isfile(candidate) and _table(candidate, check=False) is not None:
            return candidate
        parent = os.path.dirname(cur)
        if parent == cur:
            return None
        cur = parent


def _table(path: str, *, check: bool) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        if not check and not _mentions_table(path):
            return None  # someone else's broken file: not ours to judge while searching
        raise ProjectConfigError(f"{path}: cannot read: {exc}") from exc
    tool = data.get("tool")
    if not isinstance(tool, dict) or SECTION not in tool:
        return None
    table = tool[SECTION]
    if not isinstance(table, dict):
        raise ProjectConfigError(f"{path}: [tool.{SECTION}] must be a table")
    return table


def _mentions_table(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return f"[tool.{SECTION}".encode() in fh.read()
    except OSError:
        return False


def _strings(path: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProjectConfigError(
            f"{path}: [tool.{SECTION}] {key}: expected a list of strings, "
            f"got {type(value).__name__} {value!r}"
        )
    return tuple(value)


def load_project_config(start: str) -> ProjectConfig:
    """The configuration for a scan rooted at ``start`` (empty when there is none)."""
    path = find_pyproject(start)
    if path is None:
        return ProjectConfig()
    return parse_table(path, _table(path, check=True) or {})


def parse_table(path: str, table: Mapping[str, Any]) -> ProjectConfig:
    for key in table:
        if key not in KEYS:
            raise ProjectConfigError(
                f"{path}: [tool.{SECTION}] {key}: unknown key (known: {', '.join(KEYS)})"
            )
    pfi = table.get("per-file-ignores", {})
    if not isinstance(pfi, dict):
        raise ProjectConfigError(
            f"{path}: [tool.{SECTION}] per-file-ignores: expected a table of "
            f'pattern = ["RULE", ...], got {type(pfi).__name__} {pfi!r}'
        )
    return ProjectConfig(
        path=path,
        root=os.path.dirname(path),
        select=_strings(path, "select", table["select"]) if "select" in table else None,
        ignore=_strings(path, "ignore", table.get("ignore", [])),
        exclude=_strings(path, "exclude", table.get("exclude", [])),
        extend_exclude=_strings(path, "extend-exclude", table.get("extend-exclude", [])),
        per_file_ignores={
            pattern: _strings(path, f"per-file-ignores.{pattern}", rules)
            for pattern, rules in pfi.items()
        },
    )


class PathMatcher:
    """Globs relative to one folder (see the module docstring)."""

    def __init__(self, root: str, patterns: Iterable[str]) -> None:
        self.root = os.path.abspath(root)
        self._names: list[re.Pattern[str]] = []
        self._paths: list[re.Pattern[str]] = []
        for pattern in patterns:
            p = pattern.replace(os.sep, "/").strip()
            if not p:
                continue
            if p.startswith("./"):
                p = p[2:]
            if "/" in p.rstrip("/"):
                self._paths.append(glob_regex(p.strip("/")))
            else:
                self._names.append(glob_regex(p.rstrip("/")))

    def __bool__(self) -> bool:
        return bool(self._names or self._paths)

    def matches(self, abspath: str) -> bool:
        """Whether the file or folder matches a pattern."""
        rel = os.path.relpath(os.path.abspath(abspath), self.root).replace(os.sep, "/")
        name = rel.rsplit("/", 1)[-1]
        if any(r.match(name) for r in self._names):
            return True
        return not rel.startswith("../") and any(r.match(rel) for r in self._paths)

    def matches_or_inside(self, abspath: str) -> bool:
        """Whether the path or a folder above it (up to the root) matches."""
        cur = os.path.abspath(abspath)
        while True:
            if self.matches(cur):
                return True
            parent = os.path.dirname(cur)
            if parent == cur or cur == self.root or not cur.startswith(self.root + os.sep):
                return False
            cur = parent


def exclude_matcher(
    config: ProjectConfig,
    *,
    exclude: Sequence[str] | None = None,
    extend_exclude: Sequence[str] = (),
) -> PathMatcher:
    """The exclusions in force: the command line's ``exclude`` replaces the file's."""
    patterns = [
        *(config.exclude if exclude is None else exclude),
        *config.extend_exclude,
        *extend_exclude,
    ]
    return PathMatcher(config.root, patterns)


def split_patterns(values: Iterable[str] | None) -> list[str]:
    """Patterns from repeated and/or comma-separated option values."""
    return [p.strip() for v in values or () for p in v.split(",") if p.strip()]
