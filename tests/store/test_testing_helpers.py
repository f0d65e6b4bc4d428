"""tests.support.store: the skip-or-fail rule for PostgreSQL, the placeholder translation."""

from __future__ import annotations

import pytest

from bot.store.sqltext import count_placeholders, split_statements, to_pyformat
from tests.support.store import postgres_unavailable_reason, skip_or_fail, with_search_path


async def test_unreachable_server_gives_a_reason_without_password() -> None:
    reason = await postgres_unavailable_reason("postgresql://u:pw123456@127.0.0.1:1/x")
    assert reason is not None
    assert reason.startswith("PostgreSQL not reachable at postgresql://u:***@127.0.0.1:1/x")
    assert "pw123456" not in reason


def test_missing_postgres_skips_unless_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ISOLATION_BOT_REQUIRE_POSTGRES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no server"):
        skip_or_fail("no server")
    monkeypatch.setenv("ISOLATION_BOT_REQUIRE_POSTGRES", "1")
    with pytest.raises(pytest.fail.Exception, match="ISOLATION_BOT_REQUIRE_POSTGRES=1"):
        skip_or_fail("no server")
    monkeypatch.setenv("ISOLATION_BOT_REQUIRE_POSTGRES", "0")
    with pytest.raises(pytest.skip.Exception):
        skip_or_fail("no server")


def test_search_path_option_is_url_encoded() -> None:
    assert with_search_path("postgresql://h/db", "test_ab") == (
        "postgresql://h/db?options=-csearch_path%3Dtest_ab"
    )
    assert with_search_path("postgresql://h/db?sslmode=disable", "s").endswith(
        "?sslmode=disable&options=-csearch_path%3Ds"
    )


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
        ("SELECT '?' , ? FROM t", "SELECT '?' , %s FROM t"),
        ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', %s"),
        ('SELECT "odd?col" FROM t WHERE x = ?', 'SELECT "odd?col" FROM t WHERE x = %s'),
        ("SELECT 1 -- what?\nWHERE x = ?", "SELECT 1 -- what?\nWHERE x = %s"),
        ("SELECT /* a ? b */ ?", "SELECT /* a ? b */ %s"),
        ("SELECT $$ ? $$, ?", "SELECT $$ ? $$, %s"),
        ("SELECT x LIKE 'a%' , 5 % ?", "SELECT x LIKE 'a%%' , 5 %% %s"),
        ("SELECT 'unterminated ?", "SELECT 'unterminated ?"),
    ],
)
def test_placeholder_translation(sql: str, expected: str) -> None:
    assert to_pyformat(sql) == expected


def test_count_placeholders_ignores_literals() -> None:
    assert count_placeholders("INSERT INTO t VALUES (?, '?', ?) -- ?") == 2


def test_split_statements() -> None:
    script = """
    -- comment; with a semicolon
    CREATE TABLE a (x TEXT DEFAULT 'a;b');
    /* block; comment */
    INSERT INTO a VALUES ('x');;
    CREATE INDEX i ON a (x)
    """
    assert split_statements(script) == [
        "-- comment; with a semicolon\n    CREATE TABLE a (x TEXT DEFAULT 'a;b')",
        "/* block; comment */\n    INSERT INTO a VALUES ('x')",
        "CREATE INDEX i ON a (x)",
    ]
    assert split_statements("-- only a comment\n") == []


@pytest.mark.parametrize(
    ("required", "expect_rc", "expect_text"),
    [("0", 0, "1 skipped"), ("1", 1, "ISOLATION_BOT_REQUIRE_POSTGRES=1")],
)
def test_store_suite_skips_or_fails_without_postgres(
    required: str, expect_rc: int, expect_text: str
) -> None:
    """The real fixture wiring: an unreachable server skips the PostgreSQL half of the suite,
    and fails it when CI requires PostgreSQL."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    env = {
        **os.environ,
        "ISOLATION_BOT_REQUIRE_POSTGRES": required,
        "ISOLATION_BOT_TEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1:1/test",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rs",
            str(here / "test_engine.py"),
            "-k",
            "rows_are_dicts",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=here.parents[1],
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == expect_rc, output
    assert expect_text in output
    assert "PostgreSQL not reachable at postgresql://postgres@127.0.0.1:1/test" in output
    assert "1 passed" in output  # the SQLite half still ran
