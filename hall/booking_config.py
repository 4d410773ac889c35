"""`[booking]` in config.toml: appointments, check-in and 云取号 (docs/appointments.md).

Why `[[booking.services]]` and not keys on `[[services]]`: booking is opt-in per service and
most services of a hall never take bookings (综合咨询, 办不成事反映); a separate table keeps
`[[services]]` what it is (the 事项 and its materials, shared by the kiosk, the screens and the
reports), says in one place which services can be booked and how, and lets a hall switch
booking off by deleting one table. Each entry names its service by id.

Checked like the rest of the file (hall.config): every mistake with the key that holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from typing import TYPE_CHECKING, Any

from hall.person_limits import PersonRules
from hall.slots import Period, SlotRule, cut

if TYPE_CHECKING:
    from hall.config import _Checker

ALL_WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)


@dataclass(frozen=True)
class BookingService:
    service: str
    rule: SlotRule
    # ISO weekdays (1 Monday … 7 Sunday) that take bookings; the hall calendar closes
    # holidays on top, and opens a 调休 Saturday only when 6 is listed
    weekdays: tuple[int, ...] = ALL_WEEKDAYS


@dataclass(frozen=True)
class Booking:
    enabled: bool = False  # a [booking] table is present
    days_ahead: int = 7  # today and the next N calendar days can be booked
    cutoff_minutes: int = 30  # a slot can be booked until this long before it starts
    checkin_before_minutes: int = 30  # check-in opens this long before the slot
    checkin_after_minutes: int = 30  # … and closes this long after its start: later, no-show
    grace_minutes: int = 10  # checked in up to this long after the start: keeps its priority
    phone_tickets: bool = True  # 云取号: a walk-in ticket taken on /book within hours
    late_places: int = 3  # 我会晚到 moves a phone ticket back this many places, once
    phone_checkin_minutes: int = 10  # a phone ticket's turn came: this long to check in
    rules: PersonRules = field(default_factory=PersonRules)
    services: tuple[BookingService, ...] = ()

    def service(self, service_id: str) -> BookingService | None:
        return next((s for s in self.services if s.service == service_id), None)


SETTINGS = ("days_ahead", "cutoff_minutes", "checkin_before_minutes", "checkin_after_minutes",
            "grace_minutes", "late_places", "phone_checkin_minutes")
LIMIT_KEYS = ("per_service_day", "per_week", "per_month", "no_show_count", "no_show_days",
              "bar_days")
SERVICE_KEYS = {"service", "hours", "slot_minutes", "capacity", "walk_in_share", "weekdays"}


def parse_booking(c: _Checker, raw: dict[str, Any], service_ids: set[str],
                  hours_of: Callable[[str], tuple[time, time] | None]) -> Booking:
    """`hours_of(service)`: the issuing hours of the service's queue (bookings must lie in
    them), None for an unknown service."""
    if "booking" not in raw:
        return Booking()
    t = c.get(raw, "booking", "", dict, {})
    defaults = Booking()
    values: dict[str, Any] = {}
    for key in SETTINGS:
        values[key] = c.get(t, key, "booking", int, getattr(defaults, key))
    bounds = {"days_ahead": (0, 90), "cutoff_minutes": (0, 1440),
              "checkin_before_minutes": (0, 240), "checkin_after_minutes": (0, 240),
              "grace_minutes": (0, 240), "late_places": (1, 50),
              "phone_checkin_minutes": (1, 120)}
    for key, (low, high) in bounds.items():
        c.at_least(values[key], f"booking.{key}", low, high)
    if isinstance(values["grace_minutes"], int) and isinstance(values["checkin_after_minutes"],
                                                                int) \
            and values["grace_minutes"] > values["checkin_after_minutes"]:
        c.problem("booking.grace_minutes",
                  f"cannot be longer than booking.checkin_after_minutes "
                  f"({values['checkin_after_minutes']}): a late arrival keeps priority only "
                  "while check-in is open")
    phone = c.get(t, "phone_tickets", "booking", bool, True)
    rules = _parse_limits(c, t)
    services = _parse_services(c, t, service_ids, hours_of)
    c.unknown_keys(t, {*SETTINGS, "phone_tickets", "limits", "services"}, "booking")
    return Booking(enabled=True, phone_tickets=phone, rules=rules, services=services,
                   **values)


def _parse_limits(c: _Checker, t: dict[str, Any]) -> PersonRules:
    lim = c.get(t, "limits", "booking", dict, {})
    defaults = PersonRules()
    values = {key: c.get(lim, key, "booking.limits", int, getattr(defaults, key))
              for key in LIMIT_KEYS}
    for key in LIMIT_KEYS:
        c.at_least(values[key], f"booking.limits.{key}", 0, 3660)
    if values["no_show_count"] and not values["bar_days"]:
        c.problem("booking.limits.bar_days",
                  "must be at least 1 when booking.limits.no_show_count bars people")
    if values["no_show_count"] and not values["no_show_days"]:
        c.problem("booking.limits.no_show_days",
                  "must be at least 1 when booking.limits.no_show_count bars people")
    c.unknown_keys(lim, set(LIMIT_KEYS), "booking.limits")
    return PersonRules(**{k: v if isinstance(v, int) else getattr(defaults, k)
                          for k, v in values.items()})


def _parse_services(c: _Checker, t: dict[str, Any], service_ids: set[str],
                    hours_of: Callable[[str], tuple[time, time] | None]
                    ) -> tuple[BookingService, ...]:
    items = c.get(t, "services", "booking", list, [])
    out: list[BookingService] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"booking.services[{i}]"
        if not isinstance(item, dict):
            c.problem(where, "expected a table")
            continue
        sid = c.get(item, "service", where, str) or ""
        if sid and sid not in service_ids:
            c.problem(f"{where}.service", f"unknown service {sid!r}")
        elif sid in seen:
            c.problem(f"{where}.service", f"{sid!r} is already listed in booking.services")
        seen.add(sid)
        minutes = c.get(item, "slot_minutes", where, int, 30)
        c.at_least(minutes, f"{where}.slot_minutes", 5, 240)
        capacity = c.get(item, "capacity", where, int, 1)
        c.at_least(capacity, f"{where}.capacity", 1, 999)
        share = c.get(item, "walk_in_share", where, (int, float), 0.0)
        if isinstance(share, (int, float)) and not 0 <= share < 1:
            c.problem(f"{where}.walk_in_share",
                      f"must be at least 0 and less than 1 (a share such as 0.3), got {share}")
            share = 0.0
        weekdays = c.get(item, "weekdays", where, list, list(ALL_WEEKDAYS))
        if not weekdays or any(not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= 7
                               for d in weekdays):
            c.problem(f"{where}.weekdays",
                      f"expected a list of weekdays 1 (Monday) to 7 (Sunday), got {weekdays!r}")
            weekdays = list(ALL_WEEKDAYS)
        periods = _periods(c, item, where, sid, minutes, hours_of)
        c.unknown_keys(item, SERVICE_KEYS, where)
        out.append(BookingService(
            service=sid,
            rule=SlotRule(periods, minutes if isinstance(minutes, int) and minutes >= 5 else 30,
                          capacity if isinstance(capacity, int) and capacity >= 1 else 1,
                          float(share)),
            weekdays=tuple(sorted(set(weekdays)))))
    return tuple(out)


def _periods(c: _Checker, item: dict[str, Any], where: str, sid: str, minutes: Any,
             hours_of: Callable[[str], tuple[time, time] | None]) -> tuple[Period, ...]:
    texts = c.get(item, "hours", where, list)
    if texts is None:
        return ()
    periods: list[Period] = []
    for j, text in enumerate(texts):
        key = f"{where}.hours[{j}]"
        period = _period(text)
        if period is None:
            c.problem(key, f'expected "HH:MM-HH:MM" with the start before the end, got {text!r}')
            continue
        hours = hours_of(sid)
        if hours is not None and (period.start < hours[0] or period.end > hours[1]):
            c.problem(key, f"must lie within the queue's issuing hours "
                           f"{hours[0]:%H:%M}-{hours[1]:%H:%M}")
        if isinstance(minutes, int) and minutes >= 5 and not cut(period, minutes):
            c.problem(key, f"shorter than one slot ({minutes} minutes)")
        for other in periods:
            if period.start < other.end and other.start < period.end:
                c.problem(key, f"overlaps {other.start:%H:%M}-{other.end:%H:%M}")
        periods.append(period)
    if not texts:
        c.problem(f"{where}.hours", "list at least one period, such as \"09:00-11:30\"")
    return tuple(sorted(periods, key=lambda p: p.start))


def _period(text: Any) -> Period | None:
    if not isinstance(text, str) or text.count("-") != 1:
        return None
    try:
        start, end = (_clock_time(part) for part in text.split("-"))
    except ValueError:
        return None
    return Period(start, end) if start < end else None


def _clock_time(text: str) -> time:
    hours, minutes = text.strip().split(":")
    if len(minutes) != 2:
        raise ValueError(text)
    return time(int(hours), int(minutes))
