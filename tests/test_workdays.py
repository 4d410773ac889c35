"""Working days: hypothesis against properties any deadline must have, and the real 2026
calendar (chinese-calendar plus config.toml's overrides) for cases a hall would check by
hand; the warning when the next 60 days reach a year nobody has declared."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hall.config import Workdays, coverage_warning, load_config
from hall.workdays import (
    add_working_days,
    intake_day,
    is_working_day,
    official_workday,
    working_days_between,
)

ROOT = Path(__file__).resolve().parent.parent
CAL = load_config(ROOT / "config.toml").workdays

days = st.dates(min_value=date(2025, 12, 1), max_value=date(2027, 1, 31))
calendars = st.tuples(st.frozensets(days, max_size=40), st.frozensets(days, max_size=10))


def count_working(start: date, end: date, holidays: frozenset[date],
                  makeup: frozenset[date]) -> int:
    """The working days in (start, end], walked one day at a time with the rule spelled out."""
    n, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if day in makeup or (day not in holidays and day.weekday() < 5):
            n += 1
    return n


@settings(max_examples=400, deadline=None)
@given(start=days, n=st.integers(0, 40), cal=calendars)
def test_deadline_is_the_nth_working_day_after_start(start: date, n: int,
                                                    cal: tuple[frozenset[date], frozenset[date]]
                                                    ) -> None:
    holidays, makeup = cal
    due = add_working_days(start, n, holidays, makeup)
    assert is_working_day(due, holidays, makeup)
    assert due >= start
    if n == 0:
        # the same working day, or the first one after a day off
        assert all(not is_working_day(start + timedelta(days=i), holidays, makeup)
                   for i in range((due - start).days))
    else:
        assert due > start
        assert count_working(start, due, holidays, makeup) == n
        assert working_days_between(start, due, holidays, makeup) == n


@settings(max_examples=300, deadline=None)
@given(start=days, n=st.integers(0, 30), cal=calendars)
def test_more_days_never_come_sooner(start: date, n: int,
                                     cal: tuple[frozenset[date], frozenset[date]]) -> None:
    holidays, makeup = cal
    later = add_working_days(start, n + 1, holidays, makeup)
    sooner = add_working_days(start, n, holidays, makeup)
    if n == 0 and not is_working_day(start, holidays, makeup):
        # counted from the next day, "the same working day" and "1 working day" of a Sunday
        # are both the Monday
        assert later == sooner
    else:
        assert later > sooner


@settings(max_examples=300, deadline=None)
@given(start=days, n=st.integers(1, 30), extra=days, cal=calendars)
def test_a_holiday_never_brings_a_deadline_forward(start: date, n: int, extra: date,
                                                   cal: tuple[frozenset[date], frozenset[date]]
                                                   ) -> None:
    holidays, makeup = cal
    before = add_working_days(start, n, holidays, makeup)
    after = add_working_days(start, n, holidays | {extra}, makeup - {extra})
    assert after >= before
    if start < extra <= before and is_working_day(extra, holidays, makeup):
        assert after > before  # a working day inside the span was taken away


@settings(max_examples=200, deadline=None)
@given(start=days, weeks=st.integers(0, 8))
def test_plain_weeks_without_holidays(start: date, weeks: int) -> None:
    if start.weekday() < 5:
        assert add_working_days(start, 5 * weeks) == start + timedelta(weeks=weeks)


@given(day=days)
def test_makeup_beats_holiday_and_weekends_rest(day: date) -> None:
    assert is_working_day(day, {day}, {day})
    assert not is_working_day(day, {day}, set())
    assert is_working_day(day) == (day.weekday() < 5)


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError):
        add_working_days(date(2026, 3, 2), -1)


@pytest.mark.parametrize(("start", "n", "due"), [
    (date(2026, 9, 18), 1, date(2026, 9, 20)),  # Friday → the 调休 Sunday
    (date(2026, 9, 30), 1, date(2026, 10, 8)),  # over 国庆
    (date(2026, 10, 1), 0, date(2026, 10, 8)),  # received on a holiday: due when open
    (date(2026, 10, 9), 1, date(2026, 10, 10)),  # the 调休 Saturday
    (date(2026, 2, 13), 1, date(2026, 2, 14)),  # the Saturday before 春节 is worked
    (date(2026, 2, 14), 1, date(2026, 2, 24)),  # then nine days off
    (date(2026, 2, 14), 5, date(2026, 2, 28)),  # 24, 25, 26, 27, Saturday 28 (调休)
    (date(2026, 4, 3), 1, date(2026, 4, 7)),  # 清明 Monday off
    (date(2026, 4, 30), 15, date(2026, 5, 25)),  # 劳动节 off, Saturday 05-09 worked
    (date(2026, 12, 31), 1, date(2027, 1, 1)),  # beyond the 2026 notice: weekdays only
])
def test_the_2026_calendar(start: date, n: int, due: date) -> None:
    """The shipped config lists no 2026 day: these come from chinese-calendar."""
    assert not CAL.holidays and not CAL.makeup_days
    assert CAL.add(start, n) == due


def test_local_overrides_beat_the_official_calendar() -> None:
    """A county's own day off, and a Sunday it works, on top of the State Council's notice."""
    local = Workdays(holidays=frozenset({date(2026, 3, 3)}),
                     makeup_days=frozenset({date(2026, 3, 8)}))
    assert CAL.is_working_day(date(2026, 3, 3)) and not local.is_working_day(date(2026, 3, 3))
    assert local.is_working_day(date(2026, 3, 8))
    assert local.add(date(2026, 3, 2), 1) == date(2026, 3, 4)
    assert CAL.holiday_name(date(2026, 10, 1)) == "国庆节"
    assert CAL.holiday_name(date(2026, 2, 14)) is None  # the Saturday worked before 春节
    assert local.holiday_name(date(2026, 3, 3)) == "节假日"


@settings(max_examples=200, deadline=None)
@given(start=st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31)))
def test_the_official_calendar_has_weekends_off_unless_it_says_so(start: date) -> None:
    verdict = official_workday(start)
    assert verdict is not None
    assert CAL.is_working_day(start) == verdict


@settings(max_examples=200, deadline=None)
@given(start=days, n=st.integers(0, 40), extra=st.frozensets(days, max_size=10))
def test_official_calendar_with_overrides_keeps_the_deadline_rules(start: date, n: int,
                                                                  extra: frozenset[date]) -> None:
    """The same properties over chinese-calendar plus local days off, into the unknown 2027."""
    cal = Workdays(holidays=extra)
    due = cal.add(start, n)
    assert cal.is_working_day(due) and due >= start
    if n:
        assert cal.between(start, due) == n
        assert cal.add(start, n + 1) > due
    assert due >= CAL.add(start, n)  # a local day off never brings a deadline forward


def test_a_year_nobody_declared_is_warned_about_60_days_ahead() -> None:
    """Today is 2026-12-01: the next 60 days reach 2027, which chinese-calendar 1.11 does not
    know. The warning names the first unknown day; config's covered_until silences it."""
    assert CAL.uncovered_from(date(2026, 10, 1)) is None  # 60 days inside 2026
    assert CAL.uncovered_from(date(2026, 12, 1)) == date(2027, 1, 1)
    warning = coverage_warning(CAL, date(2026, 12, 1))
    assert warning is not None and "2027年1月1日" in warning
    declared = Workdays(holidays=frozenset({date(2027, 1, 1)}),
                        covered_until=date(2027, 3, 31))
    assert coverage_warning(declared, date(2026, 12, 1)) is None
    assert declared.uncovered_from(date(2027, 3, 1)) == date(2027, 4, 1)


@pytest.mark.parametrize(("moment", "day"), [
    (datetime(2026, 12, 1, 17, 29), date(2026, 12, 1)),
    (datetime(2026, 12, 1, 17, 30), date(2026, 12, 2)),  # closing time: tomorrow
    (datetime(2026, 12, 1, 23, 59), date(2026, 12, 2)),
    (datetime(2026, 12, 1, 7, 0), date(2026, 12, 1)),  # before opening: still that day
])
def test_a_case_received_after_closing_counts_from_the_next_day(moment: datetime,
                                                                day: date) -> None:
    assert intake_day(moment, time(17, 30)) == day
