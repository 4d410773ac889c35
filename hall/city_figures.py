"""The city overview's figures: every hall side by side (issue 13.1).

Each hall's figures come through that hall's own service — its snapshot (`hall_snapshot`, what
the public screens show), its alarm desk (`AlarmDesk.active`) and its reports
(`HallService.stats`, the roll-ups of hall/stats.py) — never from the city reading another
hall's store. The shaping is pure (functions of what the services answered), so it is tested
without a server.

* Live (`live_row`): people waiting, windows staffed / paused / all, alarms (and how many nobody
  has acknowledged), today's tickets issued and served and the average and P90 wait, each in
  the hall's own day (its `[hall] timezone`).
* Report over a period (`REPORT_COLUMNS`): a hall per line, with the columns of a hall's own
  report (hall/report_tables.py `stats_columns`), so a city figure means what a hall's does.
* 明进暗不进 (`idle_items`): the windows of a hall's config.toml that served no ticket in the
  period, and the services (事项) nobody took a ticket for. "进驻" on paper (listed in the
  hall) while nothing is done there is the pattern the policy text forbids; a list per hall of
  what shows no activity is where a supervisor starts asking.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hall.alarm_desk import AlarmDesk
from hall.city_config import HallSite
from hall.config import HallConfig
from hall.csv_export import WINDOW_KINDS
from hall.report_tables import Column, stats_columns
from hall.service import HallService

OPEN_STATES = ("idle", "called", "serving")  # a clerk at the window, serving or ready to
UNREADABLE = "暂时无法读取该中心的数据"

# the period report: the hall and its level, then a hall's own report columns (without its
# grouping column, which would read 全厅 on every line)
REPORT_COLUMNS = [Column("hall_name", "服务中心", "text"), Column("level_name", "层级", "text"),
                  *stats_columns("hall", "all")[1:]]
IDLE_COLUMNS = [Column("hall_name", "服务中心", "text"), Column("level_name", "层级", "text"),
                Column("what", "类别", "text"), Column("item", "名称", "text"),
                Column("finding", "情况", "text")]


@dataclass(frozen=True)
class HallReader:
    """What the city reads one hall through: its service and its alarm desk (hall/app.py
    puts both on the hall app's state)."""

    site: HallSite
    service: HallService
    alarms: AlarmDesk

    def today(self) -> str:
        return self.service.clock().astimezone(self.service.tz).date().isoformat()


def identity(site: HallSite) -> dict[str, Any]:
    return {"id": site.id, "name": site.name, "level": site.level,
            "level_name": site.level_name}


def live_row(site: HallSite, snapshot: Mapping[str, Any], alarms: Sequence[Mapping[str, Any]],
             today: Mapping[str, Any] | None, day: str) -> dict[str, Any]:
    """Pure: one hall's line of the live overview."""
    windows = snapshot.get("windows", [])
    states = [w.get("state") for w in windows]
    today = today or {}
    return {
        **identity(site), "date": day,
        "waiting": sum(int(q.get("waiting") or 0) for q in snapshot.get("queues", [])),
        "windows_total": len(windows),
        "windows_open": sum(s in OPEN_STATES for s in states),
        "windows_paused": states.count("paused"),
        "alarms": len(alarms),
        "alarms_unacked": sum(a.get("acked_at") is None for a in alarms),
        "issued": int(today.get("issued") or 0),
        "served": int(today.get("served") or 0),
        "wait_avg_minutes": today.get("wait_avg_minutes"),
        "wait_p90_minutes": today.get("wait_p90_minutes"),
    }


def empty_figures(columns: Sequence[Column]) -> dict[str, Any]:
    """Pure: the figures of a hall with no ticket in the period: counts 0, the rest unknown
    (an average of nothing is "—", not 0)."""
    return {c.key.split(".")[0]: 0 if c.kind == "count" else None for c in columns}


def report_row(site: HallSite, figures: Mapping[str, Any] | None) -> dict[str, Any]:
    """Pure: a hall's line of the period report."""
    row = dict(figures) if figures else empty_figures(REPORT_COLUMNS[2:])
    row.pop("hall", None)  # the grouping key of a hall's own report ("全厅")
    return {**identity(site), "hall_name": site.name, **row}


def idle_items(config: HallConfig, served_by_window: Mapping[Any, int],
               issued_by_service: Mapping[Any, int]) -> dict[str, list[dict[str, Any]]]:
    """Pure: the windows of `config` that served nobody and the services nobody took a ticket
    for, by the counts of the period."""
    queues = {q.id: q.name for q in config.queues}
    return {
        "windows": [{"number": w.number, "name": w.name, "kind": w.kind,
                     "kind_name": WINDOW_KINDS.get(w.kind, w.kind)}
                    for w in config.windows if not served_by_window.get(w.number)],
        "services": [{"id": s.id, "name": s.name, "queue": s.queue,
                      "queue_name": queues.get(s.queue, s.queue)}
                     for s in config.services if not issued_by_service.get(s.id)],
    }


def idle_lines(halls: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pure: the 明进暗不进 findings one per line, for the table and the CSV."""
    out: list[dict[str, Any]] = []
    for h in halls:
        if h.get("error"):
            out.append({"hall": h["id"], "hall_name": h["name"], "level_name": h["level_name"],
                        "what": "—", "item": "—", "finding": h["error"]})
            continue
        base = {"hall": h["id"], "hall_name": h["name"], "level_name": h["level_name"]}
        out += [{**base, "what": "窗口", "item": w["name"], "finding": "期间未办理任何业务"}
                for w in h.get("windows", [])]
        out += [{**base, "what": "事项", "item": s["name"], "finding": "期间无人取号办理"}
                for s in h.get("services", [])]
    return out


# ---------------------------------------------------------------- reading the halls


async def live(reader: HallReader) -> dict[str, Any]:
    day = reader.today()
    snapshot, alarms, figures = await asyncio.gather(
        reader.service.hall_snapshot(), reader.alarms.active(),
        reader.service.stats(day, day, "hall", "all"))
    return live_row(reader.site, snapshot, alarms, figures[0] if figures else None, day)


async def report(reader: HallReader, first: str, last: str) -> dict[str, Any]:
    figures = await reader.service.stats(first, last, "hall", "all")
    return report_row(reader.site, figures[0] if figures else None)


async def idle(reader: HallReader, first: str, last: str) -> dict[str, Any]:
    windows, services = await asyncio.gather(
        reader.service.stats(first, last, "window", "all"),
        reader.service.stats(first, last, "service", "all"))
    found = idle_items(reader.service.base_config,
                       {r["window"]: r["served"] for r in windows},
                       {r["service"]: r["issued"] for r in services})
    return {**identity(reader.site), **found}


Read = Callable[[HallReader], Awaitable[dict[str, Any]]]


async def each(readers: Sequence[HallReader], read: Read) -> list[dict[str, Any]]:
    """`read(reader)` for every hall at once; a hall that cannot answer is a line saying so,
    not a failed overview (the other halls' figures still matter)."""
    async def one(reader: HallReader) -> dict[str, Any]:
        try:
            return await read(reader)
        except Exception:  # noqa: BLE001 - one hall's trouble must not hide the others
            return {**identity(reader.site), "error": UNREADABLE}

    return list(await asyncio.gather(*(one(r) for r in readers)))
