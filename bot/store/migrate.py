"""Finding the numbered migration files shipped in bot/store/migrations/ (pure, no database).

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


def _default_dir() -> Traversable:
    return resources.files("bot.store").joinpath("migrations")


def load_migrations(dialect: str, directory: Traversable | None = None) -> list[Migration]:
    """The migrations for ``dialect``, sorted by id. Raises StoreError on a badly named file."""
    if dialect not in DIALECTS:
        raise StoreError(f"unknown SQL dialect {dialect!r}")
    directory = directory or _default_dir()
    generic: dict[str, str] = {}
    variants: dict[str, dict[str, str]] = {}
    if not directory.is_dir():
        return []
    for entry in directory.iterdir():
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
