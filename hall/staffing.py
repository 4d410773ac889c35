"""Runtime staffing (潮汐窗口, 延时服务): the hall as config.toml describes it plus what managers
changed today, as pure functions (no I/O: property-tested in tests/test_staffing.py).

`effective(config, overrides)` is the one place the two meet. It is total: an override that no
longer fits the file (a queue removed from config.toml, a temporary window whose number the
file now uses) is dropped rather than refused, so a restart with an edited config always
starts. The rules a manager meets when making a change are the `check_*` functions, which
raise `HallError` with a Chinese message and the field at fault.

Rules (docs/staffing.md):
* A temporary window (潮汐窗口) is opened for a rush: it lasts until a manager closes it, or
  until the hall day ends (the midnight roll-over). Not at the "close the day" button: 延时服务
  may still be served at it after that.
* A window closed for the day reopens with the next hall day (or when a manager reopens it).
* A window's queue list is its calling order (`strict`), or ties broken by it (`oldest`);
  queue lists and calling orders of configured windows, daily caps and 延时服务 stay until a
  manager changes them back (`null` restores what config.toml says).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from hall import errors
from hall.config import WINDOW_ORDERS, HallConfig, Queue, Window

MAX_WINDOW_NUMBER = 999
NAME_MAX = 20
ORDER_NAMES = {"strict": "按队列先后", "oldest": "按等候先后"}
NEW_WINDOW_FIELDS = frozenset({"number", "name", "queues", "order"})
WINDOW_FIELDS = frozenset({"queues", "order", "closed"})
QUEUE_FIELDS = frozenset({"daily_cap", "open_until_empty"})


@dataclass(frozen=True)
class WindowChange:
    """A manager's change to one window; `None` keeps what config.toml says. A temporary
    window has its own name and queues."""

    number: int
    queues: tuple[str, ...] | None = None
    order: str | None = None
    closed: bool = False
    temporary: bool = False
    name: str | None = None


@dataclass(frozen=True)
class QueueChange:
    id: str
    daily_cap: int | None = None
    open_until_empty: bool = False


@dataclass(frozen=True)
class Overrides:
    windows: tuple[WindowChange, ...] = ()
    queues: tuple[QueueChange, ...] = ()

    def window(self, number: int) -> WindowChange | None:
        return next((w for w in self.windows if w.number == number), None)

    def queue(self, queue_id: str) -> QueueChange | None:
        return next((q for q in self.queues if q.id == queue_id), None)


def effective(config: HallConfig, overrides: Overrides) -> HallConfig:
    """The hall as it runs now: config.toml's windows and queues with the overrides applied,
    temporary windows added; windows in number order."""
    known = {q.id for q in config.queues}
    changes = {w.number: w for w in overrides.windows}
    windows: list[Window] = []
    for w in config.windows:
        change = changes.get(w.number)
        if change is None or change.temporary:
            windows.append(w)
            continue
        queues = _known(change.queues, known) or w.queues
        order = change.order if change.order in WINDOW_ORDERS else w.order
        windows.append(replace(w, queues=queues, order=order, closed=change.closed))
    numbers = {w.number for w in config.windows}
    for change in overrides.windows:
        queues = _known(change.queues, known)
        if not change.temporary or change.number in numbers or not queues \
                or not 0 < change.number <= MAX_WINDOW_NUMBER:
            continue
        numbers.add(change.number)
        windows.append(Window(
            number=change.number, name=change.name or f"{change.number}号窗口",
            kind="comprehensive", queues=queues,
            order=change.order if change.order in WINDOW_ORDERS else "strict",
            temporary=True, closed=False))
    windows.sort(key=lambda w: w.number)
    queue_changes = {q.id: q for q in overrides.queues}
    queues = tuple(_queue(q, queue_changes.get(q.id)) for q in config.queues)
    if tuple(windows) == config.windows and queues == config.queues:
        return config
    return replace(config, windows=tuple(windows), queues=queues)


def _known(queues: tuple[str, ...] | None, known: set[str]) -> tuple[str, ...]:
    if not queues:
        return ()
    out: list[str] = []
    for q in queues:
        if q in known and q not in out:
            out.append(q)
    return tuple(out)


def _queue(q: Queue, change: QueueChange | None) -> Queue:
    if change is None:
        return q
    cap = change.daily_cap if change.daily_cap is not None and \
        1 <= change.daily_cap <= max_cap(q) else q.daily_cap
    return replace(q, daily_cap=cap, open_until_empty=change.open_until_empty)


def max_cap(queue: Queue) -> int:
    """The most numbers a queue can issue in a day: its number width (A001…A999)."""
    return 10 ** queue.width - 1


def next_number(config: HallConfig) -> int:
    """The number a temporary window gets when the manager gives none: after every window."""
    return max((w.number for w in config.windows), default=0) + 1


def orphaned(before: HallConfig, after: HallConfig) -> list[str]:
    """Queues some configured window served before the change and none serves after it.
    Temporary windows do not count: they end with the day, and the queue would be left with
    no window to call its tickets tomorrow."""
    def served(config: HallConfig) -> set[str]:
        return {q for w in config.windows if not w.temporary for q in w.queues}

    lost = served(before) - served(after)
    return [q.id for q in before.queues if q.id in lost]


# ---------------------------------------------------------------- a manager's input


def _unknown_fields(body: Mapping[str, Any], allowed: frozenset[str]) -> None:
    if not body:
        raise errors.invalid("请求中没有要修改的内容", "empty_change")
    if set(body) - allowed:
        raise errors.invalid("请求中有不能修改的项目", "unknown_field")


def _queue_list(config: HallConfig, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise errors.invalid("请至少选择一个队列", "invalid_queues", "queues")
    if not all(isinstance(q, str) for q in value):
        raise errors.invalid("队列应从列表中选择", "invalid_queues", "queues")
    if any(not config.has_queue(q) for q in value):
        raise errors.not_found("所选队列不存在，请从列表中选择", "unknown_queue", "queues")
    if len(set(value)) != len(value):
        raise errors.invalid("同一个队列只能选一次", "duplicate_queue", "queues")
    return tuple(value)


def _order(value: Any) -> str:
    if value not in WINDOW_ORDERS:
        raise errors.invalid(f"叫号顺序只能是{'或'.join(ORDER_NAMES.values())}", "invalid_order",
                             "order")
    return str(value)


def check_new_window(config: HallConfig, body: Mapping[str, Any]) -> WindowChange:
    """A temporary window from `POST /api/manage/windows` (`config`: the hall as it runs)."""
    _unknown_fields(body, NEW_WINDOW_FIELDS)
    number = body.get("number")
    if number is None:
        number = next_number(config)
    if not isinstance(number, int) or isinstance(number, bool) \
            or not 0 < number <= MAX_WINDOW_NUMBER:
        raise errors.invalid(f"窗口号应为 1 到 {MAX_WINDOW_NUMBER} 的整数", "invalid_window",
                             "number")
    if config.has_window(number):
        raise errors.conflict(f"已有 {number} 号窗口（{config.window(number).name}），"
                              "请换一个窗口号", "duplicate_window", "number")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise errors.invalid("请填写窗口名称", "invalid_name", "name")
    name = " ".join(name.split())
    if len(name) > NAME_MAX:
        raise errors.invalid(f"窗口名称不能超过 {NAME_MAX} 个字", "invalid_name", "name")
    queues = _queue_list(config, body.get("queues"))
    order = _order(body["order"]) if body.get("order") is not None else "strict"
    return WindowChange(number=number, queues=queues, order=order, temporary=True, name=name)


def check_window_change(config: HallConfig, base: HallConfig, current: WindowChange | None,
                        number: int, body: Mapping[str, Any]) -> WindowChange:
    """`PATCH /api/manage/windows/{n}`'s staffing fields onto the window's current change
    (`config`: as it runs; `base`: config.toml). `queues`/`order` null: back to the file."""
    window = config.window(number)
    change = current or WindowChange(number=number, temporary=window.temporary,
                                     name=window.name if window.temporary else None,
                                     queues=window.queues if window.temporary else None)
    if "queues" in body:
        if body["queues"] is None and not window.temporary:
            change = replace(change, queues=None)
        else:
            queues = _queue_list(config, body["queues"])
            same = base.has_window(number) and base.window(number).queues == queues \
                and not window.temporary
            change = replace(change, queues=None if same else queues)
    if "order" in body:
        if body["order"] is None:
            change = replace(change, order=None)
        else:
            order = _order(body["order"])
            same = base.has_window(number) and base.window(number).order == order \
                and not window.temporary
            change = replace(change, order=None if same else order)
    if "closed" in body:
        if not isinstance(body["closed"], bool):
            raise errors.invalid("请选择是否停止服务", "invalid_closed", "closed")
        change = replace(change, closed=body["closed"])
    return change


def check_queue_change(config: HallConfig, queue_id: str, current: QueueChange | None,
                       issued_today: int, body: Mapping[str, Any]) -> QueueChange:
    """`PATCH /api/manage/queues/{id}`: a daily cap between today's issued count and what the
    number width allows (null: back to config.toml), and 延时服务 on or off."""
    _unknown_fields(body, QUEUE_FIELDS)
    queue = config.queue(queue_id)
    change = current or QueueChange(id=queue_id)
    if "daily_cap" in body:
        cap = body["daily_cap"]
        if cap is not None:
            if not isinstance(cap, int) or isinstance(cap, bool):
                raise errors.invalid("每日上限必须是整数", "invalid_daily_cap", "daily_cap")
            if cap > max_cap(queue):
                raise errors.invalid(
                    f"{queue.name}的号码为 {queue.width} 位，每日上限最多 {max_cap(queue)}",
                    "daily_cap_too_high", "daily_cap")
            if cap < max(1, issued_today):
                raise errors.conflict(
                    f"{queue.name}今天已发出 {issued_today} 个号，每日上限不能少于此数"
                    if issued_today else "每日上限至少为 1", "daily_cap_too_low", "daily_cap")
        change = replace(change, daily_cap=cap)
    if "open_until_empty" in body:
        if not isinstance(body["open_until_empty"], bool):
            raise errors.invalid("请选择是否延时服务", "invalid_open_until_empty",
                                 "open_until_empty")
        change = replace(change, open_until_empty=body["open_until_empty"])
    return change


def describe_window(change: WindowChange, config: HallConfig) -> str:
    """The audit log's detail of a window change, in words a manager reads."""
    parts = []
    if change.temporary and change.name:
        parts.append(f"名称 {change.name}")
    if change.queues is not None:
        parts.append("队列 " + "、".join(config.queue(q).name for q in change.queues
                                       if config.has_queue(q)))
    if change.order is not None:
        parts.append("叫号顺序 " + ORDER_NAMES.get(change.order, change.order))
    parts.append("今日停止服务" if change.closed else "开放")
    return "；".join(parts)


def describe_queue(change: QueueChange, config: HallConfig) -> str:
    cap = "按配置" if change.daily_cap is None else str(change.daily_cap)
    return f"每日上限 {cap}；延时服务 {'开' if change.open_until_empty else '关'}"
