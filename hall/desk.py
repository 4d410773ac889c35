"""The ground the feedback desks (hall.ratings, hall.cases, hall.feedback_figures) stand on:
the hall's time helpers, names, input checks shared by rating and complaint forms, and the
writer every change goes through (one function = one transaction, as in hall.service)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from hall import errors
from hall.config import HallConfig
from hall.sealed import Sealer
from hall.service import HallService
from hall.store import Tx

TEXT_MAX = 1000
CONTACT_MAX = 100


def mask_contact(contact: str | None) -> str | None:
    """What a manager's screen shows of a contact: a phone as 138****1234, anything else as
    its first character. Names beside a number are dropped rather than half-shown."""
    if not contact:
        return None
    digits = re.sub(r"\D", "", contact)
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return contact.strip()[:1] + "***"


def reject_unknown(body: dict[str, Any], allowed: set[str]) -> None:
    """A page that sends a field we ignore would believe it did something (say, rated another
    ticket by number): refuse instead."""
    extra = sorted(set(body) - allowed)
    if extra:
        raise errors.invalid("请求中有无法识别的内容", "unknown_field", ",".join(extra))


def text_field(value: Any, name: str, limit: int = TEXT_MAX, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise errors.invalid(f"请填写{errors.label(name)}", f"{name}_required", name)
        return None
    if not isinstance(value, str):
        raise errors.invalid(f"{errors.label(name)}必须是文字", f"invalid_{name}", name)
    value = value.strip()
    if len(value) > limit:
        raise errors.invalid(f"{errors.label(name)}不能超过 {limit} 个字", f"{name}_too_long", name)
    return value


def int_field(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise errors.invalid(f"{errors.label(name)}必须是整数", f"invalid_{name}", name)
    return value



class Desk:
    """What the feedback desks share: the hall's clock and calendar, names, the sealer and the
    one writer. RatingDesk, CaseDesk and FigureDesk each add one side; hall.feedback joins them."""

    def __init__(self, service: HallService) -> None:
        self.service = service
        self.tz = service.tz
        self.sealer = Sealer(service.store.key_path)

    @property
    def config(self) -> HallConfig:
        """The hall as it runs (the service's, read each time: staffing changes it)."""
        return self.service.config

    # ------------------------------------------------------------------ time helpers

    def _now(self) -> tuple[datetime, float, date]:
        now = self.service.clock()
        return now, now.timestamp(), now.astimezone(self.tz).date()

    def _day(self, ts: float) -> date:
        return datetime.fromtimestamp(ts, self.tz).date()

    def _iso(self, ts: float | None) -> str | None:
        if ts is None:
            return None
        return datetime.fromtimestamp(ts, self.tz).isoformat(timespec="seconds")

    def _working(self, start: date, n: int) -> date:
        return self.config.workdays.add(start, n)

    def _range(self, start: date, end: date) -> tuple[float, float]:
        """[start 00:00, end+1 00:00) in the hall's timezone, as timestamps."""
        if end < start:
            raise errors.bad_request("结束日期不能早于开始日期", "invalid_query", "to")
        lo = datetime.combine(start, time(), self.tz).timestamp()
        hi = datetime.combine(end + timedelta(days=1), time(), self.tz).timestamp()
        return lo, hi

    def _window_name(self, number: int | None) -> str | None:
        if number is None or not self.config.has_window(number):
            return None
        return self.config.window(number).name

    def _service_name(self, service_id: str | None) -> str | None:
        if service_id is None or not self.config.has_service(service_id):
            return None
        return self.config.service(service_id).name

    async def _write(self, op: Callable[[Tx], Any], now: datetime) -> Any:
        return await self.service.store.write(op, now)
