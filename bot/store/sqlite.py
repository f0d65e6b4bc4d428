"""The SQLite engine: stdlib sqlite3 on one worker thread, for a single bot process.

One connection does everything (SQLite allows one writer at a time anyway), on one dedicated
thread so the event loop never blocks on disk. An asyncio lock gives each standalone statement
or transaction exclusive use of the connection, so a task never sees another task's
uncommitted work. WAL journal + busy_timeout let a second process (an admin command, a restart
overlapping a shutdown) wait instead of failing. Transactions start with ``BEGIN IMMEDIATE`` so
read-then-write sequences (claiming a job) cannot interleave with another process's writes.

Named locks (``lock``/``try_lock``) are ``flock`` locks on small files next to the database:
they work between processes and between connections in one process, and the OS drops them
when a process dies, so a crashed holder never wedges the weekly post.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import itertools
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from bot.store.db import IntegrityError, Row, StoreError
from bot.store.migrate import SCHEMA_MIGRATIONS_DDL, Migration, load_migrations
from bot.store.sqltext import split_statements

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: in-process locks only
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000
_LOCK_POLL_SECONDS = 0.05

# The transaction (if any) that the current task has open, per database object: a statement
# sent through the Database object from inside ``async with db.transaction()`` joins it
# instead of waiting forever for the connection the transaction holds.
_current_tx: contextvars.ContextVar[dict[int, SqliteTransaction] | None] = contextvars.ContextVar(
    "sqlite_current_tx", default=None
)


def parse_sqlite_url(url: str) -> str:
    """``sqlite:///rel.db`` -> ``rel.db``; ``sqlite:////abs.db`` -> ``/abs.db``;
    ``sqlite:///:memory:`` -> ``:memory:``."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise StoreError(
            f"bad SQLite URL {url!r}: expected sqlite:///relative/path.db, "
            "sqlite:////absolute/path.db or sqlite:///:memory:"
        )
    path = url[len(prefix) :]
    if not path or "?" in path:
        raise StoreError(f"bad SQLite URL {url!r}: a file path is required (no query options)")
    return path


def _dict_factory(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


def _wrap_errors(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(str(exc)) from exc


def _rowcount(c: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
    return _wrap_errors(lambda: c.execute(sql, params).rowcount)


def _one(c: sqlite3.Connection, sql: str, params: Sequence[Any]) -> Row | None:
    return _wrap_errors(lambda: c.execute(sql, params).fetchone())


def _all(c: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[Row]:
    return _wrap_errors(lambda: c.execute(sql, params).fetchall())


def _rollback_if_open(c: sqlite3.Connection) -> None:
    # Runs on the database thread, after whatever was queued before it (BEGIN, a statement).
    if c.in_transaction:
        c.execute("ROLLBACK")


class SqliteTransaction:
    """Statements inside ``async with db.transaction()``; runs on the database's thread."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._db._run(lambda c: _rowcount(c, sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await self._db._run(lambda c: _one(c, sql, params))

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self._db._run(lambda c: _all(c, sql, params))


class SqliteDatabase:
    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._conn: sqlite3.Connection | None = None
        self._mutex = asyncio.Lock()
        self._savepoints = itertools.count(1)
        self._memory_locks: dict[str, asyncio.Lock] = {}
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------

    async def open(self, *, migrate: bool = True) -> None:
        if self.path != ":memory:":
            parent = Path(self.path).resolve().parent
            if not parent.is_dir():
                raise StoreError(
                    f"cannot open SQLite database {self.path!r}: folder {parent} does not exist"
                )
        try:
            await self._call(self._connect)
        except sqlite3.Error as exc:
            self._executor.shutdown(wait=False)
            raise StoreError(f"cannot open SQLite database {self.path!r}: {exc}") from exc
        if migrate:
            await self.migrate()

    def _connect(self) -> None:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves; check_same_thread is moot
        # because only the executor's one thread ever touches the connection.
        conn = sqlite3.connect(
            self.path,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,
        )
        conn.row_factory = _dict_factory
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # durable across process crashes in WAL
        conn.execute("PRAGMA foreign_keys = ON")
        self._conn = conn

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with self._mutex:
            if self._conn is not None:
                conn = self._conn
                await self._call(conn.close)
                self._conn = None
        self._executor.shutdown(wait=True)

    # -- plumbing ---------------------------------------------------------------------------

    async def _call(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn)

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            raise StoreError("the SQLite database is closed")
        conn = self._conn
        return await self._call(lambda: fn(conn))

    def _joined_tx(self) -> SqliteTransaction | None:
        txs = _current_tx.get()
        return txs.get(id(self)) if txs else None

    async def _standalone(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        async with self._mutex:
            return await self._run(fn)

    # -- Database protocol ------------------------------------------------------------------

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        tx = self._joined_tx()
        if tx is not None:
            return await tx.execute(sql, params)
        return await self._standalone(lambda c: _rowcount(c, sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        tx = self._joined_tx()
        if tx is not None:
            return await tx.fetchone(sql, params)
        return await self._standalone(lambda c: _one(c, sql, params))

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        tx = self._joined_tx()
        if tx is not None:
            return await tx.fetchall(sql, params)
        return await self._standalone(lambda c: _all(c, sql, params))

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTransaction]:
        outer = self._joined_tx()
        if outer is not None:
            # Nested block: a savepoint, so the inner block can fail alone.
            name = f"sp_{next(self._savepoints)}"
            await outer.execute(f"SAVEPOINT {name}")
            try:
                yield outer
            except BaseException:
                await outer.execute(f"ROLLBACK TO SAVEPOINT {name}")
                await outer.execute(f"RELEASE SAVEPOINT {name}")
                raise
            await outer.execute(f"RELEASE SAVEPOINT {name}")
            return
        async with self._mutex:
            tx = SqliteTransaction(self)
            token = _current_tx.set({**(_current_tx.get() or {}), id(self): tx})
            try:
                # Inside the try: if we are cancelled while BEGIN runs on the thread, the
                # rollback below is queued behind it and still undoes it.
                await self._run(lambda c: c.execute("BEGIN IMMEDIATE"))
                yield tx
            except BaseException:
                _current_tx.reset(token)
                # Shielded: a cancelled task must still leave the connection usable.
                await asyncio.shield(self._run(_rollback_if_open))
                raise
            _current_tx.reset(token)
            try:
                await asyncio.shield(self._run(lambda c: _rowcount(c, "COMMIT", ())))
            except BaseException:
                await asyncio.shield(self._run(_rollback_if_open))
                raise

    @contextlib.asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[bool]:
        async with self._named_lock(name, wait=True) as got:
            yield got

    @contextlib.asynccontextmanager
    async def try_lock(self, name: str) -> AsyncIterator[bool]:
        async with self._named_lock(name, wait=False) as got:
            yield got

    @contextlib.asynccontextmanager
    async def _named_lock(self, name: str, *, wait: bool) -> AsyncIterator[bool]:
        if self.path == ":memory:" or fcntl is None:
            # An in-memory database lives in one object: an in-process lock is exact.
            lk = self._memory_locks.setdefault(name, asyncio.Lock())
            if not wait and lk.locked():
                yield False
                return
            async with lk:
                yield True
            return
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        lock_path = f"{self.path}.lock-{digest}"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not wait:
                        yield False
                        return
                    # Polling keeps cancellation clean (a thread blocked in flock could not
                    # be interrupted and would take the lock after we gave up).
                    await asyncio.sleep(_LOCK_POLL_SECONDS)
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    # -- migrations -------------------------------------------------------------------------

    async def migrate(self, migrations: list[Migration] | None = None) -> list[str]:
        """Apply pending migrations in one ``BEGIN IMMEDIATE`` transaction; returns their ids.

        The immediate transaction takes SQLite's write lock first, so a second process starting
        at the same moment waits, then sees everything recorded and applies nothing."""
        todo = load_migrations(self.dialect) if migrations is None else migrations
        async with self.transaction() as tx:
            await tx.execute(SCHEMA_MIGRATIONS_DDL)
            done = {r["id"] for r in await tx.fetchall("SELECT id FROM schema_migrations")}
            applied = []
            for m in todo:
                if m.id in done:
                    continue
                for stmt in split_statements(m.sql):
                    try:
                        await tx.execute(stmt)
                    except sqlite3.Error as exc:
                        raise StoreError(f"migration {m.id} failed: {exc}\n{stmt}") from exc
                await tx.execute(
                    "INSERT INTO schema_migrations (id, checksum, applied_at) VALUES (?, ?, ?)",
                    (m.id, m.checksum, time.time()),
                )
                applied.append(m.id)
        return applied

    def __repr__(self) -> str:
        return f"<SqliteDatabase {self.path!r}>"


async def open_sqlite(url: str, *, migrate: bool = True) -> SqliteDatabase:
    db = SqliteDatabase(parse_sqlite_url(url))
    await db.open(migrate=migrate)
    return db
