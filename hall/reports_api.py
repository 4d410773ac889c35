"""HTTP routes of the reports (issue 10.1, 10.5): the figures, the clerks' productivity and
the charts, for managers.

* `GET /api/manage/stats?from=&to=&by=&per=` — ticket, rating and complaint figures
  (hall.stats) as `stats` rows, with the `columns` and `table` (the cells as people read them,
  hall.report_tables) the reports page shows; `?format=csv` is that same table.
* `GET /api/manage/productivity?from=&to=&by=window|clerk|hall&per=` — walk, idle, pauses,
  served per hour (hall.productivity), the same way.
* `GET /api/manage/charts/{name}.svg?from=&to=` — `arrivals`, `waits`, `windows`, `trend`
  (hall.report_charts) as SVG. An endpoint per chart rather than SVG inside a JSON answer: an
  SVG URL works as it is in an <img>, a link or a "save as" (a manager pastes it into the
  monthly report), its content type says what it is, and the page still inlines it (fetched
  and parsed as XML, never as HTML) so the chart and its data table are in the page's
  accessibility tree. Each chart is one read of the roll-ups, under a tenth of a second.

Dates: `from`/`to` are hall days (年月日 on the page, ISO here), both included; without them,
today. `by` and `per` are checked against fixed lists before any SQL is built from them. A chart
covers at most three years (the trend draws every day): a longer range is refused, in Chinese.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hall import charts, errors, productivity, report_charts, stats
from hall.api import day_range, manager_of
from hall.model import PRIORITIES
from hall.periods import PERIODS
from hall.report_tables import Column, Namer, csv_text, stats_columns, table, work_columns
from hall.service import HallService

CHARTS = {"arrivals": charts.bar_chart, "waits": charts.bar_chart, "windows": charts.bar_chart,
          "trend": charts.line_chart}
WORK_BY = {"window": "窗口", "clerk": "人员", "hall": "全厅"}
# the trend chart draws every day of its range: three years is some 1,100 points
CHART_DAYS = 3 * 366


def _service(request: Request) -> HallService:
    return request.app.state.service


def namer(service: HallService) -> Namer:
    """(by, key) → the name of a queue, service, window, clerk or priority reason."""
    config = service.config
    queues = {q.id: q.name for q in config.queues}
    services = {s.id: s.name for s in config.services}
    windows = {w.number: w.name for w in config.windows}
    priorities = {**PRIORITIES, **{r.id: r.name for r in config.priority_reasons}}

    def name(by: str, key: Any) -> str:
        if by == "hall":
            return "全厅"
        if by == "priority":
            return priorities.get(key, str(key)) if key is not None else "普通"
        if key is None:
            return {"window": "未到窗口", "clerk": "未到窗口"}.get(by, "未关联")
        if by == "window":
            return windows.get(key, f"{key}号窗口")
        return {"queue": queues, "service": services}.get(by, {}).get(key, str(key))

    return name


def _period(request: Request) -> str:
    per = request.query_params.get("per") or "all"
    if per not in PERIODS:
        raise errors.invalid("统计周期只能是合计、按小时、按日、按周或按月", "invalid_period",
                             "per")
    return per


def _answer(request: Request, name: str, rows: list[dict[str, Any]], columns: list[Column],
            by: str) -> Response:
    cells = table(rows, columns, by, namer(_service(request)))
    if request.query_params.get("format") == "csv":
        first, last = day_range(request)
        return Response(csv_text(columns, cells), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="{name}_{first}_{last}.csv"'})
    return JSONResponse({name: rows, "columns": [{"key": c.key, "name": c.name} for c in columns],
                         "table": cells})


async def manage_stats(request: Request) -> Response:
    """The figures; `by=day|hour` without `per` still means the whole hall per day or hour."""
    await manager_of(request)
    first, last = day_range(request)
    by = request.query_params.get("by", "queue")
    per = request.query_params.get("per")
    rows = await _service(request).stats(first, last, by, per)
    if by in ("day", "hour") and per is None:
        by, per = "hall", by
    return _answer(request, "stats", rows, stats_columns(by, per or "all"), by)


@dataclass(frozen=True)
class Moment:
    """What a report takes as today and now (the figures of today are read live)."""

    today: str
    now: float
    offset: int

    @classmethod
    def of(cls, service: HallService) -> Moment:
        now = service.clock()
        offset = now.utcoffset()
        return cls(now.astimezone(service.tz).date().isoformat(), now.timestamp(),
                   int(offset.total_seconds()) if offset else 0)


def window_queues(service: HallService) -> dict[int, tuple[str, ...]]:
    return {w.number: tuple(w.queues) for w in service.config.windows}


async def work(service: HallService, first: str, last: str, by: str, per: str
               ) -> list[dict[str, Any]]:
    at, queues = Moment.of(service), window_queues(service)
    return await service.store.read(lambda conn: productivity.work_figures(
        conn, first, last, by, per, at.offset, at.today, at.now, queues))


async def manage_productivity(request: Request) -> Response:
    await manager_of(request)
    first, last = day_range(request)
    by = request.query_params.get("by") or "window"
    if by not in WORK_BY:
        raise errors.invalid("人员效率只能按窗口、人员或全厅统计", "invalid_grouping", "by")
    per = _period(request)
    rows = await work(_service(request), first, last, by, per)
    return _answer(request, "productivity", rows, work_columns(by, per), by)


def build_chart(conn: sqlite3.Connection, name: str, first: str, last: str, at: Moment,
                queues: Mapping[int, Sequence[str]], window_name: Callable[[int], str]
                ) -> charts.Chart:
    """The figures a chart needs, read in one transaction and shaped (hall.report_charts)."""
    if name == "arrivals":
        return report_charts.arrivals(
            stats.counts(conn, first, last, "hall", "hour", at.offset, at.today),
            productivity.work_figures(conn, first, last, "hall", "hour", at.offset, at.today,
                                      at.now, queues), first, last)
    if name == "waits":
        return report_charts.waits(
            stats.histogram(conn, first, last, "wait", at.offset, at.today), first, last)
    if name == "windows":
        return report_charts.windows(
            stats.counts(conn, first, last, "window", "all", at.offset, at.today),
            window_name, first, last)
    return report_charts.trend(
        stats.counts(conn, first, last, "hall", "day", at.offset, at.today),
        first, last)


async def manage_chart(request: Request) -> Response:
    await manager_of(request)
    name = request.path_params["name"]
    if name not in CHARTS:
        raise errors.not_found("没有这个图表", "unknown_chart")
    first, last = day_range(request)
    if date.fromisoformat(last) - date.fromisoformat(first) >= timedelta(days=CHART_DAYS):
        raise errors.bad_request(f"图表最多显示 {CHART_DAYS // 366} 年，请缩小日期范围",
                                 "range_too_long", "from")
    service = _service(request)
    at, queues, name_of = Moment.of(service), window_queues(service), namer(service)
    chart = await service.store.read(lambda conn: build_chart(
        conn, name, first, last, at, queues, lambda n: name_of("window", n)))
    return Response(CHARTS[name](chart), media_type="image/svg+xml; charset=utf-8")


def routes() -> list[BaseRoute]:
    return [
        Route("/api/manage/stats", manage_stats, methods=["GET"]),
        Route("/api/manage/productivity", manage_productivity, methods=["GET"]),
        Route("/api/manage/charts/{name}.svg", manage_chart, methods=["GET"]),
    ]
