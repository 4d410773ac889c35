"""Booking slots (hall/slots.py, pure) and `[booking]` in config.toml (hall/booking_config.py):
how a day is cut, the walk-in share of each hour, and every mistake named by its key."""

from __future__ import annotations

import tomllib
from collections import Counter
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hall.config import ConfigError, load_config, parse_config
from hall.slots import Period, SlotRule, day_slots, places_in_hour, spread
from tests.conftest import DEMO_CONFIG

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 1)


def test_a_morning_and_an_afternoon_cut_into_half_hours_with_half_kept_for_walk_ins() -> None:
    rule = SlotRule((Period(time(9), time(11, 30)), Period(time(14), time(16, 30))), 30, 2, 0.5)
    slots = day_slots(DAY, rule, TZ)
    assert [f"{s.start:%H:%M}" for s in slots] == [
        "09:00", "09:30", "10:00", "10:30", "11:00", "14:00", "14:30", "15:00", "15:30", "16:00"]
    # 09:xx: 2 slots × 2 people × (1 − 0.5) = 2 places; 11:00 alone: 1 place
    assert [s.places for s in slots] == [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    assert slots[0].start.isoformat() == "2026-12-01T09:00:00+08:00"
    assert slots[-1].end.isoformat() == "2026-12-01T16:30:00+08:00"


def test_a_share_too_big_for_one_slot_still_offers_a_place_in_the_hour() -> None:
    """20-minute slots of one person, half kept for walk-ins: per slot that would be nothing;
    per hour it is one place, in the first slot of the hour."""
    rule = SlotRule((Period(time(9), time(11)),), 20, 1, 0.5)
    assert [s.places for s in day_slots(DAY, rule, TZ)] == [1, 0, 0, 1, 0, 0]
    # 0.3 of 10 places is 3 kept, whatever floating point says about 10 × 0.7
    assert places_in_hour(5, 2, 0.3) == 7


def _laid_out(pairs: list[tuple[int, int]]) -> tuple[Period, ...]:
    """Periods laid end to end from 06:00 (gap, length in quarter hours): never overlapping,
    as config requires."""
    out, at = [], 24
    for gap, length in pairs:
        first, last = at + gap, at + gap + length
        if last > 92:
            break
        out.append(Period(time(first // 4, first % 4 * 15), time(last // 4, last % 4 * 15)))
        at = last
    return tuple(out)


periods = st.lists(st.tuples(st.integers(0, 8), st.integers(1, 16)), min_size=1,
                   max_size=4).map(_laid_out)


@given(periods=periods, minutes=st.sampled_from([10, 15, 20, 30, 45, 60, 90]),
       capacity=st.integers(1, 12), share=st.floats(0, 0.95))
def test_slots_fit_their_periods_and_each_hour_keeps_its_walk_in_share(
        periods: tuple[Period, ...], minutes: int, capacity: int, share: float) -> None:
    rule = SlotRule(periods, minutes, capacity, share)
    slots = day_slots(DAY, rule, TZ)
    for slot in slots:
        assert slot.end - slot.start == timedelta(minutes=minutes)
        assert any(p.start <= slot.start.time() and slot.end.time() <= p.end for p in periods)
        assert 0 <= slot.places <= capacity
    starts = [s.start for s in slots]
    assert starts == sorted(set(starts))
    # a whole slot more would have fitted in no period: none is left out
    for p in periods:
        inside = [s for s in slots if p.start <= s.start.time() < p.end]
        left = (p.end.hour * 60 + p.end.minute) - (p.start.hour * 60 + p.start.minute)
        assert len(inside) == left // minutes
    per_hour = Counter(s.start.hour for s in slots)
    for hour, count in per_hour.items():
        places = [s.places for s in slots if s.start.hour == hour]
        assert sum(places) == places_in_hour(count, capacity, share)
        assert sum(places) <= count * capacity * (1 - share) + 1e-6  # the share stays free
        assert max(places) - min(places) <= 1  # spread evenly
    if share == 0:
        assert all(s.places == capacity for s in slots)


@given(total=st.integers(0, 500), slots=st.integers(1, 12))
def test_spreading_places_loses_none_and_favours_none_by_more_than_one(total: int,
                                                                       slots: int) -> None:
    out = spread(total, slots)
    assert sum(out) == total and len(out) == slots and max(out) - min(out) <= 1
    assert out == sorted(out, reverse=True)  # earlier slots first


def test_the_demo_hall_books_services_with_their_keys_checked() -> None:
    config = load_config(DEMO_CONFIG)
    assert config.booking.enabled and config.booking.rules.no_show_count == 2
    assert config.booking.service("bdc-transfer") is not None
    assert config.booking.service("consult") is None  # 综合咨询 is walk-in only


def _with_booking(text: str) -> dict:
    raw = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    raw["booking"] = tomllib.loads(text)
    return raw


@pytest.mark.parametrize(("booking", "problem"), [
    ('grace_minutes = 40\ncheckin_after_minutes = 30',
     "booking.grace_minutes: cannot be longer than booking.checkin_after_minutes"),
    ('days_ahead = -1', "booking.days_ahead: must be at least 0"),
    ('late_places = 0', "booking.late_places: must be at least 1"),
    ('colour = 1', "booking.colour: unknown key"),
    ('[limits]\nper_week = "two"', "booking.limits.per_week: expected an integer"),
    ('[limits]\nno_show_count = 2\nbar_days = 0',
     "booking.limits.bar_days: must be at least 1 when"),
    ('[[services]]\nservice = "nope"\nhours = ["09:00-10:00"]',
     "booking.services[0].service: unknown service 'nope'"),
    ('[[services]]\nservice = "id-card"\nhours = ["07:00-09:00"]',
     "booking.services[0].hours[0]: must lie within the queue's issuing hours 08:30-17:30"),
    ('[[services]]\nservice = "id-card"\nhours = ["9:00-8:00"]',
     'booking.services[0].hours[0]: expected "HH:MM-HH:MM"'),
    ('[[services]]\nservice = "id-card"\nhours = ["09:00-10:00", "09:30-11:00"]',
     "booking.services[0].hours[1]: overlaps 09:00-10:00"),
    ('[[services]]\nservice = "id-card"\nhours = ["09:00-09:10"]\nslot_minutes = 15',
     "booking.services[0].hours[0]: shorter than one slot (15 minutes)"),
    ('[[services]]\nservice = "id-card"\nhours = ["09:00-10:00"]\nwalk_in_share = 1',
     "booking.services[0].walk_in_share: must be at least 0 and less than 1"),
    ('[[services]]\nservice = "id-card"\nhours = ["09:00-10:00"]\ncapacity = 0',
     "booking.services[0].capacity: must be at least 1"),
    ('[[services]]\nservice = "id-card"\nhours = ["09:00-10:00"]\nweekdays = [0, 8]',
     "booking.services[0].weekdays: expected a list of weekdays 1 (Monday) to 7"),
    ('[[services]]\nservice = "id-card"\nhours = []', "booking.services[0].hours: list at least"),
    ('[[services]]\nservice = "id-card"\nhours = ["09:00-10:00"]\n'
     '[[services]]\nservice = "id-card"\nhours = ["14:00-15:00"]',
     "booking.services[1].service: 'id-card' is already listed"),
])
def test_every_booking_mistake_is_named_by_its_key(booking: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(_with_booking(booking))
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems


def test_without_a_booking_table_nothing_is_bookable() -> None:
    raw = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    del raw["booking"]
    config = parse_config(raw)
    assert not config.booking.enabled and config.booking.services == ()
