"""The report as a table people read: which figures, under which Chinese headers, written how.

One function makes the cells, and both the reports page and the CSV use them, so the CSV a
manager downloads is exactly the table on the screen: same columns, same order, same text
(shares as 33.3%, minutes with one decimal, periods as 2026年11月 / 9时, queues, services,
windows and priority reasons by name, "—" where there is nothing to divide). Pure: the names
come in as a `Namer`, built from config.toml by the caller.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hall.charts import number
from hall.csv_export import spreadsheet_safe
from hall.datefmt import day_text

NONE = "—"
OUTCOME_SHARES = (("done", "办结占比"), ("accepted", "受理占比"),
                  ("accepted_missing", "容缺受理占比"), ("rejected", "不予受理占比"),
                  ("failed", "办不成占比"))
GROUP_NAMES = {"hall": "范围", "queue": "队列", "service": "办理事项", "window": "窗口",
               "clerk": "工作人员", "priority": "优先原因"}
PERIOD_NAMES = {"hour": "时段", "day": "日期", "week": "周", "month": "月份"}

# (by, key) → the name people know it by
Namer = Callable[[str, Any], str]


@dataclass(frozen=True)
class Column:
    """`key`: the row's field (dotted for a nested one: outcome_rates.done); `kind` says how
    its value is written: count, share, number, text, key (the grouping), period, reasons (shares
    by priority reason), pauses (count and minutes by reason)."""

    key: str
    name: str
    kind: str = "number"


def stats_columns(by: str, per: str) -> list[Column]:
    """The ticket, rating and complaint figures of issue 10.1, in the order a report reads."""
    return [
        *_heads(by, per),
        Column("issued", "取号数", "count"), Column("served", "办理数", "count"),
        Column("no_show", "过号数", "count"), Column("missed", "过期数", "count"),
        Column("transferred", "转移数", "count"), Column("held", "挂起数", "count"),
        *(Column(f"outcome_rates.{o}", name, "share") for o, name in OUTCOME_SHARES),
        Column("wait_avg_minutes", "平均等候(分钟)"), Column("wait_p90_minutes", "90%等候(分钟)"),
        Column("handling_avg_minutes", "平均办理(分钟)"),
        Column("handling_p90_minutes", "90%办理(分钟)"),
        Column("priority_share", "优先号占比", "share"),
        Column("priority_share_by_reason", "各优先原因占比", "reasons"),
        Column("ratings", "评价数", "count"), Column("rating_avg", "平均评价等级"),
        Column("bad_rate", "差评率", "share"), Column("complaints", "办不成事反映", "count"),
    ]


def work_columns(by: str, per: str) -> list[Column]:
    """The productivity figures of issue 10.5 (hall.productivity defines each one)."""
    return [
        *_heads(by, per),
        Column("logged_in_minutes", "登录时长(分钟)"), Column("served", "办理数", "count"),
        Column("served_per_hour", "每小时办理数"), Column("walk_avg_seconds", "平均到窗(秒)"),
        Column("serving_minutes", "办理用时(分钟)"),
        Column("idle_waiting_minutes", "有人等候时空闲(分钟)"),
        Column("idle_waiting_share", "有人等候时空闲占比", "share"),
        Column("idle_minutes", "空闲合计(分钟)"), Column("pauses", "暂停次数", "count"),
        Column("paused_minutes", "暂停(分钟)"), Column("pauses_by_reason", "暂停原因", "pauses"),
    ]


def _heads(by: str, per: str) -> list[Column]:
    out = [Column(by, GROUP_NAMES[by], "key")]
    if per != "all":
        out.append(Column("period", PERIOD_NAMES[per], f"period:{per}"))
    return out


def period_text(per: str, period: str) -> str:
    """Pure: a period as people write it."""
    if per == "hour":
        return f"{int(period)}时"
    if per == "month":
        return f"{int(period[:4])}年{int(period[5:7])}月"
    if per == "week":
        return f"{day_text(period)}起"
    if per == "day":
        return day_text(period)
    return period


def _get(row: Mapping[str, Any], key: str) -> Any:
    value: Any = row
    for part in key.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def cell(row: Mapping[str, Any], column: Column, by: str, namer: Namer) -> str:
    """Pure: one cell's text."""
    value = _get(row, column.key)
    kind = column.kind
    if kind == "key":
        return namer(by, value)
    if kind == "text":  # already words (a hall's name in the city report)
        return NONE if value is None else str(value)
    if kind.startswith("period:"):
        return period_text(kind.split(":", 1)[1], value)
    if kind == "reasons":
        parts = [f"{namer('priority', k)} {_share(v)}" for k, v in (value or {}).items()]
        return "；".join(parts) or NONE
    if kind == "pauses":
        parts = [f"{p['reason']} {p['pauses']}次 {number(p['minutes'])}分钟"
                 for p in value or ()]
        return "；".join(parts) or NONE
    if value is None:
        return NONE
    if kind == "share":
        return _share(value)
    return number(value)


def _share(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.1f}%"


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], by: str,
          namer: Namer) -> list[list[str]]:
    """Pure: the cells of every row."""
    return [[cell(row, c, by, namer) for c in columns] for row in rows]


def csv_text(columns: Sequence[Column], cells: Sequence[Sequence[str]]) -> str:
    """The same table as CSV for Excel: a BOM, Chinese headers, cells no spreadsheet runs."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.name for c in columns])
    for line in cells:
        writer.writerow([spreadsheet_safe(x) for x in line])
    return "\ufeff" + out.getvalue()
