"""Working days (工作日) for the deadlines of 差评整改 and 办不成事 cases.

Why a calendar of its own: a deadline of "1 working day" set on a Friday falls on Monday, and
one set before 春节 falls after it — but China also works some weekends (调休上班) to make the
long holidays, and those Saturdays and Sundays count. So a day is a working day when it is a
makeup day, else when it is not a holiday and not a weekend. The calendar comes from
`[workdays]` in config.toml (the State Council's notice each November), never from the network.

How counting works (the rule the tests hammer):
* `add_working_days(start, n)` is the day by which n working days *after* `start` have passed;
  the day the case opened does not count, as with the policy's "N个工作日内".
* n = 0 means "the same working day": `start` itself if it is a working day, otherwise the next
  working day (a complaint handed in on a Saturday is due on Monday, not on Saturday).
* The answer is always a working day, so a deadline never lands on a day the hall is shut.
* Counting starts the next day, so from a day off "the same working day" (n = 0) and "1
  working day" (n = 1) are both the first working day after it.

Pure functions of dates and sets: no clock, no config object, no I/O.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

_DAY = timedelta(days=1)


def is_working_day(day: date, holidays: Collection[date] = (),
                   makeup: Collection[date] = ()) -> bool:
    """A makeup day (调休上班) is a working day even on a weekend; a holiday never is."""
    if day in makeup:
        return True
    if day in holidays:
        return False
    return day.weekday() < 5


def add_working_days(start: date, n: int, holidays: Collection[date] = (),
                     makeup: Collection[date] = ()) -> date:
    """The working day on which the n-th working day after `start` ends (n = 0: the same
    working day, or the next one when `start` is not a working day)."""
    if n < 0:
        raise ValueError(f"working days must be 0 or more, got {n}")
    day = start
    if n == 0:
        while not is_working_day(day, holidays, makeup):
            day += _DAY
        return day
    remaining = n
    while remaining:
        day += _DAY
        if is_working_day(day, holidays, makeup):
            remaining -= 1
    return day


def working_days_between(start: date, end: date, holidays: Collection[date] = (),
                         makeup: Collection[date] = ()) -> int:
    """How many working days lie in (start, end]: 0 when end is not after start. The inverse
    of `add_working_days`, used to say how late a case was."""
    count = 0
    day = start + _DAY
    while day <= end:
        if is_working_day(day, holidays, makeup):
            count += 1
        day += _DAY
    return count
