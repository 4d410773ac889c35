"""The manager's report figures, aggregated inside the database and kept as daily roll-ups
(one SQL for SQLite and PostgreSQL: hall/portable_sql.py).

A year of a big hall is a million tickets; counting them row by row for each report takes
tens of seconds on a busy 2-core server (bench/report_year.py measured 15–30 s). So each
closed hall day is rolled up once, when the day is closed, into two small tables:

* `figures_daily`: per day, grouping (hall/queue/service/window/clerk), key and hour of issue:
  counts, outcomes, and sums of wait, handling and walk seconds;
* `figures_hist`: per day, grouping and key, tickets per whole minute of wait and of handling,
  so a P90 over any range is read off the summed histogram, exact to the minute a report
  shows (SQLite has no percentile function). The hall's per-hour P90 has its own rows
  (grouping `hour`, key = the hour).

A report sums roll-ups for closed days and adds today's figures straight from the tickets
(a day's worth is small). Days closed before roll-ups existed are rolled up on the first start;
a migration that changes what a roll-up holds empties them, and the next start rebuilds them.
The clerks' productivity is rolled up beside them, from the event log (hall.productivity).

Ratings and 办不成事 complaints join each report line (count, average level, 差评, 差评率;
complaints) by the same grouping and period. They are summed straight from their tables, not
rolled up: a rating may come days after service (the phone page) and an upheld 申诉 takes one
out of every figure later (`hall.ratings.COUNTED`), so a roll-up would go stale. A rating
counts on the day of the ticket it rates (the day it judges), in the hour that ticket was
issued; a complaint on the day and hour it was received. By queue and 优先 a complaint is
placed by its ticket; one without a ticket (the 办不成事 window, the QR page) has no queue.

Groupings (`by`): hall, queue, service, window, clerk, priority (reason). Periods (`per`):
all, hour (of the day, over the whole range: when do people come), day, week (from Monday)
and month. Hours are the
hall's: China keeps one UTC offset all year, so the offset places every ticket.

Definitions (domain.md, Dashboards): wait = issue → first call; handling = start → finish of a
served ticket; walk = call → start. 过号 (`no_show`) counts tickets that ended missed at the
window; one re-queued after a 过号 and served later counts as served. Held (挂起) counts
tickets held at least once that day, from the `ticket.held` events (at the day's close a held
ticket still waiting becomes `missed`, so its state alone would forget it).
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from hall import productivity
from hall.periods import PERIOD_SQL as _PERIOD_SQL
from hall.periods import PERIODS as PERIODS  # the periods, where hall.service checks `per`
from hall.periods import period_of
from hall.portable_sql import count_if, total, whole

BY = {"hall": "'全厅'", "queue": "queue", "service": "service", "window": "window",
      "clerk": "clerk", "priority": "priority"}
OUTCOMES = ("done", "accepted", "accepted_missing", "rejected", "failed")
COUNTS = ("issued", "served", "no_show", "missed", "transferred", "held", "priority", "granted",
          *(f"o_{o}" for o in OUTCOMES))
SUMS = ("wait_sum", "wait_n", "handling_sum", "handling_n", "walk_sum", "walk_n")
HOUR = "CAST(strftime('%H', issued_at + :offset, 'unixepoch') AS INT)"
HOUR_LABEL = "printf('%02d', " + HOUR + ")"
KINDS = {
    "wait": ("first_called_at - issued_at", "first_called_at IS NOT NULL"),
    "handling": ("finished_at - started_at",
                 "state = 'done' AND started_at IS NOT NULL AND finished_at IS NOT NULL"),
}

MIGRATION = f"""
    CREATE TABLE figures_daily (
        day TEXT NOT NULL, dim TEXT NOT NULL, key, hour INTEGER NOT NULL,
        {", ".join(f"{c} INTEGER NOT NULL" for c in COUNTS)},
        {", ".join(f"{c} REAL NOT NULL" for c in SUMS)}
    );
    CREATE INDEX figures_daily_dim ON figures_daily (dim, day);
    CREATE TABLE figures_hist (
        day TEXT NOT NULL, dim TEXT NOT NULL, key, kind TEXT NOT NULL,
        minute INTEGER NOT NULL, n INTEGER NOT NULL
    );
    CREATE INDEX figures_hist_dim ON figures_hist (dim, day);
    CREATE TABLE figures_days (day TEXT PRIMARY KEY);
    CREATE INDEX tickets_priority ON tickets (day) WHERE priority IS NOT NULL;
"""

# portable SQL (hall/portable_sql.py): the same query on SQLite and on PostgreSQL
_HELD = ("number IN (SELECT json_extract(data, '$.number') FROM events WHERE seq >= :lo "
         "AND seq < :hi AND type = 'ticket.held')")
_SELECT_DAILY = (
    "SELECT {key} AS key, " + HOUR + " AS hour, COUNT(*) AS issued, "
    + ", ".join(f"{count_if(cond)} AS {name}" for name, cond in (
        ("served", "state = 'done'"), ("no_show", "state = 'no_show'"),
        ("missed", "state = 'missed'"), ("transferred", "transfers > 0"), ("held", _HELD),
        ("priority", "priority IS NOT NULL"), ("granted", "priority_by IS NOT NULL"),
        *((f"o_{o}", f"outcome = '{o}'") for o in OUTCOMES))) + ", "
    + total("first_called_at - issued_at") + " AS wait_sum, COUNT(first_called_at) AS wait_n, "
    + total("CASE WHEN state = 'done' THEN finished_at - started_at END") + " AS handling_sum, "
    "COUNT(CASE WHEN state = 'done' THEN finished_at - started_at END) AS handling_n, "
    + total("started_at - called_at") + " AS walk_sum, "
    "COUNT(CASE WHEN started_at IS NOT NULL THEN called_at END) AS walk_n "
    "FROM tickets WHERE day = :day GROUP BY key, hour")


def _minute(kind: str) -> str:
    """The whole minutes of a wait or a handling (truncated: what a histogram counts)."""
    return whole(f"({KINDS[kind][0]}) / 60")


def _read_key(by: str) -> str:
    """A roll-up's key as the tickets give it: the column takes any value in SQLite but is
    text in PostgreSQL, where a window's number must be made a number again."""
    return "CAST(key AS INTEGER)" if by == "window" else "key"


def _select_hist(key: str, kind: str) -> str:
    return (f"SELECT {key} AS key, '{kind}' AS kind, {_minute(kind)} AS minute, "
            f"COUNT(*) AS n FROM tickets WHERE day = :day AND {KINDS[kind][1]} "
            "GROUP BY key, minute")


def _event_range(conn: sqlite3.Connection, day: str, offset_seconds: int) -> dict[str, int]:
    start = productivity.day_start(day, offset_seconds)
    return {"lo": productivity.first_at(conn, "events", "seq", start),
            "hi": productivity.first_at(conn, "events", "seq", start + 86400)}


def roll_up(conn: sqlite3.Connection, day: str, offset_seconds: int,
            window_queues: Mapping[int, Sequence[str]] | None = None) -> None:
    """Write one closed day's roll-ups (inside the caller's transaction). `window_queues`:
    the queues each window serves (config.toml), for the productivity roll-up."""
    params = {"day": day, "offset": offset_seconds, **_event_range(conn, day, offset_seconds)}
    columns = ", ".join(("key", "hour", *COUNTS, *SUMS))
    for dim, key in BY.items():
        conn.execute(f"INSERT INTO figures_daily (day, dim, {columns}) "
                     f"SELECT :day, '{dim}', {columns} FROM "
                     f"({_SELECT_DAILY.format(key=key)}) AS d", params)
        for kind in KINDS:
            conn.execute("INSERT INTO figures_hist (day, dim, key, kind, minute, n) "
                         f"SELECT :day, '{dim}', key, kind, minute, n FROM "
                         f"({_select_hist(key, kind)}) AS h", params)
    for kind in KINDS:  # the hall's P90 per hour of the day
        conn.execute("INSERT INTO figures_hist (day, dim, key, kind, minute, n) "
                     "SELECT :day, 'hour', key, kind, minute, n FROM "
                     f"({_select_hist(HOUR_LABEL, kind)}) AS h", params)
    productivity.roll_up(conn, day, offset_seconds, window_queues or {})
    conn.execute("INSERT INTO figures_days (day) VALUES (?)", (day,))


def roll_up_closed(conn: sqlite3.Connection, today: str, offset_seconds: int,
                   window_queues: Mapping[int, Sequence[str]] | None = None) -> int:
    """Roll up every day before `today` that has tickets and no roll-up yet; how many."""
    days = [r[0] for r in conn.execute(
        "SELECT DISTINCT day FROM tickets WHERE day < ? AND day NOT IN "
        "(SELECT day FROM figures_days) ORDER BY day", (today,))]
    for day in days:
        roll_up(conn, day, offset_seconds, window_queues)
    return len(days)


def percentile_from_histogram(hist: dict[int, int], p: float) -> int | None:
    """Nearest-rank percentile over counts per whole minute (pure)."""
    total = sum(hist.values())
    if not total:
        return None
    rank, seen = max(1, math.ceil(p / 100 * total)), 0
    for minute in sorted(hist):
        seen += hist[minute]
        if seen >= rank:
            return minute
    return max(hist)  # pragma: no cover - the loop reaches the rank


def ticket_figures(conn: sqlite3.Connection, first: str, last: str, by: str, per: str,
                   offset_seconds: int, today: str) -> list[dict[str, Any]]:
    """One row per (group, period) over hall days first..last. `by` and `per` are checked
    keys (BY, PERIODS), so the SQL built from them holds no input."""
    key, period = BY[by], _PERIOD_SQL[per]
    closed_last = min(last, (date.fromisoformat(today) - timedelta(days=1)).isoformat())
    sums: dict[tuple[Any, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    hists: dict[tuple[Any, str], dict[str, dict[int, int]]] = defaultdict(
        lambda: {k: defaultdict(int) for k in KINDS})
    fields = (*COUNTS, *SUMS)
    # per-hour P90s are kept for the whole hall only: a group's P90 per hour over closed days
    # would need a histogram per hour and group, which outgrows the tickets themselves
    hist_ok = per != "hour" or by == "hall" or first > closed_last
    if first <= closed_last:
        for r in conn.execute(
                f"SELECT {_read_key(by)} AS k, {period} AS p, "
                + ", ".join(f"SUM({c}) AS {c}" for c in fields)
                + " FROM figures_daily WHERE dim = ? AND day BETWEEN ? AND ? GROUP BY k, p",
                (by, first, closed_last)):
            acc = sums[(r["k"], r["p"])]
            for c in fields:
                acc[c] += r[c] or 0
        hist_dim, hist_period = (("hour", "key") if per == "hour" and by == "hall"
                                 else (by, period))
        if hist_ok:
            for r in conn.execute(
                    f"SELECT {_read_key(by) if hist_dim != 'hour' else repr('全厅')} AS k, "
                    f"{hist_period} AS p, kind, minute, SUM(n) AS n FROM figures_hist "
                    "WHERE dim = ? AND day BETWEEN ? AND ? GROUP BY k, p, kind, minute",
                    (hist_dim, first, closed_last)):
                hists[(r["k"], r["p"])][r["kind"]][r["minute"]] += r["n"]
    if first <= today <= last:
        params = {"day": today, "offset": offset_seconds,
                  **_event_range(conn, today, offset_seconds)}
        for r in conn.execute(_SELECT_DAILY.format(key=key), params):
            acc = sums[(r["key"], period_of(per, today, r["hour"]))]
            for c in fields:
                acc[c] += r[c] or 0
        for kind in KINDS if hist_ok else ():
            for r in conn.execute(
                    f"SELECT k, p, minute, COUNT(*) AS n FROM (SELECT {key} AS k, "
                    f"{HOUR_LABEL if per == 'hour' else repr(period_of(per, today))} AS p, "
                    f"{_minute(kind)} AS minute FROM tickets "
                    f"WHERE day = :day AND {KINDS[kind][1]}) AS t GROUP BY k, p, minute",
                    params):
                hists[(r["k"], r["p"])][kind][r["minute"]] += r["n"]
    reasons: dict[tuple[Any, str], dict[str, int]] = defaultdict(dict)
    ticket_period = HOUR_LABEL if per == "hour" else period
    for r in conn.execute(  # priority tickets are few, and a partial index finds them
            f"SELECT {key} AS k, {ticket_period} AS p, priority, COUNT(*) AS n FROM tickets "
            "WHERE priority IS NOT NULL AND day BETWEEN :first AND :last "
            "GROUP BY k, p, priority",
            {"first": first, "last": last, "offset": offset_seconds}):
        reasons[(r["k"], r["p"])][r["priority"]] = r["n"]
    feedback = feedback_sums(conn, first, last, by, per, offset_seconds)
    for k_p in feedback.keys() - sums.keys():  # ratings or complaints and no ticket: a line
        sums[k_p] = defaultdict(float)
    return [{**_row(by, k, p, acc, hists.get((k, p)), reasons.get((k, p), {})),
             **_feedback_row(feedback.get((k, p), {}))}
            for (k, p), acc in sorted(sums.items(), key=lambda item: (
                item[0][0] is None, item[0][0] if item[0][0] is not None else 0, item[0][1]))]


def counts(conn: sqlite3.Connection, first: str, last: str, by: str, per: str,
           offset_seconds: int, today: str, fields: tuple[str, ...] = ("issued", "served")
           ) -> list[dict[str, Any]]:
    """Only the count columns `fields` (of COUNTS) per (group, period): what a chart needs,
    without the percentiles, ratings and priority reasons of `ticket_figures` (a year's
    histograms per window are millions of rows)."""
    if not set(fields) <= set(COUNTS):
        raise ValueError(fields)
    key, period = BY[by], _PERIOD_SQL[per]
    closed_last = min(last, (date.fromisoformat(today) - timedelta(days=1)).isoformat())
    acc: dict[tuple[Any, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(fields, 0))
    if first <= closed_last:
        for r in conn.execute(
                f"SELECT {_read_key(by)} AS k, {period} AS p, "
                + ", ".join(f"SUM({f}) AS {f}" for f in fields)
                + " FROM figures_daily WHERE dim = ? AND day BETWEEN ? AND ? GROUP BY k, p",
                (by, first, closed_last)):
            for f in fields:
                acc[(r["k"], r["p"])][f] += r[f] or 0
    if first <= today <= last:
        params = {"day": today, "offset": offset_seconds,
                  **_event_range(conn, today, offset_seconds)}
        for r in conn.execute(_SELECT_DAILY.format(key=key), params):
            for f in fields:
                acc[(r["key"], period_of(per, today, r["hour"]))][f] += r[f] or 0
    return [{by: k, "period": p, **values} for (k, p), values in sorted(acc.items(), key=lambda
            item: (item[0][0] is None, item[0][0] if item[0][0] is not None else 0, item[0][1]))]


# what a rating or a complaint is grouped by, per `by` (columns of the subqueries below)
_FEEDBACK_KEYS = {"hall": "'全厅'", "queue": "queue", "service": "service", "window": "window",
                  "clerk": "clerk", "priority": "priority"}


def feedback_sums(conn: sqlite3.Connection, first: str, last: str, by: str, per: str,
                  offset_seconds: int) -> dict[tuple[Any, str], dict[str, float]]:
    """Counted ratings (count, sum of levels, 差评) and complaints per (group, period) of hall
    days first..last, summed in SQL (see the module's docstring for the days they count on)."""
    # imported here: hall.ratings stands on hall.service, which imports this module
    from hall.ratings import BAD_LEVELS, COUNTED

    key, period = _FEEDBACK_KEYS[by], _PERIOD_SQL[per]
    params = {"first": first, "last": last, "offset": offset_seconds}
    # the ticket is looked up only for what the rating does not carry (its priority, its hour)
    ticket = by == "priority" or per == "hour"
    bad = ", ".join(str(level) for level in sorted(BAD_LEVELS))
    out: dict[tuple[Any, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    rating_sql = (
        f"SELECT {key} AS k, {period} AS p, COUNT(*) AS n, {total('level')} AS levels, "
        f"{count_if(f'level IN ({bad})')} AS bad FROM (SELECT r.day, r.level, r.queue, "
        "r.service, r.window, r.clerk, "
        + ("t.priority, CAST(strftime('%H', t.issued_at + :offset, 'unixepoch') AS INT) AS hour"
           if ticket else "NULL AS priority, NULL AS hour")
        + " FROM (SELECT * FROM ratings WHERE day BETWEEN :first AND :last AND "
        + f"{COUNTED}) r"
        + (" LEFT JOIN tickets t ON t.id = r.ticket_id" if ticket else "")
        + ") AS f GROUP BY k, p")
    for r in conn.execute(rating_sql, params):
        acc = out[(r["k"], r["p"])]
        acc["ratings"] += r["n"]
        acc["levels"] += r["levels"]
        acc["bad"] += r["bad"]
    complaint_sql = (
        f"SELECT {key} AS k, {period} AS p, COUNT(*) AS n FROM (SELECT c.day, t.queue, "
        "c.service, c.window, c.clerk, t.priority, "
        "CAST(strftime('%H', c.opened_at + :offset, 'unixepoch') AS INT) AS hour "
        "FROM complaints c LEFT JOIN tickets t ON t.id = c.ticket_id "
        "WHERE c.day BETWEEN :first AND :last) AS f GROUP BY k, p")
    for r in conn.execute(complaint_sql, params):
        out[(r["k"], r["p"])]["complaints"] += r["n"]
    return out


def _feedback_row(acc: Mapping[str, float]) -> dict[str, Any]:
    n = int(acc.get("ratings", 0))
    bad = int(acc.get("bad", 0))
    return {"ratings": n, "rating_avg": round(acc["levels"] / n, 2) if n else None,
            "bad_ratings": bad, "bad_rate": round(bad / n, 3) if n else None,
            "complaints": int(acc.get("complaints", 0))}


def histogram(conn: sqlite3.Connection, first: str, last: str, kind: str,
              offset_seconds: int, today: str) -> dict[int, int]:
    """The whole hall's tickets per whole minute of wait (or handling) over hall days
    first..last: the roll-ups' histograms for closed days, today's from the tickets."""
    closed_last = min(last, (date.fromisoformat(today) - timedelta(days=1)).isoformat())
    out: dict[int, int] = defaultdict(int)
    if first <= closed_last:
        for minute, n in conn.execute(
                "SELECT minute, SUM(n) FROM figures_hist WHERE dim = 'hall' AND kind = ? "
                "AND day BETWEEN ? AND ? GROUP BY minute", (kind, first, closed_last)):
            out[minute] += n
    if first <= today <= last:
        for minute, n in conn.execute(
                f"SELECT {_minute(kind)} AS minute, COUNT(*) FROM tickets "
                f"WHERE day = ? AND {KINDS[kind][1]} GROUP BY minute", (today,)):
            out[minute] += n
    return dict(out)


def _row(by: str, key: Any, period: str, acc: dict[str, float],
         hist: dict[str, dict[int, int]] | None, reasons: dict[str, int]) -> dict[str, Any]:
    issued = int(acc["issued"])
    finished = sum(acc[f"o_{o}"] for o in OUTCOMES)

    def avg(name: str, scale: float) -> float | None:
        n = acc[f"{name}_n"]
        return round(acc[f"{name}_sum"] / n / scale, 1) if n else None

    return {
        by: key, "period": period, "issued": issued,
        **{c: int(acc[c]) for c in ("served", "no_show", "missed", "transferred", "held")},
        "priority_tickets": int(acc["priority"]),
        "priority_share": round(acc["priority"] / issued, 3) if issued else None,
        "priority_by_reason": reasons,
        "priority_share_by_reason": {k: round(n / issued, 3) if issued else None
                                     for k, n in reasons.items()},
        # who vouched for a priority reason: staff, or the citizen at the kiosk (self-declared)
        "granted_by_staff": int(acc["granted"]),
        "outcomes": {o: int(acc[f"o_{o}"]) for o in OUTCOMES},
        "outcome_rates": {o: round(acc[f"o_{o}"] / finished, 3) if finished else None
                          for o in OUTCOMES},
        "wait_avg_minutes": avg("wait", 60),
        "wait_p90_minutes": percentile_from_histogram(hist["wait"], 90) if hist else None,
        "handling_avg_minutes": avg("handling", 60),
        "handling_p90_minutes": (percentile_from_histogram(hist["handling"], 90)
                                 if hist else None),
        "walk_avg_seconds": avg("walk", 1),
    }
