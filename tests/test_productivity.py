"""Clerk productivity and the day's report figures (issue 10.1, 10.5) on the hand-made day of
tests/report_day.py: first live (the day is today for the service that played it), then from
the roll-ups a real server makes of it at start, through the API and its CSV."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest

from hall import productivity
from tests import backends
from tests.conftest import HallServer
from tests.report_day import DAY, play_day
from tests.services import close_services, to_close  # noqa: F401 - the fixture applies here

QUERY = f"from={DAY}&to={DAY}"

# worked out in tests/report_day.py
WINDOWS = {
    3: {"logged_in_minutes": 150.0, "served": 2, "served_per_hour": 0.8,
        "walk_avg_seconds": 90.0, "serving_minutes": 32.0, "idle_minutes": 75.0,
        "idle_waiting_minutes": 25.0, "idle_waiting_share": 0.167, "pauses": 2,
        "paused_minutes": 40.0,
        "pauses_by_reason": [{"reason": "午休", "pauses": 1, "minutes": 20.0},
                             {"reason": "开会", "pauses": 1, "minutes": 20.0}]},
    4: {"logged_in_minutes": 60.0, "served": 0, "served_per_hour": 0.0,
        "walk_avg_seconds": None, "serving_minutes": 0.0, "idle_minutes": 60.0,
        "idle_waiting_minutes": 25.0, "pauses": 0, "paused_minutes": 0.0},
    6: {"logged_in_minutes": 30.0, "served": 1, "served_per_hour": 2.0,
        "walk_avg_seconds": 60.0, "serving_minutes": 10.0, "idle_minutes": 18.0,
        "idle_waiting_minutes": 2.0, "pauses": 0},
}
CLERKS = {"clerk3": (150.0, 25.0, 2), "clerk4": (30.0, 5.0, 0), "clerk5": (30.0, 20.0, 0),
          "clerk6": (30.0, 2.0, 1)}
HOURS = {"08": (30.0, 0.0, 0), "09": (120.0, 40.0, 1), "10": (60.0, 10.0, 1),
         "11": (30.0, 2.0, 1)}


def check_work(rows: dict[str, list[dict[str, Any]]]) -> None:
    by_window = {r["window"]: r for r in rows["window"]}
    assert set(by_window) == set(WINDOWS)
    for window, expected in WINDOWS.items():
        got = {k: by_window[window][k] for k in expected}
        assert got == expected, window
    assert {r["clerk"]: (r["logged_in_minutes"], r["idle_waiting_minutes"], r["served"])
            for r in rows["clerk"]} == CLERKS
    (hall,) = rows["hall"]
    assert (hall["logged_in_minutes"], hall["served"], hall["walk_avg_seconds"],
            hall["idle_waiting_minutes"], hall["paused_minutes"]) == (240.0, 3, 80.0, 52.0, 40.0)
    assert {r["period"]: (r["logged_in_minutes"], r["idle_waiting_minutes"], r["served"])
            for r in rows["hour"]} == HOURS


@pytest.fixture
async def played(tmp_path: Path) -> tuple[str | Path, dict[str, list[dict[str, Any]]]]:
    """The day played in-process on the run's database, and its productivity read live at
    11:50 that day."""
    db = backends.new_db(tmp_path)
    service, clock = await play_day(db)
    to_close.append(service)
    queues = {w.number: w.queues for w in service.config.windows}
    live = {}
    for name, by, per in (("window", "window", "all"), ("clerk", "clerk", "all"),
                          ("hall", "hall", "all"), ("hour", "hall", "hour")):
        live[name] = await service.store.read(lambda conn, by=by, per=per: (
            productivity.work_figures(conn, DAY, DAY, by, per, 8 * 3600, DAY,
                                      clock().timestamp(), queues)))
    await to_close.pop().close()
    return db, live


async def test_productivity_of_the_day_while_it_is_today(played) -> None:
    _, live = played
    check_work(live)


def test_the_day_rolled_up_by_a_real_server(played, tmp_path: Path) -> None:
    """The server starts months later: the day is closed and rolled up at start; the API
    gives the same productivity, and the ticket, rating and complaint figures of the day."""
    db, live = played
    server = HallServer(tmp_path)
    server.db = db
    server.add_user("boss", "manager")
    server.start()
    try:
        boss = server.login("boss", None)
        rows = {name: boss.get(f"/api/manage/productivity?{QUERY}&by={by}&per={per}").json()[
            "productivity"] for name, by, per in (("window", "window", "all"),
                                                  ("clerk", "clerk", "all"),
                                                  ("hall", "hall", "all"),
                                                  ("hour", "hall", "hour"))}
        check_work(rows)
        assert rows == live  # the roll-up gives what the live figures gave
        stats = boss.get(f"/api/manage/stats?{QUERY}&by=window").json()["stats"]
        w3, w6 = (next(r for r in stats if r["window"] == n) for n in (3, 6))
        assert (w3["issued"], w3["served"], w3["wait_avg_minutes"], w3["wait_p90_minutes"],
                w3["handling_avg_minutes"], w3["handling_p90_minutes"]) == (2, 2, 17.5, 30,
                                                                            16.0, 18)
        assert w3["outcome_rates"] == {"done": 0.5, "accepted": 0.5, "accepted_missing": 0.0,
                                       "rejected": 0.0, "failed": 0.0}
        # C001 rated 5, C002 1: D001's 差评 was a mistaken rating (申诉 upheld) and counts nowhere
        assert (w3["ratings"], w3["rating_avg"], w3["bad_rate"], w3["complaints"]) == (
            2, 3.0, 0.5, 1)
        assert (w6["held"], w6["wait_avg_minutes"], w6["ratings"], w6["rating_avg"]) == (
            1, 2.0, 0, None)
        hours = boss.get(f"/api/manage/stats?{QUERY}&by=hall&per=hour").json()["stats"]
        assert [(r["period"], r["issued"], r["wait_avg_minutes"], r["wait_p90_minutes"],
                 r["held"]) for r in hours] == [("09", 2, 17.5, 30, 0), ("11", 1, 2.0, 2, 1)]
        month = boss.get("/api/manage/stats?from=2026-03-01&to=2026-03-31&by=hall&per=month")
        (m,) = month.json()["stats"]
        assert (m["period"], m["issued"], m["wait_avg_minutes"], m["wait_p90_minutes"],
                m["handling_avg_minutes"], m["ratings"], m["bad_ratings"]) == (
            "2026-03", 3, 12.3, 30, 14.0, 2, 1)
        svg = boss.get(f"/api/manage/charts/windows.svg?{QUERY}")
        assert svg.headers["content-type"].startswith("image/svg+xml")
        root = ET.fromstring(svg.text)
        assert [(m.get("data-label"), m.get("data-value")) for m in root.iter()
                if m.get("class") == "mark"] == [("3号窗口", "2"), ("6号窗口", "1")]
        for path in ("/api/manage/productivity", "/api/manage/charts/trend.svg"):
            assert httpx.get(server.url + path).status_code == 401
    finally:
        server.stop()


def test_productivity_csv_is_the_table(played, tmp_path: Path) -> None:
    db, _ = played
    server = HallServer(tmp_path)
    server.db = db
    server.add_user("boss", "manager")
    server.start()
    try:
        boss = server.login("boss", None)
        r = boss.get(f"/api/manage/productivity?{QUERY}&by=window&format=csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        w3 = next(x for x in rows if x["窗口"] == "3号窗口")
        assert w3 == {"窗口": "3号窗口", "登录时长(分钟)": "150", "办理数": "2",
                      "每小时办理数": "0.8", "平均到窗(秒)": "90", "办理用时(分钟)": "32",
                      "有人等候时空闲(分钟)": "25", "有人等候时空闲占比": "16.7%",
                      "空闲合计(分钟)": "75", "暂停次数": "2", "暂停(分钟)": "40",
                      "暂停原因": "午休 1次 20分钟；开会 1次 20分钟"}
        json_table = boss.get(f"/api/manage/productivity?{QUERY}&by=window").json()["table"]
        assert [list(x.values()) for x in rows] == json_table  # the page shows these cells
        stats = boss.get(f"/api/manage/stats?{QUERY}&by=window&format=csv")
        line = next(x for x in csv.DictReader(io.StringIO(stats.content.decode("utf-8-sig")))
                    if x["窗口"] == "3号窗口")
        assert (line["取号数"], line["平均等候(分钟)"], line["90%等候(分钟)"], line["办结占比"],
                line["受理占比"], line["差评率"], line["办不成事反映"]) == (
            "2", "17.5", "30", "50.0%", "50.0%", "50.0%", "1")
    finally:
        server.stop()
