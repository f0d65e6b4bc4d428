"""The store: ``open_database(url)`` picks the engine from the URL and applies migrations.

``sqlite:///relative.db``, ``sqlite:////absolute/path.db``, ``sqlite:///:memory:`` (one bot
process) or ``postgresql://user@host:port/dbname`` (several replicas). See bot/store/db.py for
the interface and the portable SQL rules.
"""

from __future__ import annotations

from bot.store.db import Database, IntegrityError, Row, StoreError, Transaction

__all__ = ["Database", "IntegrityError", "Row", "StoreError", "Transaction", "open_database"]


async def open_database(
    url: str, *, migrate: bool = True, max_connections: int = 10, min_connections: int = 1
) -> Database:
    """Open the store named by ``url`` (DATABASE_URL), with migrations applied unless
    ``migrate=False``. Raises StoreError with an operator-facing message on a bad URL or an
    unreachable database. ``max_connections`` and ``min_connections`` size the PostgreSQL
    pool (the minimum is opened before this returns); SQLite ignores both."""
    if not isinstance(url, str) or not url.strip():
        raise StoreError("DATABASE_URL is empty: use sqlite:///path.db or postgresql://...")
    url = url.strip()
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from bot.store.sqlite import open_sqlite

        return await open_sqlite(url, migrate=migrate)
    if scheme in ("postgresql", "postgres"):
        from bot.store.postgres import open_postgres

        return await open_postgres(
            url, migrate=migrate, max_connections=max_connections, min_connections=min_connections
        )
    raise StoreError(
        f"unsupported DATABASE_URL scheme {scheme!r}: use sqlite:///path.db, "
        "sqlite:////absolute/path.db, sqlite:///:memory: or postgresql://user@host:5432/db"
    )
