"""ID numbers, masking and per-person limits: the pure rules behind bookings and 实名取号."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hall.errors import HallError
from hall.identity import (
    age_on,
    check_character,
    mask_id_number,
    mask_name,
    normal_phone,
    parse_id_number,
)
from hall.person_limits import PersonRules, Visit, barred_until, refusal
from hall.sealed import Sealer


def make_id(birth: date, region: str = "110101", seq: str = "123") -> str:
    first = f"{region}{birth:%Y%m%d}{seq}"
    return first + check_character(first)


def test_a_published_sample_number_checks_and_gives_its_birth_date() -> None:
    # the worked example of GB 11643-1999 (check character X)
    parsed = parse_id_number("11010519491231002x")
    assert parsed.number == "11010519491231002X"
    assert parsed.birth == date(1949, 12, 31)
    assert parsed.age_on(date(2026, 12, 1)) == 76


@pytest.mark.parametrize("typed, why", [
    ("", "请填写"), ("1101051949123100", "18 位"), ("110105194912310021", "有误"),
    ("110105194913310021", "出生日期"), (None, "请填写"), (12345, "请填写"),
])
def test_bad_numbers_are_refused_in_chinese_without_echoing_the_number(typed: object,
                                                                       why: str) -> None:
    with pytest.raises(HallError) as caught:
        parse_id_number(typed)
    assert why in caught.value.message
    assert caught.value.field == "id_number"
    if isinstance(typed, str) and typed:
        assert typed not in caught.value.message


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 12, 1)),
       st.integers(0, 999))
def test_every_well_formed_number_parses_and_one_changed_digit_is_caught(birth: date,
                                                                        seq: int) -> None:
    number = make_id(birth, seq=f"{seq:03d}")
    assert parse_id_number(number).birth == birth
    broken = number[:16] + str((int(number[16]) + 1) % 10) + number[17]
    with pytest.raises(HallError):
        parse_id_number(broken)


def test_age_counts_whole_years_and_leap_birthdays() -> None:
    assert age_on(date(1956, 12, 2), date(2026, 12, 1)) == 69
    assert age_on(date(1956, 12, 1), date(2026, 12, 1)) == 70
    assert age_on(date(1960, 2, 29), date(2027, 2, 28)) == 66
    assert age_on(date(1960, 2, 29), date(2027, 3, 1)) == 67


def test_masks_keep_only_what_a_screen_or_a_manager_may_show() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("张小三") == "张*三"
    assert mask_name("欧阳小明") == "欧**明"
    assert mask_id_number("11010519491231002X") == "110" + "*" * 11 + "002X"
    assert normal_phone("138 0013-8000") == "13800138000"
    with pytest.raises(HallError):
        normal_phone("12345")


def test_lookup_is_stable_per_key_file_and_differs_between_halls(tmp_path: Path) -> None:
    one, again = Sealer(tmp_path / "a.key"), Sealer(tmp_path / "a.key")
    other = Sealer(tmp_path / "b.key")
    number = make_id(date(1980, 5, 6))
    assert one.lookup("id", number) == again.lookup("id", number)
    assert one.lookup("id", number) != other.lookup("id", number)
    assert one.lookup("id", number) != one.lookup("phone", number)
    assert number not in one.lookup("id", number)


TODAY = date(2026, 12, 2)  # a Wednesday
RULES = PersonRules()


def test_one_per_service_per_day_then_two_a_week_then_six_a_month() -> None:
    assert refusal([], "tax", TODAY, TODAY, RULES) is None
    same = refusal([Visit("tax", TODAY)], "tax", TODAY, TODAY, RULES)
    assert same is not None and same.code == "person_day_limit"
    assert refusal([Visit("tax", TODAY)], "huji", TODAY, TODAY, RULES) is None
    week = [Visit("tax", TODAY - timedelta(days=1)), Visit("huji", TODAY + timedelta(days=2))]
    third = refusal(week, "car", TODAY, TODAY, RULES)
    assert third is not None and third.code == "person_week_limit"
    assert "每周限 2 次" in third.message
    # the Monday after starts a new week
    assert refusal(week, "car", date(2026, 12, 7), TODAY, RULES) is None
    month = [Visit(f"s{i}", date(2026, 12, 1) + timedelta(days=7 * i)) for i in range(4)]
    month += [Visit("x", date(2026, 12, 30)), Visit("y", date(2026, 12, 31))]
    seventh = refusal(month, "z", date(2026, 12, 26), TODAY, RULES)
    assert seventh is not None and seventh.code == "person_month_limit"


def test_two_no_shows_bar_for_ninety_days_from_the_latest_and_the_bar_lifts() -> None:
    visits = [Visit("tax", date(2026, 10, 1), no_show=True),
              Visit("tax", date(2026, 11, 20), no_show=True)]
    barred = refusal(visits, "huji", TODAY, TODAY, RULES)
    assert barred is not None and barred.code == "person_barred"
    assert barred.until == date(2027, 2, 18)
    assert "2027年2月18日" in barred.message
    assert barred_until(visits, date(2027, 2, 18), RULES) is None
    # one no-show alone bars nobody; nor do two far apart
    assert barred_until(visits[1:], TODAY, RULES) is None
    apart = [Visit("tax", date(2026, 1, 5), no_show=True), visits[1]]
    assert barred_until(apart, TODAY, RULES) is None


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(-60, 60),
                          st.booleans()), max_size=12),
       st.sampled_from(["a", "b", "c"]), st.integers(0, 40))
def test_a_refusal_is_never_lifted_by_adding_visits(raw: list[tuple[str, int, bool]],
                                                     service: str, ahead: int) -> None:
    visits = [Visit(s, TODAY + timedelta(days=d), n) for s, d, n in raw]
    day = TODAY + timedelta(days=ahead)
    before = refusal(visits, service, day, TODAY, RULES)
    after = refusal([*visits, Visit(service, day)], service, day, TODAY, RULES)
    if before is not None:
        assert after is not None
    assert after is not None  # the same service on the same day twice is always refused
