"""Working days (工作日) for every deadline and for the days the hall issues tickets.

Why a calendar of its own: a deadline of "1 working day" set on a Friday falls on Monday, and
one set before 春节 falls after it — but China also works some weekends (调休上班) to make the
long holidays, and those Saturdays and Sundays count. The official calendar (the State
Council's notice each November) comes from the maintained `chinese-calendar` package, never
from the network; `[workdays]` in config.toml adds the local arrangements on top (a county's
own day off, a year the package does not know yet). A day is a working day when config lists
it as a makeup day, else not when config lists it as a holiday, else as the official calendar
says, else (a year nobody has declared) when it is Monday to Friday.

A year nobody has declared is the dangerous case: 春节 would silently count as working days.
So `uncovered_from` names the first day of a span that neither the package nor config
(`covered_until`) vouches for; `check-config` and the manager's alarms warn about the next
60 days.

How counting works (the rule the tests hammer):
* `add_working_days(start, n)` is the day by which n working days *after* `start` have passed;
  the day the case opened does not count, as with the policy's "N个工作日内".
* n = 0 means "the same working day": `start` itself if it is a working day, otherwise the next
  working day (a complaint handed in on a Saturday is due on Monday, not on Saturday).
* The answer is always a working day, so a deadline never lands on a day the hall is shut.
* Counting starts the next day, so from a day off "the same working day" (n = 0) and "1
  working day" (n = 1) are both the first working day after it.
* `intake_day`: a case received after closing time counts as received the next day, so its
  "same working day" deadline is the next working day, never one already past.

Pure functions of dates, sets and the package's tables: no clock, no config object, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, datetime, time, timedelta

import chinese_calendar

_DAY = timedelta(days=1)

# The official verdict for a day: True working, False day off, None when nobody knows yet.
Official = Callable[[date], bool | None]


def official_workday(day: date) -> bool | None:
    """The State Council's calendar as `chinese-calendar` ships it; None outside its years."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


def official_holiday_name(day: date) -> str | None:
    """The Chinese name of the official holiday `day` belongs to (春节, 国庆节 ...), if any."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    if not on_holiday or name is None:
        return None
    return HOLIDAY_NAMES.get(name, "法定节假日")


HOLIDAY_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节", "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def is_working_day(day: date, holidays: Collection[date] = (),
                   makeup: Collection[date] = (), official: Official | None = None) -> bool:
    """A makeup day (调休上班) is a working day even on a weekend; a holiday never is; then
    the official calendar, and Monday to Friday where it is silent."""
    if day in makeup:
        return True
    if day in holidays:
        return False
    verdict = official(day) if official is not None else None
    return verdict if verdict is not None else day.weekday() < 5


def add_working_days(start: date, n: int, holidays: Collection[date] = (),
                     makeup: Collection[date] = (), official: Official | None = None) -> date:
    """The working day on which the n-th working day after `start` ends (n = 0: the same
    working day, or the next one when `start` is not a working day)."""
    if n < 0:
        raise ValueError(f"working days must be 0 or more, got {n}")
    day = start
    if n == 0:
        while not is_working_day(day, holidays, makeup, official):
            day += _DAY
        return day
    remaining = n
    while remaining:
        day += _DAY
        if is_working_day(day, holidays, makeup, official):
            remaining -= 1
    return day


def working_days_between(start: date, end: date, holidays: Collection[date] = (),
                         makeup: Collection[date] = (), official: Official | None = None) -> int:
    """How many working days lie in (start, end]: 0 when end is not after start. The inverse
    of `add_working_days`, used to say how late a case was."""
    count = 0
    day = start + _DAY
    while day <= end:
        if is_working_day(day, holidays, makeup, official):
            count += 1
        day += _DAY
    return count


def intake_day(moment: datetime, close: time) -> date:
    """The day a case counts as received: its own day, or the next one after closing time."""
    return moment.date() + _DAY if moment.time() >= close else moment.date()


def uncovered_from(first: date, last: date, covered_until: date | None = None,
                   official: Official = official_workday) -> date | None:
    """The first day in [first, last] whose holidays nobody has declared: not in the official
    calendar, and after config's `covered_until`. None when the whole span is known."""
    day = first
    while day <= last:
        if (covered_until is None or day > covered_until) and official(day) is None:
            return day
        day += _DAY
    return None
