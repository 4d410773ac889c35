from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hall.eta import eta_minutes, rolling_minutes
from hall.numbering import format_number, hall_day, parse_number

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_numbers_are_prefix_and_padded_counter() -> None:
    assert format_number("A", 1, 3) == "A001"
    assert format_number("C", 150, 3) == "C150"
    with pytest.raises(ValueError):
        format_number("A", 1000, 3)


@given(st.sampled_from("ABCDEFGHJ"), st.integers(1, 999999), st.integers(1, 6))
def test_parse_reads_back_what_format_writes(prefix: str, counter: int, width: int) -> None:
    if len(str(counter)) > width:
        return
    assert parse_number(format_number(prefix, counter, width)) == (prefix, counter)


def test_parse_refuses_what_a_clerk_might_mistype() -> None:
    assert parse_number(" a005 ") == ("A", 5)
    for bad in ("", "A", "5", "AA01", "A-1", "A1234567"):
        assert parse_number(bad) is None


def test_the_day_turns_at_midnight_in_the_hall_not_on_the_server() -> None:
    # 15:59 UTC is 23:59 in Shanghai; 16:00 UTC is the next hall day
    assert hall_day(datetime(2026, 3, 1, 15, 59, tzinfo=UTC), SHANGHAI).day == 1
    assert hall_day(datetime(2026, 3, 1, 16, 0, tzinfo=UTC), SHANGHAI).day == 2


def test_eta_is_never_zero_with_people_ahead_and_scales_with_windows() -> None:
    assert eta_minutes(0, 8, 1) == 0
    assert eta_minutes(1, 0.1, 4) == 1
    assert eta_minutes(10, 6, 1) == 60
    assert eta_minutes(10, 6, 2) == 30
    assert eta_minutes(10, 6, 0) == 60  # no window open yet: as if one will open


def test_rolling_handling_time_blends_the_norm() -> None:
    assert rolling_minutes([], 8) == 8
    assert rolling_minutes([240, 240, 240], 8) == pytest.approx((4 * 3 + 8) / 4)
