"""Clerk productivity (issue 10.5): what each window and clerk did with their logged-in time.

Every figure is read off the durable event log, not off extra bookkeeping in hall.service:
each window event carries the window's public state after it (`window_state.state`: closed,
idle, called, serving, paused) and each ticket event the waiting count of the queues it
changed (`queues[].waiting`); the audit log, written in the same transaction, says who acted
at the window. So one SQL query per day turns the log into a timeline per window — the
window's state, who sat there, how many people waited in its queues — cut at every whole hour
and summed per window, clerk, hour and pause reason into `figures_work` when the day is
closed (then a year's report sums a few thousand rows). Today's figures run the same query
over today's events, with the timeline of each window running on to now. Why not count in
Python: a big hall writes five million events a year, and the first start after an upgrade
rolls up every past day at once.

Definitions (docs/reports.md says the same for managers):

* **Logged-in time**: the window is open, i.e. a clerk is logged in (state not `closed`),
  paused or not. A window's day runs from its first event of the day to its last one (on
  today, to now): a clerk who went home without logging out is not counted until midnight,
  and a window left open overnight counts from its first action of the morning.
* **Walk time**: the last call (or recall, or call-back of a held ticket) → start of service,
  for every ticket whose service was started; averaged in seconds. It is the time the window
  stood waiting for the citizen to reach it. Attributed to the hour and clerk of the start
  (also a start at a window nobody was logged in to, as a finish there counts as served).
* **Idle while tickets waited**: logged-in time in state `idle` (not paused, no ticket called
  or being served) while at least one ticket was waiting in a queue the window serves (its
  `queues` in config.toml). The waiting count is the one the events carry, so it includes a
  ticket of those queues transferred to another window and an appointment not yet callable
  (both rare); it excludes a ticket of another queue transferred to this window. Chosen over
  plain idle time because an idle window with nobody waiting is no fault of its clerk; both are
  reported (`idle_minutes`, `idle_waiting_minutes`).
* **Pauses**: each 暂停服务 with its reason (count, attributed to the hour it began) and its
  minutes until the window resumed or closed (cut at whole hours like every other span).
* **Served per hour**: tickets finished (any outcome) per hour of logged-in time.
* A span belongs to the clerk who made the window's latest event: the user of the audit row
  the same transaction wrote (same window, same instant: a login, a call, a pause…), carried
  on until the next such event; so a shift change mid-day splits the window's day.

How the query stays cheap (a day of a big hall is some 15,000 events): windows serving the same
queues share one count of people waiting, and only the moments it turns from nobody to somebody
or back join each window's timeline; the log is entered by primary key (`first_at`), never
scanned; every CTE read twice is materialized once, and each event's JSON is read once.

The query is written once for SQLite and PostgreSQL (hall/portable_sql.py; the JSON functions
are hall/pg_schema.py's COMPAT there). PostgreSQL reads JSON text more slowly: a big hall's
day (15,000 events, 48 windows) takes about 0.6 s there against 0.25 s on SQLite, the same
rows to the millisecond.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from hall.periods import PERIOD_SQL, period_of
from hall.portable_sql import flag, larger, smaller, total

TS = "ROUND((julianday(time) - 2440587.5) * 86400.0, 3)"
# the audit actions a clerk takes at a window: the latest one says who sits there
CLERK_ACTIONS = ("login", "logout", "call", "recall", "start", "finish", "skip", "transfer",
                 "hold", "callback", "pause", "resume", "priority")
SUMS = ("open_s", "idle_s", "idle_waiting_s", "paused_s", "called_s", "serving_s",
        "served", "pauses", "walk_sum", "walk_n")
BY = {"hall": "'全厅'", "window": "window", "clerk": "clerk"}

MIGRATION = f"""
    CREATE TABLE figures_work (
        day TEXT NOT NULL, window INTEGER NOT NULL, clerk TEXT, hour INTEGER NOT NULL,
        reason TEXT,
        {", ".join(f"{c} REAL NOT NULL" for c in SUMS)}
    );
    CREATE INDEX figures_work_day ON figures_work (day);
"""

_TIMELINE = """
WITH RECURSIVE
hours(h) AS (SELECT 1 UNION ALL SELECT h + 1 FROM hours WHERE h < 23),
ev AS MATERIALIZED (SELECT seq, {ts} AS ts, type, data FROM events
                    WHERE seq >= :lo AND seq < :hi),
au AS MATERIALIZED (
    SELECT w, ts, substr(MAX(printf('%012d|', id) || user), 14) AS user FROM (
        SELECT id, {ts} AS ts, CAST(substr(target, 8) AS INTEGER) AS w,
               COALESCE(user, '') AS user
        FROM audit WHERE id >= :alo AND id < :ahi AND success = 1
          AND target LIKE 'window:%' AND action IN ({actions})) AS a
    GROUP BY w, ts
),
-- each event's window (a number) and the window's state after it, read out of the JSON once
we AS MATERIALIZED (
    SELECT seq, ts, type, json_extract(data, '$.window_state.state') AS st,
           CASE WHEN json_type(data, '$.window') = 'integer'
                THEN CAST(json_extract(data, '$.window') AS INTEGER) END AS w,
           CASE WHEN type = 'window.paused' THEN json_extract(data, '$.reason') END AS reason
    FROM ev
),
-- the window's state after each of its events, and who acted: the audit row the same
-- transaction wrote (same window, same instant)
wp AS MATERIALIZED (
    SELECT seq, ts, type, w, st, reason, clerk,
           MAX(CASE WHEN type = 'ticket.called' THEN ts END)
               OVER (PARTITION BY w ORDER BY seq ROWS UNBOUNDED PRECEDING) AS called_ts
    FROM (SELECT we.*, au.user AS clerk FROM we LEFT JOIN au ON au.w = we.w AND au.ts = we.ts
          WHERE we.st IS NOT NULL AND we.w IS NOT NULL) AS y
),
span AS MATERIALIZED (SELECT w, MIN(ts) AS first, COALESCE(:now, MAX(ts)) AS last
                      FROM wp GROUP BY w),
ws(w, k) AS ({windows}),
kq(k, q) AS ({sets}),
qd AS (
    SELECT seq, ts, q, n - COALESCE(LAG(n) OVER (PARTITION BY q ORDER BY seq), 0) AS d
    FROM (SELECT ev.seq, ev.ts, json_extract(j.value, '$.id') AS q,
                 CAST(json_extract(j.value, '$.waiting') AS INTEGER) AS n
          FROM ev, json_each(ev.data, '$.queues') AS j) AS e
),
-- per set of queues windows serve: how many wait in them after each change ...
kw AS (
    SELECT k, seq, ts, qd.q AS q,
           SUM(d) OVER (PARTITION BY k ORDER BY seq, qd.q ROWS UNBOUNDED PRECEDING) AS n
    FROM qd JOIN kq ON kq.q = qd.q
),
-- ... and only the moments that turns from nobody to somebody (+1) or back (-1)
kx AS MATERIALIZED (
    SELECT k, seq, ts, d FROM (
        SELECT k, seq, ts, {some} - COALESCE(LAG({some}) OVER (PARTITION BY k ORDER BY seq, q),
                                             0) AS d
        FROM kw) AS c WHERE d <> 0
),
pts AS (
    SELECT w, ts, seq, printf('%012d|', seq) || st AS s,
           CASE WHEN type = 'window.paused' THEN printf('%012d|', seq) || COALESCE(reason, '')
           END AS p,
           CASE WHEN clerk IS NOT NULL THEN printf('%012d|', seq) || clerk END AS a,
           0 AS d, {finished} AS served, {paused} AS pauses,
           CASE WHEN type = 'ticket.started' THEN ts - called_ts END AS walk
    FROM wp
    UNION ALL
    SELECT ws.w, kx.ts, kx.seq, NULL, NULL, NULL, kx.d, 0, 0, NULL
    FROM kx JOIN ws ON ws.k = kx.k JOIN span ON span.w = ws.w
    UNION ALL
    SELECT w, {start} + h * 3600, NULL, NULL, NULL, NULL, 0, 0, 0, NULL FROM span, hours
    WHERE {start} + h * 3600 > first AND {start} + h * 3600 < last
    UNION ALL
    SELECT w, last, NULL, NULL, NULL, NULL, 0, 0, 0, NULL FROM span
),
tl AS (
    SELECT w, ts, served, pauses, walk, MAX(s) OVER run AS s, MAX(p) OVER run AS p,
           MAX(a) OVER run AS a, SUM(d) OVER run AS waiting, LEAD(ts) OVER next AS next
    FROM pts
    -- LEAD in a window of its own: sharing the framed one makes SQLite redo the frame per row;
    -- an hour's or the day's end (no seq) before an event of the same instant, on either
    -- database (SQLite's order for NULL, not PostgreSQL's)
    WINDOW run AS (PARTITION BY w ORDER BY ts, seq NULLS FIRST ROWS UNBOUNDED PRECEDING),
           next AS (PARTITION BY w ORDER BY ts, seq NULLS FIRST)
),
iv AS (
    SELECT tl.w, substr(tl.a, 14) AS clerk,
           CAST(strftime('%H', tl.ts + :offset, 'unixepoch') AS INTEGER) AS hour,
           substr(tl.s, 14) AS st, substr(tl.p, 14) AS reason,
           {length} AS len,
           tl.waiting, tl.served, tl.pauses, tl.walk
    FROM tl JOIN span ON span.w = tl.w
    WHERE tl.s IS NOT NULL AND tl.ts <= span.last
)
SELECT w AS window, clerk, hour, CASE WHEN st = 'paused' THEN reason END AS reason,
       {open_s} AS open_s,
       {idle_s} AS idle_s,
       {idle_waiting_s} AS idle_waiting_s,
       {paused_s} AS paused_s,
       {called_s} AS called_s,
       {serving_s} AS serving_s,
       {served} AS served, {pauses} AS pauses,
       {walk_sum} AS walk_sum, COUNT(walk) AS walk_n
FROM iv GROUP BY w, clerk, hour, CASE WHEN st = 'paused' THEN reason END
HAVING {open_s} > 0 OR {served} > 0 OR {pauses} > 0 OR COUNT(walk) > 0
"""

# the sums of the timeline's last step, written once for its SELECT and its HAVING (which
# PostgreSQL does not let name a column of the SELECT)
_SUMS = {
    "open_s": total("CASE WHEN st <> 'closed' THEN len END"),
    "idle_s": total("CASE WHEN st = 'idle' THEN len END"),
    "idle_waiting_s": total("CASE WHEN st = 'idle' AND waiting > 0 THEN len END"),
    "paused_s": total("CASE WHEN st = 'paused' THEN len END"),
    "called_s": total("CASE WHEN st = 'called' THEN len END"),
    "serving_s": total("CASE WHEN st = 'serving' THEN len END"),
    "served": total("served"), "pauses": total("pauses"), "walk_sum": total("walk"),
}
_FORMS = {
    **_SUMS,
    "some": flag("n > 0"),  # somebody waits
    "finished": flag("type = 'ticket.finished'"),
    "paused": flag("type = 'window.paused' AND st = 'paused'"),
    # a whole hour of the day; a float in both databases (the day's first second is whole)
    "start": "CAST(:start AS DOUBLE PRECISION)",
    # a span runs to the next point of its window's timeline, never past the window's last
    "length": larger("0", smaller("COALESCE(tl.next, span.last)", "span.last") + " - tl.ts"),
}


def _values(rows: Sequence[tuple[Any, Any]], name: str, params: dict[str, Any],
            types: tuple[str, str]) -> str:
    """A two-column VALUES table of config data (not input), as named parameters of the
    column `types` (PostgreSQL does not guess a parameter's type from a VALUES list)."""
    ta, tb = types
    if not rows:
        return f"SELECT CAST(NULL AS {ta}), CAST(NULL AS {tb}) WHERE 1 = 0"
    for i, (a, b) in enumerate(rows):
        params[f"{name}a{i}"], params[f"{name}b{i}"] = a, b
    return "VALUES " + ", ".join(f"(CAST(:{name}a{i} AS {ta}), CAST(:{name}b{i} AS {tb}))"
                                 for i in range(len(rows)))


def _timeline(window_queues: Mapping[int, Sequence[str]]) -> tuple[str, dict[str, Any]]:
    """The day's query and its parameters. Windows serving the same queues share one count
    of people waiting (most halls have a few such sets and many windows)."""
    sets: dict[tuple[str, ...], int] = {}
    windows = [(w, sets.setdefault(tuple(sorted(set(qs))), len(sets)))
               for w, qs in window_queues.items() if qs]
    params: dict[str, Any] = {}
    sql = _TIMELINE.format(
        ts=TS, actions=", ".join(f"'{a}'" for a in CLERK_ACTIONS), **_FORMS,
        windows=_values(windows, "w", params, ("INTEGER", "INTEGER")),
        sets=_values([(k, q) for qs, k in sets.items() for q in qs], "k", params,
                     ("INTEGER", "TEXT")))
    return sql, params


def first_at(conn: sqlite3.Connection, table: str, key: str, ts: float) -> int:
    """The first `key` of `table` (events by seq, audit by id) whose time is at or after `ts`:
    a binary search, since both logs are appended in time order (a scan of a year's events
    for one day costs seconds; this costs some twenty primary-key lookups)."""
    # two queries: SQLite answers a lone MIN or MAX from the index, both together by a scan
    lo = conn.execute(f"SELECT MIN({key}) FROM {table}").fetchone()[0]
    if lo is None:
        return 0
    hi = conn.execute(f"SELECT MAX({key}) FROM {table}").fetchone()[0] + 1
    while lo < hi:
        mid = (lo + hi) // 2
        row = conn.execute(f"SELECT {key}, {TS} FROM {table} WHERE {key} >= ? "
                           f"ORDER BY {key} LIMIT 1", (mid,)).fetchone()
        if row is None or row[1] >= ts:
            hi = mid
        else:
            lo = row[0] + 1
    return lo


def day_start(day: str, offset_seconds: int) -> float:
    """Pure: the instant a hall day begins (00:00 at the hall's UTC offset)."""
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, tzinfo=timezone(timedelta(seconds=offset_seconds))
                    ).timestamp()


def day_bounds(conn: sqlite3.Connection, day: str, offset_seconds: int) -> dict[str, float]:
    """The event and audit ranges of a hall day, as query parameters."""
    start = day_start(day, offset_seconds)
    end = start + 86400
    return {"lo": first_at(conn, "events", "seq", start),
            "hi": first_at(conn, "events", "seq", end),
            "alo": first_at(conn, "audit", "id", start),
            "ahi": first_at(conn, "audit", "id", end), "start": start}


def day_rows(conn: sqlite3.Connection, day: str, offset_seconds: int,
             window_queues: Mapping[int, Sequence[str]], now: float | None = None
             ) -> list[sqlite3.Row]:
    """One day's timeline sums per window, clerk, hour and pause reason. `now`: the day is
    today and every window's timeline runs on to this instant; None: a closed day."""
    sql, pairs = _timeline(window_queues)
    params = {**day_bounds(conn, day, offset_seconds), **pairs, "offset": offset_seconds,
              "now": now}
    return conn.execute(sql, params).fetchall()


def roll_up(conn: sqlite3.Connection, day: str, offset_seconds: int,
            window_queues: Mapping[int, Sequence[str]]) -> None:
    """Write a closed day's productivity roll-up (inside the caller's transaction)."""
    columns = ("window", "clerk", "hour", "reason", *SUMS)
    rows = day_rows(conn, day, offset_seconds, window_queues)
    conn.executemany(
        f"INSERT INTO figures_work (day, {', '.join(columns)}) "
        f"VALUES (?, {', '.join('?' for _ in columns)})",
        [(day, *(r[c] for c in columns)) for r in rows])


def work_figures(conn: sqlite3.Connection, first: str, last: str, by: str, per: str,
                 offset_seconds: int, today: str, now: float,
                 window_queues: Mapping[int, Sequence[str]]) -> list[dict[str, Any]]:
    """Productivity per window, clerk or the whole hall (`by`) and period (`per`, as in
    hall.stats) over hall days first..last: closed days from `figures_work`, today live."""
    key = BY[by]
    closed_last = min(last, (date.fromisoformat(today) - timedelta(days=1)).isoformat())
    acc: dict[tuple[Any, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    reasons: dict[tuple[Any, str], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(lambda: [0.0, 0.0]))

    def add(k: Any, p: str, row: Mapping[str, Any]) -> None:
        target = acc[(k, p)]
        for c in SUMS:
            target[c] += row[c] or 0
        if row["reason"] is not None:
            pair = reasons[(k, p)][row["reason"]]
            pair[0] += row["pauses"] or 0
            pair[1] += row["paused_s"] or 0

    if first <= closed_last:
        for r in conn.execute(
                f"SELECT {key} AS k, {PERIOD_SQL[per]} AS p, reason, "
                + ", ".join(f"{total(c)} AS {c}" for c in SUMS)
                + " FROM figures_work WHERE day BETWEEN ? AND ? GROUP BY k, p, reason",
                (first, closed_last)):
            add(r["k"], r["p"], r)
    if first <= today <= last:
        for r in day_rows(conn, today, offset_seconds, window_queues, now):
            k = "全厅" if by == "hall" else r[by]
            add(k, period_of(per, today, r["hour"]), r)
    return [_row(by, k, p, sums, reasons.get((k, p), {}))
            for (k, p), sums in sorted(acc.items(), key=lambda item: (
                item[0][0] is None, item[0][0] if item[0][0] is not None else 0, item[0][1]))]


def _minutes(seconds: float) -> float:
    return round(seconds / 60, 1)


def _row(by: str, key: Any, period: str, s: Mapping[str, float],
         reasons: Mapping[str, list[float]]) -> dict[str, Any]:
    """Pure: one report line from summed seconds and counts."""
    open_s = s["open_s"]
    by_reason = [{"reason": reason, "pauses": int(n), "minutes": _minutes(secs)}
                 for reason, (n, secs) in sorted(reasons.items(),
                                                 key=lambda kv: (-kv[1][1], kv[0]))]
    return {
        by: key, "period": period,
        "logged_in_minutes": _minutes(open_s),
        "served": int(s["served"]),
        "served_per_hour": round(s["served"] / (open_s / 3600), 1) if open_s > 0 else None,
        "walk_avg_seconds": round(s["walk_sum"] / s["walk_n"], 1) if s["walk_n"] else None,
        "serving_minutes": _minutes(s["serving_s"]),
        "idle_minutes": _minutes(s["idle_s"]),
        "idle_waiting_minutes": _minutes(s["idle_waiting_s"]),
        "idle_waiting_share": round(s["idle_waiting_s"] / open_s, 3) if open_s > 0 else None,
        "pauses": int(s["pauses"]),
        "paused_minutes": _minutes(s["paused_s"]),
        "pauses_by_reason": by_reason,
    }
