"""The hall's SQL as PostgreSQL reads it (hall/pg_sql.py), checked on a real PostgreSQL server:
a translated query must give PostgreSQL the same answer SQLite gives the original."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hall.pg_sql import arguments, translate
from tests import backends

KEYS = (("ended_sessions", ("id",)), ("meta", ("key",)))
GENERATED = (("tickets", "id"),)


def test_placeholders_in_order_and_strings_left_alone() -> None:
    t = translate("SELECT '?', ? FROM x WHERE a = ? AND b = ':no' AND c = ?")
    assert t.sql == "SELECT '?', $1 FROM x WHERE a = $2 AND b = ':no' AND c = $3"
    assert arguments(t, (1, 2, 3)) == [1, 2, 3]


def test_named_parameters_reuse_their_number() -> None:
    t = translate("SELECT :lo, :hi, :lo + 1")
    assert t.sql == "SELECT $1, $2, $1 + 1"
    assert arguments(t, {"hi": 9, "lo": 1}) == [1, 9]


def test_words_postgresql_reserves_are_quoted() -> None:
    t = translate("SELECT user, t.window FROM audit JOIN tickets t ON t.window = ?")
    assert t.sql == 'SELECT "user", t."window" FROM audit JOIN tickets t ON t."window" = $1'


def test_a_named_window_keeps_its_keyword() -> None:
    t = translate("SELECT window, MAX(x) OVER run FROM t WINDOW run AS (PARTITION BY window), "
                  "next AS (ORDER BY x)")
    assert t.sql == ('SELECT "window", MAX(x) OVER run FROM t WINDOW run AS '
                     '(PARTITION BY "window"), next AS (ORDER BY x)')


def test_is_compares_values_as_sqlite_does() -> None:
    t = translate("SELECT a IS ?, b IS NOT c, d IS NULL, e IS NOT NULL FROM x")
    assert t.sql == ("SELECT a IS NOT DISTINCT FROM $1, b IS DISTINCT FROM c, d IS NULL, "
                     "e IS NOT NULL FROM x")


def test_insert_or_ignore_and_or_replace() -> None:
    ignore = translate("INSERT OR IGNORE INTO windows (number) VALUES (?)")
    assert ignore.sql == "INSERT INTO windows (number) VALUES ($1) ON CONFLICT DO NOTHING"
    replace = translate("INSERT OR REPLACE INTO ended_sessions (id, reason, ended_at) "
                        "VALUES (?, ?, ?)", KEYS)
    assert replace.sql.endswith("ON CONFLICT (id) DO UPDATE SET reason = EXCLUDED.reason, "
                                "ended_at = EXCLUDED.ended_at")


def test_an_insert_returns_the_generated_key() -> None:
    t = translate("INSERT INTO tickets (day) VALUES (?)", (), GENERATED)
    assert t.sql.endswith("RETURNING id")
    own = translate("INSERT INTO tickets (day) VALUES (?) RETURNING day", (), GENERATED)
    assert own.sql.endswith("RETURNING day")


def test_wrong_parameter_count_is_refused() -> None:
    with pytest.raises(ValueError):
        arguments(translate("SELECT ?"), ())


def _sqlite(sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(":memory:")
    conn.execute('CREATE TABLE t (window INTEGER, user TEXT, note TEXT)')
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", ROWS)
    return [tuple(r) for r in conn.execute(sql, params).fetchall()]


async def _postgres(url: str, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute('CREATE TEMP TABLE t ("window" BIGINT, "user" TEXT, note TEXT)')
        await conn.executemany("INSERT INTO t VALUES ($1, $2, $3)", ROWS)
        translated = translate(sql)
        return [tuple(r) for r in await conn.fetch(translated.sql,
                                                    *arguments(translated, params))]
    finally:
        await conn.close()


ROWS = [(1, "甲", "a?b"), (2, "乙", "it's"), (3, None, ":x"), (2, "丙", None)]


@pytest.fixture(scope="module")
def pg_url() -> str:
    return backends.cluster().database()


@settings(max_examples=25, deadline=None)
@given(window=st.integers(-3, 5), text=st.sampled_from(["甲", "乙", "it's", "?", ":x", "%"]))
def test_same_answers_on_both_databases(pg_url: str, window: int, text: str) -> None:
    """Hypothesis: queries with literals that look like placeholders, quoted words and both
    parameter styles give the same rows on SQLite and on PostgreSQL."""
    for sql, params in [
        ("SELECT window, user FROM t WHERE window >= ? AND user <> '?' ORDER BY window, user",
         (window,)),
        ("SELECT COUNT(*), SUM(window) FROM t WHERE user = ? OR note = ?", (text, text)),
        ("SELECT COUNT(*) FROM t WHERE user IS ? OR note IS NOT ?", (text, text)),
        ("SELECT note FROM t WHERE window = :w OR window = :w + 1 "
         "ORDER BY note IS NULL, note",
         {"w": window}),
    ]:
        assert _sqlite(sql, params) == asyncio.run(_postgres(pg_url, sql, params)), sql


def test_a_subquery_in_from_gets_a_name() -> None:
    t = translate("SELECT k, COUNT(*) FROM (SELECT window AS k FROM t) GROUP BY k")
    assert t.sql.startswith('SELECT k, COUNT(*) FROM (SELECT "window" AS k FROM t) AS _s')
    named = translate("SELECT * FROM (SELECT 1) AS x JOIN (SELECT 2) y ON 1 WHERE a IN "
                      "(SELECT b FROM u) AND c IS DISTINCT FROM (SELECT 3)")
    assert named.sql == ("SELECT * FROM (SELECT 1) AS x JOIN (SELECT 2) y ON 1 WHERE a IN "
                         "(SELECT b FROM u) AND c IS DISTINCT FROM (SELECT 3)")


async def _postgres_compat(url: str, sql: str) -> list[tuple[Any, ...]]:
    from hall.pg_schema import COMPAT

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(COMPAT)
        await conn.execute('CREATE TEMP TABLE t ("window" BIGINT, "user" TEXT, note TEXT)')
        await conn.executemany("INSERT INTO t VALUES ($1, $2, $3)", ROWS)
        return [tuple(r) for r in await conn.fetch(translate(sql).sql)]
    finally:
        await conn.close()


def test_sqlite_aggregates_the_reports_use_answer_alike(pg_url: str) -> None:
    """SUM of a comparison, TOTAL and ROUND to places, over rows and over no rows (the figures
    of a day without tickets: SUM is NULL, TOTAL 0.0)."""
    for sql in ("SELECT SUM(window > 1), SUM(note IS NULL), TOTAL(window), "
                "ROUND(TOTAL(window) / 7.0, 3) FROM t",
                "SELECT SUM(window > 1), TOTAL(window) FROM t WHERE window > 99",
                "SELECT SUM(user = '甲') FROM t WHERE user IS NULL",
                "SELECT k, COUNT(*) FROM (SELECT window AS k FROM t) GROUP BY k ORDER BY k"):
        assert _sqlite(sql, ()) == asyncio.run(_postgres_compat(pg_url, sql)), sql
