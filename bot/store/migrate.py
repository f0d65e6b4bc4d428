"""Finding the numbered migration files (pure, no database).

Each part of the bot that owns tables ships its migrations in its own package's
``migrations/`` folder (:data:`MIGRATION_FOLDERS`, read as package data: the store imports no
feature); ids are unique across folders and number ranges say whose they are (0001-0009 the
store and queue, 0010-0019 the PR check, 0020-0029 commands, 0030-0039 tracking, 0040-0049
the summary).

A migration is ``NNNN_name.sql``; when the SQL must differ between engines the file may have
dialect variants ``NNNN_name.sqlite.sql`` / ``NNNN_name.postgresql.sql``, which win over the
generic file for their engine. A migration that has a variant for one engine only and no
generic file is a no-op on the other engine (still recorded, so the history stays the same).
The engines apply them (bot.store.sqlite / bot.store.postgres) in id order, each once,
recorded in ``schema_migrations``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from bot.store.db import StoreError

DIALECTS = ("sqlite", "postgresql")
_NAME = re.compile(r"^(?P<id>(?P<num>\d{4})_[A-Za-z0-9_]+?)(?:\.(?P<dialect>[a-z]+))?\.sql$")

SCHEMA_MIGRATIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " id TEXT PRIMARY KEY,"
    " checksum TEXT NOT NULL,"
    " applied_at DOUBLE PRECISION NOT NULL)"
)


@dataclass(frozen=True)
class Migration:
    id: str  # "0001_core": what schema_migrations records
    sql: str  # empty for a migration that does not apply to this dialect
    checksum: str


# The packages (under bot/) whose ``migrations/`` folders make up the schema.
MIGRATION_FOLDERS = ("store", "prcheck", "commands", "tracking", "summary")


def migration_dirs() -> list[Traversable]:
    """The schema's migration folders, as package data of ``bot``."""
    root = resources.files("bot")
    return [root.joinpath(name, "migrations") for name in MIGRATION_FOLDERS]


def load_migrations(
    dialect: str, directory: Traversable | Sequence[Traversable] | None = None
) -> list[Migration]:
    """The migrations for ``dialect`` from ``directory`` (default: every folder of the
    schema), sorted by id. Raises StoreError on a badly named file or an id in two folders."""
    if dialect not in DIALECTS:
        raise StoreError(f"unknown SQL dialect {dialect!r}")
    directories: Sequence[Traversable]
    if directory is None:
        directories = migration_dirs()
    elif isinstance(directory, Sequence):
        directories = directory
    else:
        directories = [directory]
    generic: dict[str, str] = {}
    variants: dict[str, dict[str, str]] = {}
    owner: dict[str, str] = {}
    for entry in (e for d in directories if d.is_dir() for e in d.iterdir()):
        name = entry.name
        if not name.endswith(".sql") or not entry.is_file():
            continue
        m = _NAME.match(name)
        if not m:
            raise StoreError(
                f"migration file {name!r} is badly named: expected NNNN_name.sql or "
                "NNNN_name.<sqlite|postgresql>.sql"
            )
        text = entry.read_text(encoding="utf-8")
        mid, variant = m.group("id"), m.group("dialect")
        folder = str(entry)[: -len(name)]
        if owner.setdefault(mid, folder) != folder:
            raise StoreError(f"migration {mid} is in two folders: {owner[mid]} and {folder}")
        if variant is None:
            generic[mid] = text
        elif variant in DIALECTS:
            variants.setdefault(mid, {})[variant] = text
        else:
            raise StoreError(f"migration file {name!r}: unknown dialect {variant!r}")
    out = []
    for mid in sorted(set(generic) | set(variants)):
        sql = variants.get(mid, {}).get(dialect, generic.get(mid, ""))
        out.append(Migration(mid, sql, hashlib.sha256(sql.encode()).hexdigest()))
    return out
