"""SQLite's functions and shorthands as the reports use them, on both databases: the forms of
hall/portable_sql.py and the PostgreSQL functions of COMPAT (hall/pg_schema.py) must give
PostgreSQL's answer equal to SQLite's, for any value the hall can store. Hypothesis looks for
the values where they part (an instant a hair before a whole hour, a negative float, a
Sunday). Runs on a real PostgreSQL server whatever `--backend` says, like test_pg_sql."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hall import productivity
from hall.portable_sql import count_if, flag, larger, smaller, total, whole
from tests import backends

DOUBLE = "CAST(? AS DOUBLE PRECISION)"


@pytest.fixture(scope="module")
def pg() -> str:
    url = backends.cluster().database()
    backends.migrate(url)  # COMPAT comes with the schema
    return url


def both(pg: str, sql: str, params: tuple[Any, ...] = ()) -> tuple[list[tuple[Any, ...]],
                                                                 list[tuple[Any, ...]]]:
    with sqlite3.connect(":memory:") as conn:
        on_sqlite = [tuple(r) for r in conn.execute(sql, params).fetchall()]
    return on_sqlite, backends.tuples(pg, sql, params)


def same(pg: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    on_sqlite, on_pg = both(pg, sql, params)
    assert on_sqlite == on_pg, (sql, params)
    return on_sqlite


# instants of 2000–2040, often within a millisecond of a whole hour (SQLite rounds to the ms)
instants = st.one_of(
    st.floats(946684800, 2208988800),
    st.builds(lambda h, d: h * 3600 + d, st.integers(262968, 613608),
              st.floats(-0.002, 0.002)))


@settings(max_examples=60, deadline=None)
@given(ts=instants, offset=st.sampled_from([0, 8 * 3600, -5 * 3600]))
def test_hours_and_days_of_an_instant(pg: str, ts: float, offset: int) -> None:
    same(pg, f"SELECT CAST(strftime('%H', {DOUBLE} + ?, 'unixepoch') AS INTEGER) AS h, "
             f"strftime('%Y-%m-%d %H:%M', {DOUBLE} + ?, 'unixepoch') AS m",
         (ts, float(offset), ts, float(offset)))


@settings(max_examples=40, deadline=None)
@given(n=st.one_of(st.none(), st.integers(0, 10**11)), width=st.sampled_from([2, 3, 12]))
def test_printf_pads_a_number(pg: str, n: int | None, width: int) -> None:
    (row,) = same(pg, f"SELECT printf('%0{width}d', CAST(? AS BIGINT)) AS a, "
                      f"printf('%0{width}d|', CAST(? AS BIGINT)) || 'x' AS b", (n, n))
    assert row[0] == f"{n or 0:0{width}d}"


@settings(max_examples=40, deadline=None)
@given(day=st.dates(date(2000, 1, 1), date(2040, 12, 31)), weekday=st.integers(0, 6),
       days=st.integers(-40, 40))
def test_a_day_moved_to_its_week_and_by_days(pg: str, day: date, weekday: int,
                                             days: int) -> None:
    (row,) = same(pg, "SELECT date(?, 'weekday 0', '-6 days') AS a, date(?, ?, ?) AS b",
                  (day.isoformat(), day.isoformat(), f"weekday {weekday}", f"{days:+d} days"))
    assert row[0] == (day - timedelta(days=day.weekday())).isoformat()  # its Monday


@settings(max_examples=40, deadline=None)
@given(ms=st.integers(946684800000, 2208988800000), offset=st.sampled_from(["+08:00", "Z"]))
def test_event_times_read_back_to_the_millisecond(pg: str, ms: int, offset: str) -> None:
    """The productivity query's instant of an ISO time (julianday, then round to 3 places)."""
    whole_s, part = divmod(ms, 1000)
    stamp = (date(1970, 1, 1) + timedelta(seconds=whole_s)).isoformat()
    iso = f"{stamp}T{whole_s % 86400 // 3600:02d}:{whole_s % 3600 // 60:02d}:" \
          f"{whole_s % 60:02d}.{part:03d}{offset}"
    (row,) = same(pg, f"SELECT {productivity.TS.replace('time', '?')}", (iso,))
    shift = 8 * 3600 if offset == "+08:00" else 0
    assert row[0] == round(ms / 1000 - shift, 3)


words = st.text(alphabet="ab中文 ", max_size=4)
values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), words),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["id", "n", "x"]), inner,
                                            max_size=3)),
    max_leaves=6)


@settings(max_examples=60, deadline=None)
@given(doc=st.dictionaries(st.sampled_from(["window", "reason", "state"]), values, max_size=3),
       path=st.sampled_from(["$.window", "$.reason", "$.state", "$.none", "$.state.n"]))
def test_json_values_and_their_types(pg: str, doc: dict[str, Any], path: str) -> None:
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    same(pg, "SELECT json_type(?, ?)", (data, path))
    value: Any = doc
    for part in path[2:].split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if not isinstance(value, bool):  # a JSON true: 1 in SQLite, 'true' here
        same(pg, "SELECT CAST(json_extract(?, ?) AS TEXT)", (data, path))


queue = st.fixed_dictionaries({"id": words, "waiting": st.integers(0, 999)},
                              optional={"name": words})


@settings(max_examples=40, deadline=None)
# numbers within SQLite's 64-bit integers: past them SQLite reads JSON numbers as floats, and
# no event of the hall carries one
@given(queues=st.one_of(st.lists(queue, max_size=5), queue, st.none(),
                        st.integers(-2**63, 2**63 - 1), words),
       absent=st.booleans())
def test_json_each_over_the_queues_of_an_event(pg: str, queues: Any, absent: bool) -> None:
    """As the productivity query reads each event's `queues` (a list of objects); also over
    one object, one value, or no `queues` at all, row by row as SQLite gives them."""
    data = json.dumps({"seq": 1} if absent else {"queues": queues, "seq": 1},
                      ensure_ascii=False, separators=(",", ":"))
    same(pg, "SELECT CAST(key AS TEXT) AS k, CAST(value AS TEXT) AS v "
             "FROM json_each(?, '$.queues') ORDER BY CAST(key AS TEXT)", (data,))
    if absent or not isinstance(queues, list):
        return
    rows = same(pg, "SELECT CAST(j.key AS TEXT) AS k, json_extract(j.value, '$.id') AS id, "
                    "CAST(json_extract(j.value, '$.waiting') AS INTEGER) AS n "
                    "FROM json_each(?, '$.queues') AS j ORDER BY CAST(j.key AS TEXT)", (data,))
    if isinstance(queues, list):
        assert [(r[1], r[2]) for r in rows] == [(q["id"], q["waiting"]) for q in queues]


@settings(max_examples=60, deadline=None)
@given(x=st.one_of(st.floats(-1e6, 1e6), st.integers(-10**6, 10**6).map(float)),
       y=st.floats(-1e6, 1e6))
def test_truncation_larger_smaller_and_flags(pg: str, x: float, y: float) -> None:
    (row,) = same(pg, f"SELECT {whole('x')} AS a, {larger('x', 'y')} AS b, "
                      f"{smaller('x', 'y')} AS c, {flag('x > y')} AS d "
                      f"FROM (SELECT {DOUBLE} AS x, {DOUBLE} AS y) AS t",
                  (x, y))
    assert row == (int(x), max(x, y), min(x, y), int(x > y))  # int(): toward zero, as SQLite


@settings(max_examples=30, deadline=None)
@given(xs=st.lists(st.one_of(st.none(), st.integers(-50, 50)), max_size=6))
def test_sums_of_nothing_and_of_conditions(pg: str, xs: list[int | None]) -> None:
    rows = " UNION ALL ".join("SELECT CAST(? AS INTEGER) AS x" for _ in xs) or \
        "SELECT CAST(NULL AS INTEGER) AS x WHERE 1 = 0"
    (row,) = same(pg, f"SELECT {total('x')} AS a, {count_if('x > 0')} AS b, COUNT(x) AS c "
                      f"FROM ({rows}) AS t",
                  tuple(xs))
    assert row[0] == sum(x for x in xs if x is not None)
