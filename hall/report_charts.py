"""The four charts of the reports page, from report figures to `hall.charts.Chart` (pure).

* `arrivals`: people arriving (tickets issued, by hour of issue) against people served (tickets
  finished, by the hour they were finished) per hour of the day, over the whole range: where
  the bars part, the hall is short of windows.
* `waits`: the wait distribution (issue → first call) in 5-minute bands, with 60 minutes and
  more in one band; read off the same per-minute histograms as the P90.
* `windows`: window workload, tickets served per window over the range.
* `trend`: tickets issued and served per day, every day of the range (0 on a closed day).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from hall.charts import Chart, Series
from hall.datefmt import day_text
from hall.stats import percentile_from_histogram

BAND = 5
LAST_BAND = 60
NAMES = {"arrivals": "各时段取号与办理人数", "waits": "等候时间分布",
         "windows": "各窗口办理量", "trend": "每日取号与办理趋势"}


def span_text(first: str, last: str) -> str:
    return day_text(first) if first == last else f"{day_text(first)}至{day_text(last)}"


def arrivals(issued: Sequence[Mapping[str, Any]], served: Sequence[Mapping[str, Any]],
             first: str, last: str) -> Chart:
    """`issued`: hall figures per hour (hall.stats); `served`: hall productivity per hour."""
    came = {int(r["period"]): r["issued"] for r in issued if r["issued"]}
    done = {int(r["period"]): r["served"] for r in served if r["served"]}
    hours = sorted(came.keys() | done.keys())
    span = list(range(hours[0], hours[-1] + 1)) if hours else []
    busiest = max(span, key=lambda h: came.get(h, 0), default=None)
    desc = (f"{span_text(first, last)}，共取号 {sum(came.values())} 人，办理 "
            f"{sum(done.values())} 人")
    desc += (f"；取号最多的时段是 {busiest}时（{came.get(busiest, 0)} 人）。"
             if busiest is not None else "。")
    return Chart("arrivals", NAMES["arrivals"], desc, "时段（取号按取号时间，办理按办结时间）",
                 "人数", [f"{h}时" for h in span],
                 [Series("取号", [came.get(h, 0) for h in span]),
                  Series("办理", [done.get(h, 0) for h in span])], "人")


def waits(hist: Mapping[int, int], first: str, last: str) -> Chart:
    """`hist`: people per whole minute of wait (hall.stats.histogram)."""
    bands = [0] * (LAST_BAND // BAND + 1)
    for minute, n in hist.items():
        bands[min(minute // BAND, len(bands) - 1)] += n
    total = sum(bands)
    labels = [f"{lo}–{lo + BAND}" for lo in range(0, LAST_BAND, BAND)] + [f"{LAST_BAND}以上"]
    p90 = percentile_from_histogram(dict(hist), 90)
    desc = f"{span_text(first, last)}，共 {total} 人被叫号"
    desc += (f"，90% 的人在 {p90} 分钟内被叫到；等候 {LAST_BAND} 分钟以上的 {bands[-1]} 人。"
             if p90 is not None else "。")
    return Chart("waits", NAMES["waits"], desc, "等候时间（分钟，取号到首次叫号）", "人数",
                 labels if total else [], [Series("人数", bands if total else [])], "人")


def windows(rows: Sequence[Mapping[str, Any]], name: Callable[[int], str],
            first: str, last: str) -> Chart:
    """`rows`: figures by window (hall.stats); tickets never called (window None) left out."""
    at = sorted((r for r in rows if r["window"] is not None and r["served"]),
                key=lambda r: r["window"])
    most = max(at, key=lambda r: r["served"], default=None)
    desc = f"{span_text(first, last)}，{len(at)} 个窗口共办理 {sum(r['served'] for r in at)} 人"
    desc += (f"；办理最多的是{name(most['window'])}（{most['served']} 人）。"
             if most is not None else "。")
    return Chart("windows", NAMES["windows"], desc, "窗口", "办理数",
                 [name(r["window"]) for r in at], [Series("办理", [r["served"] for r in at])],
                 "人")


def trend(rows: Sequence[Mapping[str, Any]], first: str, last: str) -> Chart:
    """`rows`: hall figures per day (hall.stats); every day of the range is a point."""
    by_day = {r["period"]: r for r in rows}
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    days = [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
    one_month = first[:7] == last[:7]
    labels = [f"{int(d[8:])}日" if one_month else f"{int(d[5:7])}月{int(d[8:])}日"
              for d in days]
    issued = [by_day[d]["issued"] if d in by_day else 0 for d in days]
    served = [by_day[d]["served"] if d in by_day else 0 for d in days]
    desc = (f"{span_text(first, last)}，{len(days)} 天共取号 {sum(issued)} 人，办理 "
            f"{sum(served)} 人；日均取号 {round(sum(issued) / len(days), 1):g} 人。")
    return Chart("trend", NAMES["trend"], desc, "日期", "人数", labels,
                 [Series("取号", issued), Series("办理", served)], "人")
