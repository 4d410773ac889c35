"""Alarms, the pure part: which conditions hold now, and how they change the alarm log.

A *condition* is something a hall manager must hear about while it lasts (a queue over its
threshold, a window idle while people wait, a printer out of paper, a new 差评 …), named by
its `kind` and a `key` that tells two of a kind apart (the queue id, the window number, the
case id, the device name). hall.alarm_desk gathers the facts, these functions say which
conditions hold, and `reconcile` says what to write: an *alarm* is one stretch of time during
which one condition held. So raising is idempotent (a condition still holding is the alarm
already raised), an ended condition clears its alarm, and a condition that comes back after
it cleared is a new alarm, acknowledged afresh.

Every message is Chinese and states the threshold rather than the figure of the moment ("等候
超过 15 分钟", not "已等 16 分钟"): it is written once, when the alarm is raised, and must stay
true for as long as the alarm is listed. The figures at the moment of raising go in `details`.
No message carries personal data: queue, window and device names, case ids, ticket numbers.
The thresholds, and when each kind clears, are listed in docs/alarms.md.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

KIND_NAMES = {
    "queue_long": "等候人数过多", "wait_long": "等候时间过长", "handling_long": "办理超时",
    "window_idle": "窗口空闲", "window_away": "窗口离岗", "pause_long": "暂停超时",
    "rectification_new": "新差评", "rectification_overdue": "差评整改超期",
    "complaint_new": "新办不成事", "complaint_overdue": "办不成事超期",
    "application_late": "限时办结超期", "calendar_uncovered": "节假日历将到期",
    "device_fault": "设备故障", "paper_low": "打印纸将用完", "paper_out": "打印机缺纸",
}
DEVICE_ALARMS = ("device_fault", "paper_low", "paper_out")
STATUS_NAMES = {"raised": "待确认", "acked": "已确认", "cleared": "已解除（未确认）",
                "closed": "已解除"}

# What a device adapter's health line says (docs/devices.md), as a manager reads it. A device
# not yet asked ("not checked", "not started") is neither well nor ill: its alarms stay as
# they are until it answers (a restart must not clear and re-raise a printer out of paper).
HEALTH_WORDS = {"no answer": "无应答", "cover open": "纸仓盖未关", "printer error": "打印机故障",
                "offline": "离线", "line error": "线路故障"}
HEALTH_UNKNOWN = ("not checked", "not started")
DEVICE_NAMES = {"led": "窗口屏", "printer": "取号打印机", "caller": "呼叫器", "evaluator": "评价器",
                "voice": "语音播报"}


@dataclass(frozen=True)
class Condition:
    """One condition that holds now. `details`: the figures at this moment, for the record."""

    kind: str
    key: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def ident(self) -> tuple[str, str]:
        return self.kind, self.key


@dataclass(frozen=True)
class Plan:
    """What one evaluation writes: the conditions to raise as new alarms, the alarms to clear."""

    raised: tuple[Condition, ...] = ()
    cleared: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.raised or self.cleared)


def reconcile(active: Mapping[tuple[str, str], int], current: Iterable[Condition],
              keep: Collection[tuple[str, str]] = (), keep_kinds: Collection[str] = ()) -> Plan:
    """From the alarms not yet cleared (`active`: (kind, key) → alarm id) and the conditions
    that hold now: raise each condition that has no active alarm (once, however often it is
    listed), clear each active alarm whose condition no longer holds. What could not be judged
    this time is left as it is: the (kind, key) pairs in `keep`, every kind in `keep_kinds`
    (a source of facts that failed must not clear its alarms)."""
    holding: dict[tuple[str, str], Condition] = {}
    for condition in current:
        holding.setdefault(condition.ident, condition)
    raised = tuple(c for ident, c in holding.items() if ident not in active)
    cleared = tuple(alarm_id for ident, alarm_id in active.items()
                    if ident not in holding and ident not in keep and ident[0] not in keep_kinds)
    return Plan(raised, cleared)


def status_of(cleared: bool, acked: bool) -> str:
    if cleared:
        return "closed" if acked else "cleared"
    return "acked" if acked else "raised"


def _minutes(value: float) -> str:
    return f"{value:g}"


def _past(now: float, since: float | None, minutes: float) -> bool:
    return since is not None and now - since >= minutes * 60


# ---------------------------------------------------------------- the hall's own conditions


@dataclass(frozen=True)
class QueueFacts:
    id: str
    name: str
    waiting: int
    oldest: float | None  # when the first in line took their place (order_at)
    waiting_alarm: int
    wait_alarm_minutes: float


@dataclass(frozen=True)
class WindowFacts:
    """One window now. `since`: when its state began (opened, freed, paused, closed);
    `waiting_since`: when the first person now waiting for one of its queues (or sent to it)
    took their place, None when nobody waits; `closed_today`: its clerk left it today."""

    number: int
    name: str
    clerk: str | None
    paused: bool
    pause_reason: str | None
    since: float | None
    current: str | None  # the ticket being served
    started_at: float | None
    service_name: str | None
    norm_minutes: float | None  # the 办理标准 of the service being handled
    waiting_since: float | None
    closed_today: bool


@dataclass(frozen=True)
class Thresholds:
    idle_minutes: float
    away_minutes: float
    pause_minutes: float


def queue_conditions(queues: Sequence[QueueFacts], now: float) -> list[Condition]:
    """A queue with as many waiting as its threshold; a queue whose first in line has waited
    longer than its limit."""
    out: list[Condition] = []
    for q in queues:
        if q.waiting >= q.waiting_alarm:
            out.append(Condition("queue_long", q.id, f"{q.name}等候人数达到 {q.waiting_alarm} 人",
                                 {"queue": q.id, "waiting": q.waiting, "limit": q.waiting_alarm}))
        if q.waiting and _past(now, q.oldest, q.wait_alarm_minutes):
            waited = int((now - (q.oldest or now)) // 60)
            out.append(Condition(
                "wait_long", q.id,
                f"{q.name}有群众等候超过 {_minutes(q.wait_alarm_minutes)} 分钟",
                {"queue": q.id, "waited_minutes": waited, "limit": q.wait_alarm_minutes}))
    return out


def window_conditions(windows: Sequence[WindowFacts], now: float,
                      limits: Thresholds) -> list[Condition]:
    """Per window, at most one of: handling one citizen past the service's norm; open and
    idle while people wait; paused past the limit; left by its clerk (离岗) while people
    wait. The idle and 离岗 clocks start at the later of the window's state and the first
    person waiting: a window idle for an hour is not late for a ticket issued a minute ago."""
    out = [_window_condition(w, now, limits) for w in windows]
    return [c for c in out if c is not None]


def _window_condition(w: WindowFacts, now: float, limits: Thresholds) -> Condition | None:
    key = str(w.number)
    facts: dict[str, Any] = {"window": w.number}
    if w.current is not None and w.started_at is not None:
        if w.norm_minutes is None or not _past(now, w.started_at, w.norm_minutes):
            return None
        return Condition(
            "handling_long", f"{w.number}/{w.current}",
            f"{w.name}办理 {w.current}（{w.service_name or '未知事项'}）超过该事项办理标准 "
            f"{_minutes(w.norm_minutes)} 分钟",
            {**facts, "number": w.current, "limit": w.norm_minutes})
    if w.clerk is not None and w.paused:
        if not _past(now, w.since, limits.pause_minutes):
            return None
        reason = f"（{w.pause_reason}）" if w.pause_reason else ""
        return Condition("pause_long", key,
                         f"{w.name}暂停服务超过 {_minutes(limits.pause_minutes)} 分钟{reason}",
                         {**facts, "limit": limits.pause_minutes})
    if w.waiting_since is None:
        return None
    since = max(w.since or 0.0, w.waiting_since)
    if w.clerk is not None and w.current is None and _past(now, since, limits.idle_minutes):
        return Condition("window_idle", key,
                         f"{w.name}空闲超过 {_minutes(limits.idle_minutes)} 分钟，仍有群众等候",
                         {**facts, "limit": limits.idle_minutes})
    if w.clerk is None and w.closed_today and _past(now, since, limits.away_minutes):
        return Condition("window_away", key,
                         f"{w.name}无人在岗超过 {_minutes(limits.away_minutes)} 分钟，仍有群众等候",
                         {**facts, "limit": limits.away_minutes})
    return None


def application_condition(ticket_id: int, number: str, service_name: str,
                          due_text: str, window: int | None) -> Condition:
    return Condition("application_late", str(ticket_id),
                     f"{number} {service_name} 已超过法定办结时限（{due_text}）",
                     {"ticket": ticket_id, "number": number, "window": window})


def calendar_condition(gap: str, warning: str) -> Condition:
    """Keyed by the first day nobody declared: next year's gap is a new alarm."""
    return Condition("calendar_uncovered", gap, warning, {"from": gap})


# ---------------------------------------------------------------- cases


def case_condition(kind: str, case_id: int, overdue: bool, window: int | None,
                   window_name: str | None, level_name: str | None = None) -> Condition:
    """A 差评 (rectification) or 办不成事 (complaint) case a manager must act on: new (still
    waiting for its first step) or overdue. Case id, window and level only."""
    label = "差评" if kind == "rectification" else "办不成事"
    where = f" {window_name}" if window_name else ""
    if overdue:
        message = f"{label}{'整改' if kind == 'rectification' else ''} #{case_id}{where} 已超期"
    else:
        level = f" {level_name}" if level_name else ""
        message = f"新{label} #{case_id}{where}{level}，待处理"
    return Condition(f"{kind}_{'overdue' if overdue else 'new'}", str(case_id), message,
                     {kind: case_id, "window": window})


# ---------------------------------------------------------------- devices


def device_conditions(rows: Sequence[Mapping[str, Any]]
                      ) -> tuple[list[Condition], set[tuple[str, str]]]:
    """From the adapters' health rows (name, kind, window, kiosk, health): the conditions,
    and the devices not yet asked (whose alarms are kept as they are). "paper near end" is a
    warning of its own; "unused: …" is a configuration note shown on the devices panel, not
    an alarm; anything else but "ok" is a fault."""
    out: list[Condition] = []
    unknown: set[tuple[str, str]] = set()
    for row in rows:
        name = str(row.get("name") or "")
        health = str(row.get("health") or "")
        kind = str(row.get("kind") or "")
        if health in HEALTH_UNKNOWN:
            unknown.update((k, name) for k in DEVICE_ALARMS)
            continue
        if health == "ok" or health.startswith("unused"):
            continue
        what = DEVICE_NAMES.get(kind, "设备")
        label = f"{what} {name}"
        if kind == "voice":  # the server's own speech, named by what it does
            label = "语音播报" if name == "voice" else "语音播放"
        if row.get("window"):
            label += f"（{row['window']}号窗口）"
        elif row.get("kiosk"):
            label += f"（取号机 {row['kiosk']}）"
        details = {"device": name, "device_kind": kind, "health": health}
        if health == "paper near end":
            out.append(Condition("paper_low", name, f"{label}打印纸将用完，请及时换纸", details))
        elif health == "paper out":
            out.append(Condition("paper_out", name, f"{label}缺纸，该取号机暂停出票", details))
        else:
            word = HEALTH_WORDS.get(health, "故障")
            out.append(Condition("device_fault", name, f"{label}{word}，请检查设备", details))
    return out, unknown
