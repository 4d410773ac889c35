"""Who a person is, as far as queuing needs (实名取号, bookings): pure functions, no I/O.

* An ID number is the 18-character citizen number of GB 11643-1999: 6 digits of region,
  8 of birth date, 3 of sequence, and a check character (ISO 7064 MOD 11-2, `X` for 10).
  The same layout is used by the 港澳台居民居住证 (region 81/82/83) and by the 2023
  外国人永久居留身份证 (first digit 9), which GA/T 467-2019 readers also read, so one check
  covers every card a hall's reader hands us. Old 15-digit numbers stopped being valid in
  2013 and are refused.
* Only what queuing needs is derived: the birth date (the elderly green channel) and the
  keyed lookup value (per-person limits, hall.sealed). The photo a reader may send is never
  taken; the number itself is stored sealed and shown only masked.
* Names on public screens are masked as 张*三 (domain.md, Privacy): the first and the last
  character stay, everything between becomes `*`; a two-character name keeps its first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from hall import errors

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
ID_PATTERN = re.compile(r"^\d{17}[\dX]$")
NAME_MAX = 30


@dataclass(frozen=True)
class IdNumber:
    number: str  # normalised: upper-case X, no spaces
    birth: date

    def age_on(self, day: date) -> int:
        return age_on(self.birth, day)


def check_character(first17: str) -> str:
    """The 18th character of an ID number whose first 17 digits are `first17`."""
    return CHECK[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def parse_id_number(value: object, field: str = "id_number") -> IdNumber:
    """The ID number a person typed or a reader sent, checked; a Chinese refusal otherwise.

    The refusal never repeats the number back: it may be shown on a kiosk screen others see."""
    if not isinstance(value, str) or not value.strip():
        raise errors.invalid("请填写身份证号码", "id_number_required", field)
    number = re.sub(r"\s", "", value).upper()
    if not ID_PATTERN.match(number):
        raise errors.invalid("身份证号码应为 18 位（最后一位可以是 X）", "invalid_id_number", field)
    if check_character(number[:17]) != number[17]:
        raise errors.invalid("身份证号码有误，请核对后重新输入", "invalid_id_number", field)
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise errors.invalid("身份证号码中的出生日期有误", "invalid_id_number", field) from None
    if birth.year < 1880:
        raise errors.invalid("身份证号码中的出生日期有误", "invalid_id_number", field)
    return IdNumber(number, birth)


def age_on(birth: date, day: date) -> int:
    """Whole years of age on `day` (a person born on 29 February turns a year older on
    1 March in common years, as Chinese registries count it)."""
    years = day.year - birth.year
    if (day.month, day.day) < (birth.month, birth.day):
        years -= 1
    return years


def check_name(value: object, field: str = "name") -> str:
    """A person's name as written on their card: any script (少数民族 names have a middle
    dot, foreigners' names Latin letters), trimmed, not empty, not overly long."""
    if not isinstance(value, str) or not value.strip():
        raise errors.invalid("请填写姓名", "name_required", field)
    name = " ".join(value.split())
    if len(name) > NAME_MAX:
        raise errors.invalid(f"姓名不能超过 {NAME_MAX} 个字", "name_too_long", field)
    return name


def mask_name(name: str | None) -> str | None:
    """张三 → 张*, 张小三 → 张*三, 欧阳小明 → 欧**明; None stays None."""
    if not name:
        return name
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_number(number: str | None) -> str | None:
    """What a manager's screen shows of an ID: region digits and the last four
    (110101**********1234 is still unique enough to match a card in hand)."""
    if not number:
        return number
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def normal_phone(value: object, field: str = "phone") -> str:
    """A mainland mobile number (11 digits, starting with 1), spaces and dashes dropped."""
    if not isinstance(value, str) or not value.strip():
        raise errors.invalid("请填写手机号码", "phone_required", field)
    digits = re.sub(r"[\s-]", "", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    if not re.fullmatch(r"1\d{10}", digits):
        raise errors.invalid("手机号码应为 11 位数字", "invalid_phone", field)
    return digits
