"""The periods a report is cut into, one definition for the ticket figures (hall.stats) and
the productivity figures (hall.productivity): all (the whole range), hour (of the day, over the
whole range: when do people come), day, week (from Monday) and month. A period is named by a
plain string (`全部`, `09`, `2026-11-30`, the Monday `2026-11-23`, `2026-11`), which pages and
the CSV turn into 年月日 text (hall.report_tables)."""

from __future__ import annotations

from datetime import date, timedelta

PERIODS = ("all", "hour", "day", "week", "month")

# over roll-up rows that have a `day` (ISO) and an `hour` (0–23) column
PERIOD_SQL = {"all": "'全部'", "day": "day", "week": "date(day, 'weekday 0', '-6 days')",
              "month": "substr(day, 1, 7)", "hour": "printf('%02d', hour)"}


def period_of(per: str, day: str, hour: int | None = None) -> str:
    """Pure: the period a day (and hour) falls in."""
    if per == "all":
        return "全部"
    if per == "hour":
        return f"{hour:02d}"
    if per == "week":
        d = date.fromisoformat(day)
        return (d - timedelta(days=d.weekday())).isoformat()
    if per == "month":
        return day[:7]
    return day
