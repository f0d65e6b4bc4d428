"""Lexical helpers for the portable SQL dialect (pure functions, no I/O).

Feature modules write ``?`` placeholders once; PostgreSQL (psycopg) wants ``%s`` and treats every
``%`` as special. The translation must not touch a ``?`` inside a string literal, a quoted
identifier or a comment, so it walks the text with a tiny lexer instead of a regex replace.
"""

from __future__ import annotations

import re

_DOLLAR_TAG = re.compile(r"\$[A-Za-z_]*\$")


def _skip_quoted(sql: str, i: int, quote: str) -> int:
    """Index just past the literal starting at ``sql[i] == quote`` (doubled quotes escape)."""
    j = i + 1
    n = len(sql)
    while j < n:
        if sql[j] == quote:
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return n  # unterminated: the server reports it; nothing after it is a placeholder


def _segments(sql: str) -> list[tuple[bool, str]]:
    """Split ``sql`` into (is_code, text) pieces; non-code = literals, identifiers, comments."""
    out: list[tuple[bool, str]] = []
    i = 0
    start = 0
    n = len(sql)
    while i < n:
        c = sql[i]
        end = -1
        if c in ("'", '"'):
            end = _skip_quoted(sql, i, c)
        elif c == "-" and sql.startswith("--", i):
            nl = sql.find("\n", i)
            end = n if nl < 0 else nl + 1
        elif c == "/" and sql.startswith("/*", i):
            close = sql.find("*/", i + 2)
            end = n if close < 0 else close + 2
        elif c == "$":
            m = _DOLLAR_TAG.match(sql, i)
            if m and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
                close = sql.find(m.group(0), m.end())
                end = n if close < 0 else close + len(m.group(0))
        if end >= 0:
            if start < i:
                out.append((True, sql[start:i]))
            out.append((False, sql[i:end]))
            i = start = end
        else:
            i += 1
    if start < n:
        out.append((True, sql[start:]))
    return out


def to_pyformat(sql: str) -> str:
    """``?`` -> ``%s`` outside literals/comments; every ``%`` doubled (psycopg parses all of
    them, even inside literals, whenever parameters are passed — and we always pass them)."""
    parts: list[str] = []
    for is_code, text in _segments(sql):
        text = text.replace("%", "%%")
        if is_code:
            text = text.replace("?", "%s")
        parts.append(text)
    return "".join(parts)


def count_placeholders(sql: str) -> int:
    """How many ``?`` placeholders the statement has (outside literals and comments)."""
    return sum(text.count("?") for is_code, text in _segments(sql) if is_code)


def split_statements(script: str) -> list[str]:
    """Split a migration script into statements at top-level ``;`` (not inside literals,
    comments or dollar quotes). Empty statements and comment-only pieces are dropped.
    SQLite triggers (``BEGIN ... END;`` bodies) are not supported in migrations."""
    statements: list[str] = []
    current: list[str] = []
    for is_code, text in _segments(script):
        if not is_code:
            current.append(text)
            continue
        pieces = text.split(";")
        for k, piece in enumerate(pieces):
            current.append(piece)
            if k < len(pieces) - 1:
                statements.append("".join(current))
                current = []
    statements.append("".join(current))
    result = []
    for stmt in statements:
        code = "".join(t for is_code, t in _segments(stmt) if is_code)
        if code.strip():
            result.append(stmt.strip())
    return result
