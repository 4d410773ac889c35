"""The hall's one date format for people: 2026年1月31日, times HH:MM (issue 8 item 11).

Pages use Hall.dayText / Hall.dateTime in hall/web/static/hall.js; text the server writes for
people (case timelines, CSV exports) uses these, so a date reads the same everywhere. No zero
padding of month and day: the form Chinese forms and notices use.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo


def day_text(day: date | str) -> str:
    """2026-01-31 (a date or its ISO text) → 2026年1月31日."""
    d = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
    return f"{d.year}年{d.month}月{d.day}日"


def time_text(moment: datetime, tz: tzinfo) -> str:
    """A moment in the hall's time zone → 2026年1月31日 09:05."""
    local = moment.astimezone(tz)
    return f"{day_text(local.date())} {local:%H:%M}"
