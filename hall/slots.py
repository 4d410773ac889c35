"""Booking slots of one service on one day: pure arithmetic, no clock, no database.

How a day is cut (docs/appointments.md):
* A service takes bookings in its periods (`hours = ["09:00-11:30", "14:00-16:30"]`); each
  period is cut into whole slots of `slot_minutes` from its start. A remainder shorter than a
  slot is not offered: a citizen booked at 11:20 for a 30-minute slot would be served after
  the period the hall planned.
* `capacity` is how many people the hall can serve in one slot of that service. A share of
  each clock hour (`walk_in_share`) stays for walk-ins (domain.md: the offline path stays
  first-class), so the places of the slots that start in one hour are
  floor(capacity × slots × (1 − share)), spread over those slots as evenly as whole places
  allow, earlier slots first. Counted per hour, not per slot: with 20-minute slots of
  capacity 1 and a share of 0.5, a per-slot floor would offer nothing at all, per hour it
  offers one place in each of the first slot of the hour.
* What is free is the places minus the bookings that still hold one (booked, checked in, or
  gone as no-shows: a no-show used the place up). A cancelled booking frees its place.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo


@dataclass(frozen=True)
class Period:
    start: time
    end: time


@dataclass(frozen=True)
class SlotRule:
    periods: tuple[Period, ...]
    slot_minutes: int
    capacity: int
    walk_in_share: float = 0.0


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    places: int  # bookable places (capacity less the walk-in share)

    def free(self, taken: int) -> int:
        return max(0, self.places - taken)


def cut(period: Period, minutes: int) -> list[tuple[time, time]]:
    """The whole slots of one period, as clock times."""
    out: list[tuple[time, time]] = []
    step = timedelta(minutes=minutes)
    day = date(2000, 1, 3)  # any day: only clock times are kept
    at = datetime.combine(day, period.start)
    end = datetime.combine(day, period.end)
    while at + step <= end:
        out.append((at.time(), (at + step).time()))
        at += step
    return out


def places_in_hour(slots: int, capacity: int, walk_in_share: float) -> int:
    """Bookable places of the `slots` slots starting in one clock hour. Rounded to 6 places
    first: 10 × (1 − 0.3) is 6.999… in floating point and means 7."""
    return math.floor(round(slots * capacity * (1 - walk_in_share), 6))


def spread(total: int, slots: int) -> list[int]:
    """`total` places over `slots` slots, as even as whole places allow, earlier slots first."""
    if slots <= 0:
        return []
    base, extra = divmod(total, slots)
    return [base + (1 if i < extra else 0) for i in range(slots)]


def day_slots(day: date, rule: SlotRule, tz: tzinfo) -> list[Slot]:
    """Every slot of `rule` on `day`, in order, with its bookable places."""
    times = sorted({pair for period in rule.periods for pair in cut(period, rule.slot_minutes)})
    by_hour: dict[int, list[tuple[time, time]]] = {}
    for pair in times:
        by_hour.setdefault(pair[0].hour, []).append(pair)
    out: list[Slot] = []
    for hour in sorted(by_hour):
        pairs = by_hour[hour]
        total = places_in_hour(len(pairs), rule.capacity, rule.walk_in_share)
        for (start, end), places in zip(pairs, spread(total, len(pairs)), strict=True):
            out.append(Slot(datetime.combine(day, start, tz), datetime.combine(day, end, tz),
                            places))
    return out


def with_free(slots: Iterable[Slot], taken: Mapping[float, int]) -> list[tuple[Slot, int]]:
    """Each slot with its free places, given the places taken by slot start (a timestamp)."""
    return [(slot, slot.free(taken.get(slot.start.timestamp(), 0))) for slot in slots]


def find(slots: Iterable[Slot], start: datetime) -> Slot | None:
    """The slot that starts at `start` (any timezone), or None."""
    return next((s for s in slots if s.start == start), None)
