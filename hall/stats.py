"""The manager's report figures, aggregated inside SQLite.

A year of a big hall is a million tickets; loading them into Python to count them takes
seconds and memory a hall server does not have to spare. Here every figure is one pass of
`GROUP BY` in SQL. Percentiles, which SQLite has no function for, come from a second
grouped pass that counts tickets per whole minute of wait (and of handling): the P90 is then
read off that histogram, exact to the minute a report shows, from at most a few thousand rows.

Groupings (`by`): hall, queue, service, window, clerk. Periods (`per`): hour (of the day, over
the whole range: when do people come), day, week (from Monday) and month. Hours are the
hall's: China keeps one offset all year, so the hall's UTC offset at the start of the range
places every ticket (a hall in a zone with summer time would be off by an hour for part of
the year; none in scope has one).

Definitions (domain.md, Dashboards): wait = issue → first call; handling = start → finish;
walk = call → start (the citizen's walk to the window, and the clerk's 叫号到开始).
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

BY = {
    "hall": "'全厅'",
    "queue": "queue",
    "service": "service",
    "window": "window",
    "clerk": "clerk",
}
PER = {
    "all": "'全部'",
    "hour": "printf('%02d', CAST(strftime('%H', issued_at + :offset, 'unixepoch') AS INT))",
    "day": "day",
    "week": "date(day, 'weekday 0', '-6 days')",
    "month": "substr(day, 1, 7)",
}
OUTCOMES = ("done", "accepted", "accepted_missing", "rejected", "failed")


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


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def ticket_figures(conn: sqlite3.Connection, first: str, last: str, by: str, per: str,
                   offset_seconds: int) -> list[dict[str, Any]]:
    """One row per (group, period): counts, outcome rates, priority by reason, average and
    P90 wait and handling, walk time. `by` and `per` are keys of BY and PER (checked by the
    caller), so the SQL built from them holds no input."""
    key, period = BY[by], PER[per]
    params = {"first": first, "last": last, "offset": offset_seconds}
    where = "day BETWEEN :first AND :last"
    outcome_cols = ", ".join(f"SUM(outcome = '{o}') AS o_{o}" for o in OUTCOMES)
    rows = conn.execute(
        f"SELECT {key} AS k, {period} AS p, COUNT(*) AS issued, "
        "SUM(state = 'done') AS served, SUM(state = 'no_show') AS no_show, "
        "SUM(state = 'missed') AS missed, SUM(transfers > 0) AS transferred, "
        "SUM(state = 'held') AS held, SUM(priority IS NOT NULL) AS priority, "
        f"{outcome_cols}, "
        "AVG(first_called_at - issued_at) AS wait_avg, "
        "AVG(CASE WHEN state = 'done' THEN finished_at - started_at END) AS handling_avg, "
        "AVG(started_at - called_at) AS walk_avg "
        f"FROM tickets WHERE {where} GROUP BY k, p ORDER BY k, p", params).fetchall()
    out: dict[tuple[Any, Any], dict[str, Any]] = {}
    for r in rows:
        finished = sum(r[f"o_{o}"] or 0 for o in OUTCOMES)
        out[(r["k"], r["p"])] = {
            by: r["k"], "period": r["p"], "issued": r["issued"], "served": r["served"] or 0,
            "no_show": r["no_show"] or 0, "missed": r["missed"] or 0,
            "transferred": r["transferred"] or 0, "held": r["held"] or 0,
            "priority": r["priority"] or 0,
            "priority_share": round((r["priority"] or 0) / r["issued"], 3),
            "outcomes": {o: r[f"o_{o}"] or 0 for o in OUTCOMES},
            "outcome_rates": {o: round((r[f"o_{o}"] or 0) / finished, 3) if finished else None
                              for o in OUTCOMES},
            "wait_avg_minutes": _round(r["wait_avg"] / 60 if r["wait_avg"] is not None
                                       else None),
            "handling_avg_minutes": _round(r["handling_avg"] / 60
                                           if r["handling_avg"] is not None else None),
            "walk_avg_seconds": _round(r["walk_avg"], 0),
            "priority_by_reason": {},
            "wait_p90_minutes": None, "handling_p90_minutes": None,
        }
    for name, expr, cond in (
            ("wait", "first_called_at - issued_at", "first_called_at IS NOT NULL"),
            ("handling", "finished_at - started_at",
             "state = 'done' AND started_at IS NOT NULL AND finished_at IS NOT NULL")):
        hist: dict[tuple[Any, Any], dict[int, int]] = defaultdict(dict)
        for r in conn.execute(
                f"SELECT {key} AS k, {period} AS p, CAST(({expr}) / 60 AS INT) AS m, "
                f"COUNT(*) AS n FROM tickets WHERE {where} AND {cond} GROUP BY k, p, m",
                params):
            hist[(r["k"], r["p"])][r["m"]] = r["n"]
        for group, h in hist.items():
            if group in out:
                out[group][f"{name}_p90_minutes"] = percentile_from_histogram(h, 90)
    for r in conn.execute(
            f"SELECT {key} AS k, {period} AS p, priority AS reason, COUNT(*) AS n FROM tickets "
            f"WHERE {where} AND priority IS NOT NULL GROUP BY k, p, reason", params):
        if (r["k"], r["p"]) in out:
            out[(r["k"], r["p"])]["priority_by_reason"][r["reason"]] = r["n"]
    return list(out.values())


def hourly_flow(conn: sqlite3.Connection, first: str, last: str,
                offset_seconds: int) -> dict[str, list[int]]:
    """Arrivals (issued) and served (finished done) per hour of the day, for the chart: a
    ticket counts as served in the hour it was finished, not the hour it was taken."""
    issued, served = [0] * 24, [0] * 24
    params = {"first": first, "last": last, "offset": offset_seconds}
    hour = "CAST(strftime('%H', {col} + :offset, 'unixepoch') AS INT)"
    for h, n in conn.execute(
            f"SELECT {hour.format(col='issued_at')} AS h, COUNT(*) FROM tickets "
            "WHERE day BETWEEN :first AND :last GROUP BY h", params):
        issued[h] = n
    for h, n in conn.execute(
            f"SELECT {hour.format(col='finished_at')} AS h, COUNT(*) FROM tickets "
            "WHERE day BETWEEN :first AND :last AND state = 'done' AND finished_at IS NOT NULL "
            "GROUP BY h", params):
        served[h] = n
    return {"issued": issued, "served": served}


WAIT_BINS = ((0, 5), (5, 10), (10, 15), (15, 20), (20, 30), (30, 45), (45, 60), (60, None))


def wait_distribution(conn: sqlite3.Connection, first: str, last: str) -> list[dict[str, Any]]:
    """Tickets per band of wait minutes (the bands a hall's 15-minute target reads against)."""
    counts: dict[int, int] = {}
    for m, n in conn.execute(
            "SELECT CAST((first_called_at - issued_at) / 60 AS INT) AS m, COUNT(*) "
            "FROM tickets WHERE day BETWEEN ? AND ? AND first_called_at IS NOT NULL "
            "GROUP BY m", (first, last)):
        counts[m] = n
    return bin_minutes(counts)


def bin_minutes(counts: dict[int, int]) -> list[dict[str, Any]]:
    """Pure: per-minute counts into the report's bands."""
    out = []
    for low, high in WAIT_BINS:
        n = sum(c for m, c in counts.items() if m >= low and (high is None or m < high))
        label = f"{low}–{high}分" if high is not None else f"{low}分以上"
        out.append({"band": label, "tickets": n})
    return out


def totals(rows: Iterable[dict[str, Any]], fields: Iterable[str]) -> dict[str, int]:
    """Pure: sums of count fields over report rows (a report's 合计 line)."""
    rows = list(rows)
    return {f: sum(r.get(f) or 0 for r in rows) for f in fields}
