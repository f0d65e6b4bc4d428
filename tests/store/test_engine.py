"""The Database seam, same behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from bot.store import Database, IntegrityError, StoreError, open_database
from bot.store.migrate import Migration, load_migrations
from tests.support.store import ReusableSchema


async def _make_table(db: Database) -> None:
    await db.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT, n BIGINT, x DOUBLE PRECISION)")


async def test_rows_are_dicts_and_placeholders_work(db: Database) -> None:
    await _make_table(db)
    assert await db.execute("INSERT INTO kv VALUES (?, ?, ?, ?)", ("a", "it's ?%", 3, 1.5)) == 1
    row = await db.fetchone("SELECT k, v, n, x FROM kv WHERE k = ?", ("a",))
    assert row == {"k": "a", "v": "it's ?%", "n": 3, "x": 1.5}
    # A "?" and a "%" inside a literal are text, not placeholders.
    rows = await db.fetchall("SELECT k FROM kv WHERE v LIKE 'it''s ?%' AND n = ?", (3,))
    assert rows == [{"k": "a"}]
    assert await db.fetchone("SELECT k FROM kv WHERE k = ?", ("missing",)) is None
    assert await db.execute("UPDATE kv SET n = n + 1") == 1


async def test_transaction_commits_and_rolls_back(db: Database) -> None:
    await _make_table(db)
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO kv (k) VALUES (?)", ("kept",))
        assert await tx.fetchone("SELECT k FROM kv WHERE k = 'kept'") == {"k": "kept"}
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO kv (k) VALUES (?)", ("lost",))
            raise RuntimeError("boom")
    assert await db.fetchall("SELECT k FROM kv ORDER BY k") == [{"k": "kept"}]


async def test_uncommitted_work_is_invisible_to_other_connections(
    db: Database, db2: Database
) -> None:
    await _make_table(db)
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO kv (k) VALUES ('x')")
        assert await db2.fetchone("SELECT k FROM kv") is None  # (WAL: readers never wait)
    assert await db2.fetchone("SELECT k FROM kv") == {"k": "x"}


async def test_statements_on_the_database_join_the_open_transaction(db: Database) -> None:
    await _make_table(db)
    with pytest.raises(RuntimeError):
        async with db.transaction():
            # Not through ``tx``: must join the transaction (and not deadlock waiting for it).
            await asyncio.wait_for(db.execute("INSERT INTO kv (k) VALUES ('j')"), 10)
            assert await db.fetchone("SELECT k FROM kv") == {"k": "j"}
            raise RuntimeError("roll back")
    assert await db.fetchone("SELECT k FROM kv") is None


async def test_nested_transaction_is_a_savepoint(db: Database) -> None:
    await _make_table(db)
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO kv (k) VALUES ('outer')")
        with pytest.raises(ValueError):
            async with db.transaction() as inner:
                await inner.execute("INSERT INTO kv (k) VALUES ('inner')")
                raise ValueError
    assert await db.fetchall("SELECT k FROM kv") == [{"k": "outer"}]


async def test_integrity_error_is_the_same_class_on_both_engines(db: Database) -> None:
    await _make_table(db)
    await db.execute("INSERT INTO kv (k) VALUES ('dup')")
    with pytest.raises(IntegrityError):
        await db.execute("INSERT INTO kv (k) VALUES ('dup')")
    # ... and the connection is still usable, inside a transaction too.
    with pytest.raises(IntegrityError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO kv (k) VALUES ('new')")
            await tx.execute("INSERT INTO kv (k) VALUES ('dup')")
    assert await db.fetchall("SELECT k FROM kv") == [{"k": "dup"}]


async def test_concurrent_transactions_do_not_lose_updates(db: Database, db2: Database) -> None:
    await _make_table(db)
    await db.execute("INSERT INTO kv (k, n) VALUES ('counter', 0)")

    async def bump(d: Database) -> None:
        for _ in range(10):
            async with d.transaction() as tx:
                if d.dialect == "postgresql":
                    row = await tx.fetchone("SELECT n FROM kv WHERE k = 'counter' FOR UPDATE")
                else:
                    row = await tx.fetchone("SELECT n FROM kv WHERE k = 'counter'")
                assert row is not None
                await tx.execute("UPDATE kv SET n = ? WHERE k = 'counter'", (row["n"] + 1,))

    await asyncio.gather(bump(db), bump(db), bump(db2), bump(db2))
    assert await db.fetchone("SELECT n FROM kv") == {"n": 40}


async def test_try_lock_across_connections(db: Database, db2: Database) -> None:
    async with db.lock("weekly-summary") as got:
        assert got is True
        async with db2.try_lock("weekly-summary") as other:
            assert other is False
        async with db.try_lock("weekly-summary") as same_db_other_holder:
            assert same_db_other_holder is False
        async with db2.try_lock("another-name") as unrelated:
            assert unrelated is True
    async with db2.try_lock("weekly-summary") as after:
        assert after is True


async def test_lock_waits_for_the_holder(db: Database, db2: Database) -> None:
    order: list[str] = []
    held = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with db.lock("meta-issue"):
            order.append("first in")
            held.set()
            await release.wait()
            order.append("first out")

    async def waiter() -> None:
        await held.wait()
        async with db2.lock("meta-issue") as got:
            assert got
            order.append("second in")

    task_a = asyncio.create_task(holder())
    task_b = asyncio.create_task(waiter())
    await held.wait()
    await asyncio.sleep(0.2)  # give the waiter the chance to (wrongly) get in
    assert order == ["first in"]
    release.set()
    await asyncio.wait_for(asyncio.gather(task_a, task_b), 20)
    assert order == ["first in", "first out", "second in"]


async def test_lock_released_when_block_raises(db: Database, db2: Database) -> None:
    with pytest.raises(KeyError):
        async with db.lock("x"):
            raise KeyError
    async with db2.try_lock("x") as got:
        assert got


async def test_migrations_recorded_once_and_reopen_is_a_noop(db_url: str, db: Database) -> None:
    ids = [m.id for m in load_migrations(db.dialect)]
    assert "0001_core" in ids
    recorded = [r["id"] for r in await db.fetchall("SELECT id FROM schema_migrations ORDER BY id")]
    assert recorded == sorted(ids)
    again = await open_database(db_url)
    try:
        assert await again.migrate() == []  # type: ignore[attr-defined]
    finally:
        await again.close()


async def test_concurrent_migration_runs_apply_each_file_once(db: Database, db_url: str) -> None:
    # Not idempotent on purpose: a second application would fail with "table exists".
    extra = [
        Migration("9001_test_a", "CREATE TABLE mig_a (id TEXT PRIMARY KEY);", "a"),
        Migration(
            "9002_test_b",
            "CREATE TABLE mig_b (id TEXT);\nINSERT INTO mig_b VALUES ('only once');",
            "b",
        ),
    ]
    others = [await open_database(db_url, migrate=False) for _ in range(3)]
    try:
        results = await asyncio.gather(*(o.migrate(extra) for o in others))  # type: ignore[attr-defined]
    finally:
        for o in others:
            await o.close()
    assert sorted(i for r in results for i in r) == ["9001_test_a", "9002_test_b"]
    assert await db.fetchall("SELECT id FROM mig_b") == [{"id": "only once"}]


async def test_failed_migration_is_reported_and_not_recorded(db: Database) -> None:
    bad = [Migration("9100_broken", "CREATE TABLE ok_part (id TEXT); CREATE TABLEX nope;", "x")]
    with pytest.raises(StoreError, match="9100_broken"):
        await db.migrate(bad)  # type: ignore[attr-defined]
    assert await db.fetchone("SELECT id FROM schema_migrations WHERE id = '9100_broken'") is None


def test_dialect_variants_win_over_the_generic_file(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x TEXT);")
    (tmp_path / "0002_b.sql").write_text("generic")
    (tmp_path / "0002_b.postgresql.sql").write_text("pg only")
    (tmp_path / "0003_c.sqlite.sql").write_text("sqlite only")
    (tmp_path / "README.txt").write_text("ignored")
    pg = {m.id: m.sql for m in load_migrations("postgresql", tmp_path)}
    lite = {m.id: m.sql for m in load_migrations("sqlite", tmp_path)}
    assert pg == {"0001_a": "CREATE TABLE a (x TEXT);", "0002_b": "pg only", "0003_c": ""}
    assert lite == {
        "0001_a": "CREATE TABLE a (x TEXT);",
        "0002_b": "generic",
        "0003_c": "sqlite only",
    }


def test_badly_named_migration_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "1_core.sql").write_text("")
    with pytest.raises(StoreError, match="badly named"):
        load_migrations("sqlite", tmp_path)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "DATABASE_URL is empty"),
        ("mysql://root@localhost/db", "unsupported DATABASE_URL scheme 'mysql'"),
        ("sqlite://relative.db", "bad SQLite URL"),
        ("sqlite:///", "bad SQLite URL"),
        ("sqlite:////no/such/folder/x.db", "folder /no/such/folder does not exist"),
    ],
)
async def test_bad_urls_get_clear_errors(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        await open_database(url)


async def test_unreachable_postgres_is_a_clear_error_without_the_password() -> None:
    url = "postgresql://bot:s3cret@127.0.0.1:1/nothing"
    with pytest.raises(StoreError) as info:
        await open_database(url)
    text = str(info.value)
    assert "cannot connect to PostgreSQL at postgresql://bot:***@127.0.0.1:1/nothing" in text
    assert "s3cret" not in text


async def _sessions_named(db: Database, name: str) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE application_name = ?", (name,)
    )
    assert row is not None
    return int(row["n"])


@pytest.mark.postgres
@pytest.mark.parametrize("minimum", [1, 4])
async def test_postgres_pool_opens_its_minimum_before_answering(
    postgres_schema: ReusableSchema, minimum: int
) -> None:
    # The service sizes the minimum for its workers and intake: those connections exist
    # before the first webhook, which then never waits for a connection to be made.
    name = f"isolation-bot-test-{uuid.uuid4().hex[:8]}"
    db = await open_database(
        f"{postgres_schema.url}&application_name={name}", min_connections=minimum
    )
    try:
        assert await _sessions_named(db, name) == minimum
    finally:
        await db.close()


async def test_sqlite_memory_and_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mem = await open_database("sqlite:///:memory:")
    try:
        assert await mem.fetchone("SELECT COUNT(*) AS n FROM jobs") == {"n": 0}
        async with mem.try_lock("a") as first, mem.try_lock("a") as second:
            assert (first, second) == (True, False)
    finally:
        await mem.close()
    monkeypatch.chdir(tmp_path)
    rel = await open_database("sqlite:///relative.sqlite3")
    await rel.close()
    assert (tmp_path / "relative.sqlite3").exists()


async def test_cancelled_transaction_rolls_back_and_leaves_the_store_usable(
    db: Database,
) -> None:
    await _make_table(db)
    inside = asyncio.Event()

    async def stuck() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO kv (k) VALUES ('half-done')")
            inside.set()
            await asyncio.Event().wait()  # cancelled here, mid-transaction

    task = asyncio.create_task(stuck())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.wait_for(db.fetchone("SELECT k FROM kv"), 10) is None
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO kv (k) VALUES ('after')")
    assert await db.fetchall("SELECT k FROM kv") == [{"k": "after"}]


async def test_cancelled_lock_waiter_does_not_keep_the_lock(db: Database, db2: Database) -> None:
    async with db.lock("singleton"):
        waiter = asyncio.create_task(db2.lock("singleton").__aenter__())
        await asyncio.sleep(0.2)
        assert not waiter.done()
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    async with db2.try_lock("singleton") as got:
        assert got is True


async def test_aggregates_have_the_same_python_types_on_both_engines(db: Database) -> None:
    await _make_table(db)
    for k, n, x in (("a", 1, 0.5), ("b", 2, 1.0), ("c", 4, 1.5)):
        await db.execute("INSERT INTO kv (k, n, x) VALUES (?, ?, ?)", (k, n, x))
    row = await db.fetchone(
        "SELECT COUNT(*) AS c, SUM(n) AS s, MAX(n) AS m, SUM(x) AS sx, AVG(n) AS a FROM kv"
    )
    assert row == {"c": 3, "s": 7, "m": 4, "sx": 3.0, "a": pytest.approx(7 / 3)}
    assert (type(row["c"]), type(row["s"]), type(row["m"]), type(row["sx"]), type(row["a"])) == (
        int,
        int,
        int,
        float,
        float,
    )
    empty = await db.fetchone("SELECT SUM(n) AS s FROM kv WHERE k = 'none'")
    assert empty == {"s": None}


async def test_bools_are_stored_as_integers_on_both_engines(db: Database) -> None:
    await _make_table(db)
    await db.execute("INSERT INTO kv (k, n) VALUES (?, ?), (?, ?)", ("yes", True, "no", False))
    assert await db.fetchall("SELECT k, n FROM kv WHERE n = ? ORDER BY k", (True,)) == [
        {"k": "yes", "n": 1}
    ]
    assert await db.fetchone("SELECT n FROM kv WHERE k = 'no'") == {"n": 0}


def test_each_owner_ships_its_migrations_in_its_own_number_range() -> None:
    from bot.store.migrate import MIGRATION_FOLDERS, migration_dirs

    ranges = {"store": 0, "prcheck": 10, "commands": 20, "tracking": 30, "summary": 40}
    assert set(MIGRATION_FOLDERS) == set(ranges)
    for name, folder in zip(MIGRATION_FOLDERS, migration_dirs(), strict=True):
        ids = [int(e.name[:4]) for e in folder.iterdir() if e.name.endswith(".sql")]
        assert ids, name
        assert all(ranges[name] <= i < ranges[name] + 10 for i in ids), (name, ids)
    assert [m.id for m in load_migrations("sqlite")][:2] == ["0001_core", "0002_queue_active_index"]


def test_a_migration_id_in_two_folders_is_a_clear_error(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "0050_same.sql").write_text("SELECT 1;")
    with pytest.raises(StoreError, match="0050_same is in two folders"):
        load_migrations("sqlite", [tmp_path / "a", tmp_path / "b"])
