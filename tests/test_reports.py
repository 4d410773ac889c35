"""Manager figures: the pure arithmetic, and the endpoints on a real server."""

from __future__ import annotations

import json

import httpx

from hall.reports import alarms_from, percentile, summarise
from tests.conftest import HallServer


def row(queue: str, state: str, issued: float, called: float | None = None,
        started: float | None = None, finished: float | None = None,
        priority: str | None = None, transfers: int = 0) -> dict:
    return {"queue": queue, "state": state, "issued_at": issued, "first_called_at": called,
            "started_at": started, "finished_at": finished, "priority": priority,
            "transfers": transfers}


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 90) is None
    assert percentile([5], 90) == 5
    assert percentile(list(range(1, 11)), 90) == 9
    assert percentile(list(range(1, 11)), 100) == 10


def test_summarise_counts_waits_and_handling_per_group() -> None:
    rows = [
        row("A", "done", 0, 600, 660, 960),  # waited 10 min, handled 5 min
        row("A", "done", 0, 1200, 1200, 1800, priority="elderly"),  # 20 min, 10 min
        row("A", "no_show", 0, 300),
        row("B", "missed", 0),
        row("B", "waiting", 100, transfers=1),
    ]
    a, b = summarise(rows, "queue")
    assert a == {"queue": "A", "issued": 3, "served": 2, "no_show": 1, "missed": 0,
                 "transferred": 0, "priority_share": 0.333, "wait_avg_minutes": 11.7,
                 "wait_p90_minutes": 20.0, "handling_avg_minutes": 7.5,
                 "handling_p90_minutes": 10.0}
    assert b["issued"] == 2 and b["missed"] == 1 and b["transferred"] == 1
    assert b["wait_avg_minutes"] is None


def test_alarms_name_the_queue_and_window() -> None:
    queues = [{"id": "A", "name": "医保", "waiting": 12, "waiting_alarm": 10,
               "longest_wait_minutes": 20, "wait_alarm_minutes": 15},
              {"id": "B", "name": "社保", "waiting": 0, "waiting_alarm": 10,
               "longest_wait_minutes": 0, "wait_alarm_minutes": 15}]
    windows = [{"number": 1, "name": "1号窗口", "state": "paused", "current": None,
                "since_ts": 0, "queues": ["A"]},
               {"number": 2, "name": "2号窗口", "state": "serving", "current": "B003",
                "since_ts": 0, "queues": ["B"]},
               {"number": 3, "name": "3号窗口", "state": "idle", "current": None,
                "since_ts": 0, "queues": ["B"]}]
    kinds = [(a["kind"], a.get("queue") or a.get("window"))
             for a in alarms_from(queues, windows, now=3600, handling_norm={2: 10})]
    assert kinds == [("queue_long", "A"), ("wait_long", "A"), ("window_away", 1),
                     ("handling_long", 2)]


def test_stats_and_alarms_endpoints(hall_server: HallServer) -> None:
    first = hall_server.issue("yibao-card")
    for _ in range(2):
        hall_server.issue("yibao-card")
    clerk = hall_server.clerk(1)
    clerk.post("/api/windows/1/call")
    clerk.post("/api/windows/1/start")
    clerk.post("/api/windows/1/finish", json={"outcome": "done"})
    hall_server.add_user("boss", "manager")
    boss = hall_server.login("boss", None)
    stats = boss.get("/api/manage/stats?by=window").json()["stats"]
    served = {s["window"]: s["served"] for s in stats}
    assert served[1] == 1 and served[None] == 0
    by_queue = boss.get("/api/manage/stats").json()["stats"]
    assert [(s["queue"], s["issued"]) for s in by_queue] == [("yibao", 3)]
    csv = boss.get("/api/manage/stats?format=csv&by=clerk")
    assert csv.status_code == 200 and "clerk1" in csv.text
    assert boss.get("/api/manage/stats?from=yesterday").status_code == 400
    assert boss.get("/api/manage/stats?by=mood").status_code == 422
    # a 差评 shows among the alarms, by case id and window only
    served = httpx.get(f"{hall_server.url}/api/tickets/{first['token']}").json()
    assert served["state"] == "done"
    rated = httpx.post(f"{hall_server.url}/api/tickets/{first['token']}/rating",
                       json={"level": 1, "contact": "13812345678"})
    assert rated.status_code == 201, rated.text
    alarms = boss.get("/api/manage/alarms").json()["alarms"]
    new_case = [a for a in alarms if a["kind"] == "rectification_new"]
    assert len(new_case) == 1 and new_case[0]["window"] == 1
    assert "13812345678" not in json.dumps(alarms) and "5678" not in json.dumps(alarms)
    users = boss.get("/api/manage/users").json()["users"]
    assert {u["username"] for u in users} >= {"boss", "clerk1"}
    assert all("pwhash" not in u for u in users)
    assert httpx.get(hall_server.url + "/api/manage/stats").status_code == 401
