"""`--from-history`: the profile a hall's own tickets describe (hall.sim_model.Profile).

Over the working days of the last `weeks` weeks that had tickets (today left out: it is not
over), per service: tickets per clock hour of issue divided by the number of those days; the
mean and spread of handling (start → finish of served tickets); and for the hall the shares of
priority, help-desk, booked, no-show and transferred tickets, the outcomes and the walk time
(call → start). A hall that just opened has few days: the planner then says so (`days`).

Reads only; one query per figure, grouped inside the database (portable SQL: SQLite or
PostgreSQL, hall/portable_sql.py).
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta

from hall.config import HallConfig
from hall.portable_sql import count_if, total
from hall.sim_config import clock_hours
from hall.sim_model import Profile, Shares, _service_profile, transfer_queues

HOUR = "CAST(strftime('%H', issued_at + :offset, 'unixepoch') AS INT)"


class NoHistory(Exception):
    """No ticket in the chosen weeks: nothing to learn from."""


@dataclass(frozen=True)
class Learned:
    profile: Profile
    days: int  # working days with tickets the profile was learned from
    first: date
    last: date


def learn(conn: sqlite3.Connection, config: HallConfig, today: date, weeks: int,
          offset_seconds: int) -> Learned:
    first, last = today - timedelta(weeks=weeks), today - timedelta(days=1)
    span = {"first": first.isoformat(), "last": last.isoformat(), "offset": offset_seconds}
    where = "day BETWEEN :first AND :last"
    days = [date.fromisoformat(r[0]) for r in conn.execute(
        f"SELECT DISTINCT day FROM tickets WHERE {where}", span)]
    days = [d for d in days if config.workdays.is_working_day(d)]
    if not days:
        raise NoHistory(f"{first.isoformat()} 至 {last.isoformat()} 没有号票")
    counts: dict[str, dict[int, int]] = {}
    for service, hour, n in conn.execute(
            f"SELECT service, {HOUR} AS hour, COUNT(*) FROM tickets WHERE {where} "
            "GROUP BY service, hour", span):
        counts.setdefault(service, {})[hour] = n
    handling = {r[0]: (r[1], r[2], r[3]) for r in conn.execute(
        f"SELECT service, COUNT(*), {total('finished_at - started_at')}, "
        f"{total('(finished_at - started_at) * (finished_at - started_at)')} FROM tickets "
        f"WHERE {where} AND state = 'done' AND started_at IS NOT NULL "
        "AND finished_at > started_at GROUP BY service", span)}
    services = []
    for s in config.services:
        if s.id not in counts:
            continue
        opening, closing = config.hours(s.queue)
        hours = clock_hours(opening, closing)
        hourly = tuple(round(counts[s.id].get(h, 0) / len(days), 2) for h in hours)
        mean, cv = _handling(handling.get(s.id), config.queue(s.queue).default_minutes)
        services.append(_service_profile(config, s.id, hourly, mean, cv))
    profile = Profile(tuple(services), _shares(conn, config, where, span),
                      transfer_queues(config), source="history")
    return Learned(profile, len(days), min(days), max(days))


def _handling(row: tuple[int, float, float] | None, default: float) -> tuple[float, float]:
    """(mean minutes, coefficient of variation); the queue's default with a middling spread
    when fewer than 5 tickets were served."""
    if row is None or row[0] < 5:
        return default, 0.6
    n, total, squares = row
    mean = total / n
    variance = max(0.0, squares / n - mean * mean)
    cv = math.sqrt(variance) / mean if mean > 0 else 0.6
    return max(0.1, mean / 60), min(3.0, cv)


def _shares(conn: sqlite3.Connection, config: HallConfig, where: str,
            span: dict[str, object]) -> Shares:
    helpdesk = [s.id for s in config.services if s.helpdesk]
    bookable = [b.service for b in config.booking.services] if config.booking.enabled else []
    params = dict(span)
    in_help, in_booked = _list(params, "h", helpdesk), _list(params, "b", bookable)
    columns = ("COUNT(*)", count_if("priority IS NOT NULL"), count_if("state = 'no_show'"),
               count_if("transfers > 0"), total("started_at - called_at"),
               "COUNT(CASE WHEN started_at IS NOT NULL THEN called_at END)",
               count_if(f"needs_help <> 0 AND service IN ({in_help})"),
               count_if(f"service IN ({in_help})"),
               count_if(f"appointment_at IS NOT NULL AND service IN ({in_booked})"),
               count_if(f"service IN ({in_booked})"))
    row = conn.execute(f"SELECT {', '.join(columns)} FROM tickets WHERE {where}",
                       params).fetchone()
    tickets = row[0] or 1
    outcomes = {r[0]: r[1] for r in conn.execute(
        f"SELECT outcome, COUNT(*) FROM tickets WHERE {where} AND outcome IS NOT NULL "
        "GROUP BY outcome", span)}
    sim = config.simulate
    return Shares(
        priority=(row[1] or 0) / tickets,
        help=(row[6] or 0) / row[7] if row[7] else sim.help_share,
        booked=(row[8] or 0) / row[9] if row[9] else sim.booked_share,
        no_show=(row[2] or 0) / tickets,
        transfer=(row[3] or 0) / tickets,
        walk_seconds=row[4] / row[5] if row[5] else sim.walk_seconds,
        outcomes=tuple(sorted(outcomes.items())) or tuple(sim.outcomes.items()),
        priority_reasons=tuple((r.id, r.self_declared) for r in config.priority_reasons))


def _list(params: dict[str, object], prefix: str, ids: list[str]) -> str:
    """Named placeholders for `ids` (added to `params`), for an SQL `IN (...)`."""
    for i, value in enumerate(ids):
        params[f"{prefix}{i}"] = value
    return ", ".join(f":{prefix}{i}" for i in range(len(ids))) or "NULL"
