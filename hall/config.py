"""Load and check `config.toml`.

Every mistake is reported with the key that holds it (`windows[3].queues: unknown queue "X"`),
all at once, because a hall administrator fixes a file faster from one full list than from a
crash per mistake. The checked result is a tree of frozen dataclasses: nothing downstream has
to re-validate or guess defaults.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hall.booking_config import Booking, parse_booking
from hall.datefmt import day_text
from hall.limits import parse_networks
from hall.person_limits import PersonRules
from hall.sim_config import Simulate, parse_simulate
from hall.workdays import (
    Official,
    add_working_days,
    is_working_day,
    official_holiday_name,
    official_workday,
    uncovered_from,
    working_days_between,
)

WINDOW_KINDS = ("comprehensive", "helpdesk", "consult", "cross_region", "complaint")
SKIP_POLICIES = ("void", "requeue", "recall")
WINDOW_ORDERS = ("strict", "oldest")
DEVICE_KINDS = ("led", "printer", "caller", "evaluator", "idcard")
COMPLAINT_CLASSES = ("simple", "complex", "special", "out_of_scope")
# how far ahead the working-day calendar must be known (check-config, alarms)
COVERAGE_DAYS = 60

# Offered when `[ratings.reasons]` is absent: what the 好差评 forms of many halls list.
DEFAULT_REASONS: dict[int, tuple[str, ...]] = {
    1: ("等待时间长", "态度不好", "一次性告知不到位", "多次跑腿", "办理超时限", "推诿扯皮"),
    2: ("等待时间长", "态度不好", "一次性告知不到位", "多次跑腿", "业务不熟练"),
    3: ("等待时间偏长", "告知不够清楚", "环境设施有待改善"),
    4: ("办事快", "态度好", "告知清楚"),
    5: ("办事快", "态度好", "一次办成", "主动帮办", "告知清楚"),
}


class ConfigError(Exception):
    """All the mistakes found in one file, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class SkipPolicy:
    policy: str = "requeue"
    requeue_after: int = 3
    recall_last: int = 3


@dataclass(frozen=True)
class HallInfo:
    name: str
    timezone: str = "Asia/Shanghai"
    open: time = time(8, 30)
    close: time = time(17, 30)
    enforce_hours: bool = True
    languages: tuple[str, ...] = ("zh-CN",)
    notice: str = ""
    kiosk_reset_seconds: int = 20
    aging_minutes: int = 20
    max_body_bytes: int = 65536
    # events a WebSocket client may fall behind before it is told to resync (events.Bus)
    ws_client_queue: int = 1000
    ws_heartbeat_seconds: float = 25.0
    # kernel send buffer per connection (0: the system's). Linux lets a stalled client hold
    # up to 4 MiB in the kernel; with a thousand screens a hall server may want less.
    send_buffer_bytes: int = 0
    # a client slower than this to send its request headers, or then its body, is cut off
    # (hall.timeouts: half-sent requests used to hold a connection for ever)
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    # the largest WebSocket message a client may send: screens send nothing (closed with 1009)
    ws_max_message_bytes: int = 4096
    # where phones reach the server (the QR code on printed tickets), e.g. behind a proxy;
    # empty: derived from the address `serve` listens on
    public_url: str = ""
    skip: SkipPolicy = field(default_factory=SkipPolicy)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Sla:
    """The alarm thresholds (hall.alarms, docs/alarms.md). Minutes may be decimals (0.5 is
    30 seconds): a hall has no use for it, a test of the alarms does."""

    wait_alarm_minutes: float = 15
    waiting_alarm: int = 10
    idle_minutes: float = 5  # a window open and idle while its queues have people waiting
    away_minutes: float = 10  # 离岗: the window's clerk left it today while people wait
    pause_minutes: float = 30  # a window paused longer than this
    alarm_check_seconds: float = 5  # how often the conditions are evaluated


@dataclass(frozen=True)
class Queue:
    id: str
    prefix: str
    name: str
    width: int = 3
    daily_cap: int = 999
    default_minutes: float = 8.0
    waiting_alarm: int | None = None
    wait_alarm_minutes: float | None = None
    # issuing hours of this queue where they differ from [hall] open/close (a 不动产 desk
    # that takes numbers in the morning only); None: the hall's
    open: time | None = None
    close: time | None = None
    # 延时服务 (hall/staffing.py): set at run time by a manager, never in config.toml
    open_until_empty: bool = False
    # 实名取号: a ticket of this queue needs the holder's name and ID number (hall/real_name.py)
    real_name: bool = False


@dataclass(frozen=True)
class PriorityReason:
    """A reason for 绿色通道. `self_declared` reasons may be chosen at the kiosk; the others
    are granted by staff who saw the card (残疾人证, 军人证), and the ticket records who."""

    id: str
    name: str
    self_declared: bool = False


# Offered when config has no [[priority_reasons]]: the contract's four ids. Age and pregnancy
# are visible at the kiosk; a disability or military card is checked by staff (a hall choice).
DEFAULT_PRIORITY_REASONS = (
    PriorityReason("elderly", "老年人", True),
    PriorityReason("pregnant", "孕妇", True),
    PriorityReason("disabled", "残疾人", False),
    PriorityReason("military", "军人依法优先", False),
)


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    queue: str
    materials: tuple[str, ...] = ()
    time_limit_days: int = 0
    helpdesk: bool = True
    # minutes one citizen's handling should take (办理标准); over it, a `handling_long` alarm.
    # None: the item has no norm and raises no such alarm (docs/alarms.md says why)
    norm_minutes: float | None = None


@dataclass(frozen=True)
class Window:
    number: int
    name: str
    kind: str
    queues: tuple[str, ...]
    chief: bool = False
    order: str = "strict"
    # runtime staffing (hall/staffing.py): a 潮汐窗口 opened by a manager; a window closed
    # for the rest of the day. Never set in config.toml.
    temporary: bool = False
    closed: bool = False


@dataclass(frozen=True)
class Voice:
    engine: str = "espeak"
    voice: str = "sit/cmn-Latn-pinyin"
    rate: int = 150
    volume: float = 1.0
    repeat: int = 2
    chime: bool = True
    template: str = "请{number}号到{window}办理"
    local_playback: bool = False
    # an announcement that could not start within this many seconds of its call is not played
    stale_seconds: float = 30.0
    # the screens that play announcements (docs/devices.md): "hall" is /screen, a window
    # number that window's screen, another name /screen?name=NAME; every other screen is silent
    speak_on: tuple[str | int, ...] = ("hall",)

    def speaks(self, screen: str | int) -> bool:
        return screen in self.speak_on


@dataclass(frozen=True)
class Device:
    kind: str
    name: str
    url: str
    baudrate: int = 9600
    address: int = 1
    window: int | None = None
    kiosk: str | None = None


@dataclass(frozen=True)
class Ratings:
    """好差评: how long a ticket may be rated, the 差评整改 deadlines, the reasons offered."""

    days_open: int = 7  # the QR/phone page may rate this many days after service
    callback_days: int = 1  # 回访 due, working days after the bad rating
    fix_days: int = 15  # 整改 due, working days after the bad rating
    tablet_minutes: int = 10  # the window tablet offers the ticket just finished this long
    clerk_min_ratings: int = 5  # a clerk's own figures move only in batches of this many
    reasons: dict[int, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_REASONS))


@lru_cache(maxsize=32)
def _uncovered_from(first: date, days: int, covered_until: date | None,
                    official: bool) -> date | None:
    """Remembered: the alarm checks ask after every burst of the hall's events, and asking the
    holiday calendar about 60 days was 4 % of a busy process's time (bench/cluster.py)."""
    return uncovered_from(first, first + timedelta(days=days - 1), covered_until,
                          official_workday if official else (lambda day: None))


@dataclass(frozen=True)
class Workdays:
    """The working-day calendar (hall.workdays): the official one from `chinese-calendar`
    (`official = false` turns it off for a hall that keeps its own), plus local overrides —
    days off and weekend days worked (调休) — and `covered_until`, the last day config vouches
    for (a hall that typed next year's notice in before the package knew it)."""

    holidays: frozenset[date] = frozenset()
    makeup_days: frozenset[date] = frozenset()
    covered_until: date | None = None
    official: bool = True

    def _official(self) -> Official | None:
        return official_workday if self.official else None

    def is_working_day(self, day: date) -> bool:
        return is_working_day(day, self.holidays, self.makeup_days, self._official())

    def add(self, start: date, n: int) -> date:
        return add_working_days(start, n, self.holidays, self.makeup_days, self._official())

    def between(self, start: date, end: date) -> int:
        return working_days_between(start, end, self.holidays, self.makeup_days,
                                    self._official())

    def holiday_name(self, day: date) -> str | None:
        """Why `day` is off: the official holiday's name, a local day off, or a weekend."""
        if self.is_working_day(day):
            return None
        if day in self.holidays:
            return "节假日"
        name = official_holiday_name(day) if self.official else None
        return name or "休息日"

    def uncovered_from(self, first: date, days: int = COVERAGE_DAYS) -> date | None:
        """The first of the next `days` days whose holidays nobody has declared, if any."""
        return _uncovered_from(first, days, self.covered_until, self.official)


def coverage_warning(workdays: Workdays, today: date) -> str | None:
    """The warning the manager's alarms list shows (Chinese only: a manager reads it) when the
    next 60 days reach a year whose holidays are unknown; `check-config` adds the keys to fix."""
    gap = workdays.uncovered_from(today)
    if gap is None:
        return None
    return (f"工作日历只覆盖到 {day_text(gap - timedelta(days=1))}，{day_text(gap)}起的法定节假日"
            f"和调休未知，将按周一至周五计算，请系统管理员补充节假日安排")


@dataclass(frozen=True)
class Complaints:
    """办不成事: working days to answer by class, and who cases may be handed to (交办)."""

    deadlines: dict[str, int] = field(default_factory=lambda: {
        "simple": 0, "complex": 5, "special": 15, "out_of_scope": 3})
    departments: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Limits:
    """Tickets one client may take (issue 9.2, hall/limits.py); 0 means no limit.

    A client is its address (behind the hall's own proxies, named in `trusted_proxies`, the
    address the proxy saw); an enrolled kiosk (`python -m hall device add`) is counted as
    itself with the kiosk limits, never against its address."""

    tickets_per_minute_per_client: int = 5
    tickets_per_day_per_client: int = 20
    tickets_per_minute_per_kiosk: int = 60
    tickets_per_day_per_kiosk: int = 3000
    trusted_proxies: tuple[str, ...] = ()


@dataclass(frozen=True)
class RealName:
    """`[real_name]`: the rules of 实名取号 queues (hall/real_name.py, docs/real-name.md).

    `elderly_age`: an ID showing this age or more gets the 老年人 green channel by itself;
    70 is domain.md's figure (绿色通道: elderly 70+); 0 turns it off. `rules`: the per-person
    limits on walk-in tickets of real-name queues, with the `[real_name]` keys of PersonRules
    (the booking side has its own `[booking]` limits until both are unified). `proxy_per_day`:
    for how many different people one person may take tickets in a day (亲友代取号; 0: no
    limit). `read_seconds`: how long a card read at a kiosk may be used for a ticket.
    `keep_days`: how long a ticket's people are kept (sealed) at all; at least as long as the
    limits look back, and long enough for a complaint about the ticket to be looked into."""

    elderly_age: int = 70
    rules: PersonRules = field(default_factory=PersonRules)
    proxy_per_day: int = 3
    read_seconds: int = 120
    keep_days: int = 180


@dataclass(frozen=True)
class HallConfig:
    hall: HallInfo
    sla: Sla
    queues: tuple[Queue, ...]
    services: tuple[Service, ...]
    windows: tuple[Window, ...]
    voice: Voice
    devices: tuple[Device, ...]
    ratings: Ratings = field(default_factory=Ratings)
    workdays: Workdays = field(default_factory=Workdays)
    complaints: Complaints = field(default_factory=Complaints)
    limits: Limits = field(default_factory=Limits)
    priority_reasons: tuple[PriorityReason, ...] = DEFAULT_PRIORITY_REASONS
    booking: Booking = field(default_factory=Booking)
    real_name: RealName = field(default_factory=RealName)
    simulate: Simulate = field(default_factory=Simulate)  # [simulate] (hall/sim_config.py)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def queue(self, queue_id: str) -> Queue:
        return self._queues[queue_id]

    def priority_reason(self, reason_id: str) -> PriorityReason | None:
        return next((r for r in self.priority_reasons if r.id == reason_id), None)

    def hours(self, queue_id: str) -> tuple[time, time]:
        """When `queue_id` issues numbers: its own hours, else the hall's."""
        q = self.queue(queue_id)
        return q.open or self.hall.open, q.close or self.hall.close

    def service(self, service_id: str) -> Service:
        return self._services[service_id]

    def window(self, number: int) -> Window:
        return self._windows[number]

    def has_window(self, number: int) -> bool:
        return number in self._windows

    def has_queue(self, queue_id: str) -> bool:
        return queue_id in self._queues

    def has_service(self, service_id: str) -> bool:
        return service_id in self._services

    def queue_of_prefix(self, prefix: str) -> Queue | None:
        return next((q for q in self.queues if q.prefix == prefix), None)

    def windows_serving(self, queue_id: str) -> list[Window]:
        return [w for w in self.windows if queue_id in w.queues]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_queues", {q.id: q for q in self.queues})
        object.__setattr__(self, "_services", {s.id: s for s in self.services})
        object.__setattr__(self, "_windows", {w.number: w for w in self.windows})


class _Checker:
    """Reads typed values out of the raw TOML and records a keyed problem for each bad one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{key}: {message}")

    def get(
        self,
        table: dict[str, Any],
        key: str,
        where: str,
        kind: type | tuple[type, ...],
        default: Any = ...,
    ) -> Any:
        full = f"{where}.{key}" if where else key
        if key not in table:
            if default is ...:
                self.problem(full, "missing")
                return None
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML booleans are ints to isinstance; a hall writing `width = true` is a mistake.
        if isinstance(value, bool) and bool not in kinds:
            self.problem(full, f"expected {_kind_name(kinds)}, got {value!r}")
            return None if default is ... else default
        if not isinstance(value, kinds):
            self.problem(full, f"expected {_kind_name(kinds)}, got {value!r}")
            return None if default is ... else default
        # TOML allows nan and inf; no setting of a hall means either (issue 9.6)
        if isinstance(value, float) and not math.isfinite(value):
            self.problem(full, f"must be a finite number, got {value!r}")
            return None if default is ... else default
        return value

    def positive(self, value: Any, key: str) -> None:
        if isinstance(value, (int, float)) and value <= 0:
            self.problem(key, f"must be greater than 0, got {value}")

    def at_least(self, value: Any, key: str, low: float, high: float | None = None) -> None:
        """A number in [low, high]: zero or negative sizes, and a heartbeat so short it
        burns a core, are mistakes a hall should hear about before serving."""
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return
        if value < low or (high is not None and value > high):
            upper = f" and at most {high:g}" if high is not None else ""
            self.problem(key, f"must be at least {low:g}{upper}, got {value}")

    def unknown_keys(self, table: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                self.problem(f"{where}.{key}" if where else key, "unknown key")


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             list: "a list", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _clock(c: _Checker, text: str | None, key: str, default: Any) -> Any:
    if text is None:
        return default
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        c.problem(key, f'expected "HH:MM", got {text!r}')
        return default


def parse_config(raw: dict[str, Any]) -> HallConfig:
    """Check a parsed TOML document; raise ConfigError listing every problem by key."""
    c = _Checker()
    hall_raw = c.get(raw, "hall", "", dict, None)
    if hall_raw is None:
        c.problem("hall", "missing")
        hall_raw = {}
    hall = _parse_hall(c, hall_raw)
    sla_raw = c.get(raw, "sla", "", dict, {})
    sla = _parse_sla(c, sla_raw)
    queues = _parse_queues(c, raw, hall)
    queue_ids = {q.id for q in queues}
    services = _parse_services(c, raw, queue_ids)
    windows = _parse_windows(c, raw, queue_ids)
    voice = _parse_voice(c, raw, {w.number for w in windows})
    devices = _parse_devices(c, raw, {w.number for w in windows})
    ratings = _parse_ratings(c, raw)
    workdays = _parse_workdays(c, raw)
    complaints = _parse_complaints(c, raw)
    limits = _parse_limits(c, raw)
    priority_reasons = _parse_priority_reasons(c, raw)
    queue_of = {s.id: s.queue for s in services}
    queues_by_id = {q.id: q for q in queues}
    booking = parse_booking(c, raw, set(queue_of), lambda sid: (
        (queues_by_id[queue_of[sid]].open or hall.open, queues_by_id[queue_of[sid]].close
         or hall.close) if queue_of.get(sid) in queues_by_id else None))
    real_name = _parse_real_name(c, raw, queues, priority_reasons)
    simulate = parse_simulate(c, raw, set(queue_of), lambda sid: (
        (queues_by_id[queue_of[sid]].open or hall.open, queues_by_id[queue_of[sid]].close
         or hall.close) if queue_of.get(sid) in queues_by_id else None))
    if not complaints.departments:  # a hall that lists none hands cases to its queues' owners
        complaints = replace(complaints, departments=tuple(dict.fromkeys(q.name for q in queues)))
    c.unknown_keys(raw, {"hall", "sla", "queues", "services", "windows", "voice", "devices",
                         "workdays", "ratings", "complaints", "limits",
                         "priority_reasons", "booking",
                         "real_name", "simulate"}, "")
    if c.problems:
        raise ConfigError(c.problems)
    return HallConfig(hall=hall, sla=sla, queues=tuple(queues), services=tuple(services),
                      windows=tuple(windows), voice=voice, devices=tuple(devices),
                      ratings=ratings, workdays=workdays, complaints=complaints,
                      limits=limits, priority_reasons=priority_reasons, booking=booking,
                      real_name=real_name, simulate=simulate, raw=raw)


def _parse_sla(c: _Checker, t: dict[str, Any]) -> Sla:
    number = (int, float)
    sla = Sla(
        wait_alarm_minutes=c.get(t, "wait_alarm_minutes", "sla", number, 15),
        waiting_alarm=c.get(t, "waiting_alarm", "sla", int, 10),
        idle_minutes=c.get(t, "idle_minutes", "sla", number, 5),
        away_minutes=c.get(t, "away_minutes", "sla", number, 10),
        pause_minutes=c.get(t, "pause_minutes", "sla", number, 30),
        alarm_check_seconds=c.get(t, "alarm_check_seconds", "sla", number, 5),
    )
    for key in ("wait_alarm_minutes", "waiting_alarm", "idle_minutes", "away_minutes",
                "pause_minutes"):
        c.positive(getattr(sla, key), f"sla.{key}")
    # a check every millisecond keeps a core busy; one an hour is no alarm at all
    c.at_least(sla.alarm_check_seconds, "sla.alarm_check_seconds", 0.1, 300)
    c.unknown_keys(t, {"wait_alarm_minutes", "waiting_alarm", "idle_minutes", "away_minutes",
                       "pause_minutes", "alarm_check_seconds"}, "sla")
    return sla


def _parse_hall(c: _Checker, t: dict[str, Any]) -> HallInfo:
    name = c.get(t, "name", "hall", str) or ""
    tz = c.get(t, "timezone", "hall", str, "Asia/Shanghai")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        c.problem("hall.timezone", f"unknown timezone {tz!r}")
        tz = "Asia/Shanghai"
    opening = _clock(c, c.get(t, "open", "hall", str, None), "hall.open", time(8, 30))
    closing = _clock(c, c.get(t, "close", "hall", str, None), "hall.close", time(17, 30))
    if opening >= closing:
        c.problem("hall.close", f"must be later than hall.open ({opening:%H:%M})")
    skip_raw = c.get(t, "skip", "hall", dict, {})
    policy = c.get(skip_raw, "policy", "hall.skip", str, "requeue")
    if policy not in SKIP_POLICIES:
        c.problem("hall.skip.policy", f"must be one of {', '.join(SKIP_POLICIES)}, got {policy!r}")
    skip = SkipPolicy(
        policy=policy,
        requeue_after=c.get(skip_raw, "requeue_after", "hall.skip", int, 3),
        recall_last=c.get(skip_raw, "recall_last", "hall.skip", int, 3),
    )
    info = HallInfo(
        name=name,
        timezone=tz,
        open=opening,
        close=closing,
        enforce_hours=c.get(t, "enforce_hours", "hall", bool, True),
        languages=tuple(c.get(t, "languages", "hall", list, ["zh-CN"])),
        notice=c.get(t, "notice", "hall", str, ""),
        kiosk_reset_seconds=c.get(t, "kiosk_reset_seconds", "hall", int, 20),
        aging_minutes=c.get(t, "aging_minutes", "hall", int, 20),
        max_body_bytes=c.get(t, "max_body_bytes", "hall", int, 65536),
        ws_client_queue=c.get(t, "ws_client_queue", "hall", int, 1000),
        ws_heartbeat_seconds=float(c.get(t, "ws_heartbeat_seconds", "hall", (int, float), 25)),
        send_buffer_bytes=c.get(t, "send_buffer_bytes", "hall", int, 0),
        header_timeout_seconds=float(c.get(t, "header_timeout_seconds", "hall", (int, float),
                                           10)),
        body_timeout_seconds=float(c.get(t, "body_timeout_seconds", "hall", (int, float), 30)),
        ws_max_message_bytes=c.get(t, "ws_max_message_bytes", "hall", int, 4096),
        public_url=c.get(t, "public_url", "hall", str, "").rstrip("/"),
        skip=skip,
    )
    if info.public_url and not info.public_url.startswith(("http://", "https://")):
        c.problem("hall.public_url",
                  f"must start with http:// or https://, got {info.public_url!r}")
    for key in ("kiosk_reset_seconds", "aging_minutes", "max_body_bytes", "ws_client_queue",
                "ws_heartbeat_seconds", "header_timeout_seconds", "body_timeout_seconds",
                "ws_max_message_bytes"):
        c.positive(getattr(info, key), f"hall.{key}")
    # a heartbeat every microsecond keeps a core busy; one a day never finds a dead screen
    c.at_least(info.ws_heartbeat_seconds, "hall.ws_heartbeat_seconds", 0.1, 3600)
    c.at_least(info.send_buffer_bytes, "hall.send_buffer_bytes", 0)
    c.at_least(info.skip.requeue_after, "hall.skip.requeue_after", 0)
    c.at_least(info.skip.recall_last, "hall.skip.recall_last", 0)
    return info


def _list_of_tables(c: _Checker, raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = c.get(raw, key, "", list, [])
    good = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            good.append(item)
        else:
            c.problem(f"{key}[{i}]", "expected a table")
            good.append({})
    return good


def _parse_queues(c: _Checker, raw: dict[str, Any], hall: HallInfo) -> list[Queue]:
    queues: list[Queue] = []
    seen_ids: set[str] = set()
    seen_prefixes: set[str] = set()
    tables = _list_of_tables(c, raw, "queues")
    if not tables:
        c.problem("queues", "at least one queue is needed")
    for i, t in enumerate(tables):
        where = f"queues[{i}]"
        qid = c.get(t, "id", where, str) or f"?{i}"
        prefix = c.get(t, "prefix", where, str) or "?"
        if qid in seen_ids:
            c.problem(f"{where}.id", f"duplicate queue id {qid!r}")
        if prefix in seen_prefixes:
            c.problem(f"{where}.prefix", f"duplicate prefix {prefix!r}")
        if not (len(prefix) == 1 and prefix.isascii() and prefix.isupper()):
            c.problem(f"{where}.prefix", f"must be one capital letter A-Z, got {prefix!r}")
        seen_ids.add(qid)
        seen_prefixes.add(prefix)
        q = Queue(
            id=qid,
            prefix=prefix,
            name=c.get(t, "name", where, str) or qid,
            width=c.get(t, "width", where, int, 3),
            daily_cap=c.get(t, "daily_cap", where, int, 999),
            default_minutes=float(c.get(t, "default_minutes", where, (int, float), 8)),
            waiting_alarm=c.get(t, "waiting_alarm", where, int, None),
            wait_alarm_minutes=c.get(t, "wait_alarm_minutes", where, (int, float), None),
            open=_clock(c, c.get(t, "open", where, str, None), f"{where}.open", None),
            close=_clock(c, c.get(t, "close", where, str, None), f"{where}.close", None),
            real_name=c.get(t, "real_name", where, bool, False),
        )
        if (q.open or hall.open) >= (q.close or hall.close):
            c.problem(f"{where}.close", f"must be later than the queue's opening time "
                      f"({(q.open or hall.open):%H:%M})")
        if not 1 <= q.width <= 6:
            c.problem(f"{where}.width", f"must be 1 to 6, got {q.width}")
        elif q.daily_cap > 10**q.width - 1:
            c.problem(f"{where}.daily_cap",
                      f"{q.daily_cap} does not fit in {q.width} digits (width)")
        c.positive(q.daily_cap, f"{where}.daily_cap")
        c.positive(q.default_minutes, f"{where}.default_minutes")
        c.positive(q.waiting_alarm, f"{where}.waiting_alarm")
        c.positive(q.wait_alarm_minutes, f"{where}.wait_alarm_minutes")
        c.unknown_keys(t, {"id", "prefix", "name", "width", "daily_cap", "default_minutes",
                           "waiting_alarm", "wait_alarm_minutes", "open", "close",
                           "real_name"}, where)
        queues.append(q)
    return queues


def _parse_services(c: _Checker, raw: dict[str, Any], queue_ids: set[str]) -> list[Service]:
    services: list[Service] = []
    seen: set[str] = set()
    for i, t in enumerate(_list_of_tables(c, raw, "services")):
        where = f"services[{i}]"
        sid = c.get(t, "id", where, str) or f"?{i}"
        if sid in seen:
            c.problem(f"{where}.id", f"duplicate service id {sid!r}")
        seen.add(sid)
        queue = c.get(t, "queue", where, str) or ""
        if queue and queue not in queue_ids:
            c.problem(f"{where}.queue", f"unknown queue {queue!r}")
        materials = c.get(t, "materials", where, list, [])
        if any(not isinstance(m, str) for m in materials):
            c.problem(f"{where}.materials", "expected a list of strings")
            materials = []
        services.append(Service(
            id=sid,
            name=c.get(t, "name", where, str) or sid,
            queue=queue,
            materials=tuple(materials),
            time_limit_days=c.get(t, "time_limit_days", where, int, 0),
            helpdesk=c.get(t, "helpdesk", where, bool, True),
            norm_minutes=c.get(t, "norm_minutes", where, (int, float), None),
        ))
        c.positive(services[-1].norm_minutes, f"{where}.norm_minutes")
        c.unknown_keys(t, {"id", "name", "queue", "materials", "time_limit_days", "helpdesk",
                           "norm_minutes"}, where)
    if not services:
        c.problem("services", "at least one service is needed")
    return services


def _parse_windows(c: _Checker, raw: dict[str, Any], queue_ids: set[str]) -> list[Window]:
    windows: list[Window] = []
    seen: set[int] = set()
    for i, t in enumerate(_list_of_tables(c, raw, "windows")):
        where = f"windows[{i}]"
        number = c.get(t, "number", where, int)
        if number is not None:
            if number in seen:
                c.problem(f"{where}.number", f"duplicate window number {number}")
            if number <= 0:
                c.problem(f"{where}.number", f"must be greater than 0, got {number}")
            seen.add(number)
        kind = c.get(t, "kind", where, str, "comprehensive")
        if kind not in WINDOW_KINDS:
            c.problem(f"{where}.kind", f"must be one of {', '.join(WINDOW_KINDS)}, got {kind!r}")
        queues = c.get(t, "queues", where, list, [])
        for queue in queues:
            if queue not in queue_ids:
                c.problem(f"{where}.queues", f"unknown queue {queue!r}")
        if not queues:
            c.problem(f"{where}.queues", "a window must serve at least one queue")
        order = c.get(t, "order", where, str, "strict")
        if order not in WINDOW_ORDERS:
            c.problem(f"{where}.order", f"must be one of {', '.join(WINDOW_ORDERS)}, got {order!r}")
        windows.append(Window(
            number=number or 0,
            name=c.get(t, "name", where, str) or f"{number}号窗口",
            kind=kind,
            queues=tuple(q for q in queues if isinstance(q, str)),
            chief=c.get(t, "chief", where, bool, False),
            order=order,
        ))
        c.unknown_keys(t, {"number", "name", "kind", "queues", "chief", "order"}, where)
    if not windows:
        c.problem("windows", "at least one window is needed")
    return windows


# a screen's name in /screen?name=…: letters (大厅 too), digits, - and _
SCREEN_NAME = re.compile(r"^[\w-]{1,40}$")


def _parse_speak_on(c: _Checker, t: dict[str, Any], windows: set[int]) -> tuple[str | int, ...]:
    value = c.get(t, "speak_on", "voice", list, ["hall"])
    out: list[str | int] = []
    for i, item in enumerate(value):
        key = f"voice.speak_on[{i}]"
        if isinstance(item, int) and not isinstance(item, bool):
            if item not in windows:
                c.problem(key, f"no window {item}")
        elif not isinstance(item, str) or not SCREEN_NAME.fullmatch(item):
            c.problem(key, "must be a window number or a screen name of letters, digits, "
                           f"- and _ (\"hall\" is /screen), got {item!r}")
            continue
        out.append(item)
    return tuple(out)


def _parse_voice(c: _Checker, raw: dict[str, Any], windows: set[int]) -> Voice:
    t = c.get(raw, "voice", "", dict, {})
    voice = Voice(
        engine=c.get(t, "engine", "voice", str, "espeak"),
        voice=c.get(t, "voice", "voice", str, "sit/cmn-Latn-pinyin"),
        rate=c.get(t, "rate", "voice", int, 150),
        volume=float(c.get(t, "volume", "voice", (int, float), 1.0)),
        repeat=c.get(t, "repeat", "voice", int, 2),
        chime=c.get(t, "chime", "voice", bool, True),
        template=c.get(t, "template", "voice", str, "请{number}号到{window}办理"),
        local_playback=c.get(t, "local_playback", "voice", bool, False),
        stale_seconds=float(c.get(t, "stale_seconds", "voice", (int, float), 30.0)),
        speak_on=_parse_speak_on(c, t, windows),
    )
    if not 5 <= voice.stale_seconds <= 600:
        c.problem("voice.stale_seconds", f"must be 5 to 600 seconds, got {voice.stale_seconds:g}")
    if "{number}" not in voice.template or "{window}" not in voice.template:
        c.problem("voice.template", "must contain {number} and {window}")
    if not 0.0 <= voice.volume <= 1.0:
        c.problem("voice.volume", f"must be 0.0 to 1.0, got {voice.volume}")
    if not 1 <= voice.repeat <= 5:
        c.problem("voice.repeat", f"must be 1 to 5, got {voice.repeat}")
    return voice


def _parse_devices(c: _Checker, raw: dict[str, Any], windows: set[int]) -> list[Device]:
    devices: list[Device] = []
    for i, t in enumerate(_list_of_tables(c, raw, "devices")):
        where = f"devices[{i}]"
        kind = c.get(t, "kind", where, str) or ""
        if kind and kind not in DEVICE_KINDS:
            c.problem(f"{where}.kind", f"must be one of {', '.join(DEVICE_KINDS)}, got {kind!r}")
        window = c.get(t, "window", where, int, None)
        kiosk = c.get(t, "kiosk", where, str, None)
        if kind in ("printer", "idcard") and not kiosk:
            what = "a printer" if kind == "printer" else "an ID card reader"
            c.problem(f"{where}.kiosk", f"{what} names the kiosk it serves")
        if kind in ("led", "caller", "evaluator"):
            if window is None:
                c.problem(f"{where}.window", f"a {kind} device names its window")
            elif window not in windows:
                c.problem(f"{where}.window", f"unknown window {window}")
        devices.append(Device(
            kind=kind,
            name=c.get(t, "name", where, str) or f"{kind}-{i}",
            url=c.get(t, "url", where, str) or "",
            # SAM-based ID card readers leave the factory at 115200 baud
            baudrate=c.get(t, "baudrate", where, int, 115200 if kind == "idcard" else 9600),
            address=c.get(t, "address", where, int, 1),
            window=window,
            kiosk=kiosk,
        ))
        c.positive(devices[-1].baudrate, f"{where}.baudrate")
        c.at_least(devices[-1].address, f"{where}.address", 0)
        c.unknown_keys(t, {"kind", "name", "url", "baudrate", "address", "window", "kiosk"},
                       where)
    return devices


def _texts(c: _Checker, t: dict[str, Any], key: str, where: str,
           default: tuple[str, ...] = ()) -> tuple[str, ...]:
    """A list of distinct, non-empty strings (reasons, departments, categories)."""
    items = c.get(t, key, where, list, list(default))
    out: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            c.problem(f"{where}.{key}[{i}]", f"expected a non-empty string, got {item!r}")
        elif item.strip() in out:
            c.problem(f"{where}.{key}[{i}]", f"duplicate {item.strip()!r}")
        else:
            out.append(item.strip())
    return tuple(out)


def _parse_ratings(c: _Checker, raw: dict[str, Any]) -> Ratings:
    t = c.get(raw, "ratings", "", dict, {})
    ratings = Ratings(
        days_open=c.get(t, "days_open", "ratings", int, 7),
        callback_days=c.get(t, "callback_days", "ratings", int, 1),
        fix_days=c.get(t, "fix_days", "ratings", int, 15),
        tablet_minutes=c.get(t, "tablet_minutes", "ratings", int, 10),
        clerk_min_ratings=c.get(t, "clerk_min_ratings", "ratings", int, 5),
        reasons=_parse_reasons(c, t),
    )
    for key in ("days_open", "fix_days", "tablet_minutes", "clerk_min_ratings"):
        c.positive(getattr(ratings, key), f"ratings.{key}")
    if ratings.callback_days < 0:
        c.problem("ratings.callback_days", f"must be 0 or more, got {ratings.callback_days}")
    elif ratings.fix_days > 0 and ratings.callback_days > ratings.fix_days:
        c.problem("ratings.callback_days",
                  f"the call-back ({ratings.callback_days}) cannot be due after the fix "
                  f"(ratings.fix_days = {ratings.fix_days})")
    c.unknown_keys(t, {"days_open", "callback_days", "fix_days", "tablet_minutes",
                       "clerk_min_ratings", "reasons"}, "ratings")
    return ratings


def _parse_reasons(c: _Checker, t: dict[str, Any]) -> dict[int, tuple[str, ...]]:
    """`[ratings.reasons]` keys are the levels "1".."5"; a level left out offers none."""
    table = c.get(t, "reasons", "ratings", dict, None)
    if table is None:
        return dict(DEFAULT_REASONS)
    reasons: dict[int, tuple[str, ...]] = {level: () for level in range(1, 6)}
    for key in table:
        if key not in {"1", "2", "3", "4", "5"}:
            c.problem(f"ratings.reasons.{key}", "unknown level: use 1 to 5 "
                      "(5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意)")
            continue
        reasons[int(key)] = _texts(c, table, key, "ratings.reasons")
        for i, text in enumerate(reasons[int(key)]):
            if len(text) > 20:
                c.problem(f"ratings.reasons.{key}[{i}]", "longer than 20 characters")
    return reasons


def _dates(c: _Checker, t: dict[str, Any], key: str) -> list[date]:
    out: list[date] = []
    for i, item in enumerate(c.get(t, key, "workdays", list, [])):
        try:
            if not isinstance(item, (str, date)) or isinstance(item, datetime):
                raise ValueError
            out.append(item if isinstance(item, date) else date.fromisoformat(item))
        except ValueError:
            c.problem(f"workdays.{key}[{i}]", f'expected a date "YYYY-MM-DD", got {item!r}')
    return out


def _parse_workdays(c: _Checker, raw: dict[str, Any]) -> Workdays:
    t = c.get(raw, "workdays", "", dict, {})
    holidays = _dates(c, t, "holidays")
    makeup = _dates(c, t, "makeup_days")
    covered = c.get(t, "covered_until", "workdays", (str, date), None)
    if isinstance(covered, datetime):
        covered = None
        c.problem("workdays.covered_until", 'expected a date "YYYY-MM-DD"')
    elif isinstance(covered, str):
        try:
            covered = date.fromisoformat(covered)
        except ValueError:
            c.problem("workdays.covered_until", f'expected a date "YYYY-MM-DD", got {covered!r}')
            covered = None
    for i, day in enumerate(makeup):
        if day in holidays:
            c.problem(f"workdays.makeup_days[{i}]", f"{day} is also listed in workdays.holidays")
        elif day.weekday() < 5:
            c.problem(f"workdays.makeup_days[{i}]",
                      f"{day} is a weekday: makeup_days lists the weekend days worked (调休上班)")
    c.unknown_keys(t, {"holidays", "makeup_days", "covered_until", "official"}, "workdays")
    return Workdays(holidays=frozenset(holidays), makeup_days=frozenset(makeup),
                    covered_until=covered, official=c.get(t, "official", "workdays", bool, True))


def _parse_complaints(c: _Checker, raw: dict[str, Any]) -> Complaints:
    t = c.get(raw, "complaints", "", dict, {})
    defaults = Complaints().deadlines
    d = c.get(t, "deadlines", "complaints", dict, {})
    # the key a hall reads in its policy text is "refusal" (不予受理/转办, answered with
    # reasons); it is the deadline of the out_of_scope class
    names = {"simple": "simple", "complex": "complex", "special": "special",
             "refusal": "out_of_scope"}
    deadlines = dict(defaults)
    for key, cls in names.items():
        value = c.get(d, key, "complaints.deadlines", int, defaults[cls])
        if value is not None and value < 0:
            c.problem(f"complaints.deadlines.{key}", f"must be 0 or more, got {value}")
        elif value is not None:
            deadlines[cls] = value
    c.unknown_keys(d, set(names), "complaints.deadlines")
    complaints = Complaints(
        deadlines=deadlines,
        departments=_texts(c, t, "departments", "complaints"),
        categories=_texts(c, t, "categories", "complaints"),
    )
    c.unknown_keys(t, {"deadlines", "departments", "categories"}, "complaints")
    return complaints


def _parse_limits(c: _Checker, raw: dict[str, Any]) -> Limits:
    t = c.get(raw, "limits", "", dict, {})
    defaults = Limits()
    values: dict[str, Any] = {}
    for key in ("tickets_per_minute_per_client", "tickets_per_day_per_client",
                "tickets_per_minute_per_kiosk", "tickets_per_day_per_kiosk"):
        values[key] = c.get(t, key, "limits", int, getattr(defaults, key))
        c.at_least(values[key], f"limits.{key}", 0)
    proxies = c.get(t, "trusted_proxies", "limits", list, [])
    good: list[str] = []
    for i, item in enumerate(proxies):
        try:
            if not isinstance(item, str):
                raise ValueError
            parse_networks([item])
            good.append(item)
        except ValueError:
            c.problem(f"limits.trusted_proxies[{i}]",
                      f"expected an address or a range such as \"10.0.0.0/24\", got {item!r}")
    c.unknown_keys(t, {*values, "trusted_proxies"}, "limits")
    return Limits(**values, trusted_proxies=tuple(good))


def _parse_priority_reasons(c: _Checker, raw: dict[str, Any]) -> tuple[PriorityReason, ...]:
    if "priority_reasons" not in raw:
        return DEFAULT_PRIORITY_REASONS
    reasons: list[PriorityReason] = []
    for i, t in enumerate(_list_of_tables(c, raw, "priority_reasons")):
        where = f"priority_reasons[{i}]"
        rid = c.get(t, "id", where, str) or f"?{i}"
        if not (rid.isascii() and rid.replace("_", "").isalnum()):
            c.problem(f"{where}.id", f"use letters, digits and _ only, got {rid!r}")
        if any(r.id == rid for r in reasons):
            c.problem(f"{where}.id", f"duplicate priority reason {rid!r}")
        reasons.append(PriorityReason(
            id=rid, name=c.get(t, "name", where, str) or rid,
            self_declared=c.get(t, "self_declared", where, bool, False)))
        c.unknown_keys(t, {"id", "name", "self_declared"}, where)
    if not reasons:
        c.problem("priority_reasons", "list at least one reason, or leave the key out")
    return tuple(reasons)


def _parse_real_name(c: _Checker, raw: dict[str, Any], queues: list[Queue],
                     reasons: tuple[PriorityReason, ...]) -> RealName:
    t = c.get(raw, "real_name", "", dict, {})
    defaults, rule_defaults = RealName(), PersonRules()
    rules = {key: c.get(t, key, "real_name", int, getattr(rule_defaults, key))
             for key in (f.name for f in fields(PersonRules))}
    for key, value in rules.items():
        c.at_least(value, f"real_name.{key}", 0)
    real_name = RealName(
        elderly_age=c.get(t, "elderly_age", "real_name", int, defaults.elderly_age),
        rules=PersonRules(**rules),
        proxy_per_day=c.get(t, "proxy_per_day", "real_name", int, defaults.proxy_per_day),
        read_seconds=c.get(t, "read_seconds", "real_name", int, defaults.read_seconds),
        keep_days=c.get(t, "keep_days", "real_name", int, defaults.keep_days))
    c.at_least(real_name.elderly_age, "real_name.elderly_age", 0, 120)
    c.at_least(real_name.proxy_per_day, "real_name.proxy_per_day", 0)
    c.at_least(real_name.read_seconds, "real_name.read_seconds", 10, 600)
    # the limits read back to the first of the month, the Monday and no_show_days
    c.at_least(real_name.keep_days, "real_name.keep_days",
               max(37, real_name.rules.no_show_days))
    if (real_name.elderly_age and any(q.real_name for q in queues)
            and not any(r.id == "elderly" for r in reasons)):
        c.problem("real_name.elderly_age", 'no priority reason "elderly" to grant: add it to '
                  "[[priority_reasons]] or set elderly_age = 0")
    c.unknown_keys(t, {*rules, "elderly_age", "proxy_per_day", "read_seconds", "keep_days"},
                   "real_name")
    return real_name


def load_config(path: str | Path) -> HallConfig:
    """Read and check a config file; a TOML syntax error is reported as one keyed line too."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:  # a directory, no permission, not UTF-8
        raise ConfigError([f"{path}: cannot be read ({exc})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: {exc}"]) from None
    return parse_config(raw)
