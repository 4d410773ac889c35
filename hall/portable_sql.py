"""SQL forms that SQLite and PostgreSQL read with the same meaning, for the report queries.

Why: the reports (hall.stats, hall.productivity, hall.sim_history, ...) are written once and
run on either database (hall/pg_sql.py translates the little that is mechanical). SQLite's
shorthands that PostgreSQL reads differently or not at all have a longer portable form; these
functions write that form, so each is defined once and the queries stay readable:

* a condition is not a number in PostgreSQL: `SUM(state = 'done')` is `count_if`, a 0/1
  column is `flag`;
* `TOTAL(x)` (SQLite's sum that is 0.0 over no rows) is `total`;
* `CAST(x AS INTEGER)` truncates in SQLite and rounds in PostgreSQL: `whole` truncates in both;
* SQLite's scalar `MAX(a, b)` / `MIN(a, b)` are aggregates in PostgreSQL (which calls them
  GREATEST / LEAST, unknown to SQLite): `larger` / `smaller`.

Each argument is SQL text written by the hall (never input). Pure: no I/O.
"""

from __future__ import annotations


def flag(condition: str) -> str:
    """1 where `condition` holds, else 0 (also where it is NULL, as SQLite's SUM sees it)."""
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


def count_if(condition: str) -> str:
    """How many rows `condition` holds for; NULL over no rows, as SQLite's SUM(condition)."""
    return f"SUM({flag(condition)})"


def total(expr: str) -> str:
    """SQLite's TOTAL: the sum, 0 over no rows or only NULLs."""
    return f"COALESCE(SUM({expr}), 0.0)"


def whole(expr: str) -> str:
    """`expr` truncated toward zero to an integer, as SQLite's CAST does (PostgreSQL's CAST
    rounds; the correction below is 0 on SQLite)."""
    cast = f"CAST({expr} AS INTEGER)"
    return (f"({cast} - CASE WHEN {expr} >= 0 AND {cast} > {expr} THEN 1 "
            f"WHEN {expr} < 0 AND {cast} < {expr} THEN -1 ELSE 0 END)")


def larger(a: str, b: str) -> str:
    """SQLite's scalar MAX(a, b) for values that are not NULL."""
    return f"CASE WHEN {a} >= {b} THEN {a} ELSE {b} END"


def smaller(a: str, b: str) -> str:
    """SQLite's scalar MIN(a, b) for values that are not NULL."""
    return f"CASE WHEN {a} <= {b} THEN {a} ELSE {b} END"
