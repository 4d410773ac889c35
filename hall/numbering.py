"""Ticket numbers: queue prefix + zero-padded daily counter (`A001`).

The counter itself lives in the store (one row per queue and day, bumped in the ticket's own
transaction), so a number is consumed only when its ticket is stored. This module holds the
pure parts: which hall day an instant belongs to, and how a number is written and read back.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

_NUMBER = re.compile(r"^([A-Z])(\d{1,6})$")


def hall_day(now: datetime, tz: ZoneInfo) -> date:
    """Numbers reset at midnight in the hall's timezone, not the server's."""
    return now.astimezone(tz).date()


def format_number(prefix: str, counter: int, width: int) -> str:
    if counter < 1:
        raise ValueError("ticket counters start at 1")
    digits = str(counter)
    if len(digits) > width:
        raise ValueError(f"counter {counter} does not fit in {width} digits")
    return prefix + digits.zfill(width)


def parse_number(number: str) -> tuple[str, int] | None:
    """`A005` → ("A", 5); None for anything a clerk might mistype into the number field."""
    match = _NUMBER.match(number.strip().upper())
    if not match:
        return None
    return match.group(1), int(match.group(2))
