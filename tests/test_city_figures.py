"""The overview's shaping (hall/city_figures.py): pure functions of what each hall's service
answered, checked here on hand-made answers; tests/test_city.py runs them on a real server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hall.city_config import CityConfig, load_deployment
from hall.city_figures import (
    REPORT_COLUMNS,
    UNREADABLE,
    HallReader,
    each,
    idle_items,
    idle_lines,
    live_row,
    report_row,
)
from hall.report_tables import cell

ROOT = Path(__file__).resolve().parent.parent
CITY = load_deployment(ROOT / "config.city.toml")
assert isinstance(CITY, CityConfig)
CENTRE, DONGCHENG, QIAOTOU = CITY.halls


def test_a_live_line_counts_people_windows_and_alarms() -> None:
    snapshot = {"queues": [{"waiting": 3}, {"waiting": 0}, {"waiting": 4}],
                "windows": [{"state": s} for s in
                            ("idle", "called", "serving", "paused", "closed", "closed")]}
    alarms = [{"acked_at": None}, {"acked_at": "2026-03-02T09:00:00+08:00"}]
    row = live_row(CENTRE, snapshot, alarms, {"issued": 12, "served": 5,
                                              "wait_avg_minutes": 7.5, "wait_p90_minutes": 14},
                   "2026-03-02")
    assert {k: row[k] for k in ("waiting", "windows_open", "windows_paused", "windows_total",
                                "alarms", "alarms_unacked", "issued", "served",
                                "wait_avg_minutes", "date", "level_name")} == {
        "waiting": 7, "windows_open": 3, "windows_paused": 1, "windows_total": 6,
        "alarms": 2, "alarms_unacked": 1, "issued": 12, "served": 5, "wait_avg_minutes": 7.5,
        "date": "2026-03-02", "level_name": "市级政务服务中心"}
    quiet = live_row(QIAOTOU, {"queues": [], "windows": []}, [], None, "2026-03-02")
    assert (quiet["issued"], quiet["served"], quiet["wait_avg_minutes"]) == (0, 0, None)


def test_a_hall_without_tickets_reads_zero_counts_and_no_averages() -> None:
    row = report_row(QIAOTOU, None)
    cells = [cell(row, c, "hall", lambda by, key: str(key)) for c in REPORT_COLUMNS]
    assert cells[:4] == ["桥头镇便民服务中心", "乡镇（街道）便民服务中心", "0", "0"]
    names = [c.name for c in REPORT_COLUMNS]
    assert cells[names.index("平均等候(分钟)")] == "—" and cells[names.index("办结占比")] == "—"


def test_only_windows_and_services_without_activity_are_flagged() -> None:
    found = idle_items(DONGCHENG.config, {1: 4, 2: 0, None: 3}, {"consult": 2, "yibao-card": 0})
    assert [w["number"] for w in found["windows"]] == [2, 3, 4]
    assert [s["id"] for s in found["services"]] == ["yibao-card", "shebao-pension", "hukou-move"]
    assert found["windows"][-1]["kind_name"] == "综合咨询窗口"
    lines = idle_lines([{"id": "dongcheng", "name": "东城区政务服务中心",
                         "level_name": "区县政务服务中心", **found}])
    assert [(line["what"], line["item"]) for line in lines][:4] == [
        ("窗口", "2号窗口"), ("窗口", "3号窗口"), ("窗口", "综合咨询窗口"),
        ("事项", "社会保障卡(医保)申领")]


def test_a_hall_that_cannot_answer_is_a_line_saying_so_not_a_failed_overview() -> None:
    class Broken:
        async def hall_snapshot(self) -> dict[str, Any]:
            raise OSError("disk gone")

    async def read(reader: HallReader) -> dict[str, Any]:
        if reader.site.id == "dongcheng":
            await reader.service.hall_snapshot()
        return {"id": reader.site.id, "ok": True}

    readers = [HallReader(site, Broken(), None) for site in CITY.halls]  # type: ignore[arg-type]
    lines = asyncio.run(each(readers, read))
    assert lines[0] == {"id": "centre", "ok": True} and lines[2]["ok"]
    assert lines[1] == {"id": "dongcheng", "name": "东城区政务服务中心", "level": "district",
                        "level_name": "区县政务服务中心", "error": UNREADABLE}
    assert idle_lines([lines[1]])[0]["finding"] == UNREADABLE
