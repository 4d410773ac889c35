"""Per-person limits on bookings and 实名 tickets: the rules registries use against 号贩子
(scalpers). Pure: the caller reads a person's recent visits (by the keyed hash of their ID
number, and separately of their phone) and asks whether one more is allowed.

The rules (domain.md, Tickets and queues; defaults are one real registry's):
* one per service per day;
* at most `per_week` in a calendar week (Monday to Sunday: how people and registries count a
  week) and `per_month` in a calendar month, all services together;
* `no_show_count` no-shows within `no_show_days` days (of each other) bar the person for
  `bar_days` days, counted from the latest of those no-shows; the refusal says until when, in
  年月日.
A cancelled booking counts for nothing: cancelling is what we want people to do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from hall.datefmt import day_text


@dataclass(frozen=True)
class PersonRules:
    per_service_day: int = 1
    per_week: int = 2
    per_month: int = 6
    no_show_count: int = 2
    no_show_days: int = 90
    bar_days: int = 90


@dataclass(frozen=True)
class Visit:
    """A booking or 实名 ticket of one person: its service, the day it is for, and whether the
    person failed to come (a booking not checked in by the end of its slot)."""

    service: str
    day: date
    no_show: bool = False


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    until: date | None = None


def barred_until(visits: Iterable[Visit], today: date, rules: PersonRules) -> date | None:
    """The first day the person may book again, or None when not barred.

    A bar runs its whole `bar_days` from the no-show that completed it: `no_show_count`
    no-shows less than `no_show_days` days apart. It is not lifted early when the first of them
    ages past `no_show_days` (with 90 and 90, two no-shows a month apart used to bar for two
    months, not three)."""
    k = rules.no_show_count
    if k <= 0:
        return None
    missed = sorted(v.day for v in visits if v.no_show and v.day <= today)
    until: date | None = None
    for i in range(k - 1, len(missed)):
        if (missed[i] - missed[i - k + 1]).days < rules.no_show_days:
            end = missed[i] + timedelta(days=rules.bar_days)
            until = end if until is None or end > until else until
    return until if until is not None and until > today else None


def refusal(visits: Iterable[Visit], service: str, day: date, today: date,
            rules: PersonRules, who: str = "您") -> Refusal | None:
    """Why one more visit for `service` on `day` is refused, or None when it is allowed.

    `who` names the person in the message: 您 on the citizen's own page, 该身份证 or 该手机号
    where the limit was reached through another booking with the same phone."""
    visits = list(visits)
    until = barred_until(visits, today, rules)
    if until is not None:
        return Refusal("person_barred",
                       f"{who}近 {rules.no_show_days} 天内有 {rules.no_show_count} 次预约未到，"
                       f"{day_text(until)}起才能再次预约", until)
    same_day = sum(1 for v in visits if v.service == service and v.day == day)
    if rules.per_service_day and same_day >= rules.per_service_day:
        return Refusal("person_day_limit",
                       f"{who}在{day_text(day)}已预约或取号办理该事项，同一事项每天限 "
                       f"{rules.per_service_day} 次")
    monday = day - timedelta(days=day.weekday())
    week = sum(1 for v in visits if monday <= v.day < monday + timedelta(days=7))
    if rules.per_week and week >= rules.per_week:
        return Refusal("person_week_limit",
                       f"{who}在{day_text(day)}所在的一周内已有 {week} 次，每周限 "
                       f"{rules.per_week} 次")
    month = sum(1 for v in visits if (v.day.year, v.day.month) == (day.year, day.month))
    if rules.per_month and month >= rules.per_month:
        return Refusal("person_month_limit",
                       f"{who}在{day.year}年{day.month}月已有 {month} 次，每月限 "
                       f"{rules.per_month} 次")
    return None
