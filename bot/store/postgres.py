"""The PostgreSQL engine: psycopg 3 (async) with a psycopg_pool connection pool.

Used when several replicas share one store. Statements are written in the portable dialect
(``?`` placeholders, translated by bot.store.sqltext). Connections run in autocommit mode;
``transaction()`` opens a real transaction on one pooled connection. Named locks are session
advisory locks held on a dedicated connection for the whole block (not a pooled one: a
connection returned to the pool must not keep a lock, and a long wait must not starve the
pool). Lock keys are namespaced by the current schema, so test runs (one schema each) sharing a
database never contend for each other's singletons.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.abc import Buffer
from psycopg.adapt import Dumper, Loader
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from bot.store.db import IntegrityError, Row, StoreError
from bot.store.migrate import SCHEMA_MIGRATIONS_DDL, Migration, load_migrations
from bot.store.sqltext import to_pyformat

POOL_WAIT_SECONDS = 5.0
RECONNECT_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 10
_LOCK_KEY = "hashtext(current_schema()), hashtext(%s)"
_MIGRATION_LOCK = "isolation-bot:schema-migrations"

AsyncConn = psycopg.AsyncConnection[dict[str, Any]]

_current_conn: contextvars.ContextVar[dict[int, AsyncConn] | None] = contextvars.ContextVar(
    "postgres_current_conn", default=None
)


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


class _PortableNumericLoader(Loader):
    """NUMERIC results (``SUM`` of BIGINT, ``AVG``) as int or float, like SQLite returns them,
    instead of Decimal: feature modules then get the same Python types on both engines."""

    def load(self, data: Buffer) -> int | float:
        text = bytes(data).decode()
        if text.lstrip("-").isdigit():
            return int(text)
        return float(text)  # decimals, NaN, Infinity


class _BoolAsIntDumper(Dumper):
    """Python bools as 0/1 BIGINT, as SQLite stores them (the portable schema has no BOOLEAN
    columns; without this, ``True`` into a BIGINT column is a type error on PostgreSQL)."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


async def _configure_connection(conn: AsyncConn) -> None:
    conn.adapters.register_loader("numeric", _PortableNumericLoader)
    conn.adapters.register_dumper(bool, _BoolAsIntDumper)


def _params(params: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(params)


class PostgresTransaction:
    def __init__(self, conn: AsyncConn) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await _execute(self._conn, sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await _fetchone(self._conn, sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await _fetchall(self._conn, sql, params)


@contextlib.contextmanager
def _integrity() -> Any:
    try:
        yield
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(str(exc).strip()) from exc


async def _execute(conn: AsyncConn, sql: str, params: Sequence[Any]) -> int:
    with _integrity():
        cur = await conn.execute(to_pyformat(sql), _params(params))
        return cur.rowcount


async def _fetchone(conn: AsyncConn, sql: str, params: Sequence[Any]) -> Row | None:
    with _integrity():
        cur = await conn.execute(to_pyformat(sql), _params(params))
        return await cur.fetchone()


async def _fetchall(conn: AsyncConn, sql: str, params: Sequence[Any]) -> list[Row]:
    with _integrity():
        cur = await conn.execute(to_pyformat(sql), _params(params))
        return await cur.fetchall()


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, url: str, *, max_connections: int = 10, min_connections: int = 1) -> None:
        self.url = url
        max_size = max(1, max_connections)
        self._pool: AsyncConnectionPool[AsyncConn] = AsyncConnectionPool(
            url,
            # Opened before the service answers (open() waits for them): a connection made
            # on demand costs a few milliseconds that the first webhooks after a deploy, or
            # a burst meeting busy workers, would otherwise wait for.
            min_size=min(max(1, min_connections), max_size),
            max_size=max_size,
            open=False,
            kwargs={"autocommit": True, "row_factory": dict_row},
            connection_class=psycopg.AsyncConnection[dict[str, Any]],
            # A quick check on checkout: after a database restart or a failover, a dead pooled
            # connection is replaced instead of failing the next statement.
            check=self._check_on_checkout,
            configure=_configure_connection,
            name="isolation-bot",
            # A statement waits this long for a connection, then fails (PoolTimeout): the
            # intake answers 503 well within GitHub's 10 s, a worker postpones its job.
            timeout=POOL_WAIT_SECONDS,
            # psycopg_pool retries a failed connection with an uncapped doubling backoff until
            # reconnect_timeout; after a long restart the next try could be minutes away.
            # Giving up early lets the next request start a fresh attempt at once.
            reconnect_timeout=RECONNECT_TIMEOUT_SECONDS,
        )

    async def _check_on_checkout(self, conn: AsyncConn) -> None:
        try:
            await AsyncConnectionPool.check_connection(conn)
        except Exception:
            # The server restarted: every idle connection is as dead as this one. Replace
            # them all now; the pool would otherwise try them one at a time, sleeping 1, 2,
            # 4 ... seconds between tries, and a request could wait out its timeout.
            with contextlib.suppress(Exception):
                await self._pool.check()
            raise

    async def open(self, *, migrate: bool = True) -> None:
        # One direct connection first: its error says precisely what is wrong (refused,
        # unknown database, authentication), where the pool would only time out.
        conn = await self._connect()
        await conn.close()
        await self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
        if migrate:
            await self.migrate()

    async def _connect(self) -> AsyncConn:
        try:
            return await psycopg.AsyncConnection.connect(
                self.url,
                autocommit=True,
                row_factory=dict_row,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
            )
        except (psycopg.Error, ValueError) as exc:
            detail = str(exc).strip().replace(self.url, redact_url(self.url))
            raise StoreError(
                f"cannot connect to PostgreSQL at {redact_url(self.url)}: {detail}"
            ) from exc

    async def close(self) -> None:
        await self._pool.close()

    def _joined(self) -> AsyncConn | None:
        conns = _current_conn.get()
        return conns.get(id(self)) if conns else None

    # -- Database protocol ------------------------------------------------------------------

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        conn = self._joined()
        if conn is not None:
            return await _execute(conn, sql, params)
        async with self._pool.connection() as conn:
            return await _execute(conn, sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        conn = self._joined()
        if conn is not None:
            return await _fetchone(conn, sql, params)
        async with self._pool.connection() as conn:
            return await _fetchone(conn, sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        conn = self._joined()
        if conn is not None:
            return await _fetchall(conn, sql, params)
        async with self._pool.connection() as conn:
            return await _fetchall(conn, sql, params)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        joined = self._joined()
        if joined is not None:
            # Nested block: psycopg makes it a savepoint.
            async with joined.transaction():
                yield PostgresTransaction(joined)
            return
        async with self._pool.connection() as conn, conn.transaction():
            token = _current_conn.set({**(_current_conn.get() or {}), id(self): conn})
            try:
                yield PostgresTransaction(conn)
            finally:
                _current_conn.reset(token)

    @contextlib.asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[bool]:
        async with self._advisory(name, wait=True) as got:
            yield got

    @contextlib.asynccontextmanager
    async def try_lock(self, name: str) -> AsyncIterator[bool]:
        async with self._advisory(name, wait=False) as got:
            yield got

    @contextlib.asynccontextmanager
    async def _advisory(self, name: str, *, wait: bool) -> AsyncIterator[bool]:
        conn = await self._connect()
        try:
            if wait:
                await conn.execute(f"SELECT pg_advisory_lock({_LOCK_KEY})", (name,))
            else:
                cur = await conn.execute(
                    f"SELECT pg_try_advisory_lock({_LOCK_KEY}) AS got", (name,)
                )
                row = await cur.fetchone()
                if not (row and row["got"]):
                    yield False
                    return
            try:
                yield True
            finally:
                # Closing the session releases it too; unlock explicitly while it is healthy.
                if not conn.closed and not conn.broken:
                    with contextlib.suppress(psycopg.Error):
                        await conn.execute(f"SELECT pg_advisory_unlock({_LOCK_KEY})", (name,))
        finally:
            await conn.close()

    # -- migrations -------------------------------------------------------------------------

    async def migrate(self, migrations: list[Migration] | None = None) -> list[str]:
        """Apply pending migrations, each in its own transaction, under an advisory lock so
        two replicas starting together apply each file once; returns the ids applied."""
        todo = load_migrations(self.dialect) if migrations is None else migrations
        applied: list[str] = []
        async with self.lock(_MIGRATION_LOCK), self._pool.connection() as conn:
            await conn.execute(SCHEMA_MIGRATIONS_DDL)
            cur = await conn.execute("SELECT id FROM schema_migrations")
            done = {r["id"] for r in await cur.fetchall()}
            for m in todo:
                if m.id in done:
                    continue
                try:
                    async with conn.transaction():
                        if m.sql.strip():
                            # No parameters: psycopg sends the script as one simple query,
                            # several statements allowed.
                            await conn.execute(m.sql.encode())
                        await conn.execute(
                            "INSERT INTO schema_migrations (id, checksum, applied_at) "
                            "VALUES (%s, %s, %s)",
                            (m.id, m.checksum, time.time()),
                        )
                except psycopg.Error as exc:
                    raise StoreError(f"migration {m.id} failed: {exc}") from exc
                applied.append(m.id)
        return applied


async def open_postgres(
    url: str, *, migrate: bool = True, max_connections: int = 10, min_connections: int = 1
) -> PostgresDatabase:
    db = PostgresDatabase(url, max_connections=max_connections, min_connections=min_connections)
    try:
        await db.open(migrate=migrate)
    except BaseException:
        await db.close()
        raise
    return db
